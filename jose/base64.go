package jose

import (
	"encoding/base64"
	"fmt"
)

// b64Value returns the 6-bit value of a base64url character (RFC 4648
// §5), or 0xff for any other byte.
func b64Value(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return 0xff
}

// decodeB64 decodes src, which must be canonical unpadded base64url (RFC
// 7515 §2): only the URL-safe alphabet, no '=' padding, no line breaks,
// and zero bits in the unused low bits of the last character, so every
// value has exactly one encoding. The result is appended to dst[:0].
func decodeB64(dst, src []byte) ([]byte, error) {
	for _, c := range src {
		if b64Value(c) == 0xff {
			return nil, fmt.Errorf("%w: invalid base64url character", ErrMalformed)
		}
	}
	return decodeSegment(dst, src)
}

// decodeSegment is decodeB64 for input known to hold no CR or LF, the
// bytes encoding/base64 skips; the decoder rejects every other byte
// outside the alphabet, and decodeSegment checks the canonical tail.
func decodeSegment(dst, src []byte) ([]byte, error) {
	n := len(src)
	switch n % 4 {
	case 1:
		return nil, fmt.Errorf("%w: invalid base64url length", ErrMalformed)
	case 2:
		// The last character carries 2 bits; its low 4 must be zero.
		if b64Value(src[n-1])&0x0f != 0 {
			return nil, fmt.Errorf("%w: non-canonical base64url", ErrMalformed)
		}
	case 3:
		// The last character carries 4 bits; its low 2 must be zero.
		if b64Value(src[n-1])&0x03 != 0 {
			return nil, fmt.Errorf("%w: non-canonical base64url", ErrMalformed)
		}
	}
	need := base64.RawURLEncoding.DecodedLen(n)
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	dst = dst[:need]
	m, err := base64.RawURLEncoding.Decode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return dst[:m], nil
}

// b64DecodedLen is the decoded length of n canonical base64url characters.
func b64DecodedLen(n int) int { return base64.RawURLEncoding.DecodedLen(n) }

// appendB64 appends the unpadded base64url encoding of src.
func appendB64(dst, src []byte) []byte { return base64.RawURLEncoding.AppendEncode(dst, src) }
