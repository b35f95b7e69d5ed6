package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// verifyClaims verifies an EdDSA token with the fake issuer's usual
// claims, changed by edit (if not nil), and returns its Principal.
func verifyClaims(t *testing.T, edit func(map[string]any)) *Principal {
	t.Helper()
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, nil)
	cl := f.claims(c.Now())
	if edit != nil {
		edit(cl)
	}
	p, err := v.Verify(context.Background(), f.mint(cl))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return p
}

// TestPrincipalLazyClaimsConcurrent reads the custom claims of one
// Principal from many goroutines at once: first readers racing may each
// decode them, but every reader gets the same map (run with -race).
func TestPrincipalLazyClaimsConcurrent(t *testing.T) {
	p := verifyClaims(t, nil)
	const n = 16
	type result struct {
		m   map[string]any
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := p.Claims()
			results[i] = result{m, err}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("reader %d: Claims: %v", i, r.err)
		}
		if r.m["tenant"] != "acme" || len(r.m) != 2 {
			t.Fatalf("reader %d: claims = %v", i, r.m)
		}
	}
	first, _ := p.Claims()
	first["probe"] = true // the same map for every call
	for i, r := range results {
		if r.m["probe"] != true {
			t.Errorf("reader %d got a map of its own", i)
		}
	}
}

// TestPrincipalMalformedCustomClaim: a signed token whose custom claim
// encoding/json cannot decode (a number beyond float64) is accepted by
// Verify, whose checks do not read custom claims, and Claims reports it
// as malformed, on every call, without a panic; the registered claims
// and scopes are unaffected.
func TestPrincipalMalformedCustomClaim(t *testing.T) {
	p := verifyClaims(t, func(cl map[string]any) {
		cl["huge"] = json.Number("1e999")
	})
	if p.Subject != "user-1" || !p.HasScope("write") {
		t.Errorf("principal = %+v", *p)
	}
	for range 2 {
		m, err := p.Claims()
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrInvalidToken) || m != nil {
			t.Errorf("Claims = %v, %v, want nil and ErrMalformed", m, err)
		}
	}
	var typed struct {
		Huge float64 `json:"huge"`
	}
	if err := p.DecodeClaims(&typed); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeClaims = %v, want ErrMalformed", err)
	}
}

// TestPrincipalDecodeClaims reads custom claims into a struct.
func TestPrincipalDecodeClaims(t *testing.T) {
	p := verifyClaims(t, nil)
	var got struct {
		Tenant string   `json:"tenant"`
		Roles  []string `json:"roles"`
		Sub    string   `json:"sub"`
	}
	if err := p.DecodeClaims(&got); err != nil {
		t.Fatal(err)
	}
	if got.Tenant != "acme" || strings.Join(got.Roles, ",") != "admin" || got.Sub != "user-1" {
		t.Errorf("decoded %+v", got)
	}
	var wrong struct {
		Tenant int `json:"tenant"`
	}
	if err := p.DecodeClaims(&wrong); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeClaims into a mismatched type = %v, want ErrMalformed", err)
	}
}

