package jose

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

// DefaultMaxTokenSize is the token length limit a Verifier applies when
// its MaxTokenSize is zero: 8 KiB, far above any token Gatehouse issues
// and small enough that oversized input is turned away before any
// decoding.
const DefaultMaxTokenSize = 8 << 10

// KeySet finds verification keys. *JWKS implements it for a fixed set; a
// cache of an issuer's remote JWKS can implement it too, refreshing on an
// unknown kid. Verify never asks a KeySet for a key named by anything but
// the token's "kid".
type KeySet interface {
	// Key returns the key whose ID is kid. When kid is empty (the token
	// carries no "kid"), Key must return the set's only key if it holds
	// exactly one, and false otherwise: with several keys the token must
	// say which one it was signed with. ctx bounds any I/O the lookup
	// does (a refetch or reload on an unknown kid); a set that holds its
	// keys in memory ignores it.
	Key(ctx context.Context, kid string) (PublicKey, bool)
}

// KeyFunc adapts a function to the KeySet interface. The function must
// follow KeySet's rule for an empty kid.
type KeyFunc func(ctx context.Context, kid string) (PublicKey, bool)

// Key calls f(ctx, kid).
func (f KeyFunc) Key(ctx context.Context, kid string) (PublicKey, bool) { return f(ctx, kid) }

// Header is the protected header of a verified token: the parameters this
// package understands. Unknown parameters are ignored (RFC 7515 §4);
// "crit", "jku", "x5u", "jwk" and "x5c" cause rejection instead.
type Header struct {
	// Algorithm is "alg". After Verify it always equals the key's
	// algorithm.
	Algorithm Algorithm
	// KeyID is "kid"; empty if the token has none.
	KeyID string
	// Type is "typ", such as "at+jwt" (RFC 9068 §2.1); empty if absent.
	Type string
	// ContentType is "cty"; empty if absent.
	ContentType string
}

// Token is the result of a successful verification.
type Token struct {
	// Header is the token's protected header.
	Header Header
	// Payload is the decoded payload, owned by the caller. For a JWT it
	// is the claims set: decode the registered claims with ParseClaims
	// and custom claims with any JSON decoder.
	Payload []byte
	// Key is the key that verified the signature.
	Key PublicKey
}

// Verifier checks compact JWS tokens (RFC 7515 §7.1) against a key set.
// It checks structure and signature only; claims validation ("exp",
// "aud", ...) is a separate step. A Verifier is safe for concurrent use if
// its KeySet is. It must not be copied after its first use.
//
// Verify rejects:
//   - a token longer than MaxTokenSize, before reading it (ErrTooLarge);
//   - anything but three non-empty segments of canonical, unpadded
//     base64url separated by two dots (ErrMalformed);
//   - a header that is not a strict JSON object, repeats a parameter it
//     reads, or lacks a string "alg" (ErrMalformed);
//   - an "alg" other than EdDSA, ES256 or RS256, compared exactly, so
//     "none", "None", "NONE", "" and "HS256" all fail
//     (ErrUnsupportedAlg);
//   - any "crit" parameter (ErrCritUnsupported);
//   - any "jku", "x5u", "jwk" or "x5c" parameter, whatever its value
//     (ErrForbiddenHeader). Such a token is rejected outright rather than
//     verified with the key set while the parameter is ignored: Gatehouse
//     never issues these parameters, so a token carrying one is either
//     from a misconfigured issuer or an attempt to choose the key
//     (RFC 8725 §3.10);
//   - a "kid" the key set does not hold, or no "kid" when the set does
//     not hold exactly one key (ErrUnknownKey);
//   - an "alg" that is not the key's algorithm (ErrAlgMismatch);
//   - a signature of the wrong length or that does not verify
//     (ErrBadSignature).
//
// The header checks run while the header is read, in member order, and
// all of them run before the key lookup; the signature is checked before
// the payload is decoded.
type Verifier struct {
	// Keys finds the key for a token's "kid". Required.
	Keys KeySet
	// MaxTokenSize is the longest token, in bytes, that Verify accepts.
	// Zero means DefaultMaxTokenSize (8 KiB).
	MaxTokenSize int

	// last is the header segment of the last token that verified, and
	// what it parsed to: an issuer signs every token with the same few
	// headers, so most tokens skip decoding and parsing theirs. Parsing
	// is a function of the segment's bytes alone, so the memo answers
	// exactly what parsing would. Only a header whose signature verified
	// is kept, so tokens with made-up headers cannot push it out.
	last atomic.Pointer[headerMemo]
}

// headerMemo is a header segment (base64url, as in the token) and the
// Header it parses to.
type headerMemo struct {
	seg string
	hdr Header
}

