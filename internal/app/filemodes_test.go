package app_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestDataDirModes checks the files with secrets that a first start
// creates are private (0600, the dir 0700), and that a start on a data
// dir or secret file that other users may read or write logs a warning
// naming it, while a private data dir logs none.
func TestDataDirModes(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := filepath.Join(t.TempDir(), "data")
	srv := apptest.Start(t, apptest.Options{Args: []string{"--data-dir", dir}, Log: log})
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "admin-token", "key-encryption-key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, m)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 700", fi.Mode(), err)
	}
	if strings.Contains(logs.String(), "accessible to other users") {
		t.Errorf("warning on a private data dir:\n%s", logs.String())
	}
	srv.HTTP.Close()
	srv.App.Close()

	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "admin-token"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "mail"), 0o770); err != nil { // the dev mailbox, made at start-up
		t.Fatal(err)
	}
	logs.Reset()
	apptest.Start(t, apptest.Options{Args: []string{"--data-dir", dir}, Log: log, Clock: srv.Clock})
	for _, want := range []string{"path=" + dir + " mode=0755", "path=" + filepath.Join(dir, "admin-token") + " mode=0644",
		"path=" + filepath.Join(dir, "mail") + " mode=0770"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning with %q in:\n%s", want, logs.String())
		}
	}
}
