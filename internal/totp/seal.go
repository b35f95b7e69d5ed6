package totp

import (
	"encoding/binary"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
)

// aadLabel starts the additional data of a sealed TOTP secret, so that a
// value sealed for another purpose under the same KEK does not open as one.
const aadLabel = "gatehouse totp secret v1"

// SealSecret encrypts a TOTP secret under the key-encryption key kek, as
// signing keys are sealed, binding it to the user and the factor: a
// sealed secret copied to another user's or factor's row does not open.
func SealSecret(kek [seal.KeySize]byte, userID, factorID string, secret []byte) ([]byte, error) {
	sealed, err := seal.Seal(kek, secret, aad(userID, factorID))
	if err != nil {
		return nil, fmt.Errorf("totp: seal secret: %w", err)
	}
	return sealed, nil
}

// OpenSecret decrypts a secret sealed by SealSecret for the same user and
// factor. A wrong KEK, user or factor, or a tampered value, is an error
// that wraps seal.ErrOpen.
func OpenSecret(kek [seal.KeySize]byte, userID, factorID string, sealed []byte) ([]byte, error) {
	secret, err := seal.Open(kek, sealed, aad(userID, factorID))
	if err != nil {
		return nil, fmt.Errorf("totp: open secret of factor %s: %w", factorID, err)
	}
	return secret, nil
}

// aad is the label, then each id prefixed by its length, so that no two
// (user, factor) pairs give the same bytes.
func aad(userID, factorID string) []byte {
	b := []byte(aadLabel)
	for _, s := range []string{userID, factorID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}
