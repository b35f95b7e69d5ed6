package keys_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/jose"
)

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func jwksKIDs(t *testing.T, m *keys.Manager) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.D != "" {
			t.Fatalf("JWKS has private key material for %s", k.KID)
		}
		out = append(out, k.KID)
	}
	return out
}

func TestManagerLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	kek := testKEK("kek")
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA, jose.ES256}, RetireAfter: 6 * time.Minute, RotationInterval: 24 * time.Hour, PublishDelay: publishDelay}
	m, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Signer(jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Signer(jose.RS256); err == nil {
		t.Error("Signer(RS256) succeeded without an RS256 key configured")
	}
	if got := jwksKIDs(t, m); len(got) != 2 {
		t.Fatalf("JWKS has %v, want one key per algorithm", got)
	}

	// A second manager on the same store (a restart, another instance)
	// loads the same keys instead of making new ones.
	m2, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := m2.Signer(jose.EdDSA); k.KeyID() != first.KeyID() {
		t.Errorf("restart signs with %s, want %s", k.KeyID(), first.KeyID())
	}

	// The private key is stored sealed, never in clear.
	der, err := jose.MarshalPrivate(first)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := st.ListKeys(ctx)
	for _, r := range recs {
		if bytes.Contains(r.SealedPrivateKey, der[len(der)-32:]) {
			t.Errorf("key %s stored with its private key in clear", r.ID)
		}
	}

	// Scheduled rotation: a day later the key is replaced, after the new
	// one has been published for PublishDelay; the old one stays
	// verifiable until its tokens have expired.
	c.Advance(25 * time.Hour)
	runKeyJobs(t, m)
	if k, _ := m.Signer(jose.EdDSA); k.KeyID() != first.KeyID() {
		t.Fatal("the rotated-in key signs before its publish delay")
	}
	if got := jwksKIDs(t, m); len(got) != 4 {
		t.Fatalf("JWKS has %v, want the next keys published too", got)
	}
	c.Advance(publishDelay)
	second, _ := m.Signer(jose.EdDSA)
	if second.KeyID() == first.KeyID() {
		t.Fatal("scheduled rotation did not replace the key")
	}
	if _, ok := m.Key(t.Context(), first.KeyID()); !ok {
		t.Error("retired key no longer verifies right after rotation")
	}
	c.Advance(6 * time.Minute)
	runKeyJobs(t, m)
	if _, ok := m.Key(t.Context(), first.KeyID()); ok {
		t.Error("retired key still verifies after RetireAfter")
	}
	for _, kid := range jwksKIDs(t, m) {
		if kid == first.KeyID() {
			t.Error("retired key still listed in the JWKS")
		}
	}

	// Another KEK cannot open the keys.
	if _, err := keys.NewManager(ctx, st, testKEK("other"), cfg, nil, c.Now); err == nil {
		t.Error("NewManager with the wrong KEK succeeded")
	}
}

func TestLoadKEK(t *testing.T) {
	dir := t.TempDir()
	k1, err := keys.LoadKEK("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, keys.KEKFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("KEK file: %v, mode %v; want 0600", err, fi.Mode())
	}
	k2, err := keys.LoadKEK("", dir)
	if err != nil || k1 != k2 {
		t.Errorf("second LoadKEK gave another key (err %v)", err)
	}
	raw := bytes.Repeat([]byte{7}, 32)
	for name, env := range map[string]string{
		"std":     base64.StdEncoding.EncodeToString(raw),
		"url raw": base64.RawURLEncoding.EncodeToString(raw),
		"spaces":  " " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		k, err := keys.LoadKEK(env, dir)
		if err != nil || !bytes.Equal(k[:], raw) {
			t.Errorf("%s: LoadKEK = %x, %v", name, k, err)
		}
	}
	for name, env := range map[string]string{
		"short":      base64.StdEncoding.EncodeToString(raw[:16]),
		"not base64": strings.Repeat("!", 44),
	} {
		if _, err := keys.LoadKEK(env, dir); err == nil {
			t.Errorf("%s: LoadKEK accepted %q", name, env)
		}
	}
}

// TestUnknownKidReloads checks that a key rotated in by another instance
// verifies at once, and that made-up key ids reload at most once a second.
func TestUnknownKidReloads(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	kek := testKEK("kek")
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, RetireAfter: 6 * time.Minute, PublishDelay: publishDelay}
	a, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.NewManager(ctx, st, kek, cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := a.Rotate(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Key(t.Context(), kid); !ok {
		t.Fatal("instance b does not know the key instance a rotated in")
	}
	if _, ok := b.Key(t.Context(), "made-up"); ok {
		t.Fatal("made-up kid found")
	}
	kid2, err := a.Rotate(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Key(t.Context(), kid2); ok {
		t.Error("a second miss within MissReloadInterval reloaded again")
	}
	c.Advance(keys.MissReloadInterval)
	if _, ok := b.Key(t.Context(), kid2); !ok {
		t.Error("a miss after MissReloadInterval did not reload")
	}
}

// TestUnknownKidReloadCanceled checks that Key bounds its reload by the
// caller's context, and that a reload the caller gave up on does not use
// up MissReloadInterval for the next request.
func TestUnknownKidReloadCanceled(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}, RetireAfter: 6 * time.Minute, PublishDelay: publishDelay}
	a, err := keys.NewManager(ctx, st, testKEK("kek"), cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.NewManager(ctx, st, testKEK("kek"), cfg, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := a.Rotate(ctx, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := b.Key(gone, kid); ok {
		t.Fatal("a lookup with a canceled context reloaded the keys")
	}
	if _, ok := b.Key(ctx, kid); !ok {
		t.Fatal("after a canceled reload, the next miss within MissReloadInterval did not reload")
	}
}

// testKEK is a key-encryption key for tests, distinct per name.
func testKEK(name string) [seal.KeySize]byte {
	return sha256.Sum256([]byte("test kek " + name))
}

// runKeyJobs runs one round of the two key jobs a server runs: Maintain
// (rotation and deletion, on one instance of a cluster) and Reload (on
// every instance, which drops the deleted keys).
func runKeyJobs(t *testing.T, m *keys.Manager) {
	t.Helper()
	if err := m.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// publishDelay is the publish delay of the tests' managers: the server's
// default (config.DefaultKeyPublishDelay).
const publishDelay = 20 * time.Minute
