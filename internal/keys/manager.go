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
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
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
	// Connect requires RS256 for ID tokens). An algorithm that has a
	// current key in the store (from an earlier configuration, or added
	// by the admin API) keeps one too, and keeps rotating: tokens and ID
	// tokens may still be signed with it.
	Algorithms []jose.Algorithm
	// RetireAfter is how long a replaced key stays in the JWKS: the
	// longest lifetime of a token it signed, plus leeway.
	RetireAfter time.Duration
	// RotationInterval rotates a key once it is this old; zero turns
	// scheduled rotation off.
	RotationInterval time.Duration
	// PublishDelay is how long a new key is in the JWKS before it signs
	// (Rotate); zero signs at once (the server's default is
	// config.DefaultKeyPublishDelay, which says why). The first key of a new server, which no verifier has cached a JWKS
	// without, and RotateImmediately sign at once.
	PublishDelay time.Duration
	// Audit, if set, records a key.rotated event for every new key (the
	// admin's, or the system's for scheduled rotation). Nil records none.
	Audit *audit.Recorder
}

// Manager holds the signing keys in memory, decrypted, and their JWKS.
// It is safe for concurrent use.
type Manager struct {
	store store.KeyStore
	kek   [seal.KeySize]byte
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	// reloadMu serialises Reload (and so the rotations, which reload),
	// so that a reload never installs a key list read before another
	// reload's.
	reloadMu sync.Mutex

	mu     sync.RWMutex
	keys   map[string]loadedKey // every key not expired, by id
	byAlg  map[jose.Algorithm][]loadedKey
	public map[string]jose.PublicKey
	jwks   []byte

	// missMu serialises reloads triggered by unknown key ids; lastMiss
	// rate-limits them to one per MissReloadInterval.
	missMu   sync.Mutex
	lastMiss time.Time
}

// loadedKey is a stored key, opened.
type loadedKey struct {
	rec  store.SigningKey
	priv jose.PrivateKey
}

// signsAt reports whether k is the key of its algorithm at now: created
// (published long enough) and not yet retired.
func (k loadedKey) signsAt(now time.Time) bool {
	return !now.Before(k.rec.CreatedAt) && (k.rec.RetiredAt.IsZero() || now.Before(k.rec.RetiredAt))
}

// MissReloadInterval is how often at most an unknown "kid" makes the
// manager reload keys from the store, so a key another instance just
// rotated in verifies here at once, while a flood of made-up key ids costs
// at most one store read per interval.
const MissReloadInterval = time.Second

// NewManager loads the stored keys and creates a key for every configured
// algorithm that lacks one. On a new server the keys sign at once; an
// algorithm added to a server that already has keys (a restart with
// another --signing-algorithm) gets a key that is published first and
// signs after PublishDelay, and until then access tokens are signed with
// the algorithm that signed them before (see AccessSigner).
func NewManager(ctx context.Context, st store.KeyStore, kek [seal.KeySize]byte, cfg Config, log *slog.Logger, now func() time.Time) (*Manager, error) {
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []jose.Algorithm{jose.EdDSA, jose.RS256}
	}
	cfg.PublishDelay = max(cfg.PublishDelay, 0)
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
	m.mu.RLock()
	fresh := len(m.keys) == 0
	m.mu.RUnlock()
	for _, alg := range cfg.Algorithms {
		if m.hasUnretired(alg) {
			continue
		}
		delay := cfg.PublishDelay
		if fresh {
			delay = 0
		}
		if _, err := m.rotate(ctx, alg, delay); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// hasUnretired reports whether alg has a key that signs now or will.
func (m *Manager) hasUnretired(alg jose.Algorithm) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.byAlg[alg] {
		if k.rec.RetiredAt.IsZero() {
			return true
		}
	}
	return false
}

// Algorithms returns the algorithms the manager has a signing key for now:
// the configured ones first, then any other one still in use (from an
// earlier configuration or added at runtime), in a fixed order.
func (m *Manager) Algorithms() []jose.Algorithm {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []jose.Algorithm
	for _, alg := range m.ordered() {
		if _, ok := m.activeLocked(alg, now); ok {
			out = append(out, alg)
		}
	}
	return out
}

