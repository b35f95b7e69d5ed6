package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-auth/gatehouse/internal/app"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
)

// TestDatabaseCommandsOpenOnlyTheDatabase runs the commands that need
// only the database on a fresh data dir: each leaves the database and
// nothing else behind (no admin token, no key-encryption key) and no
// signing key in the database.
func TestDatabaseCommandsOpenOnlyTheDatabase(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"migrate", []string{"migrate"}, ""},
		{"user create", []string{"user", "create", "--email", "lean@example.com"}, "correct horse battery staple\n"},
		{"client create", []string{"client", "create", "--name", "Lean", "--grant-types", "client_credentials"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(app.AdminTokenEnv, "")
			t.Setenv(keys.KEKEnv, "")
			var out, errOut strings.Builder
			args := append(slices.Clone(tc.args), "--data-dir", dir)
			if err := run(context.Background(), args, strings.NewReader(tc.stdin), &out, &errOut); err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, errOut.String())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), "gatehouse.db") {
					t.Errorf("%s left %s in the data dir", tc.name, e.Name())
				}
			}
			db, err := sql.Open("sqlite", filepath.Join(dir, "gatehouse.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT count(*) FROM signing_keys").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s generated %d signing keys", tc.name, n)
			}
		})
	}
}
