package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// SecretPrefix starts every client secret, so that secret scanners can
// recognise a leaked one.
const SecretPrefix = "ghc_"

// ClientsConfig holds the options of Clients.
type ClientsConfig struct {
	// OnDelete runs when a client is deleted, to revoke everything issued
	// to it: its users' grants, and its own client credentials tokens
	// (whose "sub" is clientID). It runs before the client is deleted, and
	// again after (for what was issued in between), so it must be
	// idempotent. Nil does nothing. Its error is returned by Delete; if
	// the first run fails, the client is not deleted.
	OnDelete func(ctx context.Context, clientID string) error
	// IDTokenAlgorithms, if set, are the algorithms the server can sign
	// ID tokens with: a client registering another
	// id_token_signed_response_alg is refused.
	IDTokenAlgorithms []jose.Algorithm
	// CurrentIDTokenAlgorithms, if set, wins over IDTokenAlgorithms and is
	// asked at each registration: the algorithms the server signs ID
	// tokens with now, which an administrator may add to at runtime.
	CurrentIDTokenAlgorithms func() []jose.Algorithm
	// CacheTTL is how long an authenticated client's record is kept in
	// memory, so the token endpoint does not read the store on every
	// request. Default 30s; negative turns the cache off. A client deleted
	// through this instance leaves the cache at once, and other instances
	// drop it when the revocation log reports the deletion (Forget).
	CacheTTL time.Duration
	// Audit, if set, records client.created and client.deleted. Nil
	// records none.
	Audit *audit.Recorder
}

// DefaultClientCacheTTL is the default ClientsConfig.CacheTTL.
const DefaultClientCacheTTL = 30 * time.Second

// maxCachedClients bounds the client cache; past it, an arbitrary entry
// is evicted. Only clients that exist are cached, so made-up client ids
// cannot fill it.
const maxCachedClients = 10_000

// Clients registers, finds, deletes and authenticates OAuth clients.
type Clients struct {
	store store.ClientStore
	cfg   ClientsConfig
	now   func() time.Time

	mu    sync.RWMutex
	cache map[string]cachedClient
}

type cachedClient struct {
	client  store.Client
	expires time.Time
}

// NewClients returns a Clients over st. now may be nil for time.Now.
func NewClients(st store.ClientStore, cfg ClientsConfig, now func() time.Time) *Clients {
	if now == nil {
		now = time.Now
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultClientCacheTTL
	}
	return &Clients{store: st, cfg: cfg, now: now, cache: map[string]cachedClient{}}
}

// Forget drops a client from this instance's cache.
func (c *Clients) Forget(id string) {
	c.mu.Lock()
	delete(c.cache, id)
	c.mu.Unlock()
}

// lookup returns the client for authentication: from the cache while its
// entry is fresh, else from the store.
func (c *Clients) lookup(ctx context.Context, id string) (store.Client, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.cache[id]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.client, nil
	}
	cl, err := c.store.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	if c.cfg.CacheTTL > 0 {
		c.mu.Lock()
		if len(c.cache) >= maxCachedClients {
			for k := range c.cache {
				delete(c.cache, k)
				break
			}
		}
		c.cache[id] = cachedClient{client: cl, expires: now.Add(c.cfg.CacheTTL)}
		c.mu.Unlock()
	}
	return cl, nil
}

// Registered is a new client with its secret, which exists only here: the
// store keeps its SHA-256. Secret is empty for public clients.
type Registered struct {
	Client store.Client
	Secret string
}

// Register validates m and stores a new client with a fresh id and, unless
// it is public, a fresh secret of 256 random bits. Invalid metadata is a
// *MetadataError (errors.Is(err, ErrInvalidMetadata)).
func (c *Clients) Register(ctx context.Context, m Metadata) (Registered, error) {
	cl, err := m.client()
	if err != nil {
		return Registered{}, err
	}
	algs := c.cfg.IDTokenAlgorithms
	if c.cfg.CurrentIDTokenAlgorithms != nil {
		algs = c.cfg.CurrentIDTokenAlgorithms()
	}
	if alg := cl.IDTokenSignedResponseAlg; alg != "" && algs != nil && !slices.Contains(algs, jose.Algorithm(alg)) {
		return Registered{}, &MetadataError{Field: "id_token_signed_response_alg", Reason: fmt.Sprintf("this server signs ID tokens with %v only", algs)}
	}
	cl.ID = newClientID()
	cl.CreatedAt = c.now().UTC().Truncate(time.Millisecond)
	var secret string
	if cl.TokenEndpointAuthMethod != AuthNone {
		secret = newSecret()
		h := hashSecret(secret)
		cl.SecretHash = h[:]
	}
	if err := c.store.CreateClient(ctx, cl); err != nil {
		return Registered{}, fmt.Errorf("oauth: register client: %w", err)
	}
	if err := c.cfg.Audit.Record(ctx, audit.Event{Type: audit.ClientCreated, ClientID: cl.ID,
		Detail: map[string]string{"name": cl.Name, "token_endpoint_auth_method": cl.TokenEndpointAuthMethod}}); err != nil {
		return Registered{}, fmt.Errorf("oauth: register client: %w", err)
	}
	return Registered{Client: cl, Secret: secret}, nil
}

