package storetest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// MemoryMFAStore is an in-memory store.MFAStore: the reference
// implementation that RunMFAStoreTests is checked against, and the store
// of the domain packages' tests (totp, passkey) until the SQL store
// implements store.MFAStore. It is not for production: it is neither
// persistent nor shared between instances, and ceremonies must be shared.
type MemoryMFAStore struct {
	mu         sync.Mutex
	totp       map[string]store.TOTPFactor
	codes      map[string][]store.RecoveryCode
	passkeys   []store.PasskeyCredential // in creation order
	ceremonies map[string]store.Ceremony
}

var _ store.MFAStore = (*MemoryMFAStore)(nil)

// NewMemoryMFAStore returns an empty MemoryMFAStore.
func NewMemoryMFAStore() *MemoryMFAStore {
	return &MemoryMFAStore{
		totp:       map[string]store.TOTPFactor{},
		codes:      map[string][]store.RecoveryCode{},
		ceremonies: map[string]store.Ceremony{},
	}
}

// PutTOTPFactor implements store.TOTPStore.
func (m *MemoryMFAStore) PutTOTPFactor(_ context.Context, f store.TOTPFactor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.totp[f.UserID]; ok && old.Confirmed {
		return store.ErrConflict
	}
	f.SealedSecret = bytes.Clone(f.SealedSecret)
	f.CreatedAt, f.ConfirmedAt = utc(f.CreatedAt), utc(f.ConfirmedAt)
	m.totp[f.UserID] = f
	return nil
}

// GetTOTPFactor implements store.TOTPStore.
func (m *MemoryMFAStore) GetTOTPFactor(_ context.Context, userID string) (store.TOTPFactor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.totp[userID]
	if !ok {
		return store.TOTPFactor{}, store.ErrNotFound
	}
	f.SealedSecret = bytes.Clone(f.SealedSecret)
	return f, nil
}

// ConfirmTOTPFactor implements store.TOTPStore.
func (m *MemoryMFAStore) ConfirmTOTPFactor(_ context.Context, userID, factorID string, step int64, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.totp[userID]
	if !ok || f.ID != factorID {
		return store.ErrNotFound
	}
	if f.Confirmed {
		return store.ErrConflict
	}
	f.Confirmed, f.ConfirmedAt, f.LastUsedStep = true, utc(now), step
	m.totp[userID] = f
	return nil
}

// AdvanceTOTPStep implements store.TOTPStore.
func (m *MemoryMFAStore) AdvanceTOTPStep(_ context.Context, userID, factorID string, step int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.totp[userID]
	if !ok || f.ID != factorID || !f.Confirmed {
		return false, store.ErrNotFound
	}
	if step <= f.LastUsedStep {
		return false, nil
	}
	f.LastUsedStep = step
	m.totp[userID] = f
	return true, nil
}

// DeleteTOTPFactor implements store.TOTPStore.
func (m *MemoryMFAStore) DeleteTOTPFactor(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.totp[userID]; !ok {
		return store.ErrNotFound
	}
	delete(m.totp, userID)
	return nil
}

// ReplaceRecoveryCodes implements store.RecoveryCodeStore.
func (m *MemoryMFAStore) ReplaceRecoveryCodes(_ context.Context, userID string, hashes [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	codes := make([]store.RecoveryCode, len(hashes))
	for i, h := range hashes {
		codes[i] = store.RecoveryCode{Hash: bytes.Clone(h)}
	}
	m.codes[userID] = codes
	return nil
}

// ListRecoveryCodes implements store.RecoveryCodeStore.
func (m *MemoryMFAStore) ListRecoveryCodes(_ context.Context, userID string) ([]store.RecoveryCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.RecoveryCode, len(m.codes[userID]))
	for i, c := range m.codes[userID] {
		out[i] = store.RecoveryCode{Hash: bytes.Clone(c.Hash), UsedAt: c.UsedAt}
	}
	return out, nil
}