// managed returns every algorithm the manager keeps a current key for:
// the configured ones and those with a key not retired.
func (m *Manager) managed() []jose.Algorithm {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []jose.Algorithm
	for _, alg := range m.ordered() {
		if slices.Contains(m.cfg.Algorithms, alg) {
			out = append(out, alg)
			continue
		}
		for _, k := range m.byAlg[alg] {
			if k.rec.RetiredAt.IsZero() {
				out = append(out, alg)
				break
			}
		}
	}
	return out
}

// ordered returns the configured algorithms, then the others that have
// keys, sorted; m.mu is held.
func (m *Manager) ordered() []jose.Algorithm {
	out := slices.Clone(m.cfg.Algorithms)
	var rest []jose.Algorithm
	for alg := range m.byAlg {
		if !slices.Contains(out, alg) {
			rest = append(rest, alg)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// DefaultAlgorithm is the configured algorithm of access tokens.
func (m *Manager) DefaultAlgorithm() jose.Algorithm { return m.cfg.Algorithms[0] }

// Signer returns the key that signs for alg now.
func (m *Manager) Signer(alg jose.Algorithm) (jose.PrivateKey, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.activeLocked(alg, now)
	if !ok {
		return jose.PrivateKey{}, fmt.Errorf("%w %s", ErrNoKey, alg)
	}
	return k, nil
}

// AccessSigner returns the key that signs access tokens now: that of
// DefaultAlgorithm, or, while a key of a newly configured algorithm is
// still being published, the newest key of an algorithm that signed them
// before.
func (m *Manager) AccessSigner() (jose.PrivateKey, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if k, ok := m.activeLocked(m.cfg.Algorithms[0], now); ok {
		return k, nil
	}
	var best loadedKey
	found := false
	for _, alg := range m.ordered() {
		for _, k := range m.byAlg[alg] {
			if !k.signsAt(now) {
				continue
			}
			// Prefer an algorithm that is not configured (the former
			// access-token algorithm), then the newest key.
			kPrev := !slices.Contains(m.cfg.Algorithms, alg)
			bPrev := found && !slices.Contains(m.cfg.Algorithms, best.priv.Algorithm())
			if !found || (kPrev && !bPrev) || (kPrev == bPrev && k.rec.CreatedAt.After(best.rec.CreatedAt)) {
				best, found = k, true
			}
		}
	}
	if !found {
		return jose.PrivateKey{}, fmt.Errorf("%w %s", ErrNoKey, m.cfg.Algorithms[0])
	}
	return best.priv, nil
}

// activeLocked returns the newest key of alg that signs at now; m.mu is
// held.
func (m *Manager) activeLocked(alg jose.Algorithm, now time.Time) (jose.PrivateKey, bool) {
	var best loadedKey
	found := false
	for _, k := range m.byAlg[alg] {
		if k.signsAt(now) && (!found || k.rec.CreatedAt.After(best.rec.CreatedAt)) {
			best, found = k, true
		}
	}
	return best.priv, found
}

// Key returns the public key with the given id, current or retired; it
// implements jose.KeySet. Tokens must name their key. An unknown kid
// reloads the keys from the store (see reloadForMiss), bounded by ctx and
// by two seconds.
func (m *Manager) Key(ctx context.Context, kid string) (jose.PublicKey, bool) {
	if kid == "" {
		return jose.PublicKey{}, false
	}
	m.mu.RLock()
	k, ok := m.public[kid]
	m.mu.RUnlock()
	if ok {
		return k, true
	}
	return m.reloadForMiss(ctx, kid)
}

// reloadForMiss reloads the keys for an unknown kid, at most once per
// MissReloadInterval; concurrent misses wait for the one reload. A reload
// cut short by the caller's context does not use up the interval.
func (m *Manager) reloadForMiss(ctx context.Context, kid string) (jose.PublicKey, bool) {
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
	last := m.lastMiss
	m.lastMiss = now
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := m.Reload(rctx); err != nil {
		if ctx.Err() != nil {
			m.lastMiss = last
		}
		m.log.WarnContext(ctx, "key reload for an unknown kid failed", "err", err)
		return jose.PublicKey{}, false
	}
	m.mu.RLock()
	k, ok = m.public[kid]
	m.mu.RUnlock()
	return k, ok
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the keys whose tokens
// may still be valid, and of the keys about to sign.
func (m *Manager) JWKS() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.jwks
}

// Rotation describes a new key.
type Rotation struct {
	// KeyID is the new key's id.
	KeyID string
	// SignsFrom is when it starts signing: now for an immediate rotation,
	// after the publish delay otherwise.
	SignsFrom time.Time
}

// Rotate makes a new key for alg, which may be an algorithm the manager
// has no key for yet: it is listed in the JWKS at once and signs after
// the publish delay, when the key it replaces retires (and stays in the
// JWKS for RetireAfter). Scheduled rotation and the admin API use it. It
// returns the new key's id.
func (m *Manager) Rotate(ctx context.Context, alg jose.Algorithm) (string, error) {
	r, err := m.rotate(ctx, alg, m.cfg.PublishDelay)
	return r.KeyID, err
}

// RotateImmediately makes a new key for alg that signs at once: an
// emergency rotation. Verifiers whose cached JWKS lacks it refuse its
// tokens until they refetch.
func (m *Manager) RotateImmediately(ctx context.Context, alg jose.Algorithm) (Rotation, error) {
	return m.rotate(ctx, alg, 0)
}

// RotateDelayed is Rotate, returning when the new key starts signing.
func (m *Manager) RotateDelayed(ctx context.Context, alg jose.Algorithm) (Rotation, error) {
	return m.rotate(ctx, alg, m.cfg.PublishDelay)
}

func (m *Manager) rotate(ctx context.Context, alg jose.Algorithm, delay time.Duration) (Rotation, error) {
	if !alg.Valid() {
		return Rotation{}, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	now := m.now().UTC().Truncate(time.Millisecond)
	kid := fmt.Sprintf("%s-%s-%s", alg, now.Format("20060102"), randomHex(4))
	priv, err := jose.GenerateKey(alg, kid)
	if err != nil {
		return Rotation{}, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	der, err := jose.MarshalPrivate(priv)
	if err != nil {
		return Rotation{}, fmt.Errorf("keys: encode key: %w", err)
	}
	sealed, err := seal.Seal(m.kek, der, []byte(kid))
	if err != nil {
		return Rotation{}, fmt.Errorf("keys: seal key: %w", err)
	}
	jwk, err := json.Marshal(priv.Public())
	if err != nil {
		return Rotation{}, fmt.Errorf("keys: encode JWK: %w", err)
	}
	// A key "created" in the future is published now and signs from
	// then: the keys it replaces retire at that instant (RotateKey).
	from := now.Add(delay)
	rec := store.SigningKey{ID: kid, Algorithm: string(alg), SealedPrivateKey: sealed, PublicJWK: jwk, CreatedAt: from}
	if err := m.store.RotateKey(ctx, rec, m.cfg.RetireAfter); err != nil {
		return Rotation{}, fmt.Errorf("keys: store key: %w", err)
	}
	m.log.InfoContext(ctx, "signing key rotated", "kid", kid, "alg", string(alg), "signs_from", from)
	if err := m.cfg.Audit.Record(audit.OrSystem(ctx, "key-rotation"), audit.Event{
		Type:   audit.KeyRotated,
		Detail: map[string]string{"kid": kid, "alg": string(alg), "signs_from": from.Format(time.RFC3339)},
	}); err != nil {
		return Rotation{}, fmt.Errorf("keys: %w", err)
	}
	if err := m.Reload(ctx); err != nil {
		return Rotation{}, err
	}
	return Rotation{KeyID: kid, SignsFrom: from}, nil
}

// Reload reads the keys from the store, so a rotation made by another
// instance takes effect here. Reloads are serialised and monotonic: a key
// list read from the store is merged into what the manager already knows,
// so a stale read (a reload that began before a rotation, a lagging
// replica) can neither bring back a retired key as the signing key nor
// drop a key whose tokens may still be valid.
func (m *Manager) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list: %w", err)
	}
	now := m.now()
	m.mu.RLock()
	known := m.keys
	m.mu.RUnlock()
	keys := make(map[string]loadedKey, len(recs))
	for _, r := range recs {
		if k, ok := known[r.ID]; ok {
			// Already open: keep the later retirement, which no store
			// state undoes.
			if !k.rec.RetiredAt.IsZero() && (r.RetiredAt.IsZero() || k.rec.RetiredAt.Before(r.RetiredAt)) {
				r.RetiredAt, r.ExpiresAt = k.rec.RetiredAt, k.rec.ExpiresAt
			}
			keys[r.ID] = loadedKey{rec: r, priv: k.priv}
			continue
		}
		der, err := seal.Open(m.kek, r.SealedPrivateKey, []byte(r.ID))
		if err != nil {
			return fmt.Errorf("keys: key %s does not open under this key-encryption key: %w", r.ID, err)
		}
		priv, err := jose.ParsePrivate(jose.Algorithm(r.Algorithm), r.ID, der)
		if err != nil {
			return fmt.Errorf("keys: key %s: %w", r.ID, err)
		}
		keys[r.ID] = loadedKey{rec: r, priv: priv}
	}
	// A key missing from this read is kept until it expires: only expiry
	// deletes keys.
	for id, k := range known {
		if _, ok := keys[id]; !ok {
			keys[id] = k
		}
	}
	byAlg := map[jose.Algorithm][]loadedKey{}
	public := map[string]jose.PublicKey{}
	var live []loadedKey
	for id, k := range keys {
		if !k.rec.ExpiresAt.IsZero() && !now.Before(k.rec.ExpiresAt) {
			delete(keys, id)
			continue
		}
		alg := jose.Algorithm(k.rec.Algorithm)
		byAlg[alg] = append(byAlg[alg], k)
		public[id] = k.priv.Public()
		live = append(live, k)
	}
	// Keys signing now first, then the newest.
	slices.SortFunc(live, func(a, b loadedKey) int {
		sa, sb := a.signsAt(now), b.signsAt(now)
		switch {
		case sa && !sb:
			return -1
		case sb && !sa:
			return 1
		}
		if c := b.rec.CreatedAt.Compare(a.rec.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.rec.ID, b.rec.ID)
	})
	set := make([]jose.PublicKey, 0, len(live))
	for _, k := range live {
		set = append(set, k.priv.Public())
	}
	jwks, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		return fmt.Errorf("keys: encode JWKS: %w", err)
	}
	m.mu.Lock()
	m.keys, m.byAlg, m.public, m.jwks = keys, byAlg, public, jwks
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

// Maintain rotates keys older than RotationInterval and deletes keys whose
// tokens have all expired. It rotates every algorithm the manager keeps a
// key for (see Config.Algorithms), a PublishDelay ahead, so the new key
// signs when the old one reaches RotationInterval; an algorithm with a key
// still being published is left alone. In a cluster one instance at a
// time runs it.
func (m *Manager) Maintain(ctx context.Context) error {
	now := m.now()
	if m.cfg.RotationInterval > 0 {
		for _, alg := range m.managed() {
			newest, ok := m.newestUnretired(alg)
			if ok && newest.After(now) {
				continue // the next key is being published
			}
			if !ok || now.Sub(newest) >= m.cfg.RotationInterval-m.cfg.PublishDelay {
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

// newestUnretired returns when the newest key of alg that is not retired
// starts (or started) signing.
func (m *Manager) newestUnretired(alg jose.Algorithm) (time.Time, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var newest time.Time
	found := false
	for _, k := range m.byAlg[alg] {
		if k.rec.RetiredAt.IsZero() && (!found || k.rec.CreatedAt.After(newest)) {
			newest, found = k.rec.CreatedAt, true
		}
	}
	return newest, found
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