// Verify checks token and returns its header, payload and the key that
// verified it. The payload is decoded only after the signature has been
// verified. ctx is passed to the key set's lookup. Errors wrap one of this
// package's sentinel errors.
func (v *Verifier) Verify(ctx context.Context, token string) (Token, error) {
	limit := v.MaxTokenSize
	if limit <= 0 {
		limit = DefaultMaxTokenSize
	}
	if len(token) > limit {
		return Token{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), limit)
	}
	if v.Keys == nil {
		return Token{}, fmt.Errorf("%w: verifier has no key set", ErrUnknownKey)
	}
	d1, d2, err := split(token)
	if err != nil {
		return Token{}, err
	}
	// The segments are decoded, and the signing input hashed, straight
	// from the token's own memory: both only read it.
	b := bytesOf(token)
	h64, p64, s64 := b[:d1], b[d1+1:d2], b[d2+1:]

	memo := v.last.Load()
	var hdr Header
	if memo != nil && memo.seg == string(h64) {
		hdr = memo.hdr
	} else {
		var hbuf [256]byte
		hdrJSON, err := decodeSegment(hbuf[:0], h64)
		if err != nil {
			return Token{}, fmt.Errorf("header: %w", err)
		}
		if hdr, err = parseHeader(hdrJSON); err != nil {
			return Token{}, err
		}
		memo = nil
	}

	key, ok := v.Keys.Key(ctx, hdr.KeyID)
	if !ok {
		if hdr.KeyID == "" {
			return Token{}, fmt.Errorf("%w: token has no kid and the key set does not hold exactly one key", ErrUnknownKey)
		}
		return Token{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(hdr.KeyID))
	}
	if key.IsZero() {
		return Token{}, fmt.Errorf("%w: key set returned a zero PublicKey for kid %q", ErrInvalidKey, clip(hdr.KeyID))
	}
	if key.alg != hdr.Algorithm {
		return Token{}, fmt.Errorf("%w: token alg %s, key %q is %s", ErrAlgMismatch, hdr.Algorithm, clip(key.kid), key.alg)
	}

	var sbuf [MaxRSABits / 8]byte
	if b64DecodedLen(len(s64)) > len(sbuf) {
		return Token{}, fmt.Errorf("%w: signature length", ErrBadSignature)
	}
	sig, err := decodeSegment(sbuf[:0], s64)
	if err != nil {
		return Token{}, fmt.Errorf("signature: %w", err)
	}
	if len(sig) != key.sigLen {
		return Token{}, fmt.Errorf("%w: signature length", ErrBadSignature)
	}
	if !key.verify(b[:d2], sig) {
		return Token{}, ErrBadSignature
	}
	if memo == nil {
		v.last.Store(&headerMemo{seg: strings.Clone(token[:d1]), hdr: hdr})
	}

	payload, err := decodeSegment(nil, p64)
	if err != nil {
		return Token{}, fmt.Errorf("payload: %w", err)
	}
	return Token{Header: hdr, Payload: payload, Key: key}, nil
}

// split finds the two dots of a compact JWS. It also rejects CR and LF,
// the only bytes outside the base64url alphabet that encoding/base64
// skips instead of rejecting; the decoder rejects everything else,
// including '=' padding and whitespace.
func split(token string) (d1, d2 int, err error) {
	d1 = strings.IndexByte(token, '.')
	if d1 < 0 {
		return 0, 0, fmt.Errorf("%w: fewer than three segments", ErrMalformed)
	}
	r := strings.IndexByte(token[d1+1:], '.')
	if r < 0 {
		return 0, 0, fmt.Errorf("%w: fewer than three segments", ErrMalformed)
	}
	d2 = d1 + 1 + r
	switch {
	case strings.IndexByte(token[d2+1:], '.') >= 0:
		return 0, 0, fmt.Errorf("%w: more than three segments", ErrMalformed)
	case strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0:
		return 0, 0, fmt.Errorf("%w: line break in token", ErrMalformed)
	case d1 == 0:
		return 0, 0, fmt.Errorf("%w: empty header", ErrMalformed)
	case d2 == d1+1:
		return 0, 0, fmt.Errorf("%w: empty payload", ErrMalformed)
	case d2 == len(token)-1:
		return 0, 0, fmt.Errorf("%w: empty signature", ErrMalformed)
	}
	return d1, d2, nil
}

// Header parameters that parseHeader tracks for duplicates.
const (
	seenAlg = 1 << iota
	seenKid
	seenTyp
	seenCty
)

// parseHeader reads a JOSE header (RFC 7515 §4) as a strict JSON object.
func parseHeader(data []byte) (Header, error) {
	var (
		h    Header
		seen int
		sc   = scanner{data: data}
	)
	if err := sc.expect('{'); err != nil {
		return Header{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	first := true
	for {
		name, ok, err := sc.member(&first)
		if err != nil {
			return Header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
		}
		if !ok {
			break
		}
		var bit int
		switch string(name) {
		case "alg":
			bit = seenAlg
		case "kid":
			bit = seenKid
		case "typ":
			bit = seenTyp
		case "cty":
			bit = seenCty
		case "crit":
			return Header{}, ErrCritUnsupported
		case "jku", "x5u", "jwk", "x5c":
			return Header{}, fmt.Errorf("%w: %q", ErrForbiddenHeader, string(name))
		default:
			if err := sc.skip(0); err != nil {
				return Header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
			}
			continue
		}
		if seen&bit != 0 {
			return Header{}, fmt.Errorf("%w: header: duplicate %q", ErrMalformed, string(name))
		}
		seen |= bit
		val, err := sc.str()
		if err != nil {
			return Header{}, fmt.Errorf("%w: header: %s is not a string", ErrMalformed, headerName(bit))
		}
		switch bit {
		case seenAlg:
			alg, ok := algFromBytes(val)
			if !ok {
				return Header{}, fmt.Errorf("%w: %q", ErrUnsupportedAlg, clip(string(val)))
			}
			h.Algorithm = alg
		case seenKid:
			h.KeyID = string(val)
		case seenTyp:
			h.Type = string(val)
		case seenCty:
			h.ContentType = string(val)
		}
	}
	if err := sc.end(); err != nil {
		return Header{}, fmt.Errorf("%w: header: trailing data", ErrMalformed)
	}
	if seen&seenAlg == 0 {
		return Header{}, fmt.Errorf("%w: header has no alg", ErrMalformed)
	}
	return h, nil
}

func headerName(bit int) string {
	switch bit {
	case seenAlg:
		return "alg"
	case seenKid:
		return "kid"
	case seenTyp:
		return "typ"
	}
	return "cty"
}
