package verifier

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// registeredClaims are the claims jose.ParseClaims decodes; the others
// are custom.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope", "client_id"}

func isRegistered(name []byte) bool {
	switch string(name) {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope", "client_id":
		return true
	}
	return false
}

// customClaims decodes the members of the claims set payload that are not
// registered claims, and returns nil if there are none. payload has
// already passed jose.ParseClaims, so it is a strict JSON object; the
// scan still fails safely on anything else.
func customClaims(payload []byte) (map[string]any, error) {
	var out map[string]any
	err := eachMember(payload, func(name, value []byte) error {
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(name, &s); err != nil {
				return err
			}
			name = []byte(s)
		} else {
			name = name[1 : len(name)-1]
		}
		if isRegistered(name) {
			return nil
		}
		v, err := decodeValue(value)
		if err != nil {
			return err
		}
		if out == nil {
			out = make(map[string]any, 4)
		}
		out[string(name)] = v
		return nil
	})
	if err != nil {
		return nil, invalid(ErrMalformed, "claims: %v", err)
	}
	return out, nil
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

// eachMember calls fn with the raw name (with quotes) and raw value of
// each member of the JSON object data.
func eachMember(data []byte, fn func(name, value []byte) error) error {
	s := rawScanner{b: data}
	if !s.consume('{') {
		return errNotObject
	}
	if s.consume('}') {
		return s.end()
	}
	for {
		s.ws()
		start := s.i
		if !s.str() {
			return errSyntax
		}
		name := data[start:s.i]
		if !s.consume(':') {
			return errSyntax
		}
		s.ws()
		vstart := s.i
		if !s.value(0) {
			return errSyntax
		}
		if err := fn(name, data[vstart:s.i]); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return errSyntax
	}
}

var (
	errNotObject = fmt.Errorf("not a JSON object")
	errSyntax    = fmt.Errorf("invalid JSON")
)

// rawScanner skips over JSON values without decoding them.
type rawScanner struct {
	b []byte
	i int
}

func (s *rawScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *rawScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *rawScanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

// str skips a string starting at s.i.
func (s *rawScanner) str() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	s.i++
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return false
		}
		if k := bytes.IndexByte(s.b[s.i:s.i+j], '\\'); k >= 0 {
			// Step over the escape and its next byte, which may be a quote.
			s.i += k + 2
			if s.i > len(s.b) {
				s.i = len(s.b)
				return false
			}
			continue
		}
		s.i += j + 1
		return true
	}
}

// value skips one value starting at s.i.
func (s *rawScanner) value(depth int) bool {
	if depth > 64 || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.str()
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		if s.consume(closer) {
			return true
		}
		for {
			s.ws()
			if c == '{' {
				if !s.str() || !s.consume(':') {
					return false
				}
				s.ws()
			}
			if !s.value(depth + 1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume(closer)
		}
	default:
		// A number or literal: everything up to a delimiter.
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}
