package jose

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Claims holds the registered claims Gatehouse uses, decoded by
// ParseClaims. Absent claims are zero values; a present "exp" of 0 is
// time.Unix(0, 0), which is not the zero time.Time. Claims only holds
// values: whether "exp" has passed or "aud" names this resource server is
// for the verifier package to decide. Read custom claims from the raw
// payload with any JSON decoder.
type Claims struct {
	// Issuer is "iss" (RFC 7519 §4.1.1).
	Issuer string
	// Subject is "sub" (RFC 7519 §4.1.2).
	Subject string
	// Audience is "aud", which may be one string or an array of strings
	// (RFC 7519 §4.1.3); a single string becomes a one-element slice.
	Audience []string
	// ExpiresAt is "exp" (RFC 7519 §4.1.4).
	ExpiresAt time.Time
	// NotBefore is "nbf" (RFC 7519 §4.1.5).
	NotBefore time.Time
	// IssuedAt is "iat" (RFC 7519 §4.1.6).
	IssuedAt time.Time
	// ID is "jti" (RFC 7519 §4.1.7).
	ID string
	// SessionID is "sid" (OpenID Connect Front-Channel Logout 1.0 §3).
	SessionID string
	// Scope is "scope", a space-separated list (RFC 8693 §4.2, RFC 9068
	// §2.2.3).
	Scope string
	// ClientID is "client_id" (RFC 8693 §4.3, RFC 9068 §2.2).
	ClientID string
}

// maxNumericDate bounds NumericDate values (about 285 million years);
// anything larger is treated as malformed rather than as "never".
const maxNumericDate = 1 << 53

// Claim bits for duplicate detection.
const (
	claimIss = 1 << iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimSid
	claimScope
	claimClientID
)

// ParseClaims decodes the registered claims of a JWT claims set (RFC 7519
// §4). The payload must be a strict JSON object. Other members are
// skipped but must still be valid JSON.
//
// ParseClaims is stricter than RFC 7519 requires so that no other JSON
// decoder can read a different value from the same payload: it rejects a
// registered claim that appears twice (RFC 7519 §4 allows "last one
// wins"), and a member whose name differs from a registered claim only in
// case, such as "Exp" or "ISS", because encoding/json would match it to
// the same struct field. A registered claim of the wrong type is rejected;
// null counts as absent. NumericDate values may have a fraction (RFC 7519
// §2) and must lie within ±2^53 seconds.
func ParseClaims(payload []byte) (Claims, error) {
	return ParseClaimsFunc(payload, nil)
}

// ParseClaimsFunc is ParseClaims that also hands each member that is not
// a registered claim to other (if not nil), in order: its name,
// unescaped, and its raw JSON value, already checked. Both may alias
// payload and are valid only during the call. An error from other stops
// the parse and is returned, wrapped with ErrMalformed. One pass reads
// the registered and the custom claims.
func ParseClaimsFunc(payload []byte, other func(name, value []byte) error) (Claims, error) {
	var p claimParse
	if err := p.parse(payload, other); err != nil {
		return Claims{}, err
	}
	return p.finish(), nil
}

// ParseClaimsInto is ParseClaimsFunc for a caller that keeps payload
// unchanged for as long as it uses the claims, such as Token.Payload
// from Verify: it copies no string. The string claims share payload's
// memory (one written with escapes is unescaped into memory of its own),
// and the audience is appended to c.Audience[:0], so a caller can
// provide its array. It sets every field of *c; on error *c is zero.
// Writing to payload afterwards would change strings, which Go assumes
// never happens: do not.
func ParseClaimsInto(c *Claims, payload []byte, other func(name, value []byte) error) error {
	p := claimParse{c: Claims{Audience: c.Audience[:0]}}
	if err := p.parse(payload, other); err != nil {
		*c = Claims{}
		return err
	}
	p.setStrings(stringOf)
	*c = p.c
	return nil
}

