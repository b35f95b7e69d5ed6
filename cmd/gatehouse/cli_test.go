package main

import (
	"bufio"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// runBinary runs the real gatehouse binary with args and stdin in dir,
// without the developer's GATEHOUSE_* variables, and returns its stdout,
// stderr and exit code.
func runBinary(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(gatehouseBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("gatehouse %q: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestSubcommandHelp checks that every command's -h exits 0 and lists its
// own flags, as --flag with the environment variable of each setting, and
// no flag it does not take.
func TestSubcommandHelp(t *testing.T) {
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"serve", "-h"}, []string{"--addr HOST:PORT", "GATEHOUSE_ADDR", "--sessions URL", "GATEHOUSE_SESSIONS", "--access-token-ttl DURATION", "default 5m"}, []string{"--email"}},
		{[]string{"migrate", "--help"}, []string{"--data-dir DIR", "GATEHOUSE_DATA_DIR", "--db URL", "GATEHOUSE_DB"}, []string{"--addr", "--session-lifetime", "--email"}},
		{[]string{"user", "create", "-h"}, []string{"--email EMAIL", "--data-dir DIR", "GATEHOUSE_DATA_DIR", "without\necho"}, []string{"--addr", "--sessions", "--grant-types"}},
		{[]string{"client", "create", "-h"}, []string{"--grant-types GRANTS", "--redirect-uri URI", "--first-party", "--issuer URL", "GATEHOUSE_ISSUER", "--data-dir DIR"}, []string{"--addr", "--sessions", "--email"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		stdout, stderr, code := runBinary(t, dir, "", tc.args...)
		if code != 0 {
			t.Errorf("gatehouse %q: exit %d, want 0; stderr %s", tc.args, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("gatehouse %q lacks %q:\n%s", tc.args, w, stdout)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(stdout, n) {
				t.Errorf("gatehouse %q lists %q:\n%s", tc.args, n, stdout)
			}
		}
		if singleDash.MatchString(stdout) {
			t.Errorf("gatehouse %q shows a single-dash flag:\n%s", tc.args, stdout)
		}
	}
}

// TestGroupHelp checks "gatehouse user -h" and "gatehouse client -h".
func TestGroupHelp(t *testing.T) {
	for _, args := range [][]string{{"user", "-h"}, {"client", "--help"}} {
		stdout, stderr, code := runBinary(t, t.TempDir(), "", args...)
		if code != 0 || !strings.Contains(stdout, "gatehouse "+args[0]+" create") {
			t.Errorf("gatehouse %q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if _, stderr, code := runBinary(t, t.TempDir(), "", "user", "delete"); code != 2 || !strings.Contains(stderr, "usage: gatehouse user create") {
		t.Errorf("gatehouse user delete: exit %d, stderr %q", code, stderr)
	}
}

// singleDash finds a flag written -name in a usage.
var singleDash = regexp.MustCompile(`\n  -[a-z]`)

// TestVersionFlags checks "gatehouse -v", "--version" and "version".
func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"-v", "--version", "version"} {
		stdout, stderr, code := runBinary(t, t.TempDir(), "", arg)
		if code != 0 || !strings.HasPrefix(stdout, "gatehouse ") {
			t.Errorf("gatehouse %s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
}

// TestBadFlagIsOneLine checks that a bad value says what is wrong, with
// an example, once, and without the whole usage.
func TestBadFlagIsOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--grant-lifetime", "30d"}, []string{`--grant-lifetime "30d"`, `unknown unit "d"`, "720h"}},
		{[]string{"serve", "--access-token-ttl", "5"}, []string{"--access-token-ttl", "no unit", "720h"}},
		{[]string{"serve", "--no-such-flag"}, []string{"unknown flag --no-such-flag", "gatehouse serve -h"}},
		{[]string{"user", "create", "--email", "a@example.com", "--addr", "127.0.0.1:1"}, []string{"unknown flag --addr"}},
	}
	for _, tc := range cases {
		stdout, stderr, code := runBinary(t, t.TempDir(), "", tc.args...)
		if code != 2 {
			t.Errorf("gatehouse %q: exit %d, want 2", tc.args, code)
		}
		if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "gatehouse: ") {
			t.Errorf("gatehouse %q: want one line on stderr; stdout %q, stderr %q", tc.args, stdout, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("gatehouse %q: stderr %q lacks %q", tc.args, stderr, w)
			}
		}
	}
}

// TestUserCreateDuplicateEmail creates a user from stdin twice: the
// second answer says the email is taken, in words, without SQL.
func TestUserCreateDuplicateEmail(t *testing.T) {
	dir := t.TempDir()
	args := []string{"user", "create", "--email", "dup@Example.com", "--data-dir", dir}
	stdout, stderr, code := runBinary(t, dir, "correct horse battery staple\n", args...)
	if code != 0 || !strings.Contains(stdout, "created user ") || !strings.Contains(stdout, "(dup@example.com)") {
		t.Fatalf("first user create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	args[3] = "dup@example.com"
	_, stderr, code = runBinary(t, dir, "another long password\n", args...)
	if code != 2 || !strings.Contains(stderr, "gatehouse: a user with this email exists\n") {
		t.Errorf("second user create: exit %d, stderr %q", code, stderr)
	}
	for _, sql := range []string{"UNIQUE", "constraint", "sqlite", "store:"} {
		if strings.Contains(stderr, sql) {
			t.Errorf("second user create: stderr %q shows %q", stderr, sql)
		}
	}
}

// TestBanner checks that the start banner names the SQLite database and
// the session store.
func TestBanner(t *testing.T) {
	s := serveOn(t, t.TempDir())
	out := s.stdout.String()
	for _, w := range []string{"  database:    SQLite ", "gatehouse.db\n", "  sessions:    the database\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("banner lacks %q:\n%s", w, out)
		}
	}
}

// TestBannerNamesRedactedBackends checks the banner's words for the other
// backends: PostgreSQL and Redis URLs, their passwords hidden.
func TestBannerNamesRedactedBackends(t *testing.T) {
	cases := []struct {
		db, sessions, sqlite string
		wantDB, wantSessions string
	}{
		{"", "db", "d/gatehouse.db", "SQLite d/gatehouse.db", "the database"},
		{"postgres://gh:s3cret@db.internal:5432/gatehouse?sslmode=disable", "redis://:hunter2@cache:6379/0",
			"", "PostgreSQL postgres://gh:xxxxx@db.internal:5432/gatehouse?sslmode=disable", "Redis redis://:xxxxx@cache:6379/0"},
		{"postgresql://db.internal/gh?password=s3cret", "redis://sentinel-1:26379/0?master_name=m&password=hunter2&addr=sentinel-2:26379",
			"", "PostgreSQL postgresql://db.internal/gh?password=xxxxx", "Redis redis://sentinel-1:26379/0?addr=sentinel-2%3A26379&master_name=m&password=xxxxx"},
	}
	for _, tc := range cases {
		cfg := configFor(tc.db, tc.sessions)
		if got := databaseName(cfg, tc.sqlite); got != tc.wantDB {
			t.Errorf("database %q: %q, want %q", tc.db, got, tc.wantDB)
		}
		if got := sessionStoreName(cfg); got != tc.wantSessions {
			t.Errorf("sessions %q: %q, want %q", tc.sessions, got, tc.wantSessions)
		}
	}
}

func configFor(db, sessions string) config.Config {
	return config.Config{DB: db, Sessions: sessions}
}

// TestUserCreatePromptsOnATerminal runs "user create" on a terminal (a
// pseudo-terminal from script(1)): it asks for the password twice, and
// refuses two that differ. The prompts go out before each answer is
// typed, so nothing waits on time.
func TestUserCreatePromptsOnATerminal(t *testing.T) {
	scriptTool, err := exec.LookPath("script")
	if err != nil {
		t.Skip("SKIPPED: script(1), from util-linux, is needed to give the command a terminal")
	}
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		email, second string
		want          string
	}{
		{"tty@example.com", "a long passphrase", "created user "},
		{"tty2@example.com", "another passphrase", "the two passwords differ"},
	} {
		cmd := exec.Command(scriptTool, "-qec", bin+" user create --log-level error --data-dir "+dir+" --email "+tc.email, "/dev/null")
		cmd.Env = cleanEnv()
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A guard, not a timing: a command that never prompts would
		// otherwise leave the test waiting for its prompt forever.
		guard := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
		defer guard.Stop()
		out := bufio.NewReader(outPipe)
		var seen strings.Builder
		answer := func(prompt, pw string) {
			for !strings.HasSuffix(seen.String(), prompt) {
				b, err := out.ReadByte()
				if err != nil {
					t.Fatalf("waiting for %q: %v; got %q", prompt, err, seen.String())
				}
				seen.WriteByte(b)
			}
			io.WriteString(in, pw+"\n")
		}
		answer("Password: ", "a long passphrase")
		answer("Password again: ", tc.second)
		rest, _ := io.ReadAll(out)
		in.Close()
		_ = cmd.Wait()
		seen.Write(rest)
		if !strings.Contains(seen.String(), tc.want) {
			t.Errorf("%s: output %q lacks %q", tc.email, seen.String(), tc.want)
		}
	}
}
