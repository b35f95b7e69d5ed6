package token

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
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
	// AMR and ACR are how the user authenticated (RFC 8176 "amr", OpenID
	// Connect "acr"; see package authcontext), and AuthTime when
	// ("auth_time"); all empty for tokens without a user.
	AMR      []string
	ACR      string
	AuthTime time.Time
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
// override registered ones. The members are in encoding/json's order for
// a map (sorted by name), with its escaping, so the bytes are the same
// whichever path writes them.
func (c Claims) MarshalJSON() ([]byte, error) {
	if len(c.Custom) == 0 {
		return c.appendRegistered(make([]byte, 0, 320)), nil
	}
	return c.marshalMap()
}

// appendRegistered appends the claims set of claims without custom
// claims, as marshalMap would write it, without a map or reflection: the
// client credentials grant and most user tokens.
func (c Claims) appendRegistered(b []byte) []byte {
	b = append(b, '{')
	if c.ACR != "" {
		b = append(b, `"acr":`...)
		b = appendJSONString(b, c.ACR)
		b = append(b, ',')
	}
	if len(c.AMR) > 0 {
		b = append(b, `"amr":[`...)
		for i, m := range c.AMR {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, "],"...)
	}
	b = append(b, `"aud":`...)
	switch {
	case len(c.Audience) == 1:
		b = appendJSONString(b, c.Audience[0])
	case c.Audience == nil:
		b = append(b, "null"...)
	default:
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	if !c.AuthTime.IsZero() {
		b = append(b, `,"auth_time":`...)
		b = strconv.AppendInt(b, c.AuthTime.Unix(), 10)
	}
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, cmp.Or(c.ClientID, FirstPartyClientID))
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.ExpiresAt.Unix(), 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt.Unix(), 10)
	b = append(b, `,"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.ID)
	if !c.NotBefore.IsZero() {
		b = append(b, `,"nbf":`...)
		b = strconv.AppendInt(b, c.NotBefore.Unix(), 10)
	}
	if c.Scope != "" {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, c.Scope)
	}
	if c.SessionID != "" {
		b = append(b, `,"sid":`...)
		b = appendJSONString(b, c.SessionID)
	}
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes a string: as it is
// when it is printable ASCII that needs no escape (the usual ids, URLs
// and scopes), else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// marshalMap encodes the claims through a map, custom claims first so
// the registered ones override them.
func (c Claims) marshalMap() ([]byte, error) {
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
	setOrDelete(m, "acr", c.ACR)
	delete(m, "amr")
	if len(c.AMR) > 0 {
		m["amr"] = c.AMR
	}
	delete(m, "auth_time")
	if !c.AuthTime.IsZero() {
		m["auth_time"] = c.AuthTime.Unix()
	}
	return json.Marshal(m)
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

// authClaims collects the amr, acr and auth_time members of an access
// token's claims set, which package jose leaves to its caller.
type authClaims struct {
	amr      []string
	acr      string
	authTime int64
}

// member is a jose.ParseClaimsFunc callback: it decodes amr, acr and
// auth_time and skips every other member. The shapes Gatehouse writes
// (plain ASCII strings, an integer, an array of such strings without
// spaces) are decoded by hand, since this runs on every bearer request
// (issue #18); anything else goes through encoding/json, so the results
// are the same (TestAuthClaimsMember, FuzzAuthClaimsMember).
func (a *authClaims) member(name, value []byte) error {
	var err error
	switch string(name) {
	case "amr":
		if amr, ok := plainStrings(value); ok {
			a.amr = amr
			return nil
		}
		err = json.Unmarshal(value, &a.amr)
	case "acr":
		if acr, ok := plainString(value); ok {
			a.acr = acr
			return nil
		}
		err = json.Unmarshal(value, &a.acr)
	case "auth_time":
		if n, ok := plainInt(value); ok {
			a.authTime = n
			return nil
		}
		err = json.Unmarshal(value, &a.authTime)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// plainString decodes a JSON string of printable ASCII without escapes.
// The values Gatehouse writes in amr and acr are returned as the shared
// constants, without allocating.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if k, ok := authcontext.KnownValue(body); ok {
		return k, true
	}
	return string(body), true
}

// plainStrings decodes a JSON array of plain strings written without
// spaces (["pwd","otp","mfa"]).
func plainStrings(v []byte) ([]string, bool) {
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, false
	}
	body := v[1 : len(v)-1]
	if len(body) == 0 {
		return []string{}, true
	}
	out := make([]string, 0, 4)
	for len(body) > 0 {
		end := bytes.IndexByte(body[1:], '"') + 2 // the closing quote's index + 1
		if body[0] != '"' || end < 2 {
			return nil, false
		}
		s, ok := plainString(body[:end])
		if !ok {
			return nil, false
		}
		out = append(out, s)
		body = body[end:]
		if len(body) > 0 {
			if body[0] != ',' || len(body) == 1 {
				return nil, false
			}
			body = body[1:]
		}
	}
	return out, true
}

// plainInt decodes a JSON integer of at most 18 digits, without sign,
// fraction or exponent.
func plainInt(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 || (v[0] == '0' && len(v) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
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
