package keys_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// staleStore is a key store whose ListKeys can be made to answer an old
// snapshot: a reload that read the list before a rotation, or a lagging
// replica.
type staleStore struct {
	store.KeyStore
	mu    sync.Mutex
	stale []store.SigningKey
}

func (s *staleStore) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	stale := s.stale
	s.mu.Unlock()
	if stale != nil {
		return stale, nil
	}
	return s.KeyStore.ListKeys(ctx)
}

func (s *staleStore) serveStale(recs []store.SigningKey) {
	s.mu.Lock()
	s.stale = recs
	s.mu.Unlock()
}

func signerID(t *testing.T, m *keys.Manager, alg jose.Algorithm) string {
	t.Helper()
	k, err := m.Signer(alg)
	if err != nil {
		t.Fatalf("Signer(%s): %v", alg, err)
	}
	return k.KeyID()
}

// TestReloadNeverGoesBack checks that a reload that read the key list
// before a rotation cannot install it over the rotation: before the fix
// the instance signed with the retired key until the next reload.
func TestReloadNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	st := &staleStore{KeyStore: newStore(t)}
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	m, err := keys.NewManager(ctx, st, testKEK("kek"), keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, RetireAfter: 6 * time.Minute, PublishDelay: publishDelay}, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	old := signerID(t, m, jose.EdDSA)
	before, err := st.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := m.RotateImmediately(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	st.serveStale(before)
	if err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := signerID(t, m, jose.EdDSA); got != rot.KeyID {
		t.Errorf("after a stale reload the signer is %s, want the rotated-in %s (old %s)", got, rot.KeyID, old)
	}
	if !slices.Contains(jwksKIDs(t, m), rot.KeyID) {
		t.Errorf("a stale reload dropped %s from the JWKS", rot.KeyID)
	}
}

// TestReloadsAndRotationsRace runs reloads against rotations; under -race
// it checks their serialisation, and the last rotation always wins.
func TestReloadsAndRotationsRace(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	m, err := keys.NewManager(ctx, st, testKEK("kek"), keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, RetireAfter: time.Hour, PublishDelay: publishDelay}, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := m.Reload(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var last string
	for range 5 {
		rot, err := m.RotateImmediately(ctx, jose.EdDSA)
		if err != nil {
			t.Fatal(err)
		}
		last = rot.KeyID
	}
	close(stop)
	wg.Wait()
	if got := signerID(t, m, jose.EdDSA); got != last {
		t.Errorf("signer %s after the rotations, want the last one %s", got, last)
	}
}

// TestRolloverPublishesFirst checks the timeline of rotations: a new key
// is in the JWKS at once and signs after the publish delay; a second
// rotation within the delay queues behind the first; an immediate
// rotation signs at once.
func TestRolloverPublishesFirst(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clocktest.New(t0)
	const delay = 20 * time.Minute
	m, err := keys.NewManager(ctx, st, testKEK("kek"), keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, RetireAfter: 6 * time.Minute, PublishDelay: delay}, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	k1 := signerID(t, m, jose.EdDSA) // the first key of a new server signs at once
	k2, err := m.RotateDelayed(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.SignsFrom.Equal(t0.Add(delay)) {
		t.Errorf("SignsFrom = %v, want %v", k2.SignsFrom, t0.Add(delay))
	}
	c.Set(t0.Add(time.Minute))
	k3, err := m.RotateDelayed(ctx, jose.EdDSA) // a second rotation within 5 minutes
	if err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(t, m); !slices.Contains(got, k2.KeyID) || !slices.Contains(got, k3.KeyID) || !slices.Contains(got, k1) {
		t.Fatalf("JWKS %v, want %s (signing), %s and %s (published)", got, k1, k2.KeyID, k3.KeyID)
	}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{delay - time.Second, k1},
		{delay, k2.KeyID},
		{time.Minute + delay - time.Second, k2.KeyID},
		{time.Minute + delay, k3.KeyID},
	}
	for _, s := range steps {
		c.Set(t0.Add(s.at))
		if got := signerID(t, m, jose.EdDSA); got != s.want {
			t.Errorf("at t0+%s the signer is %s, want %s", s.at, got, s.want)
		}
	}
	// Every key that signed stays listed while its tokens may be valid.
	c.Set(t0.Add(time.Minute + delay + 5*time.Minute))
	if err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(t, m); !slices.Contains(got, k2.KeyID) {
		t.Errorf("JWKS %v lost %s within RetireAfter of its retirement", got, k2.KeyID)
	}

	k4, err := m.RotateImmediately(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if got := signerID(t, m, jose.EdDSA); got != k4.KeyID || !k4.SignsFrom.Equal(c.Now()) {
		t.Errorf("immediate rotation: signer %s from %v, want %s from now", got, k4.SignsFrom, k4.KeyID)
	}
}

// TestAlgorithmChange checks a restart with another access-token
// algorithm, and an algorithm added at runtime: the old algorithm keeps
// signing access tokens until the new key is published long enough, keeps
// being listed and rotated while it has a current key (clients may be
// registered for its ID tokens), and the new one joins the list once it
// signs.
func TestAlgorithmChange(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	kek := testKEK("kek")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clocktest.New(t0)
	cfg := keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA, jose.RS256}, RetireAfter: 6 * time.Minute, RotationInterval: 24 * time.Hour, PublishDelay: publishDelay}
	m1, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	ed := signerID(t, m1, jose.EdDSA)

	cfg.Algorithms = []jose.Algorithm{jose.ES256, jose.RS256}
	m2, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := m2.AccessSigner(); err != nil || k.KeyID() != ed {
		t.Errorf("right after the restart access tokens are signed by %v (%v), want the published %s", k.KeyID(), err, ed)
	}
	if got, want := m2.Algorithms(), []jose.Algorithm{jose.RS256, jose.EdDSA}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v during the publish delay, want %v", got, want)
	}
	c.Set(t0.Add(publishDelay))
	if k, err := m2.AccessSigner(); err != nil || k.Algorithm() != jose.ES256 {
		t.Errorf("after the publish delay access tokens are signed by %v (%v), want ES256", k.KeyID(), err)
	}
	if got, want := m2.Algorithms(), []jose.Algorithm{jose.ES256, jose.RS256, jose.EdDSA}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v, want %v: EdDSA still signs ID tokens", got, want)
	}

	// A day later the EdDSA key rotates like the configured ones.
	c.Set(t0.Add(25 * time.Hour))
	runKeyJobs(t, m2)
	c.Advance(publishDelay)
	if got := signerID(t, m2, jose.EdDSA); got == ed {
		t.Errorf("the EdDSA key %s did not rotate", ed)
	}

	// An algorithm added at runtime.
	m3, err := keys.NewManager(ctx, newStore(t), kek, keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, PublishDelay: publishDelay}, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m3.RotateDelayed(ctx, jose.ES256); err != nil {
		t.Fatalf("adding ES256: %v", err)
	}
	if slices.Contains(m3.Algorithms(), jose.ES256) {
		t.Error("ES256 listed before its key signs")
	}
	c.Advance(publishDelay)
	if !slices.Contains(m3.Algorithms(), jose.ES256) || signerID(t, m3, jose.ES256) == "" {
		t.Errorf("ES256 not in use after the publish delay: %v", m3.Algorithms())
	}
	if _, err := m3.RotateDelayed(ctx, "HS256"); err == nil {
		t.Error("rotating to HS256 succeeded")
	}
}
