package token

import (
	"cmp"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
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
	// NumericDates are whole seconds (RFC 7519 section 2 allows
	// fractions, but many verifiers compare integers).
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
	setOrDelete(m, "client_id", cmp.Or(c.ClientID, FirstPartyClientID))
	return json.Marshal(m)
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

// fromJOSE copies the registered claims parsed by package jose.
func fromJOSE(jc jose.Claims) Claims {
	return Claims{
		Issuer: jc.Issuer, Subject: jc.Subject, Audience: jc.Audience,
		ExpiresAt: utc(jc.ExpiresAt), IssuedAt: utc(jc.IssuedAt), NotBefore: utc(jc.NotBefore),
		ID: jc.ID, SessionID: jc.SessionID, Scope: jc.Scope, ClientID: firstPartyAsEmpty(jc.ClientID),
	}
}

// FirstPartyClientID is the "client_id" claim of first-party access
// tokens (POST /v1/login, POST /v1/session/token and their refreshes),
// which RFC 9068 section 2.2 requires of every JWT access token. It is
// not a registered client, and cannot become one: registered ids are
// random hex. Inside the server a first-party token has no client
// (Claims.ClientID is empty).
const FirstPartyClientID = "gatehouse-first-party"

func firstPartyAsEmpty(id string) string {
	if id == FirstPartyClientID {
		return ""
	}
	return id
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
