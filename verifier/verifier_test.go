package verifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

func TestVerifyAcceptsAndBuildsPrincipal(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.EdDSA, jose.ES256, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFakeIssuer(t, alg)
			c := clocktest.New(t0)
			v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.RequiredScopes = []string{"read"} })
			p, err := v.Verify(context.Background(), f.mint(f.claims(c.Now())))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Principal{
				Method: MethodJWT, Subject: "user-1", SessionID: "sid-1", ClientID: "client-1",
				Audience:  []string{testAudience},
				ExpiresAt: c.Now().Add(5 * time.Minute), IssuedAt: c.Now(), TokenID: "jti-1",
			}
			if p.Method != want.Method || p.Subject != want.Subject || p.SessionID != want.SessionID ||
				p.ClientID != want.ClientID || strings.Join(p.Scopes(), " ") != "read write" ||
				strings.Join(p.Audience, " ") != testAudience || !p.ExpiresAt.Equal(want.ExpiresAt) ||
				!p.IssuedAt.Equal(want.IssuedAt) || p.TokenID != want.TokenID {
				t.Errorf("principal = %+v, want %+v", *p, want)
			}
			claims, err := p.Claims()
			if err != nil {
				t.Fatalf("Claims: %v", err)
			}
			if len(claims) != 2 || claims["tenant"] != "acme" {
				t.Errorf("custom claims = %v, want tenant and roles only", claims)
			}
			if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
				t.Errorf("roles claim = %#v", claims["roles"])
			}
		})
	}
}

func TestVerifyNoCustomClaimsIsNil(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	cl := f.claims(c.Now())
	delete(cl, "tenant")
	delete(cl, "roles")
	p, err := v.Verify(context.Background(), f.mint(cl))
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := p.Claims(); claims != nil || err != nil {
		t.Errorf("Claims = %v, %v, want nil, nil", claims, err)
	}
}

