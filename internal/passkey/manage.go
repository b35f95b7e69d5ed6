package passkey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// List returns the user's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]store.PasskeyCredential, error) {
	list, err := s.creds.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list credentials: %w", err)
	}
	return list, nil
}

// Rename gives the user's passkey id a new name (see NormalizeName). A
// passkey that does not exist or belongs to another user is
// ErrUnknownCredential.
func (s *Service) Rename(ctx context.Context, userID string, id []byte, name string) (store.PasskeyCredential, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c, err := s.creds.UpdatePasskey(ctx, id, func(c store.PasskeyCredential) (store.PasskeyCredential, error) {
		if c.UserID != userID {
			return c, ErrUnknownCredential
		}
		c.Name = name
		return c, nil
	})
	if errors.Is(err, ErrUnknownCredential) || errors.Is(err, store.ErrNotFound) {
		return store.PasskeyCredential{}, ErrUnknownCredential
	}
	if err != nil {
		return store.PasskeyCredential{}, fmt.Errorf("passkey: rename: %w", err)
	}
	return c, nil
}

// Delete removes the user's passkey id. The caller checks a recent
// authentication first. A passkey that does not exist or belongs to
// another user is ErrUnknownCredential.
func (s *Service) Delete(ctx context.Context, userID string, id []byte) error {
	err := s.creds.DeletePasskey(ctx, userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownCredential
	}
	if err != nil {
		return fmt.Errorf("passkey: delete: %w", err)
	}
	return nil
}

// NormalizeName returns a passkey name fit to store and show: spaces
// trimmed and runs of white space made one space; "Passkey" if empty. A
// name longer than 64 characters, or with invalid UTF-8 or control or
// format characters (which could disguise it in a list), is ErrInvalidName.
func NormalizeName(name string) (string, error) {
	if !utf8.ValidString(name) || len(name) > 256 {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) && !unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "", ErrInvalidName
		}
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "Passkey", nil
	}
	if utf8.RuneCountInString(name) > 64 {
		return "", ErrInvalidName
	}
	return name, nil
}
