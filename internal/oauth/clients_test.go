package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestStore returns a migrated SQLite store in a temporary directory.
func newTestStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "oauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func newTestClients(t testing.TB, cfg ClientsConfig) *Clients {
	t.Helper()
	return NewClients(newTestStore(t), cfg, func() time.Time { return testNow })
}

func TestMetadataValidation(t *testing.T) {
	service := Metadata{GrantTypes: []string{GrantClientCredentials}, Scope: "a b"}
	web := Metadata{GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken}, RedirectURIs: []string{"https://app.example.com/cb"}}
	with := func(m Metadata, f func(*Metadata)) Metadata { f(&m); return m }
	bad := []struct {
		name  string
		m     Metadata
		field string
	}{
		{"default grant needs a redirect URI", Metadata{}, "redirect_uris"},
		{"unknown grant type", with(service, func(m *Metadata) { m.GrantTypes = []string{"password"} }), "grant_types[0]"},
		{"implicit", with(service, func(m *Metadata) { m.GrantTypes = []string{"client_credentials", "implicit"} }), "grant_types[1]"},
		{"refresh without code", with(service, func(m *Metadata) { m.GrantTypes = []string{"client_credentials", "refresh_token"} }), "grant_types"},
		{"public client credentials", with(service, func(m *Metadata) { m.TokenEndpointAuthMethod = AuthNone }), "grant_types"},
		{"unknown auth method", with(service, func(m *Metadata) { m.TokenEndpointAuthMethod = "private_key_jwt" }), "token_endpoint_auth_method"},
		{"bad redirect", with(web, func(m *Metadata) { m.RedirectURIs = []string{"https://ok.example/cb", "http://evil.example/cb"} }), "redirect_uris[1]"},
		{"too many redirects", with(web, func(m *Metadata) { m.RedirectURIs = slices.Repeat([]string{"https://a.example/"}, 21) }), "redirect_uris"},
		{"bad scope", with(service, func(m *Metadata) { m.Scope = `a "b"` }), "scope"},
		{"bad audience", with(service, func(m *Metadata) { m.Audience = []string{"https://api.example", "has space"} }), "audience[1]"},
		{"empty audience", with(service, func(m *Metadata) { m.Audience = []string{""} }), "audience[0]"},
		{"long name", with(service, func(m *Metadata) { m.Name = strings.Repeat("n", 201) }), "client_name"},
		{"control in name", with(service, func(m *Metadata) { m.Name = "a\nb" }), "client_name"},
		{"back-channel http off loopback", with(web, func(m *Metadata) { m.BackchannelLogoutURI = "http://rp.example/bcl" }), "backchannel_logout_uri"},
		{"back-channel fragment", with(web, func(m *Metadata) { m.BackchannelLogoutURI = "https://rp.example/bcl#x" }), "backchannel_logout_uri"},
		{"back-channel relative", with(web, func(m *Metadata) { m.BackchannelLogoutURI = "/bcl" }), "backchannel_logout_uri"},
		{"back-channel other scheme", with(web, func(m *Metadata) { m.BackchannelLogoutURI = "com.example.app:/bcl" }), "backchannel_logout_uri"},
		{"back-channel user info", with(web, func(m *Metadata) { m.BackchannelLogoutURI = "https://u:p@rp.example/bcl" }), "backchannel_logout_uri"},
		{"session required without URI", with(web, func(m *Metadata) { m.BackchannelLogoutSessionRequired = true }), "backchannel_logout_session_required"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.client()
			var me *MetadataError
			if !errors.As(err, &me) || !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("err = %v, want a *MetadataError", err)
			}
			if me.Field != tt.field || me.Reason == "" {
				t.Errorf("error %q names field %q, want %q", err, me.Field, tt.field)
			}
		})
	}

	c, err := with(web, func(m *Metadata) {
		m.GrantTypes = append(m.GrantTypes, GrantAuthorizationCode)
		m.RedirectURIs = append(m.RedirectURIs, m.RedirectURIs[0])
		m.Scope = " openid  profile openid "
		m.Audience = []string{"x", "x"}
	}).client()
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"https://rp.example/bcl?x=1", "http://127.0.0.1:8081/bcl", "http://[::1]/bcl", "http://localhost:9/bcl"} {
		bc, err := with(web, func(m *Metadata) { m.BackchannelLogoutURI, m.BackchannelLogoutSessionRequired = uri, true }).client()
		if err != nil || bc.BackchannelLogoutURI != uri || !bc.BackchannelLogoutSessionRequired {
			t.Errorf("backchannel_logout_uri %q: %+v, %v", uri, bc, err)
		}
	}
	if c.TokenEndpointAuthMethod != AuthClientSecretBasic || !slices.Equal(c.GrantTypes, []string{"authorization_code", "refresh_token"}) ||
		len(c.RedirectURIs) != 1 || !slices.Equal(c.Scopes, []string{"openid", "profile"}) || !slices.Equal(c.Audiences, []string{"x"}) {
		t.Errorf("normalised client = %+v, want defaults applied and repeats dropped", c)
	}
}

func TestRegisterAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	cs := newTestClients(t, ClientsConfig{})
	reg, err := cs.Register(ctx, Metadata{Name: "svc", GrantTypes: []string{GrantClientCredentials}, Scope: "a"})
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := strings.CutPrefix(reg.Secret, SecretPrefix)
	if b, err := base64.RawURLEncoding.DecodeString(raw); !ok || err != nil || len(b) != 32 {
		t.Fatalf("secret %q is not %s and 256 bits of base64url", reg.Secret, SecretPrefix)
	}
	if h := sha256.Sum256([]byte(reg.Secret)); string(reg.Client.SecretHash) != string(h[:]) {
		t.Fatal("stored hash is not the secret's SHA-256")
	}
	stored, err := cs.Get(ctx, reg.Client.ID)
	if err != nil || strings.Contains(string(stored.SecretHash), reg.Secret) || !stored.CreatedAt.Equal(testNow) {
		t.Fatalf("stored client %+v, %v", stored, err)
	}

	pub, err := cs.Register(ctx, Metadata{TokenEndpointAuthMethod: AuthNone, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Secret != "" || len(pub.Client.SecretHash) != 0 || !RequiresPKCE(pub.Client) || RequiresPKCE(reg.Client) {
		t.Fatalf("public client %+v has a secret or needs no PKCE", pub)
	}
	post, err := cs.Register(ctx, Metadata{TokenEndpointAuthMethod: AuthClientSecretPost, GrantTypes: []string{GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}

	id := reg.Client.ID
	good := []Credentials{
		{AuthClientSecretBasic, id, reg.Secret},
		{AuthNone, pub.Client.ID, ""},
		{AuthClientSecretPost, post.Client.ID, post.Secret},
	}
	for _, cr := range good {
		if cl, err := cs.Authenticate(ctx, cr); err != nil || cl.ID != cr.ClientID {
			t.Errorf("Authenticate(%+v) = %v, %v", cr, cl.ID, err)
		}
	}
	bad := map[string]Credentials{
		"wrong secret":                 {AuthClientSecretBasic, id, reg.Secret + "x"},
		"secret of another client":     {AuthClientSecretBasic, id, post.Secret},
		"empty secret":                 {AuthClientSecretBasic, id, ""},
		"post for a basic client":      {AuthClientSecretPost, id, reg.Secret},
		"basic for a post client":      {AuthClientSecretBasic, post.Client.ID, post.Secret},
		"confidential passing public":  {AuthNone, id, ""},
		"public with a made-up secret": {AuthClientSecretBasic, pub.Client.ID, "x"},
		"unknown client":               {AuthClientSecretBasic, "nope", reg.Secret},
		"nothing":                      {},
		"long id":                      {AuthNone, strings.Repeat("a", 129), ""},
	}
	for name, cr := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := cs.Authenticate(ctx, cr)
			var oe *Error
			if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Status != 401 {
				t.Fatalf("Authenticate = %v, want invalid_client 401", err)
			}
		})
	}
}