// hs256 forges an HMAC token keyed with secret: the classic algorithm
// confusion attack uses the issuer's public key as the secret.
func hs256(header, payload string, secret []byte) string {
	in := b64(header) + "." + b64(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyRejects(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.RequiredScopes = []string{"read"} })
	now := c.Now()
	with := func(edit func(map[string]any)) string {
		cl := f.claims(now)
		edit(cl)
		return f.mint(cl)
	}
	f.mu.Lock()
	pub := f.keys[0]
	signer := f.signer
	f.mu.Unlock()
	// An ES256 key that claims the EdDSA key's kid: its tokens say
	// "alg":"ES256" with a kid whose key is EdDSA.
	impostor, err := jose.GenerateKey(jose.ES256, pub.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	claimsJSON := `{"iss":"` + f.URL() + `","sub":"user-1","aud":"` + testAudience + `","exp":` +
		itoa(now.Add(time.Minute).Unix()) + `,"iat":` + itoa(now.Unix()) + `,"scope":"read"}`
	good := f.mint(f.claims(now))
	parts := strings.Split(good, ".")
	pubJSON, _ := pub.MarshalJSON()

	tests := []struct {
		name  string
		token string
		want  []error
	}{
		{"wrong issuer", with(func(m map[string]any) { m["iss"] = "https://evil.example" }), []error{ErrIssuer}},
		{"issuer with trailing slash", with(func(m map[string]any) { m["iss"] = f.URL() + "/" }), []error{ErrIssuer}},
		{"wrong audience", with(func(m map[string]any) { m["aud"] = "https://other.example" }), []error{ErrAudience}},
		{"audience array without us", with(func(m map[string]any) { m["aud"] = []string{"a", "b"} }), []error{ErrAudience}},
		{"expired beyond leeway", with(func(m map[string]any) { m["exp"] = now.Add(-31 * time.Second).Unix() }), []error{ErrExpired}},
		{"expired at exactly exp plus leeway", with(func(m map[string]any) { m["exp"] = now.Add(-30 * time.Second).Unix() }), []error{ErrExpired}},
		{"nbf in the future", with(func(m map[string]any) { m["nbf"] = now.Add(time.Minute).Unix() }), []error{ErrNotYetValid}},
		{"iat in the future", with(func(m map[string]any) { m["iat"] = now.Add(time.Minute).Unix() }), []error{ErrNotYetValid}},
		{"no exp", with(func(m map[string]any) { delete(m, "exp") }), []error{ErrMalformed}},
		{"no iat", with(func(m map[string]any) { delete(m, "iat") }), []error{ErrMalformed}},
		{"no sub", with(func(m map[string]any) { delete(m, "sub") }), []error{ErrMalformed}},
		{"exp of wrong type", with(func(m map[string]any) { m["exp"] = "tomorrow" }), []error{ErrMalformed, jose.ErrMalformed}},
		{"typ missing", mintWith(t, signer, "", f.claims(now)), []error{ErrType}},
		{"typ JWT (an ID token)", mintWith(t, signer, "JWT", f.claims(now)), []error{ErrType}},
		{"typ wrong", mintWith(t, signer, "at+jwt2", f.claims(now)), []error{ErrType}},
		{"alg none", b64(`{"alg":"none","kid":"key-1","typ":"at+jwt"}`) + "." + b64(claimsJSON) + ".", []error{ErrMalformed}},
		{"alg none with signature", b64(`{"alg":"none","kid":"key-1","typ":"at+jwt"}`) + "." + b64(claimsJSON) + ".AAAA", []error{ErrSignature, jose.ErrUnsupportedAlg}},
		{"alg HS256 keyed with the public JWK", hs256(`{"alg":"HS256","kid":"key-1","typ":"at+jwt"}`, claimsJSON, pubJSON), []error{ErrSignature, jose.ErrUnsupportedAlg}},
		{"alg mismatch (ES256 token, EdDSA key)", mintWith(t, impostor, "at+jwt", f.claims(now)), []error{ErrSignature, jose.ErrAlgMismatch}},
		{"tampered payload", parts[0] + "." + b64(strings.Replace(claimsJSON, "user-1", "user-2", 1)) + "." + parts[2], []error{ErrSignature, jose.ErrBadSignature}},
		{"jku header", b64(`{"alg":"EdDSA","kid":"key-1","typ":"at+jwt","jku":"https://evil.example/jwks"}`) + "." + parts[1] + "." + parts[2], []error{ErrSignature, jose.ErrForbiddenHeader}},
		{"not a JWT", "hello", []error{ErrMalformed, jose.ErrMalformed}},
		{"missing scope", with(func(m map[string]any) { m["scope"] = "write" }), []error{ErrScope}},
		{"no scope at all", with(func(m map[string]any) { delete(m, "scope") }), []error{ErrScope}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatal("Verify accepted the token")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not match %v", err, w)
				}
			}
			scope := errors.Is(err, ErrScope)
			if invalid := errors.Is(err, ErrInvalidToken); invalid == scope {
				t.Errorf("error %q: ErrInvalidToken %v, ErrScope %v; want exactly one", err, invalid, scope)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("error %q matches ErrUnavailable", err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestVerifyLeeway(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	now := c.Now()
	tests := []struct {
		name string
		edit func(map[string]any)
	}{
		{"expired within leeway", func(m map[string]any) { m["exp"] = now.Add(-29 * time.Second).Unix() }},
		{"nbf within leeway", func(m map[string]any) { m["nbf"] = now.Add(29 * time.Second).Unix() }},
		{"iat within leeway", func(m map[string]any) { m["iat"] = now.Add(29 * time.Second).Unix() }},
		{"aud array with us", func(m map[string]any) { m["aud"] = []string{"x", testAudience} }},
		{"typ application/at+jwt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := f.claims(now)
			tok := ""
			if tt.edit != nil {
				tt.edit(cl)
				tok = f.mint(cl)
			} else {
				tok = mintWith(t, f.signer, "application/AT+JWT", cl)
			}
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestExpiredErrorAs(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	tok := f.mint(f.claims(c.Now()))
	c.Advance(10 * time.Minute)
	_, err := v.Verify(context.Background(), tok)
	var exp *ExpiredError
	if !errors.As(err, &exp) {
		t.Fatalf("error %v is not an *ExpiredError", err)
	}
	if !exp.Expiry.Equal(t0.Add(5*time.Minute)) || !exp.Now.Equal(c.Now()) {
		t.Errorf("ExpiredError = %+v", exp)
	}
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("error %v does not match ErrExpired and ErrInvalidToken", err)
	}
}

func TestUnknownKidRefetchesOnceThenFails(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	if n := f.jwksFetches.Load(); n != 1 {
		t.Fatalf("New fetched the JWKS %d times, want 1", n)
	}
	stranger, err := jose.GenerateKey(jose.EdDSA, "unknown-kid")
	if err != nil {
		t.Fatal(err)
	}
	tok := mintWith(t, stranger, "at+jwt", f.claims(c.Now()))
	_, err = v.Verify(context.Background(), tok)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jose.ErrUnknownKey) {
		t.Fatalf("error %v, want ErrInvalidToken and jose.ErrUnknownKey", err)
	}
	if n := f.jwksFetches.Load(); n != 2 {
		t.Fatalf("after one unknown kid: %d fetches, want 2 (one refetch)", n)
	}
	// Within MinRefreshInterval: no more fetches, however many tries.
	for range 10 {
		c.Advance(400 * time.Millisecond)
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jose.ErrUnknownKey) {
			t.Fatalf("error %v, want jose.ErrUnknownKey", err)
		}
	}
	if n := f.jwksFetches.Load(); n != 2 {
		t.Fatalf("rate limit: %d fetches within MinRefreshInterval, want still 2", n)
	}
	// After it, one more.
	c.Advance(DefaultMinRefreshInterval)
	_, _ = v.Verify(context.Background(), tok)
	if n := f.jwksFetches.Load(); n != 3 {
		t.Fatalf("after MinRefreshInterval: %d fetches, want 3", n)
	}
}

func TestKeyRotationPicksUpNewKid(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	old := f.mint(f.claims(c.Now()))
	f.rotate(jose.ES256, "key-2")
	c.Advance(time.Second)
	fresh := f.mint(f.claims(c.Now()))
	for name, tok := range map[string]string{"new key": fresh, "old key": old} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := f.jwksFetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestSingleFlightUnderConcurrentMisses(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	// A clock that moves a minute every read, so the rate limit never
	// holds a fetch back: only single-flight can keep the count at 1.
	var mu sync.Mutex
	now := t0
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Minute)
		return now
	}
	v, err := New(context.Background(), Config{
		Issuer: f.URL(), Audience: testAudience, Now: tick, MinRefreshInterval: time.Second,
		Revocations: RevocationConfig{Mode: RevocationOff},
		Leeway:      time.Hour * 24,
		// The clock runs a minute per read: keep the age-based background
		// refresh out of the count.
		MaxKeyAge: 100 * 365 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	f.rotate(jose.EdDSA, "key-2")
	tok := f.mint(f.claims(t0))
	base := f.jwksFetches.Load()

	gate := make(chan struct{})
	f.mu.Lock()
	f.jwksGate = gate
	f.mu.Unlock()
	const n = 50
	var started, done sync.WaitGroup
	errs := make([]error, n)
	started.Add(n)
	for i := range n {
		done.Go(func() {
			started.Done()
			_, errs[i] = v.Verify(context.Background(), tok)
		})
	}
	started.Wait()
	// Let the goroutines reach the fetch; whoever comes later finds the
	// key in the cache, so the count is exact whatever the timing.
	eventually(t, 5*time.Second, "a JWKS fetch to start", func() bool { return f.jwksFetches.Load() > base })
	close(gate)
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if got := f.jwksFetches.Load() - base; got != 1 {
		t.Errorf("%d concurrent misses caused %d fetches, want 1", n, got)
	}
}

func TestKeySetCacheAgeRefresh(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) { cfg.MaxKeyAge = time.Minute })
	c.Advance(2 * time.Minute)
	if _, err := v.Verify(context.Background(), f.mint(f.claims(c.Now()))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a background refresh of an old key set", func() bool { return f.jwksFetches.Load() == 2 })
}

// TestRemoteKeySetKeyHonoursContext checks that Key waits for a refetch
// only while its context lasts: the JWKS endpoint hangs, the context is
// canceled, and Key answers not found while the fetch is still running.
func TestRemoteKeySetKeyHonoursContext(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	ks, err := NewRemoteKeySet(KeySetConfig{URL: f.URL() + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	f.mu.Lock()
	f.jwksGate = gate
	f.mu.Unlock()
	defer close(gate)
	ctx, cancel := context.WithCancel(t.Context())
	found := make(chan bool, 1)
	go func() {
		_, ok := ks.Key(ctx, "key-1")
		found <- ok
	}()
	eventually(t, 5*time.Second, "the JWKS fetch to start", func() bool { return f.jwksFetches.Load() == 1 })
	cancel()
	select {
	case ok := <-found:
		if ok {
			t.Fatal("Key found a key the hanging fetch never delivered")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Key kept waiting for the fetch after its context ended")
	}
}

func TestRemoteKeySetKey(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	ks, err := NewRemoteKeySet(KeySetConfig{URL: f.URL() + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	var _ jose.KeySet = ks
	if _, ok := ks.Key(t.Context(), "key-1"); !ok {
		t.Fatal("Key(key-1) not found")
	}
	if _, ok := ks.Key(t.Context(), "nope"); ok {
		t.Fatal("Key(nope) found")
	}
	// jose.Verifier on the remote set directly.
	tok := f.mint(f.claims(t0))
	if _, err := (&jose.Verifier{Keys: ks}).Verify(t.Context(), tok); err != nil {
		t.Fatalf("jose.Verifier with RemoteKeySet: %v", err)
	}
}

func TestJWKSSizeLimit(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	f.jwksBody = []byte(`{"keys":[],"padding":"` + strings.Repeat("x", 2000) + `"}`)
	_, err := New(context.Background(), testConfig(f, clocktest.New(t0), func(c *Config) { c.MaxResponseBytes = 1000 }))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("error %v, want ErrUnavailable for an oversized JWKS", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	tests := []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"no issuer", func(cfg *Config) { cfg.Issuer = "" }, ErrConfig},
		{"no audience", func(cfg *Config) { cfg.Audience = "" }, ErrConfig},
		{"plain http to a remote host", func(cfg *Config) { cfg.Issuer = "http://auth.example.com" }, ErrInsecureURL},
		{"plain http JWKS URL", func(cfg *Config) { cfg.JWKSURL = "http://auth.example.com/jwks" }, ErrInsecureURL},
		{"ftp", func(cfg *Config) { cfg.JWKSURL = "ftp://auth.example.com/jwks" }, ErrInsecureURL},
		{"unknown revocation mode", func(cfg *Config) { cfg.Revocations.Mode = "sometimes" }, ErrConfig},
		{"discovery names another issuer", func(cfg *Config) { f.discoveryIssuer = "https://other.example" }, ErrConfig},
		{"bad trusted origin", func(cfg *Config) {
			cfg.SessionCookie = SessionCookieConfig{IntrospectionCredential: "x", TrustedOrigins: []string{"not an origin"}}
		}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() { f.discoveryIssuer = "" }()
			v, err := New(context.Background(), testConfig(f, c, tt.edit))
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestInsecureSkipAudienceAndIssuer(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) {
		cfg.Issuer, cfg.Audience = "", ""
		cfg.JWKSURL = f.URL() + "/jwks"
		cfg.InsecureSkipIssuerCheck, cfg.InsecureSkipAudienceCheck = true, true
		cfg.Revocations = RevocationConfig{Mode: RevocationOff}
	})
	cl := f.claims(c.Now())
	cl["iss"], cl["aud"] = "https://anyone.example", "https://anything.example"
	if _, err := v.Verify(context.Background(), f.mint(cl)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://auth.example.com", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://[::1]:8080/jwks", false, true},
		{"http://localhost:8080", false, true},
		{"http://10.0.0.1", false, false},
		{"http://10.0.0.1", true, true},
		{"https://user:pw@auth.example.com", false, false},
		{"/relative", false, false},
		{"javascript:alert(1)", false, false},
	}
	for _, tt := range tests {
		_, err := checkURL(tt.url, tt.insecure)
		if (err == nil) != tt.ok {
			t.Errorf("checkURL(%q, %v) = %v, want ok=%v", tt.url, tt.insecure, err, tt.ok)
		}
	}
}

func TestCustomClaimsEscapedNames(t *testing.T) {
	c, got, err := parseClaims([]byte(`{"\u0073ub":"x","t\u00e9nant":{"a":[1,"]}"]},"n":null,"b":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "x" {
		t.Errorf("sub = %q, want x", c.Subject)
	}
	want := map[string]any{"ténant": map[string]any{"a": []any{1.0, "]}"}}, "n": nil, "b": true}
	if len(got) != len(want) || got["b"] != true || got["n"] != nil || !maps.EqualFunc(got, want, func(a, b any) bool { return true }) {
		t.Errorf("custom claims = %#v, want %#v", got, want)
	}
}

// TestNewErrorsArePrefixedOnce checks that New's errors say "verifier:"
// once, not "verifier: verifier: ...", wherever start-up fails.
func TestNewErrorsArePrefixedOnce(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	tests := []struct {
		name  string
		setup func()
		edit  func(*Config)
	}{
		{"discovery names another issuer", func() { f.discoveryIssuer = "https://other.example" }, nil},
		{"issuer unreachable", nil, func(cfg *Config) { cfg.Issuer = gone.URL }},
		{"JWKS too large", func() { f.jwksBody = []byte(`{"keys":[],"x":"` + strings.Repeat("x", 2000) + `"}`) },
			func(cfg *Config) { cfg.MaxResponseBytes = 1000 }},
		{"revocation feed unreachable", nil, func(cfg *Config) { cfg.Revocations.FeedURL = gone.URL + "/feed" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() { f.discoveryIssuer, f.jwksBody = "", nil }()
			if tt.setup != nil {
				tt.setup()
			}
			v, err := New(context.Background(), testConfig(f, c, tt.edit))
			if err == nil {
				v.Close()
				t.Fatal("New succeeded")
			}
			if n := strings.Count(err.Error(), "verifier:"); n != 1 || !strings.HasPrefix(err.Error(), "verifier: ") {
				t.Errorf("error %q says \"verifier:\" %d times, want once, first", err, n)
			}
		})
	}
}
