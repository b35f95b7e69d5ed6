package token_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/seal"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

const issuer = "https://auth.example.test"

// fixture is a token.Service wired as the server wires it, over a real
// SQLite store in a temporary directory, with a fake clock.
type fixture struct {
	svc      *token.Service
	sessions *session.Manager
	st       *sqlstore.Store
	clock    *clocktest.Clock
	user     store.User
}

func newFixture(t *testing.T, cfg token.Config) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "token.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, clock: clocktest.New(clocktest.Epoch)}
	revs := revocation.NewLog(st, revocation.Config{MaxTokenLifetime: token.DefaultAccessTokenTTL}, nil, f.clock.Now)
	f.sessions = session.NewManager(st, session.Config{
		Record: func(ctx context.Context, revoked []store.Session, evs []audit.Event) error {
			return f.svc.RecordRevoked(ctx, revoked, evs)
		},
		OnRevoke: func(ctx context.Context, revoked []store.Session) { f.svc.OnSessionsRevoked(ctx, revoked) },
	}, nil, f.clock.Now)
	km, err := keys.NewManager(ctx, st, sha256.Sum256([]byte("token test kek")), keys.Config{Algorithms: []jose.Algorithm{jose.EdDSA}}, nil, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = issuer
	f.svc = token.NewService(cfg, km, f.sessions, st, st, revs, nil, f.clock.Now)
	f.user = store.User{ID: "u1", Email: "u1@example.test", PasswordHash: "x", CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := st.CreateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	return f
}

// grant starts a grant of client with scope and returns its first pair.
func (f *fixture) grant(t *testing.T, clientID, scope string) token.Response {
	t.Helper()
	g, err := f.sessions.CreateGrant(t.Context(), session.GrantSpec{UserID: f.user.ID, ClientID: clientID, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.svc.IssueForGrant(t.Context(), g, f.user)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// live reports whether an access token still verifies: whether its grant
// has not been revoked.
func (f *fixture) live(t *testing.T, access string) bool {
	t.Helper()
	_, err := f.svc.VerifyAccess(t.Context(), access)
	return err == nil
}

func TestRefreshRotates(t *testing.T) {
	f := newFixture(t, serverDefaults)
	first := f.grant(t, "", "")
	second, err := f.svc.Refresh(t.Context(), first.RefreshToken, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh did not rotate: first %+v, second %+v", first, second)
	}
	// The old token is rotated: introspection calls it inactive, and the
	// new one refreshes in turn.
	if in, _ := f.svc.Introspect(t.Context(), first.RefreshToken); in.Active {
		t.Error("the rotated refresh token is still active")
	}
	if in, _ := f.svc.Introspect(t.Context(), second.RefreshToken); !in.Active {
		t.Error("the new refresh token is not active")
	}
	if _, err := f.svc.Refresh(t.Context(), second.RefreshToken, "", nil, nil); err != nil {
		t.Fatalf("the new refresh token does not refresh: %v", err)
	}
}

func TestRefreshReuse(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
		after time.Duration
		// reuseOK: the rotated token answers with its successor;
		// otherwise the grant is revoked.
		reuseOK bool
	}{
		{"at once, within grace", config.DefaultRefreshReuseGrace, 0, true},
		{"at the end of the grace period", config.DefaultRefreshReuseGrace, config.DefaultRefreshReuseGrace, true},
		{"just after the grace period", config.DefaultRefreshReuseGrace, config.DefaultRefreshReuseGrace + time.Millisecond, false},
		{"long after", config.DefaultRefreshReuseGrace, time.Hour, false},
		{"no grace, at once", 0, 0, false},
		{"custom grace 1m, after 30s", time.Minute, 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, token.Config{RefreshGrace: tt.grace, Leeway: config.DefaultTokenLeeway})
			first := f.grant(t, "", "")
			second, err := f.svc.Refresh(t.Context(), first.RefreshToken, "", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.after)
			again, err := f.svc.Refresh(t.Context(), first.RefreshToken, "", nil, nil)
			if tt.reuseOK {
				if err != nil {
					t.Fatalf("reuse within grace: %v", err)
				}
				if again.RefreshToken != second.RefreshToken || again.AccessToken != second.AccessToken {
					t.Fatalf("reuse within grace gave another pair: %+v, want %+v", again, second)
				}
				if want := second.ExpiresIn - int64(tt.after.Seconds()); again.ExpiresIn != want {
					t.Errorf("expires_in = %d, want %d (counted down from the first answer)", again.ExpiresIn, want)
				}
				if !f.live(t, second.AccessToken) {
					t.Error("a reuse within grace revoked the grant")
				}
				if _, err := f.svc.Refresh(t.Context(), second.RefreshToken, "", nil, nil); err != nil {
					t.Errorf("the successor no longer refreshes: %v", err)
				}
				return
			}
			if !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("reuse after grace = %+v, %v; want ErrInvalidGrant", again, err)
			}
			// Theft assumed: the whole grant is gone, successor included.
			if f.live(t, second.AccessToken) {
				t.Error("the successor's access token still verifies")
			}
			if _, err := f.svc.Refresh(t.Context(), second.RefreshToken, "", nil, nil); !errors.Is(err, token.ErrInvalidGrant) {
				t.Errorf("the successor still refreshes: %v", err)
			}
		})
	}
}

