package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/sqlitetest"
)

const (
	testIssuer = "https://id.example.com"
	testOrigin = "https://id.example.com"
	testRPID   = "id.example.com"
)

type fixture struct {
	svc   *Service
	store *sqlstore.Store
	clock *clocktest.Clock
	mu    sync.Mutex
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: sqlitetest.New(t), clock: clocktest.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)), logs: &bytes.Buffer{}}
	svc, err := New(Config{
		Issuer:         testIssuer,
		TrustedOrigins: []string{"https://app.id.example.com", "https://elsewhere.example.org"},
		Now:            f.clock.Now,
		Logger:         slog.New(slog.NewTextHandler(&lockedWriter{mu: &f.mu, w: f.logs}, nil)),
	}, f.store, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var alice = User{ID: "3d767426c4cc7acbcf7a0f107822c370", Email: "alice@example.com"}
var bob = User{ID: "9a1f0c2b7e5d4f3a8b6c1d0e2f3a4b5c", Email: "bob@example.com"}

// register runs a whole registration of a for u and returns the record.
func (f *fixture) register(t *testing.T, u User, a *passkeytest.Authenticator, name string) store.PasskeyCredential {
	t.Helper()
	opts, err := f.svc.BeginRegistration(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.FinishRegistration(t.Context(), u, name, a.Create(t, opts, testOrigin, testRPID))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return c
}

// login runs a whole discoverable login with a.
func (f *fixture) login(t *testing.T, a *passkeytest.Authenticator) (Result, error) {
	t.Helper()
	opts, err := f.svc.BeginLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishLogin(t.Context(), a.Get(t, opts, testOrigin, testRPID))
}

func TestRelyingParty(t *testing.T) {
	cases := []struct {
		name             string
		issuer           string
		trusted          []string
		rpID             string
		origins, ignored []string
		err              bool
	}{
		{"https issuer", "https://id.example.com", nil, "id.example.com", []string{"https://id.example.com"}, nil, false},
		{"port and path", "https://ID.example.com:8443/auth", nil, "id.example.com", []string{"https://id.example.com:8443"}, nil, false},
		{"trusted under the RP ID", "https://example.com", []string{"https://app.example.com", "https://example.com", "https://other.org", "https://badexample.com"},
			"example.com", []string{"https://example.com", "https://app.example.com"}, []string{"https://other.org", "https://badexample.com"}, false},
		{"localhost", "http://localhost:8080", nil, "localhost", []string{"http://localhost:8080"}, nil, false},
		{"IP address", "http://127.0.0.1:8080", nil, "", nil, nil, true},
		{"IPv6 address", "http://[::1]:8080", nil, "", nil, nil, true},
		{"not a URL", "id.example.com", nil, "", nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rpID, origins, ignored, err := RelyingParty(c.issuer, c.trusted)
			if c.err {
				if err == nil {
					t.Fatalf("RelyingParty(%q) = %q, want an error", c.issuer, rpID)
				}
				return
			}
			if err != nil || rpID != c.rpID || !slices.Equal(origins, c.origins) || !slices.Equal(ignored, c.ignored) {
				t.Errorf("RelyingParty = %q, %q, %q, %v; want %q, %q, %q", rpID, origins, ignored, err, c.rpID, c.origins, c.ignored)
			}
		})
	}
	if _, err := New(Config{Issuer: "http://127.0.0.1:8080"}, nil, nil); !errors.Is(err, ErrNoDomain) {
		t.Errorf("New with an IP issuer: %v, want ErrNoDomain", err)
	}
}

func TestRegisterAndDiscoverableLogin(t *testing.T) {
	f := newFixture(t)
	a := passkeytest.New(t)

	opts, err := f.svc.BeginRegistration(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	sel := opts.Response.AuthenticatorSelection
	if sel.ResidentKey != protocol.ResidentKeyRequirementRequired || sel.UserVerification != protocol.VerificationPreferred {
		t.Errorf("authenticatorSelection = %+v, want resident key required, user verification preferred", sel)
	}
	if opts.Response.RelyingParty.ID != testRPID || opts.Response.User.Name != alice.Email {
		t.Errorf("rp.id = %q, user.name = %q", opts.Response.RelyingParty.ID, opts.Response.User.Name)
	}
	c, err := f.svc.FinishRegistration(t.Context(), alice, "  My   phone ", a.Create(t, opts, testOrigin, testRPID))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if c.Name != "My phone" || c.UserID != alice.ID || !bytes.Equal(c.ID, a.CredID) || !c.CreatedAt.Equal(f.clock.Now()) || !c.UserVerified || c.BackupEligible {
		t.Errorf("registered %+v", c)
	}
	if !slices.Equal(c.Transports, []string{"internal", "hybrid"}) {
		t.Errorf("transports = %q", c.Transports)
	}
	if list, _ := f.store.ListPasskeys(t.Context(), alice.ID); len(list) != 1 {
		t.Fatalf("%d passkeys stored, want 1", len(list))
	}

	// Passwordless login: no user given, the user handle names alice.
	loginOpts, err := f.svc.BeginLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(loginOpts.Response.AllowedCredentials) != 0 {
		t.Errorf("discoverable login lists %d credentials, want none", len(loginOpts.Response.AllowedCredentials))
	}
	f.clock.Advance(time.Minute)
	res, err := f.svc.FinishLogin(t.Context(), a.Get(t, loginOpts, testOrigin, testRPID))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if res.UserID != alice.ID {
		t.Errorf("UserID = %q, want %q", res.UserID, alice.ID)
	}
	if !slices.Equal(res.Methods, []authcontext.Method{authcontext.HardwareKey, authcontext.UserVerified}) {
		t.Errorf("Methods = %q", res.Methods)
	}
	if got := authcontext.New(f.clock.Now(), res.Methods...).AMR(); !slices.Equal(got, []string{"hwk", "user", "mfa"}) {
		t.Errorf("amr = %q", got)
	}
	stored, _ := f.store.GetPasskey(t.Context(), a.CredID)
	if stored.SignCount != 1 || !stored.LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("after login: sign count %d, last used %v", stored.SignCount, stored.LastUsedAt)
	}
	// The same authenticator again, counter 2.
	if _, err := f.login(t, a); err != nil {
		t.Fatalf("second login: %v", err)
	}

	// A login from a trusted origin under the RP ID works too, with the
	// contract's extra "mode" member in the body.
	opts2, _ := f.svc.BeginLogin(t.Context())
	var body map[string]any
	if err := json.Unmarshal(a.Get(t, opts2, "https://app.id.example.com", testRPID), &body); err != nil {
		t.Fatal(err)
	}
	body["mode"] = "token"
	if _, err := f.svc.FinishLogin(t.Context(), passkeytest.MustJSON(t, body)); err != nil {
		t.Errorf("login from a trusted origin under the RP ID, with mode: %v", err)
	}
}

func TestSeveralPasskeysPerUser(t *testing.T) {
	f := newFixture(t)
	first, second := passkeytest.New(t), passkeytest.New(t)
	f.register(t, alice, first, "first")
	opts, err := f.svc.BeginRegistration(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if ex := opts.Response.CredentialExcludeList; len(ex) != 1 || !bytes.Equal(ex[0].CredentialID, first.CredID) {
		t.Errorf("excludeCredentials = %+v, want the first credential", ex)
	}
	if _, err := f.svc.FinishRegistration(t.Context(), alice, "second", second.Create(t, opts, testOrigin, testRPID)); err != nil {
		t.Fatal(err)
	}
	list, _ := f.store.ListPasskeys(t.Context(), alice.ID)
	if len(list) != 2 || list[0].Name != "first" || list[1].Name != "second" {
		t.Errorf("passkeys = %d, want first and second", len(list))
	}
	for _, a := range []*passkeytest.Authenticator{first, second} {
		if res, err := f.login(t, a); err != nil || res.UserID != alice.ID {
			t.Errorf("login = %q, %v", res.UserID, err)
		}
	}
	// The same credential registered again (an authenticator ignoring
	// excludeCredentials) is refused.
	opts, _ = f.svc.BeginRegistration(t.Context(), alice)
	if _, err := f.svc.FinishRegistration(t.Context(), alice, "again", first.Create(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("registering a credential twice: %v, want ErrAlreadyRegistered", err)
	}
}

func TestWrongOriginAndRPID(t *testing.T) {
	type lie struct{ origin, rpID string }
	cases := map[string]lie{
		"wrong origin":                     {"https://evil.example", testRPID},
		"origin of an ignored trusted one": {"https://elsewhere.example.org", testRPID},
		"http instead of https":            {"http://id.example.com", testRPID},
		"wrong RP ID":                      {testOrigin, "evil.example"},
		"parent domain as RP ID":           {testOrigin, "example.com"},
	}
	for name, l := range cases {
		t.Run("registration/"+name, func(t *testing.T) {
			f := newFixture(t)
			a := passkeytest.New(t)
			opts, _ := f.svc.BeginRegistration(t.Context(), alice)
			_, err := f.svc.FinishRegistration(t.Context(), alice, "", a.Create(t, opts, l.origin, l.rpID))
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("FinishRegistration = %v, want ErrInvalidResponse", err)
			}
			if list, _ := f.store.ListPasskeys(t.Context(), alice.ID); len(list) != 0 {
				t.Error("a refused registration stored a credential")
			}
			// The failed attempt used up the ceremony.
			if _, err := f.svc.FinishRegistration(t.Context(), alice, "", a.Create(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
				t.Errorf("retry after a failure = %v, want ErrCeremony", err)
			}
		})
		t.Run("login/"+name, func(t *testing.T) {
			f := newFixture(t)
			a := passkeytest.New(t)
			f.register(t, alice, a, "")
			opts, _ := f.svc.BeginLogin(t.Context())
			if _, err := f.svc.FinishLogin(t.Context(), a.Get(t, opts, l.origin, l.rpID)); !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("FinishLogin = %v, want ErrInvalidResponse", err)
			}
			if stored, _ := f.store.GetPasskey(t.Context(), a.CredID); stored.SignCount != 0 || !stored.LastUsedAt.IsZero() {
				t.Errorf("a refused login changed the credential: %+v", stored)
			}
		})
	}
}

func TestReplayedChallenge(t *testing.T) {
	t.Run("login", func(t *testing.T) {
		f := newFixture(t)
		a := passkeytest.New(t)
		f.register(t, alice, a, "")
		opts, _ := f.svc.BeginLogin(t.Context())
		resp := a.Get(t, opts, testOrigin, testRPID)
		if _, err := f.svc.FinishLogin(t.Context(), resp); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishLogin(t.Context(), resp); !errors.Is(err, ErrCeremony) {
			t.Errorf("the same response again = %v, want ErrCeremony", err)
		}
		// A fresh signature over the used challenge is refused too.
		if _, err := f.svc.FinishLogin(t.Context(), a.Get(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
			t.Errorf("a new signature over a used challenge = %v, want ErrCeremony", err)
		}
	})
	t.Run("registration", func(t *testing.T) {
		f := newFixture(t)
		a := passkeytest.New(t)
		opts, _ := f.svc.BeginRegistration(t.Context(), alice)
		resp := a.Create(t, opts, testOrigin, testRPID)
		if _, err := f.svc.FinishRegistration(t.Context(), alice, "", resp); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishRegistration(t.Context(), alice, "", resp); !errors.Is(err, ErrCeremony) {
			t.Errorf("the same registration again = %v, want ErrCeremony", err)
		}
	})
	t.Run("concurrent finishes", func(t *testing.T) {
		f := newFixture(t)
		a := passkeytest.New(t)
		f.register(t, alice, a, "")
		opts, _ := f.svc.BeginLogin(t.Context())
		resp := a.Get(t, opts, testOrigin, testRPID)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { _, errs[i] = f.svc.FinishLogin(t.Context(), resp) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, ErrCeremony) {
				t.Errorf("FinishLogin: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d concurrent finishes of one ceremony succeeded, want 1", ok)
		}
	})
	t.Run("expired", func(t *testing.T) {
		f := newFixture(t)
		a := passkeytest.New(t)
		f.register(t, alice, a, "")
		opts, _ := f.svc.BeginLogin(t.Context())
		f.clock.Advance(5 * time.Minute)
		if _, err := f.svc.FinishLogin(t.Context(), a.Get(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
			t.Errorf("finish after the timeout = %v, want ErrCeremony", err)
		}
	})
	t.Run("unknown challenge", func(t *testing.T) {
		f := newFixture(t)
		a := passkeytest.New(t)
		f.register(t, alice, a, "")
		forged := &protocol.CredentialAssertion{}
		forged.Response.Challenge = bytes.Repeat([]byte{7}, 32)
		if _, err := f.svc.FinishLogin(t.Context(), a.Get(t, forged, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
			t.Errorf("a challenge never issued = %v, want ErrCeremony", err)
		}
	})
}

func TestCeremonyKindAndUser(t *testing.T) {
	f := newFixture(t)
	a, b := passkeytest.New(t), passkeytest.New(t)
	f.register(t, alice, a, "")
	f.register(t, bob, b, "")

	// A second-factor challenge for alice does not finish a passwordless login.
	opts, err := f.svc.BeginSecondFactor(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), a.Get(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
		t.Errorf("second-factor challenge used for a login = %v, want ErrCeremony", err)
	}
	// Nor a second factor for bob.
	opts, _ = f.svc.BeginSecondFactor(t.Context(), alice.ID)
	if _, err := f.svc.FinishSecondFactor(t.Context(), bob.ID, b.Get(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
		t.Errorf("alice's challenge finished for bob = %v, want ErrCeremony", err)
	}
	// A registration begun for alice cannot add a passkey to bob.
	reg, _ := f.svc.BeginRegistration(t.Context(), alice)
	if _, err := f.svc.FinishRegistration(t.Context(), bob, "", passkeytest.New(t).Create(t, reg, testOrigin, testRPID)); !errors.Is(err, ErrCeremony) {
		t.Errorf("alice's registration finished for bob = %v, want ErrCeremony", err)
	}
}

func TestSecondFactor(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.BeginSecondFactor(t.Context(), alice.ID); !errors.Is(err, ErrNoPasskeys) {
		t.Fatalf("BeginSecondFactor without passkeys = %v, want ErrNoPasskeys", err)
	}
	a, b := passkeytest.New(t), passkeytest.New(t)
	a.UV = false // a security key touched, no PIN
	f.register(t, alice, a, "")
	f.register(t, bob, b, "")
	opts, err := f.svc.BeginSecondFactor(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ac := opts.Response.AllowedCredentials; len(ac) != 1 || !bytes.Equal(ac[0].CredentialID, a.CredID) {
		t.Errorf("allowCredentials = %+v, want alice's one", ac)
	}
	res, err := f.svc.FinishSecondFactor(t.Context(), alice.ID, a.Get(t, opts, testOrigin, testRPID))
	if err != nil {
		t.Fatalf("FinishSecondFactor: %v", err)
	}
	if !slices.Equal(res.Methods, []authcontext.Method{authcontext.HardwareKey}) {
		t.Errorf("Methods = %q, want [hwk]", res.Methods)
	}
	if got := authcontext.New(f.clock.Now(), authcontext.Password).With(f.clock.Now(), res.Methods...).AMR(); !slices.Equal(got, []string{"pwd", "hwk", "mfa"}) {
		t.Errorf("amr after password and passkey = %q", got)
	}
	// Bob's authenticator answering alice's ceremony is refused.
	opts, _ = f.svc.BeginSecondFactor(t.Context(), alice.ID)
	b.UserHandle = []byte(alice.ID)
	if _, err := f.svc.FinishSecondFactor(t.Context(), alice.ID, b.Get(t, opts, testOrigin, testRPID)); err == nil {
		t.Error("another user's credential passed alice's second factor")
	}
}

func TestUnknownCredential(t *testing.T) {
	f := newFixture(t)
	a := passkeytest.New(t)
	f.register(t, alice, a, "")
	stranger := passkeytest.New(t)
	stranger.UserHandle = []byte(alice.ID)
	if _, err := f.login(t, stranger); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("unregistered credential = %v, want ErrUnknownCredential", err)
	}
	// alice's credential claiming to be bob's.
	liar := a.Clone()
	liar.UserHandle = []byte(bob.ID)
	if _, err := f.login(t, liar); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("user handle of another user = %v, want ErrUnknownCredential", err)
	}
	// A removed passkey no longer signs in.
	if err := f.store.DeletePasskey(t.Context(), alice.ID, a.CredID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(t, a); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("removed credential = %v, want ErrUnknownCredential", err)
	}
}

func TestClonedAuthenticator(t *testing.T) {
	f := newFixture(t)
	a := passkeytest.New(t)
	f.register(t, alice, a, "")
	copyOfKey := a.Clone() // counter 0, same key
	for range 3 {
		if _, err := f.login(t, a); err != nil {
			t.Fatal(err)
		}
	}
	// The clone signs with counter 1, behind the stored 3.
	if _, err := f.login(t, copyOfKey); !errors.Is(err, ErrClonedAuthenticator) {
		t.Fatalf("counter going backwards = %v, want ErrClonedAuthenticator", err)
	}
	// Counter standing still (clone at 3): refused too.
	copyOfKey.Counter = 2
	if _, err := f.login(t, copyOfKey); !errors.Is(err, ErrClonedAuthenticator) {
		t.Fatalf("counter standing still = %v, want ErrClonedAuthenticator", err)
	}
	stored, _ := f.store.GetPasskey(t.Context(), a.CredID)
	if stored.SignCount != 3 {
		t.Errorf("stored counter = %d after clone attempts, want 3 (unchanged)", stored.SignCount)
	}
	f.mu.Lock()
	logs := f.logs.String()
	f.mu.Unlock()
	if !strings.Contains(logs, "cloned") || !strings.Contains(logs, alice.ID) {
		t.Errorf("no clone warning logged: %q", logs)
	}
	// The genuine authenticator goes on working.
	if _, err := f.login(t, a); err != nil {
		t.Errorf("genuine authenticator after the clone: %v", err)
	}
	// As second factor, the same check.
	opts, _ := f.svc.BeginSecondFactor(t.Context(), alice.ID)
	copyOfKey.Counter = 0
	if _, err := f.svc.FinishSecondFactor(t.Context(), alice.ID, copyOfKey.Get(t, opts, testOrigin, testRPID)); !errors.Is(err, ErrClonedAuthenticator) {
		t.Errorf("clone as second factor = %v, want ErrClonedAuthenticator", err)
	}
}

func TestSyncedPasskeyWithoutCounter(t *testing.T) {
	f := newFixture(t)
	a := passkeytest.New(t)
	a.CounterStep, a.BE, a.BS = 0, true, true
	c := f.register(t, alice, a, "")
	if !c.BackupEligible || !c.BackupState {
		t.Errorf("backup flags = BE %v BS %v, want both", c.BackupEligible, c.BackupState)
	}
	for range 2 {
		res, err := f.login(t, a)
		if err != nil {
			t.Fatalf("counterless login: %v", err)
		}
		if !slices.Equal(res.Methods, []authcontext.Method{authcontext.SoftwareKey, authcontext.UserVerified}) {
			t.Errorf("Methods = %q, want [swk user]", res.Methods)
		}
	}
	// Backup state can change (a passkey synced later or no longer).
	a.BS = false
	if res, err := f.login(t, a); err != nil || res.Credential.BackupState {
		t.Errorf("login with BS cleared = %+v, %v", res.Credential, err)
	}
	// Backup eligibility cannot.
	a.BE = false
	if _, err := f.login(t, a); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("BE changed = %v, want ErrInvalidResponse", err)
	}
}

func TestMalformedResponses(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{"", "{}", "null", `{"id":"x","type":"public-key"}`, "not json"} {
		if _, err := f.svc.FinishLogin(t.Context(), []byte(body)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("FinishLogin(%q) = %v, want ErrInvalidResponse", body, err)
		}
		if _, err := f.svc.FinishRegistration(t.Context(), alice, "", []byte(body)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("FinishRegistration(%q) = %v, want ErrInvalidResponse", body, err)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "Passkey"},
		{"   ", "Passkey"},
		{" YubiKey  5 ", "YubiKey 5"},
		{"Téléphone ✓", "Téléphone ✓"},
		{"tab\there", "tab here"},
		{strings.Repeat("x", 64), strings.Repeat("x", 64)},
		{strings.Repeat("x", 65), ""},
		{"bell\a", ""},
		{"rtl\u202eoverride", ""},
		{"bad \xff utf8", ""},
	}
	for _, c := range cases {
		got, err := NormalizeName(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("NormalizeName(%q) = %q, %v; want ErrInvalidName", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"", "YubiKey 5", "a\tb", "\u202e", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeName(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("NormalizeName(%q): %v", in, err)
			}
			return
		}
		if got == "" || len([]rune(got)) > 64 || strings.TrimSpace(got) != got {
			t.Fatalf("NormalizeName(%q) = %q", in, got)
		}
		if again, err := NormalizeName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
	})
}

// FuzzFinishLogin feeds arbitrary bodies to the login finish: every one
// must fail with one of the package's errors, without a panic and without
// touching the stored credential.
func FuzzFinishLogin(f *testing.F) {
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":""}}`))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := newFixture(t)
		_, err := fx.svc.FinishLogin(t.Context(), body)
		if err == nil {
			t.Fatal("an arbitrary body finished a login")
		}
		if !errors.Is(err, ErrInvalidResponse) && !errors.Is(err, ErrCeremony) && !errors.Is(err, ErrUnknownCredential) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func TestListRenameDelete(t *testing.T) {
	f := newFixture(t)
	a, b := passkeytest.New(t), passkeytest.New(t)
	f.register(t, alice, a, "one")
	f.register(t, bob, b, "bob's")
	list, err := f.svc.List(t.Context(), alice.ID)
	if err != nil || len(list) != 1 || list[0].Name != "one" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if c, err := f.svc.Rename(t.Context(), alice.ID, a.CredID, " Laptop "); err != nil || c.Name != "Laptop" {
		t.Errorf("Rename = %q, %v", c.Name, err)
	}
	if _, err := f.svc.Rename(t.Context(), alice.ID, a.CredID, "bad\x00"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Rename to a bad name = %v, want ErrInvalidName", err)
	}
	if _, err := f.svc.Rename(t.Context(), alice.ID, b.CredID, "mine now"); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("Rename of bob's passkey by alice = %v, want ErrUnknownCredential", err)
	}
	if err := f.svc.Delete(t.Context(), alice.ID, b.CredID); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("Delete of bob's passkey by alice = %v, want ErrUnknownCredential", err)
	}
	if c, _ := f.store.GetPasskey(t.Context(), b.CredID); c.Name != "bob's" {
		t.Errorf("bob's passkey changed: %+v", c)
	}
	if err := f.svc.Delete(t.Context(), alice.ID, a.CredID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if list, _ := f.svc.List(t.Context(), alice.ID); len(list) != 0 {
		t.Errorf("%d passkeys after delete", len(list))
	}
	if _, err := f.login(t, a); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("login with a deleted passkey = %v, want ErrUnknownCredential", err)
	}
}

// FuzzFinishRegistration is FuzzFinishLogin for registrations.
func FuzzFinishRegistration(f *testing.F) {
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := newFixture(t)
		_, err := fx.svc.FinishRegistration(t.Context(), alice, "", body)
		if err == nil {
			t.Fatal("an arbitrary body finished a registration")
		}
		if !errors.Is(err, ErrInvalidResponse) && !errors.Is(err, ErrCeremony) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzRelyingParty checks that whatever the issuer and trusted origin,
// every accepted origin lies on the RP ID or under it, and the RP ID is
// never an IP address.
func FuzzRelyingParty(f *testing.F) {
	f.Add("https://id.example.com", "https://app.id.example.com")
	f.Add("http://localhost:8080", "http://127.0.0.1")
	f.Add("http://[::1]:80", "https://x.[::1]")
	f.Fuzz(func(t *testing.T, issuer, trusted string) {
		rpID, origins, ignored, err := RelyingParty(issuer, []string{trusted})
		if err != nil {
			return
		}
		if rpID == "" || net.ParseIP(rpID) != nil {
			t.Fatalf("RP ID %q from %q", rpID, issuer)
		}
		if len(origins)+len(ignored) < 1 || len(origins)+len(ignored) > 2 {
			t.Fatalf("origins %q, ignored %q", origins, ignored)
		}
		for _, o := range origins {
			u, err := url.Parse(o)
			if err != nil {
				t.Fatalf("origin %q does not parse: %v", o, err)
			}
			if h := u.Hostname(); h != rpID && !strings.HasSuffix(h, "."+rpID) {
				t.Fatalf("origin %q is not under RP ID %q", o, rpID)
			}
		}
	})
}

// TestOptionsJSON pins what the HTTP layer sends: the contract's
// {"publicKey": PublicKeyCredential…OptionsJSON}, with base64url binary
// fields as browsers' PublicKeyCredential.parse…OptionsFromJSON expect.
func TestOptionsJSON(t *testing.T) {
	f := newFixture(t)
	reg, err := f.svc.BeginRegistration(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	var creation struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct{ ID, Name string }
			User      struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string `json:"attestation"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(passkeytest.MustJSON(t, reg), &creation); err != nil {
		t.Fatal(err)
	}
	pk := creation.PublicKey
	if ch, err := passkeytest.B64.DecodeString(pk.Challenge); err != nil || len(ch) < 16 {
		t.Errorf("challenge %q: %d bytes, %v", pk.Challenge, len(ch), err)
	}
	if pk.RP.ID != testRPID || pk.RP.Name != "Gatehouse" {
		t.Errorf("rp = %+v", pk.RP)
	}
	if pk.User.ID != passkeytest.B64.EncodeToString([]byte(alice.ID)) || pk.User.Name != alice.Email || pk.User.DisplayName != alice.Email {
		t.Errorf("user = %+v", pk.User)
	}
	if pk.AuthenticatorSelection.ResidentKey != "required" || pk.AuthenticatorSelection.UserVerification != "preferred" || pk.Attestation != "none" {
		t.Errorf("authenticatorSelection = %+v, attestation %q", pk.AuthenticatorSelection, pk.Attestation)
	}

	login, err := f.svc.BeginLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var request map[string]map[string]any
	if err := json.Unmarshal(passkeytest.MustJSON(t, login), &request); err != nil {
		t.Fatal(err)
	}
	opts := request["publicKey"]
	if opts["rpId"] != testRPID || opts["userVerification"] != "required" || opts["challenge"] == "" {
		t.Errorf("request options = %v", opts)
	}
	if _, ok := opts["allowCredentials"]; ok {
		t.Errorf("discoverable request lists allowCredentials: %v", opts["allowCredentials"])
	}
	if ms, ok := opts["timeout"].(float64); !ok || ms != 300000 {
		t.Errorf("timeout = %v, want 300000 ms", opts["timeout"])
	}
}

func TestPasswordlessLoginNeedsUserVerification(t *testing.T) {
	f := newFixture(t)
	a := passkeytest.New(t)
	f.register(t, alice, a, "Key")
	a.UV = false // touched, no PIN or biometric
	res, err := f.login(t, a)
	if !errors.Is(err, ErrInvalidResponse) || res.UserID != alice.ID {
		t.Fatalf("login without UV = %+v, %v; want ErrInvalidResponse naming alice (to count the failure)", res, err)
	}
}

func TestDefaultName(t *testing.T) {
	f := newFixture(t)
	if c := f.register(t, alice, passkeytest.New(t), "  "); c.Name != "Passkey 1" {
		t.Errorf("first unnamed passkey = %q, want Passkey 1", c.Name)
	}
	if c := f.register(t, alice, passkeytest.New(t), ""); c.Name != "Passkey 2" {
		t.Errorf("second unnamed passkey = %q, want Passkey 2", c.Name)
	}
	gpm := []byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}
	if got := DefaultName(gpm, 3); got != "Google Password Manager" {
		t.Errorf("DefaultName(GPM) = %q", got)
	}
	if got := DefaultName([]byte{1, 2}, 3); got != "Passkey 3" {
		t.Errorf("DefaultName(short AAGUID) = %q", got)
	}
}
