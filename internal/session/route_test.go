package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// routingStore is a real SQLite store that also acts as a session.Router
// with one route per user's first letter, as far as the manager can tell.
type routingStore struct {
	*countingStore
	routed int // GetSessionBySecretHashRoute calls
}

func (s *routingStore) SessionRoute(userID string) string {
	return map[byte]string{'a': "0a0", 'b': "0b0"}[userID[0]]
}

func (s *routingStore) GetSessionBySecretHashRoute(ctx context.Context, route string, hash []byte) (store.Session, error) {
	s.routed++
	ss, err := s.GetSessionBySecretHash(ctx, hash)
	if err == nil && s.SessionRoute(ss.UserID) != route {
		return store.Session{}, store.ErrNotFound
	}
	return ss, err
}

// TestRoutedCookies checks the cookie values and ids of a Router store:
// "<route>." in front of a secret and of an id, found with the route; and
// that cookies of the wrong shape, or routed cookies with a store that
// does not route, are refused without a lookup.
func TestRoutedCookies(t *testing.T) {
	ctx := t.Context()
	rs := &routingStore{countingStore: newStore(t)}
	m := session.NewManager(rs, session.Config{CacheSize: -1}, nil, nil)
	c, err := m.CreateCookie(ctx, "alice", session.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Secret, "0a0.") || !session.ValidSecretSyntax(c.Secret[4:]) || !strings.HasPrefix(c.Session.ID, "0a0.") {
		t.Fatalf("cookie %q, id %q: want both to start with the route", c.Secret, c.Session.ID)
	}
	if got, err := m.AuthenticateCookie(ctx, c.Secret); err != nil || got.ID != c.Session.ID || rs.routed != 1 {
		t.Fatalf("AuthenticateCookie = %q, %v (%d routed lookups)", got.ID, err, rs.routed)
	}
	lookups := rs.lookups.Load()
	for _, v := range []string{
		"0b0" + c.Secret[3:],   // another route: not found
		c.Secret[4:],           // the secret alone: another hash
		"0A0" + c.Secret[3:],   // not lower-case hex
		"0a0:" + c.Secret[4:],  // not a dot
		"0a0." + c.Secret[5:],  // a short secret
		"0a0.." + c.Secret[4:], // one more character
		"0a" + c.Secret[3:],    // a short route
	} {
		if _, err := m.AuthenticateCookie(ctx, v); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("AuthenticateCookie(%q) = %v, want ErrInvalid", v, err)
		}
	}
	// Two of them had a valid shape and were looked up.
	if n := rs.lookups.Load() - lookups; n != 2 {
		t.Errorf("%d lookups for the refused cookies, want 2", n)
	}

	plain, _, _ := newManager(t, session.Config{})
	if _, err := plain.AuthenticateCookie(ctx, c.Secret); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("a routed cookie with a store that does not route = %v, want ErrInvalid", err)
	}
}
