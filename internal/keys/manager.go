package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// ErrNoKey reports that no current key exists for an algorithm.
var ErrNoKey = errors.New("keys: no signing key for algorithm")

// Config holds the options of a Manager.
type Config struct {
	// Algorithms are the algorithms the server keeps a current key for;
	// the first signs access tokens. Default [EdDSA, RS256] (OpenID
	// Connect requires RS256 for ID tokens).
	Algorithms []jose.Algorithm
	// RetireAfter is how long a replaced key stays in the JWKS: the
	// longest lifetime of a token it signed, plus leeway.
	RetireAfter time.Duration
	// RotationInterval rotates a key once it is this old; zero turns
	// scheduled rotation off.
	RotationInterval time.Duration
}

// Manager holds the signing keys in memory, decrypted, and their JWKS.
// It is safe for concurrent use.
type Manager struct {
	store store.KeyStore
	kek   [seal.KeySize]byte
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu      sync.RWMutex
	current map[jose.Algorithm]jose.PrivateKey
	created map[jose.Algorithm]time.Time
	public  map[string]jose.PublicKey
	jwks    []byte

	// missMu serialises reloads triggered by unknown key ids; lastMiss
	// rate-limits them to one per MissReloadInterval.
	missMu   sync.Mutex
	lastMiss time.Time
}

// MissReloadInterval is how often at most an unknown "kid" makes the
// manager reload keys from the store, so a key another instance just
// rotated in verifies here at once, while a flood of made-up key ids costs
// at most one store read per interval.
const MissReloadInterval = time.Second

