package keys

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
)

// KEKEnv is the environment variable that holds the key-encryption key:
// 32 bytes in base64 (standard or URL alphabet, padding optional).
const KEKEnv = "GATEHOUSE_KEY_ENCRYPTION_KEY"

// KEKFile is the file in the data dir that holds a generated KEK when
// KEKEnv is not set.
const KEKFile = "key-encryption-key"

// LoadKEK returns the key-encryption key: from envValue if it is not
// empty, else from the KEKFile in dataDir, which is created (mode 0600)
// with a random key on first start.
func LoadKEK(envValue, dataDir string) ([seal.KeySize]byte, error) {
	var kek [seal.KeySize]byte
	if envValue != "" {
		return kek, decodeKEK(envValue, &kek, KEKEnv)
	}
	path := filepath.Join(dataDir, KEKFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return kek, decodeKEK(string(b), &kek, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return kek, fmt.Errorf("keys: read KEK: %w", err)
	}
	_, _ = rand.Read(kek[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return kek, fmt.Errorf("keys: create KEK file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(kek[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return kek, fmt.Errorf("keys: write KEK file: %w", err)
	}
	return kek, nil
}

func decodeKEK(s string, kek *[seal.KeySize]byte, source string) error {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != seal.KeySize {
				return fmt.Errorf("keys: KEK from %s is %d bytes, want %d", source, len(b), seal.KeySize)
			}
			copy(kek[:], b)
			return nil
		}
	}
	return fmt.Errorf("keys: KEK from %s is not base64", source)
}
