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

// TestAppendRegisteredMatchesMap checks that the claims set written
// without a map is byte for byte what the map path writes, escaping
// included, for every shape of the registered claims.
func TestAppendRegisteredMatchesMap(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	base := Claims{Issuer: "https://id.example", Subject: "u1", Audience: []string{"https://api.example"},
		IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute), ID: "j1"}
	tests := map[string]func(c *Claims){
		"minimal":              func(*Claims) {},
		"first-party":          func(c *Claims) { c.ClientID = "" },
		"client":               func(c *Claims) { c.ClientID = "0123abcd"; c.Scope = "read write" },
		"all":                  func(c *Claims) { c.NotBefore = t0; c.SessionID = "s1"; c.Scope = "openid"; c.ClientID = "c" },
		"no audience":          func(c *Claims) { c.Audience = nil },
		"empty audience":       func(c *Claims) { c.Audience = []string{} },
		"two audiences":        func(c *Claims) { c.Audience = []string{"a", "b<c>"} },
		"html":                 func(c *Claims) { c.Subject = "<script>&amp;</script>" },
		"quotes and controls":  func(c *Claims) { c.ID = "a\"b\\c\nd\te\x00\x7f" },
		"unicode":              func(c *Claims) { c.Issuer = "https://bücher.example/\u2028\u2029😀" },
		"invalid UTF-8":        func(c *Claims) { c.SessionID = "s\xff\xfe" },
		"empty strings":        func(c *Claims) { c.Issuer, c.Subject, c.ID = "", "", "" },
		"negative and far":     func(c *Claims) { c.IssuedAt = time.Unix(-5, 0); c.ExpiresAt = time.Unix(1<<40, 0) },
		"fraction of a second": func(c *Claims) { c.NotBefore = t0.Add(999 * time.Millisecond) },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			c := base
			change(&c)
			want, err := c.marshalMap()
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("MarshalJSON = %s\nmap path     %s", got, want)
			}
			viaJSON, _ := json.Marshal(c)
			if string(viaJSON) != string(want) {
				t.Errorf("json.Marshal = %s\nmap path     %s", viaJSON, want)
			}
		})
	}
}

// FuzzAppendRegistered checks the map-free claims set against the map
// path for any strings.
func FuzzAppendRegistered(f *testing.F) {
	f.Add("https://id.example", "u1", "a", "j1", "s1", "openid", "c", int64(1900000000))
	f.Add("<&>", "\u2028", "\xff", "\"\\", "\n", "", "", int64(-1))
	f.Fuzz(func(t *testing.T, iss, sub, aud, jti, sid, scope, client string, exp int64) {
		c := Claims{Issuer: iss, Subject: sub, Audience: []string{aud}, ID: jti, SessionID: sid, Scope: scope, ClientID: client,
			IssuedAt: time.Unix(exp/2, 0), ExpiresAt: time.Unix(exp, 0)}
		want, err := c.marshalMap()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := c.MarshalJSON(); string(got) != string(want) {
			t.Fatalf("MarshalJSON = %s, map path %s", got, want)
		}
	})
}
