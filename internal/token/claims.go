package token

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Claims are the claims of an access token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	ID        string
	SessionID string
	Scope     string
	ClientID  string
	// Custom are the user's custom claims, copied into the token.
	Custom map[string]any
}

// Scopes splits Scope.
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasAudience reports whether aud is one of the token's audiences.
func (c Claims) HasAudience(aud string) bool {
	for _, a := range c.Audience {
		if a == aud {
			return true
		}
	}
	return false
}

// MarshalJSON encodes the claims as a JWT claims set; custom claims never
// override registered ones.
func (c Claims) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Custom)+10)
	maps.Copy(m, c.Custom)
	m["iss"] = c.Issuer
	m["sub"] = c.Subject
	if len(c.Audience) == 1 {
		m["aud"] = c.Audience[0]
	} else {
		m["aud"] = c.Audience
	}
	m["exp"] = c.ExpiresAt.Unix()
	m["iat"] = c.IssuedAt.Unix()
	if !c.NotBefore.IsZero() {
		m["nbf"] = c.NotBefore.Unix()
	} else {
		delete(m, "nbf")
	}
	m["jti"] = c.ID
	setOrDelete(m, "sid", c.SessionID)
	setOrDelete(m, "scope", c.Scope)
	setOrDelete(m, "client_id", c.ClientID)
	return json.Marshal(m)
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

// registered are the claim names Claims decodes into fields.
var registered = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true, "sid": true, "scope": true, "client_id": true}

// ParseClaims decodes a JWT claims set. Numeric dates must be numbers;
// "aud" may be a string or an array of strings.
func ParseClaims(payload []byte) (Claims, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("token: claims: %w", err)
	}
	var c Claims
	str := func(name string, dst *string) error {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("token: claim %q: %w", name, err)
			}
		}
		return nil
	}
	date := func(name string, dst *time.Time) error {
		if v, ok := raw[name]; ok {
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("token: claim %q: %w", name, err)
			}
			*dst = time.Unix(int64(f), 0).UTC()
		}
		return nil
	}
	for name, dst := range map[string]*string{"iss": &c.Issuer, "sub": &c.Subject, "jti": &c.ID, "sid": &c.SessionID, "scope": &c.Scope, "client_id": &c.ClientID} {
		if err := str(name, dst); err != nil {
			return Claims{}, err
		}
	}
	for name, dst := range map[string]*time.Time{"exp": &c.ExpiresAt, "iat": &c.IssuedAt, "nbf": &c.NotBefore} {
		if err := date(name, dst); err != nil {
			return Claims{}, err
		}
	}
	if v, ok := raw["aud"]; ok {
		var one string
		if err := json.Unmarshal(v, &one); err == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(v, &c.Audience); err != nil {
			return Claims{}, fmt.Errorf("token: claim \"aud\": %w", err)
		}
	}
	for k, v := range raw {
		if registered[k] {
			continue
		}
		if c.Custom == nil {
			c.Custom = map[string]any{}
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return Claims{}, fmt.Errorf("token: claim %q: %w", k, err)
		}
		c.Custom[k] = x
	}
	return c, nil
}
