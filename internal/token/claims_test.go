package token

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
)

func TestClaimsRoundTrip(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []Claims{
		{Issuer: "https://id.example", Subject: "u1", Audience: []string{"https://id.example"}, IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute), ID: "j1", SessionID: "s1"},
		{Issuer: "i", Subject: "client", Audience: []string{"a", "b"}, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), NotBefore: t0, ID: "j2", Scope: "read write", ClientID: "client"},
		{Issuer: "i", Subject: "u", Audience: []string{"i"}, IssuedAt: t0, ExpiresAt: t0, ID: "j3", Custom: map[string]any{"role": "admin", "tenant": map[string]any{"id": 7.0}}},
	}
	for _, c := range tests {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseClaims(b)
		if err != nil {
			t.Fatalf("ParseClaims(%s): %v", b, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, got, c)
		}
	}
}

func TestCustomClaimsCannotOverrideRegistered(t *testing.T) {
	c := Claims{Issuer: "real", Subject: "u", Audience: []string{"real"}, ID: "j", Custom: map[string]any{"iss": "evil", "sub": "admin", "sid": "x", "scope": "gatehouse:admin"}}
	b, _ := json.Marshal(c)
	got, err := parseClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Issuer != "real" || got.Subject != "u" || got.SessionID != "" || got.Scope != "" {
		t.Errorf("custom claims overrode registered ones: %s", b)
	}
}

func TestParseClaimsRejects(t *testing.T) {
	for name, payload := range map[string]string{
		"not an object": `[1]`,
		"exp a string":  `{"exp":"tomorrow"}`,
		"aud a number":  `{"aud":7}`,
		"sub a number":  `{"sub":7}`,
		"truncated":     `{"sub":"u"`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseClaims([]byte(payload)); err == nil {
				t.Errorf("ParseClaims(%s) succeeded", payload)
			}
		})
	}
}

// FuzzParseClaims checks that no payload panics the claims parser and that
// whatever parses encodes and parses again to the same registered claims.
func FuzzParseClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"i","sub":"s","aud":["a","b"],"exp":1e9,"iat":1,"nbf":2,"jti":"j","sid":"x","scope":"a b","client_id":"c","x":{"y":[1,null]}}`))
	f.Add([]byte(`{"aud":"one","exp":-1}`))
	f.Add([]byte(`{"exp":1e300}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseClaims(payload)
		if err != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			return // custom claims such as huge floats may not re-encode
		}
		again, err := parseClaims(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if again.Subject != c.Subject || again.SessionID != c.SessionID || again.Issuer != c.Issuer || !reflect.DeepEqual(again.Audience, c.Audience) && len(c.Audience) > 0 {
			t.Fatalf("registered claims changed: %+v then %+v", c, again)
		}
	})
}

// registered are the claim names Claims has fields for.
var registered = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true, "sid": true, "scope": true, "client_id": true}

// parseClaims decodes a JWT claims set, as a verifier of Gatehouse's
// tokens would, to check what MarshalJSON writes: the registered claims with
// jose.ParseClaims (strict: duplicates and ill-typed values are errors)
// and every other member into Custom.
func parseClaims(payload []byte) (Claims, error) {
	jc, err := jose.ParseClaims(payload)
	if err != nil {
		return Claims{}, fmt.Errorf("token: claims: %w", err)
	}
	c := fromJOSE(jc)
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("token: claims: %w", err)
	}
	for k, v := range raw {
		if registered[k] {
			continue
		}
		if c.Custom == nil {
			c.Custom = map[string]any{}
		}
		c.Custom[k] = v
	}
	return c, nil
}
