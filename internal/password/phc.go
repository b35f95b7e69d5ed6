package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// phcVersion is the only Argon2 version accepted and written: 0x13 (19),
// the version of RFC 9106 and of golang.org/x/crypto/argon2.
const phcVersion = 19

// maxEncodedLen bounds the input of ParsePHC before any work is done. The
// longest string within the limits is well under it.
const maxEncodedLen = 256

// b64 returns the PHC encoding of salt and hash: standard alphabet, no
// padding, and (Strict) no non-zero trailing bits, so that every byte string
// has one encoding.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// ParsePHC parses an Argon2id hash in PHC string format,
//
//	$argon2id$v=19$m=<memory>,t=<time>,p=<threads>$<salt>$<hash>
//
// and returns its parameters (with SaltLen and KeyLen set to the lengths
// found), its salt and its hash.
//
// Only the canonical form that this package writes is accepted: algorithm
// argon2id, version 19, the parameters m, t and p in that order as decimal
// numbers without sign or leading zeros, no optional parameters, and salt
// and hash in standard base64 without padding or line breaks. Parameters
// outside this package's limits (see MaxMemory and the other constants) are
// refused too. Every error wraps ErrMalformedHash. ParsePHC never panics.
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	defer func() {
		if err != nil {
			p, salt, key = Params{}, nil, nil
			err = fmt.Errorf("%w: %w", ErrMalformedHash, err)
		}
	}()
	if len(s) > maxEncodedLen {
		return p, nil, nil, fmt.Errorf("longer than %d bytes", maxEncodedLen)
	}
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("want 5 fields separated by '$', got %d", len(fields)-1)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("unsupported algorithm %q", truncate(fields[1]))
	}
	if fields[2] != "v="+strconv.Itoa(phcVersion) {
		return p, nil, nil, fmt.Errorf("unsupported version %q", truncate(fields[2]))
	}
	if err := parseCosts(fields[3], &p); err != nil {
		return p, nil, nil, err
	}
	if salt, err = decodeB64(fields[4], MinSaltLen, MaxSaltLen); err != nil {
		return p, nil, nil, fmt.Errorf("salt: %w", err)
	}
	if key, err = decodeB64(fields[5], MinKeyLen, MaxKeyLen); err != nil {
		return p, nil, nil, fmt.Errorf("hash: %w", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

// parseCosts parses "m=<memory>,t=<time>,p=<threads>" into p.
func parseCosts(s string, p *Params) error {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return fmt.Errorf("want parameters m, t and p, got %d parameters", len(parts))
	}
	names := [3]string{"m=", "t=", "p="}
	var vals [3]uint32
	for i, part := range parts {
		digits, ok := strings.CutPrefix(part, names[i])
		if !ok {
			return fmt.Errorf("parameter %d: want %q", i+1, names[i][:1])
		}
		v, err := parseDecimal(digits)
		if err != nil {
			return fmt.Errorf("parameter %s: %w", names[i][:1], err)
		}
		vals[i] = v
	}
	if vals[2] > uint32(MaxThreads) {
		return fmt.Errorf("threads p=%d not in [1, %d]", vals[2], MaxThreads)
	}
	p.Memory, p.Time, p.Threads = vals[0], vals[1], uint8(vals[2])
	return nil
}

// parseDecimal parses a canonical unsigned decimal that fits in 32 bits:
// digits only, no sign, no leading zeros.
func parseDecimal(s string) (uint32, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("not a 32-bit decimal number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a decimal number")
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not a 32-bit decimal number: %w", err)
	}
	return uint32(v), nil
}

// decodeB64 decodes s, which must be canonical unpadded standard base64 of
// min to max bytes. The length is checked before decoding.
func decodeB64(s string, minLen, maxLen uint32) ([]byte, error) {
	n := b64().DecodedLen(len(s))
	if n < int(minLen) || n > int(maxLen) {
		return nil, fmt.Errorf("length %d bytes not in [%d, %d]", n, minLen, maxLen)
	}
	// The decoder skips '\r' and '\n'; refuse them, and anything else
	// outside the alphabet, so that each value has a single encoding.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("invalid base64 character at offset %d", i)
		}
	}
	b, err := b64().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return b, nil
}

// encodePHC writes the PHC string for p, salt and key. It is the inverse of
// ParsePHC; p.SaltLen and p.KeyLen are implied by len(salt) and len(key).
func encodePHC(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(64 + b64().EncodedLen(len(salt)) + b64().EncodedLen(len(key)))
	b.WriteString("$argon2id$v=")
	b.WriteString(strconv.Itoa(phcVersion))
	b.WriteString("$m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64().EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64().EncodeToString(key))
	return b.String()
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 16
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