// UseRecoveryCode implements store.RecoveryCodeStore.
func (m *MemoryMFAStore) UseRecoveryCode(_ context.Context, userID string, hash []byte, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, c := range m.codes[userID] {
		if c.UsedAt.IsZero() && bytes.Equal(c.Hash, hash) {
			m.codes[userID][i].UsedAt = utc(now)
			return nil
		}
	}
	return store.ErrNotFound
}

// CreatePasskey implements store.PasskeyStore.
func (m *MemoryMFAStore) CreatePasskey(_ context.Context, c store.PasskeyCredential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.passkeyIndex(c.ID) >= 0 {
		return store.ErrConflict
	}
	m.passkeys = append(m.passkeys, clonePasskey(c))
	return nil
}

// GetPasskey implements store.PasskeyStore.
func (m *MemoryMFAStore) GetPasskey(_ context.Context, id []byte) (store.PasskeyCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.passkeyIndex(id)
	if i < 0 {
		return store.PasskeyCredential{}, store.ErrNotFound
	}
	return clonePasskey(m.passkeys[i]), nil
}

// ListPasskeys implements store.PasskeyStore.
func (m *MemoryMFAStore) ListPasskeys(_ context.Context, userID string) ([]store.PasskeyCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []store.PasskeyCredential{}
	for _, c := range m.passkeys {
		if c.UserID == userID {
			out = append(out, clonePasskey(c))
		}
	}
	return out, nil
}

// UpdatePasskey implements store.PasskeyStore.
func (m *MemoryMFAStore) UpdatePasskey(_ context.Context, id []byte, update func(store.PasskeyCredential) (store.PasskeyCredential, error)) (store.PasskeyCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.passkeyIndex(id)
	if i < 0 {
		return store.PasskeyCredential{}, store.ErrNotFound
	}
	old := m.passkeys[i]
	c, err := update(clonePasskey(old))
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c.ID, c.UserID, c.PublicKey, c.CreatedAt = old.ID, old.UserID, old.PublicKey, old.CreatedAt
	m.passkeys[i] = clonePasskey(c)
	return clonePasskey(c), nil
}

// DeletePasskey implements store.PasskeyStore.
func (m *MemoryMFAStore) DeletePasskey(_ context.Context, userID string, id []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.passkeyIndex(id)
	if i < 0 || m.passkeys[i].UserID != userID {
		return store.ErrNotFound
	}
	m.passkeys = slices.Delete(m.passkeys, i, i+1)
	return nil
}

func (m *MemoryMFAStore) passkeyIndex(id []byte) int {
	return slices.IndexFunc(m.passkeys, func(c store.PasskeyCredential) bool { return bytes.Equal(c.ID, id) })
}

// CreateCeremony implements store.CeremonyStore.
func (m *MemoryMFAStore) CreateCeremony(_ context.Context, c store.Ceremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ceremonies[c.ID]; ok {
		return store.ErrConflict
	}
	c.Data, c.ExpiresAt = bytes.Clone(c.Data), utc(c.ExpiresAt)
	m.ceremonies[c.ID] = c
	return nil
}

// TakeCeremony implements store.CeremonyStore.
func (m *MemoryMFAStore) TakeCeremony(_ context.Context, id string, now time.Time) (store.Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ceremonies[id]
	if !ok {
		return store.Ceremony{}, store.ErrNotFound
	}
	delete(m.ceremonies, id)
	if !c.ExpiresAt.After(now) {
		return store.Ceremony{}, store.ErrNotFound
	}
	return c, nil
}

// DeleteExpiredCeremonies implements store.CeremonyStore.
func (m *MemoryMFAStore) DeleteExpiredCeremonies(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, c := range m.ceremonies {
		if !c.ExpiresAt.After(now) {
			delete(m.ceremonies, id)
			n++
		}
	}
	return n, nil
}

func clonePasskey(c store.PasskeyCredential) store.PasskeyCredential {
	c.ID, c.PublicKey, c.AAGUID = bytes.Clone(c.ID), bytes.Clone(c.PublicKey), bytes.Clone(c.AAGUID)
	c.Transports = slices.Clone(c.Transports)
	c.CreatedAt, c.LastUsedAt = utc(c.CreatedAt), utc(c.LastUsedAt)
	return c
}

// utc is t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
