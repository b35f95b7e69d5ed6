// Package docs_test runs the command blocks of the documentation against
// a fresh server, so that the docs cannot rot: TestDocsCommandBlocks.
package docs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/syncbuf"
)

// groups are the documents whose ```sh blocks run. Each group runs
// against its own fresh server, its pages in order: a later page may
// rely on what an earlier one did (the README's alice). Each page runs
// in its own bash, its blocks one after another in that shell, so
// variables carry from block to block.
//
// Not covered: docs/sessions.md (no command blocks), docs/deploy.md
// (PostgreSQL, Redis, systemd, Kubernetes), docs/benchmarks.md and
// docs/benchmark-notes.md (long runs), docs/decisions.md.
var groups = [][]string{
	{"README.md", "docs/README.md", "docs/admin.md", "docs/tokens.md", "docs/oauth.md"},
	{"docs/verifier.md"},
	{"docs/configuration.md"},
	// accounts.md reads the mails of its own server's dev mailbox.
	{"docs/accounts.md"},
	// events.md counts its own server's events, and runs its own webhook
	// receiver on the helper address.
	{"docs/events.md"},
	// mfa.md computes its TOTP codes in the shell, as an app would.
	{"docs/mfa.md"},
	// events.md counts its own server's events.
	{"docs/events.md"},
}

// A block is one fenced ```sh block and the sample output that follows it.
type block struct {
	file  string
	line  int
	code  string
	norun bool
	// background blocks start a server: they run in the background, and
	// the next block waits until their address answers.
	background bool
	sample     string // the next non-sh fenced block, before any other sh block
}

// parseBlocks returns the ```sh blocks of a Markdown document. A block
// whose info string says norun (```sh norun) is documentation only: it
// starts a server, or needs something this test does not have. A block
// marked background (```sh background) starts a helper server, such as
// the verifier's example resource server on 127.0.0.1:9090: it runs in
// the background until the page ends, and the next block waits for its
// address. A block
// of another language with file=NAME in its info string (```go
// file=main.go) is a file the reader saves: it is written to the current
// directory at that point.
func parseBlocks(file string, text string) []block {
	var (
		out    []block
		cur    *block
		inside bool
		isSh   bool
		saveAs string
		buf    strings.Builder
		start  int
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !inside {
			if info, ok := strings.CutPrefix(trimmed, "```"); ok {
				inside, start = true, n
				fields := append(strings.Fields(info), "")
				isSh = len(fields) > 0 && (fields[0] == "sh" || fields[0] == "bash")
				saveAs = ""
				for _, f := range fields[1:] {
					if name, ok := strings.CutPrefix(f, "file="); ok {
						saveAs = name
					}
				}
				buf.Reset()
				if isSh || saveAs != "" {
					out = append(out, block{file: file, line: n, norun: slices.Contains(fields[1:], "norun"),
						background: slices.Contains(fields[1:], "background")})
					cur = &out[len(out)-1]
				}
			}
			continue
		}
		if trimmed == "```" {
			inside = false
			switch {
			case isSh:
				cur.code = buf.String()
			case saveAs != "":
				// A program the reader saves: written to the current
				// directory where the block stands.
				cur.code = "cat > " + saveAs + " <<'GATEHOUSE_DOCS_EOF'\n" + buf.String() + "GATEHOUSE_DOCS_EOF\n"
			case cur != nil && cur.sample == "" && start > cur.line:
				cur.sample = buf.String()
			}
			continue
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
	}
	return out
}

var (
	statusLine = regexp.MustCompile(`(?m)^HTTP/[0-9.]+ ([0-9]{3})`)
	errorBody  = regexp.MustCompile(`"error"\s*:`)
)

// statuses returns the HTTP status codes of the status lines in s.
func statuses(s string) []string {
	var out []string
	for _, m := range statusLine.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// expectsError reports whether a sample output shows an HTTP error, so
// the block's curl calls may answer one.
func expectsError(sample string) bool {
	for _, s := range statuses(sample) {
		if s >= "400" {
			return true
		}
	}
	return errorBody.MatchString(sample)
}

// comments returns the shell comment lines of code, where some pages
// show a command's output ("# HTTP/1.1 401 Unauthorized").
func comments(code string) string {
	var b strings.Builder
	for _, line := range strings.Split(code, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "#"); ok {
			b.WriteString(strings.TrimSpace(c) + "\n")
		}
	}
	return b.String()
}

// prelude makes curl fail on an HTTP error (unless the block's sample
// shows one) and marks each block's output.
const prelude = `set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# docs_wait ADDR waits up to 60 s for ADDR (host:port) to accept connections.
docs_wait() {
	local i
	for i in $(seq 600); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing answers on $1" >&2
	return 1
}
curl() {
	local rc=0
	if [ "${DOCS_ALLOW_HTTP_ERROR:-0}" = 1 ]; then command curl "$@" || rc=$?; else command curl --fail-with-body "$@" || rc=$?; fi
	# A logout reaches resource servers through their revocation stream,
	# within milliseconds but not before the logout answers. A reader
	# typing the next command never sees that gap; the runner, on a busy
	# machine, could, so it waits as long as a reader would at least.
	case " $* " in *"/v1/logout"*) sleep 0.3 ;; esac
	return $rc
}
`

func TestDocsCommandBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gatehouse and runs the docs' commands against it (about 10-30s); skipped with -short")
	}
	for _, tool := range []string{"bash", "curl", "openssl", "jq", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run the docs' command blocks: %v", tool, err)
			}
			t.Skipf("SKIPPED LOUDLY: %s is needed to run the docs' command blocks: %v", tool, err)
		}
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, pkg := range []string{"./cmd/gatehouse", "./examples/resource-server"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, filepath.Base(pkg)), pkg)
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	env := cleanEnv("PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"))
	for _, pages := range groups {
		if !runGroup(t, repo, bin, env, pages) {
			return
		}
	}
}