// Get returns the client with the given id, or an error wrapping
// store.ErrNotFound.
func (c *Clients) Get(ctx context.Context, id string) (store.Client, error) {
	cl, err := c.store.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, fmt.Errorf("oauth: get client: %w", err)
	}
	return cl, nil
}

// List returns every client, oldest first.
func (c *Clients) List(ctx context.Context) ([]store.Client, error) {
	cs, err := c.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("oauth: list clients: %w", err)
	}
	return cs, nil
}

// Delete revokes what was issued to the client (OnDelete), then removes
// the client, so it can no longer authenticate, then runs OnDelete again
// for what was issued in between. The revocation comes first so that, if
// it fails, the client is still there and a retry does it all again;
// otherwise the retry would find no client (404) and the grants it left
// would never be revoked. It returns an error wrapping store.ErrNotFound
// if there is no such client.
func (c *Clients) Delete(ctx context.Context, id string) error {
	c.Forget(id)
	if _, err := c.store.GetClient(ctx, id); err != nil {
		return fmt.Errorf("oauth: delete client: %w", err)
	}
	if err := c.revokeIssued(ctx, id); err != nil {
		return err
	}
	if err := c.store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("oauth: delete client: %w", err)
	}
	c.Forget(id)
	if err := c.cfg.Audit.Record(ctx, audit.Event{Type: audit.ClientDeleted, ClientID: id}); err != nil {
		return fmt.Errorf("oauth: delete client: %w", err)
	}
	return c.revokeIssued(ctx, id)
}

// revokeIssued runs OnDelete for the client.
func (c *Clients) revokeIssued(ctx context.Context, id string) error {
	if c.cfg.OnDelete == nil {
		return nil
	}
	if err := c.cfg.OnDelete(ctx, id); err != nil {
		return fmt.Errorf("oauth: revoke the grants of deleted client %s: %w", id, err)
	}
	return nil
}

// Authenticate checks presented credentials and returns the client. The
// method must be the one the client registered, so a confidential client
// cannot pass as public by omitting its secret, and the secret's SHA-256
// is compared in constant time. Every failure is ErrInvalidClient with
// the same description, whichever check failed; store failures are
// returned as they are.
func (c *Clients) Authenticate(ctx context.Context, cr Credentials) (store.Client, error) {
	if !cr.Present() {
		return store.Client{}, ErrInvalidClient.WithDescription("client authentication required")
	}
	if len(cr.ClientID) > maxClientIDLen || len(cr.Secret) > maxClientSecretLen {
		return store.Client{}, ErrInvalidClient.WithCause(errors.New("credentials too long"))
	}
	cl, err := c.lookup(ctx, cr.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		// The presented id may be a secret sent in the wrong slot: the log
		// gets a short hash, never the value.
		return store.Client{}, ErrInvalidClient.WithCause(fmt.Errorf("unknown client (presented id %s)", LogHash(cr.ClientID)))
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("oauth: authenticate client: %w", err)
	}
	if cr.Method != cl.TokenEndpointAuthMethod {
		return store.Client{}, ErrInvalidClient.WithCause(fmt.Errorf("client %s used %s, registered %s", cl.ID, cr.Method, cl.TokenEndpointAuthMethod))
	}
	if cl.TokenEndpointAuthMethod == AuthNone {
		return cl, nil
	}
	h := hashSecret(cr.Secret)
	if len(cl.SecretHash) != len(h) || subtle.ConstantTimeCompare(h[:], cl.SecretHash) != 1 {
		return store.Client{}, ErrInvalidClient.WithCause(fmt.Errorf("wrong secret for client %s", cl.ID))
	}
	return cl, nil
}

// LogHash returns what logs may show of a client-supplied value that can
// be a secret (a client id slot holding a secret, say): "sha256:" and the
// first 8 hex digits of its SHA-256, enough to correlate log lines and
// useless for guessing the value.
func LogHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(h[:4])
}

// hashSecret returns what is stored of a client secret: its SHA-256, as
// session.HashSecret computes it for cookie secrets (from a stack copy,
// without allocating, on every authenticated token request). Client
// secrets carry 256 random bits, so a fast hash suffices.
func hashSecret(secret string) [32]byte { return session.HashSecret(secret) }

// newClientID returns a client id: 128 random bits in hex, like the other
// public ids.
func newClientID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSecret returns a client secret: SecretPrefix and 256 random bits in
// base64url, which needs no escaping in a Basic header or a form.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}