func TestRefreshScope(t *testing.T) {
	tests := []struct {
		name    string
		scope   []string
		wantErr error
	}{
		{"absent", nil, nil},
		{"the same scopes", []string{"openid", "profile", "email"}, nil},
		{"the same scopes in another order", []string{"email", "openid", "profile"}, nil},
		{"narrower", []string{"openid"}, token.ErrScopeChanged},
		{"wider", []string{"openid", "profile", "email", "admin"}, token.ErrScopeChanged},
		{"empty", []string{}, token.ErrScopeChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, serverDefaults)
			first := f.grant(t, "app", "openid profile email")
			resp, err := f.svc.Refresh(t.Context(), first.RefreshToken, "app", tt.scope, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Refresh = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if resp.Scope != "openid profile email" {
					t.Errorf("scope = %q, want the grant's", resp.Scope)
				}
				return
			}
			// A refused scope changes nothing: the token is not used up
			// and the grant lives.
			if !f.live(t, first.AccessToken) {
				t.Error("a refused scope revoked the grant")
			}
			if _, err := f.svc.Refresh(t.Context(), first.RefreshToken, "app", nil, nil); err != nil {
				t.Errorf("after a refused scope the token no longer refreshes: %v", err)
			}
		})
	}
}

// TestRefreshReuseIgnoresScope checks that reuse detection comes first: a
// rotated token presented after the grace period revokes its grant even
// when the request would be refused for its scope.
func TestRefreshReuseIgnoresScope(t *testing.T) {
	f := newFixture(t, serverDefaults)
	first := f.grant(t, "app", "openid profile")
	second, err := f.svc.Refresh(t.Context(), first.RefreshToken, "app", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(config.DefaultRefreshReuseGrace + time.Second)
	if _, err := f.svc.Refresh(t.Context(), first.RefreshToken, "app", []string{"openid"}, nil); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("reuse with a narrower scope = %v, want ErrInvalidGrant", err)
	}
	if f.live(t, second.AccessToken) {
		t.Error("the grant survived the reuse")
	}
}

func TestRefreshOtherClient(t *testing.T) {
	f := newFixture(t, serverDefaults)
	first := f.grant(t, "app", "openid")
	if _, err := f.svc.Refresh(t.Context(), first.RefreshToken, "other", nil, nil); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("another client's refresh = %v, want ErrInvalidGrant", err)
	}
	if _, err := f.svc.Refresh(t.Context(), first.RefreshToken, "app", nil, nil); err != nil {
		t.Fatalf("after another client tried it, the token no longer refreshes: %v", err)
	}
}

