package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestBinaryKeepsMethodDeadCodeElimination links the server as a release
// is built and fails if any reachable function calls a method by a name
// known only at run time (reflect's Method or MethodByName with a
// non-constant argument). The linker marks such a function <ReflectMethod>
// and then keeps every exported method of every type in the program:
// standard text/template and html/template do this to call methods from
// templates, and cost the binary 12 MB and an idle server about 2 MiB
// of resident pages (issue 18). The pages and mails use the method-less copy
// of those packages instead (docs/decisions.md); this test keeps it so.
func TestBinaryKeepsMethodDeadCodeElimination(t *testing.T) {
	if testing.Short() {
		t.Skip("links the whole server (about 10 s)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		if pgtest.InCI() {
			t.Fatalf("CI: no go command to link the server with: %v", err)
		}
		t.Skipf("SKIPPED LOUDLY: no go command to link the server with: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var dump bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dump, &dump
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%s", err, tail(dump.String(), 2000))
	}
	// Each line is "caller -> callee"; the marker follows the caller.
	sc := bufio.NewScanner(&dump)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lines, found := 0, map[string]bool{}
	for sc.Scan() {
		lines++
		caller, _, _ := strings.Cut(sc.Text(), " -> ")
		if name, ok := strings.CutSuffix(caller, " <ReflectMethod>"); ok {
			found[name] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 1000 {
		t.Fatalf("the linker printed %d dependency lines: -dumpdep did not work\n%s", lines, tail(dump.String(), 2000))
	}
	for name := range found {
		t.Errorf("%s calls a method by a run-time name: the linker keeps every exported method of the program (use github.com/DataDog/datadog-agent/pkg/template for templates)", name)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
