package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// TestOpenTodaysDatabase loads a database that the Gatehouse before this
// package made (testdata/*-v6.sql: the old internal/store/sqlite and
// internal/store/postgres stored fixtureRecords through their own methods
// and the database was dumped) and checks that this package opens it,
// applies only the migrations newer than version 6, reads every record
// back as stored, and writes to it.
func TestOpenTodaysDatabase(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(t.Context(), readFixture(t, "sqlite-v6.sql")); err != nil {
			t.Fatalf("load the dump: %v", err)
		}
		raw.Close()
		s, err := OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		checkFixture(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		// The dump empties search_path for its session: load it on a
		// connection of its own.
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(t.Context(), readFixture(t, "postgres-v6.sql")); err != nil {
			t.Fatalf("load the dump: %v", err)
		}
		conn.Close(t.Context())
		s, err := OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		checkFixture(t, s)
	})
}

// readFixture returns the content of testdata/name.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// same fails the test unless got and want print the same (%+v, which
// shows nil and empty slices alike).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// sameJSON fails the test unless got and want are the same JSON value
// (PostgreSQL's jsonb does not keep the bytes).
func sameJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	same(t, what, g, w)
}

// checkFixture checks that s, on a database loaded from a fixture dump,
// holds fixtureRecords and takes writes.
func checkFixture(t *testing.T, s *Store) {
	ctx := t.Context()
	f := fixtureRecords()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ms, err := Migrations(s.Flavor())
	if err != nil {
		t.Fatal(err)
	}
	// Migrations after 6 (0007_mail_outbox, 0008_second_factors, 0009_account_lifecycle…) add
	// tables, and columns whose defaults the fixture's rows take
	// (users.email_verified false).
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("SchemaVersion = %d, %v; want %d, the latest", v, err, ms[len(ms)-1].Version)
	}

	u, err := s.GetUserByEmail(ctx, f.user.Email)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "user", u, f.user)
	for _, want := range []store.Session{f.cookie, f.grant} {
		got, err := s.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, want.ID+" data", got.Data, want.Data)
		got.Data, want.Data = nil, nil
		same(t, "session "+want.ID, got, want)
	}
	if got, err := s.GetSessionBySecretHash(ctx, f.cookie.SecretHash); err != nil || got.ID != f.cookie.ID {
		t.Errorf("GetSessionBySecretHash = %q, %v; want %q", got.ID, err, f.cookie.ID)
	}
	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "keys", keys, []store.SigningKey{f.retired, f.current})
	rotated := f.rotated
	rotated.RotatedAt, rotated.SealedSuccessor = f.successor.CreatedAt, f.sealedSuccessor
	for _, want := range []store.RefreshToken{rotated, f.successor} {
		got, err := s.GetRefreshToken(ctx, want.Hash)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "refresh token", got, want)
	}
	revs, err := s.ListRevocations(ctx, 0, f.revocation.At, 10)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "revocations", revs, []store.Revocation{f.revocation})
	c, err := s.GetClient(ctx, f.client.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "client", c, f.client)
	code, err := s.GetAuthCode(ctx, f.code.Hash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "auth code", code, f.code)
	consent, err := s.GetConsent(ctx, f.consent.UserID, f.consent.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "consent", consent, f.consent)
	now := f.leaseUntil.Add(-time.Minute)
	if ok, err := s.AcquireLease(ctx, f.leaseName, "instance-2", now, time.Hour); err != nil || ok {
		t.Errorf("AcquireLease by another holder before the lease ends = %v, %v; want false", ok, err)
	}

	// Writes: the sequences and constraints came through the dump.
	ev := store.Revocation{UserID: f.user.ID, At: now, Expires: now.Add(time.Hour)}
	if got, err := s.AppendRevocations(ctx, []store.Revocation{ev}); err != nil || len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("AppendRevocations = %+v, %v; want Seq 2", got, err)
	}
	next := store.RefreshToken{Hash: f.sealedSuccessor, SessionID: f.grant.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.RotateRefreshToken(ctx, f.successor.Hash, []byte("sealed"), next); err != nil {
		t.Errorf("RotateRefreshToken of the current token: %v", err)
	}
	got, err := s.UpdateSessionData(ctx, f.cookie.ID, func(data json.RawMessage, version int64) (json.RawMessage, error) {
		return json.RawMessage(`{"theme":"light"}`), nil
	})
	if err != nil || got.DataVersion != f.cookie.DataVersion+1 {
		t.Errorf("UpdateSessionData = version %d, %v; want %d", got.DataVersion, err, f.cookie.DataVersion+1)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u-2", Email: f.user.Email}); err == nil {
		t.Error("CreateUser with a taken email succeeded: the dump lost the unique index")
	}
}