// runGroup starts a fresh server and runs the pages against it, in
// order, stopping at the first that fails.
func runGroup(t *testing.T, repo, bin string, env []string, pages []string) bool {
	// The server runs in root, as the README's does in the repository
	// root: ./gatehouse-data is its data directory.
	root := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, filepath.Join(bin, "gatehouse"), "serve", "--addr", addr, "--log-level", "warn")
	srv.Dir, srv.Env = root, env
	// The server writes its output while the test may read it (to log it
	// when a page fails).
	var srvOut syncbuf.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	waitHealthy(t, "http://"+addr)

	for _, page := range pages {
		text, err := os.ReadFile(filepath.Join(repo, page))
		if err != nil {
			t.Fatal(err)
		}
		blocks := parseBlocks(page, string(text))
		ok := t.Run(page, func(t *testing.T) {
			runPage(t, root, addr, env, blocks)
		})
		if !ok {
			t.Logf("server output:\n%s", srvOut.String())
			return false
		}
	}
	return true
}

// runPage runs the page's blocks in one bash and checks each block's
// HTTP status lines, and the member names of its JSON lines, against its
// sample output's.
func runPage(t *testing.T, root, addr string, env []string, blocks []block) {
	// The docs' addresses become free ones, and their go run commands the
	// binaries built above.
	helper := freeAddr(t)
	replacer := strings.NewReplacer(
		"127.0.0.1:8080", addr,
		"localhost:8080", addr,
		"127.0.0.1:9090", helper,
		"go build ./cmd/gatehouse && ", "",
		"go run ./cmd/gatehouse", "gatehouse",
		"go run ./examples/resource-server", "resource-server -addr "+helper,
	)
	waitFor := []string{helper}
	var script strings.Builder
	script.WriteString(prelude)
	var ran []block
	for _, b := range blocks {
		if b.norun {
			continue
		}
		code := replacer.Replace(b.code)
		allow := "0"
		if expectsError(b.sample) || expectsError(comments(b.code)) {
			allow = "1"
		}
		fmt.Fprintf(&script, "printf '\\n@@block %d\\n'\nDOCS_ALLOW_HTTP_ERROR=%s\n", len(ran), allow)
		if b.background {
			fmt.Fprintf(&script, "(\n%s) > %q 2>&1 &\n", code, filepath.Join(root, fmt.Sprintf("background-%d.log", len(ran))))
			for _, a := range waitFor {
				if strings.Contains(code, a) {
					fmt.Fprintf(&script, "docs_wait %s\n", a)
				}
			}
		} else {
			script.WriteString(code)
		}
		ran = append(ran, b)
	}
	script.WriteString("printf '\\n@@end\\n'\n")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = root, env
	out, err := cmd.CombinedOutput()
	parts := strings.Split(string(out), "\n@@block ")
	last := -1
	outputs := map[int]string{}
	for _, p := range parts[1:] {
		var i int
		if _, serr := fmt.Sscanf(p, "%d", &i); serr != nil {
			continue
		}
		_, body, _ := strings.Cut(p, "\n")
		body, _, _ = strings.Cut(body, "\n@@end")
		outputs[i], last = body, i
	}
	if err != nil || !strings.Contains(string(out), "\n@@end\n") {
		if last < 0 {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		b := ran[last]
		logs, _ := filepath.Glob(filepath.Join(root, "background-*.log"))
		for _, l := range logs {
			text, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), text)
		}
		t.Fatalf("%s:%d: the block failed (%v):\n%s\noutput:\n%s", b.file, b.line, err, b.code, outputs[last])
	}
	for i, b := range ran {
		if msg := compareJSONShapes(b.sample, outputs[i]); msg != "" {
			t.Errorf("%s:%d: the sample output is stale: %s; output:\n%s", b.file, b.line, msg, outputs[i])
		}
		want := statuses(b.sample)
		if len(want) == 0 {
			want = statuses(comments(b.code))
		}
		if len(want) == 0 {
			continue
		}
		if got := statuses(outputs[i]); !slices.Equal(got, want) {
			t.Errorf("%s:%d: HTTP statuses %v, the sample shows %v; output:\n%s", b.file, b.line, got, want, outputs[i])
		}
	}
	t.Logf("%d blocks ran, %d marked norun", len(ran), len(blocks)-len(ran))
}

