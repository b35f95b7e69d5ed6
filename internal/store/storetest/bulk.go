package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// BulkStore is a store with the bulk inserts of the SQL backends:
// CreateSessions and CreateRefreshTokens store a batch all or none.
type BulkStore interface {
	store.SessionStore
	store.RefreshTokenStore
	CreateSessions(ctx context.Context, ss []store.Session) error
	CreateRefreshTokens(ctx context.Context, ts []store.RefreshToken) error
}

// RunBulkStoreTests runs the conformance suite for the all-or-none bulk
// inserts of BulkStore. newStore must return a fresh, empty store.
func RunBulkStoreTests(t *testing.T, newStore func(t *testing.T) BulkStore) {
	t.Run("CreateSessions", func(t *testing.T) { testCreateSessions(t, newStore(t)) })
	t.Run("CreateRefreshTokens", func(t *testing.T) { testCreateRefreshTokens(t, newStore(t)) })
}

// bulkRecords returns n cookie sessions and m token grants of user uid.
func bulkRecords(uid string, n, m int) []store.Session {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ss []store.Session
	for i := range n + m {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		s := store.Session{
			ID: hex.EncodeToString(id), Kind: store.KindCookie, UserID: uid,
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour),
			UserAgent: fmt.Sprintf("agent %d", i), IP: "192.0.2.1", Data: []byte(`{"n":1}`), DataVersion: 1,
		}
		if i < n {
			h := sha256.Sum256(id)
			s.SecretHash = h[:]
		} else {
			s.Kind, s.ClientID, s.Scope, s.Audience = store.KindToken, "client", "openid", []string{"api"}
			s.AuthTime, s.AuthSessionID = now.Add(-time.Hour), "browser-session"
			s.AuthMethods = []string{"pwd", "otp"}
		}
		ss = append(ss, s)
	}
	return ss
}

// sameBulkSession fails the test unless got reads back as want, its data
// compared after json.Compact.
func sameBulkSession(t *testing.T, got, want store.Session) {
	t.Helper()
	if got.ID != want.ID || !bytes.Equal(got.SecretHash, want.SecretHash) || got.Kind != want.Kind || got.UserID != want.UserID ||
		got.ClientID != want.ClientID || got.Scope != want.Scope || !slices.Equal(got.Audience, want.Audience) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) ||
		!got.IdleExpiresAt.Equal(want.IdleExpiresAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.UserAgent != want.UserAgent || got.IP != want.IP || compactJSON(got.Data) != compactJSON(want.Data) || got.DataVersion != want.DataVersion ||
		!got.AuthTime.Equal(want.AuthTime) || got.AuthSessionID != want.AuthSessionID || !slices.Equal(got.AuthMethods, want.AuthMethods) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
}

func compactJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return "invalid: " + string(b)
	}
	return out.String()
}

func testCreateSessions(t *testing.T, st BulkStore) {
	ctx := t.Context()
	ss := bulkRecords("u1", 50, 10)
	if err := st.CreateSessions(ctx, ss); err != nil {
		t.Fatalf("CreateSessions: %v", err)
	}
	for _, want := range ss {
		got, err := st.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetSession(%s): %v", want.ID, err)
		}
		sameBulkSession(t, got, want)
		if want.Kind == store.KindCookie {
			got, err := st.GetSessionBySecretHash(ctx, want.SecretHash)
			if err != nil || got.ID != want.ID {
				t.Fatalf("GetSessionBySecretHash: %v, %v", got.ID, err)
			}
		}
	}
	if n, err := st.CountSessions(ctx, time.Now()); err != nil || n != 60 {
		t.Fatalf("CountSessions = %d, %v; want 60", n, err)
	}
	if err := st.CreateSessions(ctx, nil); err != nil {
		t.Fatalf("CreateSessions(nil): %v", err)
	}

	// A conflict, with the database or within the batch, stores nothing.
	for name, batch := range map[string][]store.Session{
		"taken id":          append(bulkRecords("u2", 3, 0), store.Session{ID: ss[0].ID, Kind: store.KindToken, UserID: "u2"}),
		"taken hash":        append(bulkRecords("u2", 3, 0), func() store.Session { s := bulkRecords("u2", 1, 0)[0]; s.SecretHash = ss[1].SecretHash; return s }()),
		"hash within batch": func() []store.Session { b := bulkRecords("u2", 3, 0); b[2].SecretHash = b[0].SecretHash; return b }(),
	} {
		err := st.CreateSessions(ctx, batch)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err = %v, want ErrConflict", name, err)
		}
		if got, err := st.ListUserSessions(ctx, "u2"); err != nil || len(got) != 0 {
			t.Errorf("%s: user has %d records (%v), want none", name, len(got), err)
		}
	}
	bad := bulkRecords("u2", 2, 0)
	bad[1].Data = []byte("{")
	if err := st.CreateSessions(ctx, bad); err == nil {
		t.Errorf("invalid JSON data: no error")
	}
	if got, _ := st.ListUserSessions(ctx, "u2"); len(got) != 0 {
		t.Errorf("invalid JSON data: %d records stored", len(got))
	}
}

func testCreateRefreshTokens(t *testing.T, st BulkStore) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ts []store.RefreshToken
	for i := range 20 {
		h := sha256.Sum256([]byte{byte(i)})
		ts = append(ts, store.RefreshToken{Hash: h[:], SessionID: fmt.Sprint("g", i%4), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	if err := st.CreateRefreshTokens(ctx, ts); err != nil {
		t.Fatalf("CreateRefreshTokens: %v", err)
	}
	for _, want := range ts {
		got, err := st.GetRefreshToken(ctx, want.Hash)
		if err != nil || got.SessionID != want.SessionID || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.CreatedAt.Equal(want.CreatedAt) || !got.RotatedAt.IsZero() {
			t.Fatalf("GetRefreshToken = %+v, %v; want %+v", got, err, want)
		}
	}
	fresh := sha256.Sum256([]byte("fresh"))
	err := st.CreateRefreshTokens(ctx, []store.RefreshToken{{Hash: fresh[:], SessionID: "g9", CreatedAt: now, ExpiresAt: now}, ts[3]})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken hash: err = %v, want ErrConflict", err)
	}
	if _, err := st.GetRefreshToken(ctx, fresh[:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the batch with a conflict stored its first token: %v", err)
	}
}
