package verifier

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

const testCookie = "cookie-value-0123456789abcdef0123456789abcdef"

func cookieVerifier(t *testing.T, f *fakeIssuer, c *clocktest.Clock, edit func(*Config)) *Verifier {
	t.Helper()
	return newTestVerifier(t, f, c, func(cfg *Config) {
		cfg.SessionCookie = SessionCookieConfig{IntrospectionCredential: introspectionSecret, Scopes: []string{"read"}}
		if edit != nil {
			edit(cfg)
		}
	})
}

func TestSessionCookieAcceptedAndCached(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	f.addSession(testCookie, "user-1", "sid-1", t0.Add(-time.Hour), t0.Add(30*time.Minute))
	v := cookieVerifier(t, f, c, nil)
	p, err := v.VerifySession(context.Background(), testCookie)
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != MethodSession || p.Subject != "user-1" || p.SessionID != "sid-1" || !p.HasScope("read") ||
		!p.ExpiresAt.Equal(t0.Add(30*time.Minute)) || !p.IssuedAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("principal %+v", p)
	}
	// Cached: no second request within the TTL, even after the session
	// ends at the issuer.
	f.endSession(testCookie)
	c.Advance(DefaultCacheTTL - time.Second)
	if _, err := v.VerifySession(context.Background(), testCookie); err != nil {
		t.Fatalf("cached session: %v", err)
	}
	if n := f.introspections.Load(); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
	// Past the TTL: asked again, now inactive.
	c.Advance(2 * time.Second)
	if _, err := v.VerifySession(context.Background(), testCookie); !errors.Is(err, ErrSessionInactive) {
		t.Fatalf("error %v, want ErrSessionInactive", err)
	}
	if n := f.introspections.Load(); n != 2 {
		t.Errorf("%d introspections, want 2", n)
	}
	// The cache is keyed by hash; nothing in it is the cookie value.
	v.sessions.mu.Lock()
	for k := range v.sessions.entries {
		if string(k[:]) == testCookie {
			t.Error("the cache holds the raw cookie value")
		}
	}
	v.sessions.mu.Unlock()
}

func TestSessionCookieRejectedAndNegativelyCached(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := cookieVerifier(t, f, c, nil)
	for range 3 {
		_, err := v.VerifySession(context.Background(), "unknown-cookie")
		if !errors.Is(err, ErrSessionInactive) || !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v, want ErrSessionInactive", err)
		}
	}
	if n := f.introspections.Load(); n != 1 {
		t.Errorf("%d introspections, want 1 (negative cache)", n)
	}
	if _, err := v.VerifySession(context.Background(), ""); !errors.Is(err, ErrSessionInactive) {
		t.Errorf("empty cookie: %v", err)
	}
}

func TestSessionCookieBadCredentialIsUnavailable(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	f.addSession(testCookie, "user-1", "sid-1", t0, t0.Add(time.Hour))
	v := cookieVerifier(t, f, c, func(cfg *Config) { cfg.SessionCookie.IntrospectionCredential = "wrong" })
	for range 2 {
		if _, err := v.VerifySession(context.Background(), testCookie); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("error %v, want ErrUnavailable", err)
		}
	}
	if n := f.introspections.Load(); n != 2 {
		t.Errorf("%d introspections, want 2: failures are not cached", n)
	}
}

func TestSessionCookieRevokedThroughFeed(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	f.addSession(testCookie, "user-1", "sid-1", t0, t0.Add(time.Hour))
	v := cookieVerifier(t, f, c, nil)
	if _, err := v.VerifySession(context.Background(), testCookie); err != nil {
		t.Fatal(err)
	}
	f.revoke("sid", "sid-1", t0, t0.Add(time.Hour))
	eventually(t, 2*time.Second, "cached session revoked", func() bool {
		_, err := v.VerifySession(context.Background(), testCookie)
		return errors.Is(err, ErrRevoked)
	})
	// The event evicted the cached answer, so the cookie was asked
	// about again (this fake issuer still calls it active; the
	// revocation set refuses it all the same).
	if n := f.introspections.Load(); n != 2 {
		t.Errorf("%d introspections, want 2: the revocation should evict the cached session", n)
	}
}

func TestSessionCookieSingleFlight(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	f.addSession(testCookie, "user-1", "sid-1", t0, t0.Add(time.Hour))
	v := cookieVerifier(t, f, c, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := v.VerifySession(context.Background(), testCookie); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.introspections.Load(); n > 20 || n < 1 {
		t.Errorf("%d introspections", n)
	}
}

func TestSessionCacheBounded(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := cookieVerifier(t, f, c, func(cfg *Config) { cfg.SessionCookie.MaxCacheEntries = 5 })
	for i := range 20 {
		_, _ = v.VerifySession(context.Background(), "cookie-"+itoa(int64(i)))
	}
	if n := v.sessions.len(); n > 5 {
		t.Errorf("cache holds %d entries, bound 5", n)
	}
}

func TestMiddlewareCookie(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	f.addSession(testCookie, "user-1", "sid-1", t0, t0.Add(time.Hour))
	v := cookieVerifier(t, f, c, nil)
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		w.Write([]byte(string(p.Method) + " " + p.Subject))
	}))
	tests := []struct {
		name, method, cookie string
		header               map[string]string
		status               int
		body                 string
	}{
		{"live cookie", "GET", testCookie, nil, 200, "session user-1"},
		{"dead cookie", "GET", "dead", nil, 401, ""},
		{"same-origin POST", "POST", testCookie, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, "session user-1"},
		{"cross-site POST", "POST", testCookie, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"cross-origin POST by Origin", "POST", testCookie, map[string]string{"Origin": "https://evil.example"}, 403, ""},
		{"cross-site GET is fine", "GET", testCookie, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, "session user-1"},
		{"bearer wins over cookie", "GET", testCookie, map[string]string{"Authorization": "Bearer not.a.jwt"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://api.example.test/hello", nil)
			r.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: tt.cookie})
			for k, val := range tt.header {
				r.Header.Set(k, val)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
		})
	}
}