// cleanEnv is the environment without GATEHOUSE_* variables, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls /healthz until the server answers.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer %s/healthz within 30s", base)
		}
		time.Sleep(20 * time.Millisecond) // polling for start-up, not timing a timeout
	}
}

// jsonLines returns the lines of s that are JSON objects, decoded.
func jsonLines(s string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// keyPaths lists the member names of v, nested ones as a.b and those of
// array elements as a[].b.
func keyPaths(prefix string, v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			into[prefix+k] = true
			keyPaths(prefix+k+".", e, into)
		}
	case []any:
		for _, e := range x {
			keyPaths(strings.TrimSuffix(prefix, ".")+"[].", e, into)
		}
	}
}

// compareJSONShapes compares the member names of the JSON objects a
// sample shows, line by line, with those of the output: values differ
// from run to run, names must not. It says nothing when the sample shows
// no JSON object on a line of its own, or the output has another number
// of them (a sample may show only some lines).
func compareJSONShapes(sample, output string) string {
	want, got := jsonLines(sample), jsonLines(output)
	if len(want) == 0 || len(want) != len(got) {
		return ""
	}
	var diffs []string
	for i := range want {
		w, g := map[string]bool{}, map[string]bool{}
		keyPaths("", want[i], w)
		keyPaths("", got[i], g)
		for k := range g {
			if !w[k] {
				diffs = append(diffs, "the sample lacks "+k)
			}
		}
		for k := range w {
			if !g[k] {
				diffs = append(diffs, "the output has no "+k)
			}
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, ", ")
}