// parse reads the claims set: the registered claims into p, the others
// to other.
func (p *claimParse) parse(payload []byte, other func(name, value []byte) error) error {
	var (
		seen int
		sc   = scanner{data: payload}
	)
	if err := sc.expect('{'); err != nil {
		return fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	first := true
	for {
		name, ok, err := sc.member(&first)
		if err != nil {
			return fmt.Errorf("%w: claims: %w", ErrMalformed, err)
		}
		if !ok {
			break
		}
		bit := claimBit(name)
		if bit == 0 {
			if isRegisteredFold(name) {
				return fmt.Errorf("%w: claims: member %q differs from a registered claim only in case", ErrMalformed, clip(string(name)))
			}
			sc.ws()
			start := sc.pos
			if err := sc.skip(0); err != nil {
				return fmt.Errorf("%w: claims: %w", ErrMalformed, err)
			}
			if other != nil {
				if err := other(name, payload[start:sc.pos]); err != nil {
					return fmt.Errorf("%w: claims: %w", ErrMalformed, err)
				}
			}
			continue
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w: claims: duplicate %q", ErrMalformed, name)
		}
		seen |= bit
		if sc.null() {
			continue
		}
		if err := p.decodeClaim(&sc, bit); err != nil {
			return fmt.Errorf("%w: claims: %s: %w", ErrMalformed, claimName(bit), err)
		}
	}
	if err := sc.end(); err != nil {
		return fmt.Errorf("%w: claims: trailing data", ErrMalformed)
	}
	return nil
}

// claimParse gathers the raw bytes of the string claims while
// ParseClaims reads, so that finish makes all of them with one
// allocation instead of one each.
type claimParse struct {
	c Claims
	// raw holds iss, sub, jti, sid, scope and client_id, in that order
	// (strIndex); set says which were present.
	raw [6][]byte
	// aud0 is the first audience string and audMore the others (a
	// buffer inside the struct for all of them would move the whole
	// struct to the heap); nAud counts them, hasAud says whether "aud"
	// was present.
	aud0    []byte
	audMore [][]byte
	nAud    int
	hasAud  bool
}

// strIndex is the index in claimParse.raw of a string claim's bit.
func strIndex(bit int) int {
	switch bit {
	case claimIss:
		return 0
	case claimSub:
		return 1
	case claimJti:
		return 2
	case claimSid:
		return 3
	case claimScope:
		return 4
	}
	return 5 // claimClientID
}

// decodeClaim reads the value of the registered claim bit.
func (p *claimParse) decodeClaim(sc *scanner, bit int) error {
	switch bit {
	case claimAud:
		p.hasAud = true
		if sc.peek() != '[' {
			s, err := sc.str()
			if err != nil {
				return errWrongType
			}
			p.addAud(s)
			return nil
		}
		sc.pos++
		first := true
		for {
			ok, err := sc.next(&first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			s, err := sc.str()
			if err != nil {
				return errWrongType
			}
			p.addAud(s)
		}
	case claimExp, claimNbf, claimIat:
		t, err := numericDate(sc)
		if err != nil {
			return err
		}
		switch bit {
		case claimExp:
			p.c.ExpiresAt = t
		case claimNbf:
			p.c.NotBefore = t
		default:
			p.c.IssuedAt = t
		}
		return nil
	}
	s, err := sc.str()
	if err != nil {
		return errWrongType
	}
	p.raw[strIndex(bit)] = s
	return nil
}

// addAud adds an audience string.
func (p *claimParse) addAud(s []byte) {
	if p.nAud == 0 {
		p.aud0 = s
	} else {
		p.audMore = append(p.audMore, s)
	}
	p.nAud++
}

// finish returns the claims, their strings cut from one allocation.
func (p *claimParse) finish() Claims {
	n := 0
	for _, r := range p.raw {
		n += len(r)
	}
	n += len(p.aud0)
	for _, r := range p.audMore {
		n += len(r)
	}
	var b strings.Builder
	b.Grow(n)
	for _, r := range p.raw {
		b.Write(r)
	}
	b.Write(p.aud0)
	for _, r := range p.audMore {
		b.Write(r)
	}
	all := b.String()
	p.setStrings(func(r []byte) string {
		s := all[:len(r)]
		all = all[len(r):]
		return s
	})
	return p.c
}

// setStrings sets the string claims and the audience from the bytes they
// were read from, each string made by str, in the order finish wrote
// them: a copy (finish) or the bytes themselves (ParseClaimsInto, with
// stringOf). The audience is appended to p.c.Audience, which is nil when
// "aud" was absent.
func (p *claimParse) setStrings(str func([]byte) string) {
	fields := [6]*string{&p.c.Issuer, &p.c.Subject, &p.c.ID, &p.c.SessionID, &p.c.Scope, &p.c.ClientID}
	for i, r := range p.raw {
		*fields[i] = str(r)
	}
	if !p.hasAud {
		p.c.Audience = nil
		return
	}
	if p.c.Audience == nil {
		p.c.Audience = make([]string, 0, p.nAud)
	}
	if p.nAud > 0 {
		p.c.Audience = append(p.c.Audience, str(p.aud0))
	}
	for _, r := range p.audMore {
		p.c.Audience = append(p.c.Audience, str(r))
	}
}

// errWrongType is the cause for a registered claim of the wrong JSON type.
var errWrongType = errors.New("wrong type")

// numericDate reads a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly with a fraction.
func numericDate(sc *scanner) (time.Time, error) {
	c := sc.peek()
	if c != '-' && (c < '0' || c > '9') {
		return time.Time{}, errWrongType
	}
	num, err := sc.number()
	if err != nil {
		return time.Time{}, err
	}
	// Fast path: a plain integer of up to 15 digits.
	if len(num) <= 16 {
		var (
			v   int64
			neg = num[0] == '-'
			i   = 0
		)
		if neg {
			i = 1
		}
		for ; i < len(num); i++ {
			d := num[i]
			if d < '0' || d > '9' {
				break
			}
			v = v*10 + int64(d-'0')
		}
		if i == len(num) {
			if neg {
				v = -v
			}
			if v > maxNumericDate || v < -maxNumericDate {
				return time.Time{}, fmt.Errorf("out of range")
			}
			return time.Unix(v, 0), nil
		}
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsNaN(f) || f > maxNumericDate || f < -maxNumericDate {
		return time.Time{}, fmt.Errorf("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// claimBit maps a registered claim name to its bit, or 0.
func claimBit(name []byte) int {
	switch string(name) {
	case "iss":
		return claimIss
	case "sub":
		return claimSub
	case "aud":
		return claimAud
	case "exp":
		return claimExp
	case "nbf":
		return claimNbf
	case "iat":
		return claimIat
	case "jti":
		return claimJti
	case "sid":
		return claimSid
	case "scope":
		return claimScope
	case "client_id":
		return claimClientID
	}
	return 0
}

// claimNames lists the registered claims in bit order.
const claimNames = "iss sub aud exp nbf iat jti sid scope client_id"

// claimName returns the name for a claim bit.
func claimName(bit int) string {
	rest := claimNames
	for b := bit; b > 1; b >>= 1 {
		_, rest, _ = strings.Cut(rest, " ")
	}
	name, _, _ := strings.Cut(rest, " ")
	return name
}

// isRegisteredFold reports whether name equals a registered claim name
// under Unicode case folding, the rule encoding/json uses to match
// member names to struct fields. name is known not to be exactly a
// registered name.
func isRegisteredFold(name []byte) bool {
	if len(name) > 3*len("client_id") {
		return false
	}
	plain := true
	for _, c := range name {
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		// Lowercase ASCII folds only to itself.
		return false
	}
	for rest := claimNames; rest != ""; {
		var reg string
		reg, rest, _ = strings.Cut(rest, " ")
		if strings.EqualFold(string(name), reg) {
			return true
		}
	}
	return false
}
