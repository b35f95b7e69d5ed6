package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store/redisstore/redistest"
)

// TestRedisClusterThreeInstances runs three servers on one database and a
// real three-master Redis Cluster, each given a different node first in
// its --sessions URL: a login on one is a session on the others, the
// session's keys sit on its user's route rather than on one tag, and a
// logout on one ends the session on all three within the touch interval.
func TestRedisClusterThreeInstances(t *testing.T) {
	cc, nodes := redistest.Cluster(t, 3)
	prefix := redistest.Prefix(t, cc)
	urlFor := func(first int) string {
		q := url.Values{}
		for i := range nodes {
			if i != first {
				q.Add("addr", nodes[i].Addr)
			}
		}
		q.Set("key_prefix", prefix)
		return "redis://" + nodes[first].Addr + "/?" + q.Encode()
	}
	a := apptest.Start(t, apptest.Options{Args: []string{"--sessions", urlFor(0)}})
	b := apptest.Start(t, apptest.Options{Args: []string{"--sessions", urlFor(1), "--data-dir", a.DataDir}, Clock: a.Clock})
	c := apptest.Start(t, apptest.Options{Args: []string{"--sessions", urlFor(2), "--data-dir", a.DataDir}, Clock: a.Clock})
	for _, s := range []*apptest.Server{a, b, c} {
		s.NewClient().Do(t, http.MethodGet, "/readyz", nil).WantStatus(t, http.StatusOK)
	}

	_, onA := a.NewSession(t)
	if v := onA.Cookie; len(v) < 4 || v[3] != '.' {
		t.Errorf("cookie value %q has no route", v)
	}
	clients := []*apptest.Client{onA}
	for _, s := range []*apptest.Server{b, c} {
		cl := s.NewClient()
		cl.Cookie, cl.CSRF = onA.Cookie, onA.CSRF
		cl.Do(t, http.MethodGet, "/v1/me", nil).WantStatus(t, http.StatusOK)
		clients = append(clients, cl)
	}
	ks, err := redistest.Keys(t.Context(), cc, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if strings.Contains(k, "{sessions}") {
			t.Errorf("key %s in the one-slot layout", k)
		}
	}

	// A logout on one ends the session on the others by their next touch
	// of it (within the touch interval), when their cache asks Redis.
	clients[2].Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	a.Clock.Advance(session.DefaultTouchInterval)
	for _, cl := range clients[:2] {
		cl.Do(t, http.MethodGet, "/v1/me", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	}
}
