package sqlite

import (
	"path/filepath"
	"testing"
	"time"
)

// TestGrantStoredBeforeAuthTime checks the upgrade to schema version 6: a
// grant stored before it reads back with a zero AuthTime (unknown, not
// the epoch) and no AuthSessionID, so that a refresh knows it cannot
// issue an ID token for it.
func TestGrantStoredBeforeAuthTime(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.UnixMilli(1234567).UTC() }
	if err := migrate(t.Context(), db, ms[:5], now); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(t.Context(), `INSERT INTO sessions
		(id, kind, user_id, client_id, scope, created_at, last_seen_at, idle_expires_at, expires_at)
		VALUES ('g1', 'token', 'u1', 'c1', 'openid offline_access', 1000, 1000, 99999999999, 99999999999)`)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), db, ms, now); err != nil {
		t.Fatal(err)
	}
	g, err := New(db).GetSession(t.Context(), "g1")
	if err != nil {
		t.Fatal(err)
	}
	if !g.AuthTime.IsZero() || g.AuthSessionID != "" || g.Scope != "openid offline_access" {
		t.Errorf("old grant = AuthTime %v AuthSessionID %q scope %q; want zero, empty, its scope", g.AuthTime, g.AuthSessionID, g.Scope)
	}
}
