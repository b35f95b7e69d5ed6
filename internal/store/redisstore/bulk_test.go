package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestCreateSessions(t *testing.T) {
	st, c, _ := newTestStore(t)
	ctx := t.Context()
	var ss []store.Session
	for i := range 60 {
		s := session("alice", time.Hour)
		s.UserAgent, s.IP, s.Data, s.DataVersion = "agent", "192.0.2.1", []byte(`{"n":1}`), 3
		if i%6 == 5 {
			s.SecretHash, s.Kind, s.ClientID, s.Scope, s.Audience = nil, store.KindToken, "app", "openid", []string{"api"}
		}
		ss = append(ss, s)
	}
	if err := st.CreateSessions(ctx, ss); err != nil {
		t.Fatalf("CreateSessions: %v", err)
	}
	for _, want := range ss {
		got, err := st.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetSession(%s): %v", want.ID, err)
		}
		if got.Kind != want.Kind || got.UserID != want.UserID || got.ClientID != want.ClientID || got.Scope != want.Scope ||
			len(got.Audience) != len(want.Audience) || got.UserAgent != want.UserAgent || got.IP != want.IP ||
			string(got.Data) != string(want.Data) || got.DataVersion != want.DataVersion ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.IdleExpiresAt.Equal(want.IdleExpiresAt) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("read back %+v\nwant %+v", got, want)
		}
		if want.Kind == store.KindCookie {
			if got, err := st.GetSessionBySecretHash(ctx, want.SecretHash); err != nil || got.ID != want.ID {
				t.Fatalf("GetSessionBySecretHash: %q, %v", got.ID, err)
			}
		}
	}
	if got, err := st.ListUserSessions(ctx, "alice"); err != nil || len(got) != len(ss) {
		t.Fatalf("ListUserSessions: %d records, %v; want %d", len(got), err, len(ss))
	}
	if err := st.CreateSessions(ctx, nil); err != nil {
		t.Fatalf("CreateSessions(nil): %v", err)
	}

	// The script may have been flushed: CreateSessions loads it again.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
	fresh, taken := session("bob", time.Hour), session("bob", time.Hour)
	taken.SecretHash = ss[0].SecretHash
	err := st.CreateSessions(ctx, []store.Session{fresh, taken})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken hash: err = %v, want ErrConflict", err)
	}
	if _, err := st.GetSession(ctx, fresh.ID); err != nil {
		t.Fatalf("the record before the conflict: %v (each record stands alone)", err)
	}
	if _, err := st.GetSession(ctx, taken.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused record: %v, want ErrNotFound", err)
	}
}
