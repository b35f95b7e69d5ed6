package verifier

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// checkClaims validates the registered claims of a verified token against
// the configuration at now. Signature, type and revocation are checked
// elsewhere.
func (v *Verifier) checkClaims(c *jose.Claims, now time.Time) error {
	cfg := &v.cfg
	switch {
	case c.ExpiresAt.IsZero():
		return invalid(ErrMalformed, "no exp claim")
	case c.IssuedAt.IsZero():
		return invalid(ErrMalformed, "no iat claim")
	case c.Subject == "":
		return invalid(ErrMalformed, "no sub claim")
	}
	if !cfg.InsecureSkipIssuerCheck && c.Issuer != cfg.Issuer {
		return invalid(ErrIssuer, "iss %q, want %q", clip(c.Issuer), cfg.Issuer)
	}
	if !cfg.InsecureSkipAudienceCheck && !slices.Contains(c.Audience, cfg.Audience) {
		return invalid(ErrAudience, "aud %q does not include %q", clipList(c.Audience), cfg.Audience)
	}
	// RFC 7519 §4.1.4: the token must not be accepted "on or after" exp.
	if !now.Before(c.ExpiresAt.Add(cfg.Leeway)) {
		return &ExpiredError{Expiry: c.ExpiresAt, Now: now}
	}
	if !c.NotBefore.IsZero() && now.Add(cfg.Leeway).Before(c.NotBefore) {
		return invalid(ErrNotYetValid, "nbf %s is in the future", c.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.Add(cfg.Leeway).Before(c.IssuedAt) {
		return invalid(ErrNotYetValid, "iat %s is in the future", c.IssuedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkType accepts the access token "typ" of RFC 9068 §2.1, "at+jwt",
// also with the "application/" prefix that RFC 7515 §4.1.9 allows
// omitting, compared case-insensitively as media types are.
func checkType(typ string) error {
	t := typ
	if len(t) > len("application/") && strings.EqualFold(t[:len("application/")], "application/") {
		t = t[len("application/"):]
	}
	if !strings.EqualFold(t, "at+jwt") {
		if typ == "" {
			return invalid(ErrType, "no typ header")
		}
		return invalid(ErrType, "typ %q", clip(typ))
	}
	return nil
}

func clipList(list []string) string {
	return clip(strings.Join(list, " "))
}

// splitScope splits a space-separated "scope" (RFC 6749 §3.3).
func splitScope(scope string) []string {
	if scope == "" {
		return nil
	}
	return strings.Fields(scope)
}

// parseClaims reads a claims set in one pass: the registered claims
// (jose.ParseClaimsFunc, with its strictness) and the others, decoded as
// encoding/json would into an any; custom is nil if there are none.
func parseClaims(payload []byte) (c jose.Claims, custom map[string]any, err error) {
	c, err = jose.ParseClaimsFunc(payload, func(name, value []byte) error {
		v, err := decodeValue(value)
		if err != nil {
			return err
		}
		if custom == nil {
			custom = make(map[string]any, 4)
		}
		custom[string(name)] = v
		return nil
	})
	if err != nil {
		return jose.Claims{}, nil, invalidCause(ErrMalformed, err)
	}
	return c, custom, nil
}

// decodeValue decodes one JSON value as encoding/json would into an any.
// Plain strings and literals, the usual custom claims, skip the decoder.
func decodeValue(raw []byte) (any, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		plain := true
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), nil
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