func TestDeleteRunsOnDelete(t *testing.T) {
	ctx := context.Background()
	var deleted []string
	cs := newTestClients(t, ClientsConfig{OnDelete: func(_ context.Context, id string) error {
		deleted = append(deleted, id)
		return nil
	}})
	reg, err := cs.Register(ctx, Metadata{GrantTypes: []string{GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Delete(ctx, reg.Client.ID); err != nil {
		t.Fatal(err)
	}
	// Before the client is deleted, and again after for what was issued
	// in between.
	if !slices.Equal(deleted, []string{reg.Client.ID, reg.Client.ID}) {
		t.Errorf("OnDelete saw %v", deleted)
	}
	if _, err := cs.Authenticate(ctx, Credentials{AuthClientSecretBasic, reg.Client.ID, reg.Secret}); !errors.Is(err, ErrInvalidClient) {
		t.Errorf("a deleted client authenticated: %v", err)
	}
	if err := cs.Delete(ctx, reg.Client.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if len(deleted) != 2 {
		t.Errorf("OnDelete ran for a client that did not exist")
	}
}

// TestClientCache checks that authentication serves a known client from
// memory for CacheTTL, that a client deleted behind the cache's back stops
// authenticating once its entry expires or is forgotten, and that a wrong
// secret is refused from the cache too.
func TestClientCache(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	now := testNow
	cs := NewClients(st, ClientsConfig{CacheTTL: 30 * time.Second}, func() time.Time { return now })
	reg, err := cs.Register(ctx, Metadata{Name: "svc", GrantTypes: []string{GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	cr := Credentials{AuthClientSecretBasic, reg.Client.ID, reg.Secret}
	if _, err := cs.Authenticate(ctx, cr); err != nil {
		t.Fatal(err)
	}
	// Deleted in the store by another instance: still cached here.
	if err := st.DeleteClient(ctx, reg.Client.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Authenticate(ctx, cr); err != nil {
		t.Fatalf("cached client refused within CacheTTL: %v", err)
	}
	if _, err := cs.Authenticate(ctx, Credentials{AuthClientSecretBasic, reg.Client.ID, "ghc_wrong"}); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("wrong secret against the cache: %v", err)
	}
	now = now.Add(30 * time.Second)
	if _, err := cs.Authenticate(ctx, cr); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("deleted client authenticated after CacheTTL: %v", err)
	}

	reg2, err := cs.Register(ctx, Metadata{Name: "svc2", GrantTypes: []string{GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	cr2 := Credentials{AuthClientSecretBasic, reg2.Client.ID, reg2.Secret}
	if _, err := cs.Authenticate(ctx, cr2); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteClient(ctx, reg2.Client.ID); err != nil {
		t.Fatal(err)
	}
	cs.Forget(reg2.Client.ID)
	if _, err := cs.Authenticate(ctx, cr2); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("forgotten, deleted client authenticated: %v", err)
	}
}

// TestDeleteKeepsClientWhenRevocationFails: if revoking what was issued
// to the client fails, Delete returns the error and leaves the client in
// place, so that a retry (after the revocation log recovers) revokes and
// deletes it. (It used to delete the client first: the retry got
// ErrNotFound and the grants' revocation was never recorded.)
func TestDeleteKeepsClientWhenRevocationFails(t *testing.T) {
	ctx := context.Background()
	errDown := errors.New("revocation log down")
	failing := true
	var ran int
	cs := newTestClients(t, ClientsConfig{OnDelete: func(context.Context, string) error {
		ran++
		if failing {
			return errDown
		}
		return nil
	}})
	reg, err := cs.Register(ctx, Metadata{GrantTypes: []string{GrantClientCredentials}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Delete(ctx, reg.Client.ID); !errors.Is(err, errDown) {
		t.Fatalf("Delete = %v, want the revocation's error", err)
	}
	if _, err := cs.Get(ctx, reg.Client.ID); err != nil {
		t.Fatalf("the client is gone although its grants' revocation failed: %v", err)
	}
	failing = false
	if err := cs.Delete(ctx, reg.Client.ID); err != nil {
		t.Fatalf("retried Delete = %v", err)
	}
	if _, err := cs.Get(ctx, reg.Client.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the retry, Get = %v, want ErrNotFound", err)
	}
	if ran != 3 {
		t.Errorf("OnDelete ran %d times, want 3 (the failure, then before and after the delete)", ran)
	}
}

// TestHashSecret checks that a client secret hashes to its SHA-256, long
// or short, and that a secret of the usual length allocates nothing.
func TestHashSecret(t *testing.T) {
	for _, s := range []string{"", "short", newSecret(), strings.Repeat("x", 200)} {
		if got, want := hashSecret(s), sha256.Sum256([]byte(s)); got != want {
			t.Errorf("hashSecret(%q) = %x, want %x", s, got, want)
		}
	}
	s := newSecret()
	if n := testing.AllocsPerRun(100, func() { _ = hashSecret(s) }); n != 0 {
		t.Errorf("hashSecret of a %d-byte secret allocates %v times", len(s), n)
	}
}