// TestPrincipalScopes covers Scopes and HasScope on tokens, on
// NewPrincipal and on the nil Principal.
func TestPrincipalScopes(t *testing.T) {
	p := verifyClaims(t, func(cl map[string]any) {
		cl["scope"] = " read  write\tadmin "
	})
	if got := strings.Join(p.Scopes(), ","); got != "read,write,admin" {
		t.Errorf("Scopes = %q", got)
	}
	for _, tt := range []struct {
		scope string
		want  bool
	}{{"read", true}, {"admin", true}, {"rea", false}, {"", false}, {"read write", false}} {
		if got := p.HasScope(tt.scope); got != tt.want {
			t.Errorf("HasScope(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
	p.Scopes()[0] = "changed" // a new slice each call
	if !p.HasScope("read") {
		t.Error("changing the returned slice changed the principal")
	}
	if n := testing.AllocsPerRun(100, func() { p.HasScope("admin") }); n != 0 {
		t.Errorf("HasScope allocates %v times", n)
	}
	var none *Principal
	if none.HasScope("read") || none.Scopes() != nil {
		t.Error("nil Principal has scopes")
	}
	if m, err := none.Claims(); m != nil || err != nil {
		t.Error("nil Principal has claims")
	}
}

// TestNewPrincipal builds a Principal by hand, as handler tests do.
func TestNewPrincipal(t *testing.T) {
	claims := map[string]any{"tenant": "acme"}
	p := NewPrincipal(Principal{Method: MethodJWT, Subject: "user-42"}, []string{"read", "admin"}, claims)
	claims["tenant"] = "changed" // copied
	if p.Subject != "user-42" || !p.HasScope("admin") || strings.Join(p.Scopes(), " ") != "read admin" {
		t.Errorf("principal = %+v, scopes %v", *p, p.Scopes())
	}
	m, err := p.Claims()
	if err != nil || m["tenant"] != "acme" {
		t.Errorf("Claims = %v, %v", m, err)
	}
	var typed struct {
		Tenant string `json:"tenant"`
	}
	if err := p.DecodeClaims(&typed); err != nil || typed.Tenant != "acme" {
		t.Errorf("DecodeClaims = %v, %+v", err, typed)
	}
	bare := NewPrincipal(Principal{Subject: "x"}, nil, nil)
	if m, err := bare.Claims(); m != nil || err != nil || bare.Scopes() != nil || bare.HasScope("") {
		t.Errorf("bare principal: claims %v %v, scopes %v", m, err, bare.Scopes())
	}
	if err := bare.DecodeClaims(&typed); err != nil {
		t.Errorf("DecodeClaims without claims = %v", err)
	}
}

// TestSessionCookieScopesMustBeWords: New refuses a cookie-session
// scope with white space (it would read as two).
func TestSessionCookieScopesMustBeWords(t *testing.T) {
	for _, bad := range []string{"", "read write", "read\t"} {
		cfg := Config{Issuer: "https://auth.example.com", Audience: "api",
			SessionCookie: SessionCookieConfig{IntrospectionCredential: "x", Scopes: []string{"ok", bad}}}
		if _, err := cfg.withDefaults(); !errors.Is(err, ErrConfig) || !strings.Contains(fmt.Sprint(err), "SessionCookie.Scopes") {
			t.Errorf("Scopes %q: %v, want ErrConfig", bad, err)
		}
	}
}

// TestPrincipalClaim reads single custom claims without the map.
func TestPrincipalClaim(t *testing.T) {
	p := verifyClaims(t, func(cl map[string]any) {
		cl["huge"] = json.Number("1e999")
	})
	if got, ok, err := p.Claim("tenant"); got != "acme" || !ok || err != nil {
		t.Errorf(`Claim("tenant") = %v, %v, %v`, got, ok, err)
	}
	if got, ok, err := p.Claim("roles"); !ok || err != nil || len(got.([]any)) != 1 {
		t.Errorf(`Claim("roles") = %v, %v, %v`, got, ok, err)
	}
	for _, name := range []string{"absent", "sub", "scope"} {
		if got, ok, err := p.Claim(name); got != nil || ok || err != nil {
			t.Errorf("Claim(%q) = %v, %v, %v; want nothing", name, got, ok, err)
		}
	}
	if _, ok, err := p.Claim("huge"); ok || !errors.Is(err, ErrMalformed) {
		t.Errorf(`Claim("huge") = %v, %v; want ErrMalformed`, ok, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			if got, _, err := p.Claim("tenant"); err != nil || got != "acme" {
				errs[i] = fmt.Errorf("got %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
	hand := NewPrincipal(Principal{Subject: "x"}, nil, map[string]any{"tenant": "acme"})
	if got, ok, err := hand.Claim("tenant"); got != "acme" || !ok || err != nil {
		t.Errorf("NewPrincipal Claim = %v, %v, %v", got, ok, err)
	}
	p2 := verifyClaims(t, func(cl map[string]any) {
		delete(cl, "tenant")
		delete(cl, "roles")
	})
	if got, ok, err := p2.Claim("tenant"); got != nil || ok || err != nil {
		t.Errorf("Claim without custom claims = %v, %v, %v", got, ok, err)
	}
}

// claimBothWays reads name from the claims set in through the members
// Verify notes and through a scan of the claims set, and fails the test
// if the two answers differ. It returns the indexed answer and whether
// the members were indexed.
func claimBothWays(t *testing.T, in []byte, name string) (v any, ok, indexed bool, err error) {
	t.Helper()
	jp, _, perr := parseJWTClaims(in)
	if perr != nil {
		t.Fatalf("parseJWTClaims(%q): %v", in, perr)
	}
	jp.p.claims = &jp.lazy
	scan := &jwtPrincipal{lazy: lazyClaims{payload: in, unindexed: true}}
	scan.p.claims = &scan.lazy
	v, ok, err = jp.p.Claim(name)
	sv, sok, serr := scan.p.Claim(name)
	gb, _ := json.Marshal(v)
	sb, _ := json.Marshal(sv)
	if ok != sok || (err == nil) != (serr == nil) || !bytes.Equal(gb, sb) {
		t.Fatalf("Claim(%q) on %q: indexed %s, %v, %v; scanned %s, %v, %v", name, in, gb, ok, err, sb, sok, serr)
	}
	if err != nil && serr.Error() != err.Error() {
		t.Fatalf("Claim(%q) on %q: indexed error %q, scanned %q", name, in, err, serr)
	}
	return v, ok, !jp.lazy.unindexed, err
}

// TestPrincipalClaimIndexed: Claim reads the custom members Verify noted
// in its one pass, and scans again only when it could not note them all;
// both ways give the same answers.
func TestPrincipalClaimIndexed(t *testing.T) {
	many := `{"sub":"u"`
	for i := range maxIndexedClaims + 1 {
		many += fmt.Sprintf(`,"c%d":%d`, i, i)
	}
	many += `}`
	tests := []struct {
		name, in, claim string
		want            any
		found, indexed  bool
	}{
		{"string", `{"sub":"u","tenant":"acme"}`, "tenant", "acme", true, true},
		{"array", `{"roles":["a","b"],"sub":"u"}`, "roles", []any{"a", "b"}, true, true},
		{"absent", `{"sub":"u","tenant":"acme"}`, "tenan", nil, false, true},
		{"registered name", `{"sub":"u","tenant":"acme"}`, "sub", nil, false, true},
		{"no custom claims", `{"sub":"u"}`, "tenant", nil, false, true},
		{"last duplicate wins", `{"t":1,"sub":"u","t":2}`, "t", 2.0, true, true},
		{"null", `{"t":null}`, "t", nil, true, true},
		{"escaped value", `{"t":"a\"b\u00e9"}`, "t", "a\"bé", true, true},
		{"escaped name", `{"ten\u0061nt":"acme"}`, "tenant", "acme", true, false},
		{"one escaped name among others", `{"a":1,"\u0062":2,"c":3}`, "c", 3.0, true, false},
		{"as many as indexed", strings.Replace(many, fmt.Sprintf(`,"c%d":%d`, maxIndexedClaims, maxIndexedClaims), "", 1), fmt.Sprintf("c%d", maxIndexedClaims-1), float64(maxIndexedClaims - 1), true, true},
		{"more than indexed", many, fmt.Sprintf("c%d", maxIndexedClaims), float64(maxIndexedClaims), true, false},
		{"more than indexed, first", many, "c0", 0.0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, indexed, err := claimBothWays(t, []byte(tc.in), tc.claim)
			if err != nil || ok != tc.found || indexed != tc.indexed {
				t.Fatalf("Claim(%q) = %v, %v, %v (indexed %v); want found %v, indexed %v", tc.claim, v, ok, err, indexed, tc.found, tc.indexed)
			}
			gb, _ := json.Marshal(v)
			wb, _ := json.Marshal(tc.want)
			if !bytes.Equal(gb, wb) {
				t.Errorf("Claim(%q) = %s, want %s", tc.claim, gb, wb)
			}
		})
	}
	// A value encoding/json cannot decode is reported the same both ways.
	if _, ok, indexed, err := claimBothWays(t, []byte(`{"huge":1e999}`), "huge"); ok || !errors.Is(err, ErrMalformed) || !indexed {
		t.Errorf(`Claim("huge") = %v, %v (indexed %v), want ErrMalformed`, ok, err, indexed)
	}
}

// TestOffsetIn: offsetIn finds only slices of the payload's own array.
func TestOffsetIn(t *testing.T) {
	s := []byte(`{"tenant":"acme"}`)
	if at, ok := offsetIn(s, s[2:8]); !ok || at != 2 {
		t.Errorf("offsetIn(s, s[2:8]) = %d, %v", at, ok)
	}
	if _, ok := offsetIn(s, []byte("tenant")); ok {
		t.Error("offsetIn accepted a copy")
	}
	if _, ok := offsetIn(s[:5], s[2:8]); ok {
		t.Error("offsetIn accepted a slice beyond s")
	}
	if _, ok := offsetIn(s, s[3:3]); ok {
		t.Error("offsetIn accepted an empty slice")
	}
	other := make([]byte, 4, 100)
	if _, ok := offsetIn(s, other); ok {
		t.Error("offsetIn accepted a slice of another array")
	}
}

// TestVerifyAllocations pins what a successful check allocates for a
// typical token (one audience, plain strings): the decoded payload, and
// the Principal with its lazy claims and audience array. The claims'
// strings share the payload (jose.ParseClaimsInto). EdDSA, because
// crypto/ed25519 allocates nothing of its own.
func TestVerifyAllocations(t *testing.T) {
	f := newFakeIssuer(t, jose.EdDSA)
	c := clocktest.New(t0)
	v := newTestVerifier(t, f, c, func(cfg *Config) {
		cfg.Revocations = RevocationConfig{Mode: RevocationPoll, PollInterval: time.Hour}
		cfg.RequiredScopes = []string{"profile"}
	})
	tok := f.mint(benchClaims(f.URL(), c.Now()))
	ctx := context.Background()
	var p *Principal
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if p, err = v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("Verify allocated %v times, want at most 2", allocs)
	}
	if p.Subject != "c8b7c922fcb8a280b03b999250e2e388" || !slices.Equal(p.Audience, []string{testAudience}) || p.TokenID != "251aeecb8bb50422985f37e962dc7036" {
		t.Errorf("principal %+v", p)
	}
	if tenant, ok, err := p.Claim("tenant"); err != nil || !ok || tenant != "acme" {
		t.Errorf(`Claim("tenant") = %v, %v, %v`, tenant, ok, err)
	}
}
