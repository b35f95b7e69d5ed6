package app_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
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

// TestAdminTokenFromEnv checks that GATEHOUSE_ADMIN_TOKEN replaces the
// generated file, works on the admin API, and is refused when short.
func TestAdminTokenFromEnv(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]string{"--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts := app.Options{PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}
	t.Setenv(app.AdminTokenEnv, "short")
	if _, err := app.New(t.Context(), cfg, opts); err == nil {
		t.Fatal("a short admin token was accepted")
	}
	token := strings.Repeat("k", 40)
	t.Setenv(app.AdminTokenEnv, token)
	a, err := app.New(t.Context(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.AdminTokenPath != "$"+app.AdminTokenEnv {
		t.Errorf("AdminTokenPath = %q", a.AdminTokenPath)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin-token")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an admin-token file was written: %v", err)
	}
	for tok, want := range map[string]int{token: http.StatusOK, "wrong-" + token: http.StatusForbidden} {
		req := httptest.NewRequest(http.MethodGet, "/admin/v1/clients", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		a.API.ServeHTTP(rec, req)
		if rec.Code != want && !(want == http.StatusForbidden && rec.Code == http.StatusUnauthorized) {
			t.Errorf("admin API with token %.6s…: %d, want %d", tok, rec.Code, want)
		}
	}
}
