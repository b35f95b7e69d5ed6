package app_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// TestMissingKEKRefusesToStart checks that a data dir whose KEK file was
// lost, while the database still holds sealed keys, makes the server
// refuse to start rather than write a new, wrong KEK.
func TestMissingKEKRefusesToStart(t *testing.T) {
	t.Setenv(keys.KEKEnv, "")
	dir := t.TempDir()
	cfg, err := config.Parse([]string{"--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts := app.Options{PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}
	a, err := app.New(t.Context(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	kekPath := filepath.Join(dir, keys.KEKFile)
	if err := os.Remove(kekPath); err != nil {
		t.Fatal(err)
	}
	_, err = app.New(t.Context(), cfg, opts)
	if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("app.New without the KEK = %v, want a refusal naming the key-encryption key", err)
	}
	if _, err := os.Stat(kekPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a new KEK file was written: %v", err)
	}
}
