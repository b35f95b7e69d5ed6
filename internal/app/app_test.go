package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
)

func TestAdminTokenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	cfg, err := config.Parse([]string{"--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	open := func() *app.App {
		t.Helper()
		a, err := app.New(context.Background(), cfg, app.Options{PasswordParams: apptest.CheapPasswordParams})
		if err != nil {
			t.Fatalf("app.New: %v", err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	a := open()
	if want := filepath.Join(dir, "admin-token"); a.AdminTokenPath != want {
		t.Errorf("AdminTokenPath %q, want %q", a.AdminTokenPath, want)
	}
	if want := filepath.Join(dir, "gatehouse.db"); a.DatabasePath != want {
		t.Errorf("DatabasePath %q, want %q", a.DatabasePath, want)
	}
	fi, err := os.Stat(a.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("admin token mode %v, want 0600", mode)
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Errorf("data dir mode %v (err %v): want no access for group or others", di.Mode().Perm(), err)
	}
	b, err := os.ReadFile(a.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(b))
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "gha_"))
	if err != nil || len(raw) < 32 {
		t.Errorf("admin token %q: want at least 256 random bits", tok)
	}
	a.Close()

	// A restart keeps the token.
	b2, err := os.ReadFile(open().AdminTokenPath)
	if err != nil || !bytes.Equal(b, b2) {
		t.Errorf("admin token changed across restarts: %q then %q (err %v)", b, b2, err)
	}
	// Another data dir gets another token.
	other, _, err := app.EnsureAdminToken(t.TempDir())
	if err != nil || other == tok {
		t.Errorf("a second data dir got token %q (err %v); want a fresh one", other, err)
	}
}

func TestEmptyAdminTokenFileRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin-token"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.EnsureAdminToken(dir); err == nil {
		t.Fatal("EnsureAdminToken accepted an empty token file; anyone could be admin with an empty bearer")
	}
}

// TestStoreKeepsOnlySecretHash reads the SQLite file behind a running
// server: the session cookie's value must not be anywhere in it, in any
// table or in the raw bytes of the database and its write-ahead log, and
// its SHA-256 must be.
func TestStoreKeepsOnlySecretHash(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	_, c := srv.NewSession(t)
	c.Do(t, http.MethodPut, "/v1/session/data", `{"note": "hello"}`).WantStatus(t, http.StatusOK)
	secret := c.Cookie
	hash := sha256.Sum256([]byte(secret))

	db := srv.OpenDB(t)
	var stored []byte
	if err := db.QueryRow(`SELECT secret_hash FROM sessions WHERE id = ?`, c.SessionID).Scan(&stored); err != nil {
		t.Fatalf("read the session by its public id: %v", err)
	}
	if !bytes.Equal(stored, hash[:]) {
		t.Errorf("secret_hash = %x, want SHA-256 of the cookie %x", stored, hash)
	}
	if c.SessionID == secret || strings.Contains(secret, c.SessionID) {
		t.Errorf("the public id %q is derived from the cookie", c.SessionID)
	}

	// Every value of every column of every table, as text and as hex.
	forms := map[string]string{
		"cookie":                  secret,
		"cookie, hex":             hex.EncodeToString([]byte(secret)),
		"decoded cookie, hex":     decodedHex(t, secret),
		"the CSRF token":          c.CSRF,
		"decoded cookie, b64 std": base64.StdEncoding.EncodeToString(mustDecode(t, secret)),
	}
	found := false
	for _, table := range tables(t, db) {
		rows, err := db.Query(fmt.Sprintf(`SELECT * FROM %q`, table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case []byte:
					text = string(v) + " " + hex.EncodeToString(v)
					found = found || bytes.Equal(v, hash[:])
				default:
					text = fmt.Sprint(v)
				}
				for name, form := range forms {
					if strings.Contains(strings.ToLower(text), strings.ToLower(form)) {
						t.Errorf("table %s, column %s holds the %s", table, cols[i], name)
					}
				}
			}
		}
		rows.Close()
	}
	if !found {
		t.Errorf("no column holds the cookie's SHA-256")
	}

	// And the files themselves, including the write-ahead log that holds
	// the latest pages.
	var all []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(srv.App.DatabasePath + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if bytes.Contains(all, []byte(secret)) || bytes.Contains(all, mustDecode(t, secret)) {
		t.Errorf("the database files contain the cookie value")
	}
	if !bytes.Contains(all, hash[:]) {
		t.Errorf("the database files do not contain the cookie's SHA-256; is the test reading the right file?")
	}
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		t.Fatal("no tables")
	}
	return names
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("cookie %q is not base64url: %v", s, err)
	}
	return b
}

func decodedHex(t *testing.T, s string) string { return hex.EncodeToString(mustDecode(t, s)) }

// TestUserCacheAcrossInstances runs two instances on one database: an
// administrator's change of custom claims on one shows at once in its own
// GET /v1/me and within --user-cache-ttl on the other; with the cache off
// it shows at once on both.
func TestUserCacheAcrossInstances(t *testing.T) {
	for _, tc := range []struct {
		ttl   string
		stale bool
	}{{"5s", true}, {"0", false}} {
		t.Run("ttl="+tc.ttl, func(t *testing.T) {
			a := apptest.Start(t, apptest.Options{Args: []string{"--user-cache-ttl", tc.ttl}})
			b := apptest.Start(t, apptest.Options{Args: []string{"--user-cache-ttl", tc.ttl, "--data-dir", a.DataDir}, Clock: a.Clock})
			u, c := a.NewSession(t)
			onB := b.NewClient()
			onB.Cookie, onB.CSRF = c.Cookie, c.CSRF
			tier := func(c *apptest.Client) any {
				t.Helper()
				me := c.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK).JSON(t)
				claims, _ := me["user"].(map[string]any)["claims"].(map[string]any)
				return claims["tier"]
			}
			if got := tier(onB); got != nil {
				t.Fatalf("tier before the change = %v", got)
			}
			a.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"claims": map[string]any{"tier": "gold"}}).WantStatus(t, http.StatusOK)
			if got := tier(c); got != "gold" {
				t.Errorf("on the instance that changed it: tier = %v, want gold at once", got)
			}
			if got, want := tier(onB), map[bool]any{true: nil, false: "gold"}[tc.stale]; got != want {
				t.Errorf("on the other instance right after: tier = %v, want %v", got, want)
			}
			a.Clock.Advance(5 * time.Second)
			if got := tier(onB); got != "gold" {
				t.Errorf("on the other instance after the TTL: tier = %v, want gold", got)
			}
			// A disable ends every session at once, cache or not.
			a.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
			c.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
}
