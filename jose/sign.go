package jose

import (
	"fmt"
	"unicode/utf8"
)

// maxTypeLen bounds the "typ" value Sign accepts.
const maxTypeLen = 128

// Sign returns the compact JWS serialization (RFC 7515 §7.1) of payload,
// signed with key. The protected header is
//
//	{"alg":"<key's alg>","kid":"<key's kid>","typ":"<typ>"}
//
// in exactly that order; "typ" is omitted when typ is empty. Use
// "at+jwt" for access tokens (RFC 9068 §2.1), so they cannot be mistaken
// for other JWTs (RFC 8725 §3.11), and "JWT" or nothing for ID tokens. Ed25519 signatures are deterministic, so for EdDSA the same
// inputs always give the same token.
func Sign(key PrivateKey, typ string, payload []byte) (string, error) {
	if key.IsZero() {
		return "", fmt.Errorf("%w: zero PrivateKey", ErrInvalidKey)
	}
	if len(typ) > maxTypeLen || !utf8.ValidString(typ) {
		return "", fmt.Errorf("jose: sign: invalid typ %q", clip(typ))
	}
	hdr := make([]byte, 0, 64+len(key.pub.kid)+len(typ))
	hdr = append(hdr, `{"alg":`...)
	hdr = appendJSONString(hdr, string(key.pub.alg))
	hdr = append(hdr, `,"kid":`...)
	hdr = appendJSONString(hdr, key.pub.kid)
	if typ != "" {
		hdr = append(hdr, `,"typ":`...)
		hdr = appendJSONString(hdr, typ)
	}
	hdr = append(hdr, '}')

	b64Len := func(n int) int { return (n*8 + 5) / 6 }
	sigLen := key.pub.sigLen
	out := make([]byte, 0, b64Len(len(hdr))+1+b64Len(len(payload))+1+b64Len(sigLen))
	out = appendB64(out, hdr)
	out = append(out, '.')
	out = appendB64(out, payload)
	sig, err := key.sign(out)
	if err != nil {
		return "", fmt.Errorf("jose: sign with %s key %q: %w", key.pub.alg, key.pub.kid, err)
	}
	out = append(out, '.')
	out = appendB64(out, sig)
	return string(out), nil
}
