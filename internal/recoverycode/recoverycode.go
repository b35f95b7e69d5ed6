package recoverycode

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
)

const (
	// Count is the number of codes in a set.
	Count = 10
	// Length is the number of base32 characters of a code (without the
	// hyphen): 10 characters of 5 bits, 50 random bits.
	Length = 10
	// groupSize is where the hyphen goes in the printed form.
	groupSize = 5
)

// ErrMalformed reports input that cannot be a recovery code.
var ErrMalformed = errors.New("recoverycode: malformed code")

// lowerBase32 is RFC 4648 base32 in lower case: a–z and 2–7, no padding.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Hasher computes the keyed hashes that are stored for recovery codes.
// Its key is derived from the key-encryption key, so a copy of the
// database alone does not allow testing guesses offline.
type Hasher struct {
	key [seal.KeySize]byte
}

// NewHasher returns a Hasher keyed from the key-encryption key (by HKDF,
// see seal.DeriveKey). It fails only where seal.DeriveKey does.
func NewHasher(kek [seal.KeySize]byte) (*Hasher, error) {
	key, err := seal.DeriveKey("gatehouse recovery code hash v1", kek[:])
	if err != nil {
		return nil, fmt.Errorf("recoverycode: derive key: %w", err)
	}
	return &Hasher{key: key}, nil
}

// Generate returns a new set of Count codes in printed form
// ("xxxxx-xxxxx"), to show the user once, and their hashes for userID,
// to store, in the same order.
func (h *Hasher) Generate(userID string) (codes []string, hashes [][]byte) {
	codes = make([]string, Count)
	hashes = make([][]byte, Count)
	raw := make([]byte, 7) // 56 bits, of which the first 50 are used
	for i := range codes {
		_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+)
		c := lowerBase32.EncodeToString(raw)[:Length]
		codes[i] = c[:groupSize] + "-" + c[groupSize:]
		hashes[i] = h.hash(userID, c)
	}
	return codes, hashes
}

// Hash parses input (see Normalize) and returns its hash for userID, to
// look up and consume in the store. Malformed input is ErrMalformed.
func (h *Hasher) Hash(userID, input string) ([]byte, error) {
	c, err := Normalize(input)
	if err != nil {
		return nil, err
	}
	return h.hash(userID, c), nil
}

// Match reports which of hashes (a user's unused codes) input is, or -1.
// It compares against every hash in constant time, so the answer's timing
// does not tell which, or whether any, matched.
func (h *Hasher) Match(userID, input string, hashes [][]byte) int {
	sum, err := h.Hash(userID, input)
	if err != nil {
		return -1
	}
	found := -1
	for i, stored := range hashes {
		if hmac.Equal(sum, stored) && found < 0 {
			found = i
		}
	}
	return found
}

// hash is HMAC-SHA-256(key, len(userID) || userID || code): binding the
// user means a code, or its hash, is worth nothing for another account.
func (h *Hasher) hash(userID, code string) []byte {
	m := hmac.New(sha256.New, h.key[:])
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(userID))))
	m.Write([]byte(userID))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Normalize returns a typed code in canonical form: Length lower-case
// base32 characters. It is lenient with what people type: upper case,
// spaces and hyphens anywhere, and the digits 0, 1 and 8 for the letters
// o, l and b that they resemble (base32 has none of those digits).
// Anything else, or the wrong length, is ErrMalformed.
func Normalize(input string) (string, error) {
	if len(input) > 4*Length {
		return "", ErrMalformed
	}
	out := make([]byte, 0, Length)
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '2' && c <= '7':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '0':
			c = 'o'
		case c == '1':
			c = 'l'
		case c == '8':
			c = 'b'
		case c == '-' || c == ' ':
			continue
		default:
			return "", ErrMalformed
		}
		out = append(out, c)
	}
	if len(out) != Length {
		return "", ErrMalformed
	}
	return string(out), nil
}