// TestRefreshConcurrent runs two rotations of one token at once. With a
// grace period both must succeed with one and the same new pair (the
// loser of the store's compare-and-swap answers as a reuse within
// grace); without one, exactly one succeeds and the other counts as
// reuse, which revokes the grant.
func TestRefreshConcurrent(t *testing.T) {
	for _, tt := range []struct {
		name  string
		grace time.Duration
	}{{"with grace", config.DefaultRefreshReuseGrace}, {"without grace", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, token.Config{RefreshGrace: tt.grace, Leeway: config.DefaultTokenLeeway})
			first := f.grant(t, "", "")
			var (
				wg    sync.WaitGroup
				resps [2]token.Response
				errs  [2]error
			)
			for i := range 2 {
				wg.Go(func() { resps[i], errs[i] = f.svc.Refresh(t.Context(), first.RefreshToken, "", nil, nil) })
			}
			wg.Wait()
			if tt.grace > 0 {
				if errs[0] != nil || errs[1] != nil {
					t.Fatalf("concurrent refreshes within grace: %v, %v", errs[0], errs[1])
				}
				if resps[0].RefreshToken != resps[1].RefreshToken {
					t.Fatalf("concurrent refreshes got different pairs: %q, %q", resps[0].RefreshToken, resps[1].RefreshToken)
				}
				if _, err := f.svc.Refresh(t.Context(), resps[0].RefreshToken, "", nil, nil); err != nil {
					t.Errorf("the shared successor does not refresh: %v", err)
				}
				return
			}
			won := 0
			for i := range 2 {
				switch {
				case errs[i] == nil:
					won++
				case !errors.Is(errs[i], token.ErrInvalidGrant):
					t.Errorf("refresh %d: %v, want success or ErrInvalidGrant", i, errs[i])
				}
			}
			if won != 1 {
				t.Fatalf("%d of 2 concurrent refreshes without grace succeeded, want exactly 1 (%v, %v)", won, errs[0], errs[1])
			}
			if f.live(t, first.AccessToken) {
				t.Error("without grace, the losing refresh did not revoke the grant")
			}
		})
	}
}

// TestRefreshOpensLegacySealedSuccessor checks that a token rotated before
// seal.DeriveKey moved to HKDF, and presented again within the grace
// period after the upgrade, still gets its successor.
func TestRefreshOpensLegacySealedSuccessor(t *testing.T) {
	f := newFixture(t, serverDefaults)
	first := f.grant(t, "", "")
	successor := token.Response{AccessToken: "legacy access", TokenType: "Bearer", ExpiresIn: 300, RefreshToken: "ghr_legacy"}
	body, err := json.Marshal(successor)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(first.RefreshToken))
	sealed, err := seal.Seal(seal.LegacyDeriveKey("refresh successor", []byte(first.RefreshToken)), body, h[:])
	if err != nil {
		t.Fatal(err)
	}
	old, err := f.st.GetRefreshToken(t.Context(), h[:])
	if err != nil {
		t.Fatal(err)
	}
	nh := sha256.Sum256([]byte(successor.RefreshToken))
	next := store.RefreshToken{Hash: nh[:], SessionID: old.SessionID, CreatedAt: f.clock.Now(), ExpiresAt: old.ExpiresAt}
	if err := f.st.RotateRefreshToken(t.Context(), h[:], sealed, next); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Refresh(t.Context(), first.RefreshToken, "", nil, nil)
	if err != nil {
		t.Fatalf("reuse of a token rotated under the legacy key: %v", err)
	}
	if got != successor {
		t.Fatalf("got %+v, want the legacy successor %+v", got, successor)
	}
}

// serverDefaults is the token configuration a server gets from its flags'
// defaults.
var serverDefaults = token.Config{RefreshGrace: config.DefaultRefreshReuseGrace, Leeway: config.DefaultTokenLeeway}