// NewManager loads the stored keys and creates a current key for every
// configured algorithm that lacks one.
func NewManager(ctx context.Context, st store.KeyStore, kek [seal.KeySize]byte, cfg Config, log *slog.Logger, now func() time.Time) (*Manager, error) {
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []jose.Algorithm{jose.EdDSA, jose.RS256}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{store: st, kek: kek, cfg: cfg, log: log, now: now}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	for _, alg := range cfg.Algorithms {
		m.mu.RLock()
		_, ok := m.current[alg]
		m.mu.RUnlock()
		if !ok {
			if _, err := m.Rotate(ctx, alg); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Algorithms returns the algorithms the manager keeps a current key for.
func (m *Manager) Algorithms() []jose.Algorithm { return slices.Clone(m.cfg.Algorithms) }

// DefaultAlgorithm is the algorithm of access tokens.
func (m *Manager) DefaultAlgorithm() jose.Algorithm { return m.cfg.Algorithms[0] }

// Signer returns the current key for alg.
func (m *Manager) Signer(alg jose.Algorithm) (jose.PrivateKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.current[alg]
	if !ok {
		return jose.PrivateKey{}, fmt.Errorf("%w %s", ErrNoKey, alg)
	}
	return k, nil
}

// Key returns the public key with the given id, current or retired; it
// implements jose.KeySet. Tokens must name their key.
func (m *Manager) Key(kid string) (jose.PublicKey, bool) {
	if kid == "" {
		return jose.PublicKey{}, false
	}
	m.mu.RLock()
	k, ok := m.public[kid]
	m.mu.RUnlock()
	if ok {
		return k, true
	}
	return m.reloadForMiss(kid)
}

// reloadForMiss reloads the keys for an unknown kid, at most once per
// MissReloadInterval; concurrent misses wait for the one reload.
func (m *Manager) reloadForMiss(kid string) (jose.PublicKey, bool) {
	m.missMu.Lock()
	defer m.missMu.Unlock()
	m.mu.RLock()
	k, ok := m.public[kid]
	m.mu.RUnlock()
	if ok {
		return k, true
	}
	now := m.now()
	if !m.lastMiss.IsZero() && now.Sub(m.lastMiss) < MissReloadInterval {
		return jose.PublicKey{}, false
	}
	m.lastMiss = now
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Reload(ctx); err != nil {
		m.log.Warn("key reload for an unknown kid failed", "err", err)
		return jose.PublicKey{}, false
	}
	m.mu.RLock()
	k, ok = m.public[kid]
	m.mu.RUnlock()
	return k, ok
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the keys whose tokens
// may still be valid.
func (m *Manager) JWKS() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.jwks
}

// Rotate makes a new current key for alg; the previous one stays in the
// JWKS for RetireAfter. It returns the new key's id.
func (m *Manager) Rotate(ctx context.Context, alg jose.Algorithm) (string, error) {
	now := m.now().UTC().Truncate(time.Millisecond)
	kid := fmt.Sprintf("%s-%s-%s", alg, now.Format("20060102"), randomHex(4))
	priv, err := jose.GenerateKey(alg, kid)
	if err != nil {
		return "", fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	der, err := jose.MarshalPrivate(priv)
	if err != nil {
		return "", fmt.Errorf("keys: encode key: %w", err)
	}
	sealed, err := seal.Seal(m.kek, der, []byte(kid))
	if err != nil {
		return "", fmt.Errorf("keys: seal key: %w", err)
	}
	jwk, err := json.Marshal(priv.Public())
	if err != nil {
		return "", fmt.Errorf("keys: encode JWK: %w", err)
	}
	rec := store.SigningKey{ID: kid, Algorithm: string(alg), SealedPrivateKey: sealed, PublicJWK: jwk, CreatedAt: now}
	if err := m.store.RotateKey(ctx, rec, m.cfg.RetireAfter); err != nil {
		return "", fmt.Errorf("keys: store key: %w", err)
	}
	m.log.InfoContext(ctx, "signing key rotated", "kid", kid, "alg", string(alg))
	if err := m.Reload(ctx); err != nil {
		return "", err
	}
	return kid, nil
}

// Reload reads the keys from the store, so a rotation made by another
// instance takes effect here.
func (m *Manager) Reload(ctx context.Context) error {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list: %w", err)
	}
	now := m.now()
	current := map[jose.Algorithm]jose.PrivateKey{}
	created := map[jose.Algorithm]time.Time{}
	public := map[string]jose.PublicKey{}
	var set []jose.PublicKey
	for _, r := range recs {
		alg := jose.Algorithm(r.Algorithm)
		if !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) {
			continue
		}
		der, err := seal.Open(m.kek, r.SealedPrivateKey, []byte(r.ID))
		if err != nil {
			return fmt.Errorf("keys: key %s does not open under this key-encryption key: %w", r.ID, err)
		}
		priv, err := jose.ParsePrivate(alg, r.ID, der)
		if err != nil {
			return fmt.Errorf("keys: key %s: %w", r.ID, err)
		}
		pub := priv.Public()
		public[r.ID] = pub
		set = append(set, pub)
		if r.RetiredAt.IsZero() && !r.CreatedAt.Before(created[alg]) {
			current[alg], created[alg] = priv, r.CreatedAt
		}
	}
	// Current keys first, then the rest, newest first.
	slices.SortStableFunc(set, func(a, b jose.PublicKey) int {
		ca, cb := current[a.Algorithm()].KeyID() == a.KeyID(), current[b.Algorithm()].KeyID() == b.KeyID()
		switch {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	jwks, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		return fmt.Errorf("keys: encode JWKS: %w", err)
	}
	m.mu.Lock()
	m.current, m.created, m.public, m.jwks = current, created, public, jwks
	m.mu.Unlock()
	return nil
}

// RunReload reloads the keys every interval until ctx ends, so rotations
// made by other instances take effect here. Rotation and deletion are
// Maintain's, which one instance of a cluster runs.
func (m *Manager) RunReload(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "key reload failed", "err", err)
		}
	}
}

// Tick reloads the keys, then runs Maintain.
func (m *Manager) Tick(ctx context.Context) error {
	if err := m.Reload(ctx); err != nil {
		return err
	}
	return m.Maintain(ctx)
}

// Maintain rotates keys older than RotationInterval and deletes keys whose
// tokens have all expired. In a cluster one instance at a time runs it.
func (m *Manager) Maintain(ctx context.Context) error {
	now := m.now()
	if m.cfg.RotationInterval > 0 {
		for _, alg := range m.cfg.Algorithms {
			m.mu.RLock()
			c := m.created[alg]
			m.mu.RUnlock()
			if now.Sub(c) >= m.cfg.RotationInterval {
				if _, err := m.Rotate(ctx, alg); err != nil {
					return err
				}
			}
		}
	}
	if _, err := m.store.DeleteExpiredKeys(ctx, now); err != nil {
		return fmt.Errorf("keys: delete expired: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
