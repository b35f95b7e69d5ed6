package identity_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clocktest"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"alice@example.com", "alice@example.com", false},
		{"  Alice@Example.COM\t", "Alice@example.com", false},
		{"a.b+tag@sub.example.org", "a.b+tag@sub.example.org", false},
		{`"quoted@local"@example.com`, `"quoted@local"@example.com`, false},
		{"ÜSER@BÜCHER.example", "ÜSER@bücher.example", false},
		{"x@localhost", "x@localhost", false},
		{"", "", true},
		{"   ", "", true},
		{"alice", "", true},
		{"@example.com", "", true},
		{"alice@", "", true},
		{"alice@exa mple.com", "", true},
		{"al ice@example.com", "", true},
		{"alice@example..com", "", true},
		{"alice@.example.com", "", true},
		{"alice@example.com.", "", true},
		{"alice@[127.0.0.1]", "", true},
		{"alice@exam,ple.com", "", true},
		{"alice@example.com\x00", "", true},
		{"ali\x7fce@example.com", "", true},
		{"ali\nce@example.com", "", true},
		{"alice@ex\"ample.com", "", true},
		{"\xff@example.com", "", true},
		{strings.Repeat("a", 242) + "@example.com", strings.Repeat("a", 242) + "@example.com", false}, // 254 bytes
		{strings.Repeat("a", 243) + "@example.com", "", true},
		// 254 bytes, but 255 once the domain is lower-cased.
		{strings.Repeat("a", 243) + "@\u023a.example", "", true},
		{strings.Repeat("a", 242) + "@\u023a.example", strings.Repeat("a", 242) + "@\u2c65.example", false},
		// NFC: composed and decomposed spellings are one address.
		{"jos\u00e9@caf\u00e9.example", "jos\u00e9@caf\u00e9.example", false},
		{"jose\u0301@cafe\u0301.example", "jos\u00e9@caf\u00e9.example", false},
		{"JOSE\u0301@CAFE\u0301.EXAMPLE", "JOS\u00c9@caf\u00e9.example", false},
		{"\u212bngstr\u00f6m@example.com", "\u00c5ngstr\u00f6m@example.com", false}, // the Angstrom sign is Å
		{"ﬁ@example.com", "ﬁ@example.com", false},                                   // NFC, not NFKC
		// 282 bytes decomposed, 192 composed.
		{strings.Repeat("e\u0301", 90) + "@example.com", strings.Repeat("\u00e9", 90) + "@example.com", false},
		// Invalid UTF-8, and U+FFFD, which a JSON decoder makes of it.
		{"jos\xc3@example.com", "", true},
		{"\ufffd@example.com", "", true},
		{"a@exa\ufffdmple.com", "", true},
	}
	for _, tc := range cases {
		got, err := identity.NormalizeEmail(tc.in)
		if tc.err {
			if !errors.Is(err, identity.ErrInvalidEmail) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestValidateClaims(t *testing.T) {
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope", "client_id"} {
		err := identity.ValidateClaims(map[string]any{"fine": 1, name: "x"})
		if !errors.Is(err, identity.ErrInvalidClaims) || !strings.Contains(err.Error(), name) {
			t.Errorf("claim %q: %v, want ErrInvalidClaims naming it", name, err)
		}
	}
	bad := map[string]map[string]any{
		"empty name": {"": 1},
		"too large":  {"blob": strings.Repeat("x", 5000)},
		"not JSON":   {"f": func() {}},
	}
	for name, c := range bad {
		if err := identity.ValidateClaims(c); !errors.Is(err, identity.ErrInvalidClaims) {
			t.Errorf("%s: %v, want ErrInvalidClaims", name, err)
		}
	}
	good := []map[string]any{
		nil,
		{},
		{"tenant": "acme", "roles": []any{"a"}, "ISS": "case differs", "subject": 1, "scopes": "x", "nested": map[string]any{"sub": "ok inside"}},
		{"blob": strings.Repeat("x", 4000)},
	}
	for _, c := range good {
		if err := identity.ValidateClaims(c); err != nil {
			t.Errorf("ValidateClaims(%v) = %v", c, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	cases := map[string]bool{
		"":                        false,
		"1234567":                 false,
		"12345678":                true,
		"ééé€":                    true, // 8 bytes in UTF-8: the limit is in bytes
		strings.Repeat("p", 1024): true,
		strings.Repeat("p", 1025): false,
		"        ":                true, // no composition rules (NIST SP 800-63B)
	}
	for pw, ok := range cases {
		if err := identity.ValidatePassword(pw); (err == nil) != ok || (err != nil && !errors.Is(err, identity.ErrInvalidPassword)) {
			t.Errorf("ValidatePassword(%d bytes) = %v, want ok=%v", len(pw), err, ok)
		}
	}
}

// fakeHasher counts the work a real Argon2id hasher would do.
type fakeHasher struct {
	mu               sync.Mutex
	hashes, verifies int
	dummies          []string
	rehash           bool
	err              error
	// hold, if set, runs once inside the next Verify, as if the
	// computation took that long.
	hold func()
}

func (h *fakeHasher) Hash(_ context.Context, pw string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hashes++
	return "fake$" + pw, h.err
}

func (h *fakeHasher) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	h.mu.Lock()
	if hold := h.hold; hold != nil {
		h.hold = nil
		h.mu.Unlock()
		hold()
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	h.verifies++
	if h.err != nil {
		return false, false, h.err
	}
	ok := encoded == "fake$"+pw
	return ok, ok && h.rehash, nil
}

func (h *fakeHasher) VerifyDummy(_ context.Context, pw string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dummies = append(h.dummies, pw)
	return h.err
}

func (h *fakeHasher) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hashes, h.verifies, h.dummies = 0, 0, nil
}

func (h *fakeHasher) work() (hashes, verifies, dummies int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hashes, h.verifies, len(h.dummies)
}

func newUsers(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

type fixture struct {
	svc    *identity.Service
	users  *sqlstore.Store
	hasher *fakeHasher
	clock  *clocktest.Clock
}

func newFixture(t *testing.T, cfg identity.Config) fixture {
	t.Helper()
	f := fixture{users: newUsers(t), hasher: &fakeHasher{}, clock: clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	f.svc = identity.NewService(f.users, f.hasher, cfg, nil, f.clock.Now)
	return f
}

func (f fixture) user(t *testing.T, email, pw string, disabled bool) store.User {
	t.Helper()
	u, err := f.svc.CreateUser(t.Context(), identity.NewUser{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if disabled {
		d := true
		if u, err = f.svc.UpdateUser(t.Context(), u.ID, identity.UserUpdate{Disabled: &d}); err != nil {
			t.Fatal(err)
		}
	}
	f.hasher.reset()
	return u
}

// TestLoginEqualisesWork checks that every way a login can fail does the
// work of exactly one password verification: a real one against the
// stored hash, or the dummy one when there is none. Response time then
// does not tell which accounts exist.
func TestLoginEqualisesWork(t *testing.T) {
	f := newFixture(t, identity.Config{})
	f.user(t, "alice@example.com", "alice's password", false)
	f.user(t, "bob@example.com", "bob's password", true)

	cases := []struct {
		name, email, password string
		wantErr               error
		verifies, dummies     int
		dummyPassword         string
	}{
		{"success", "alice@example.com", "alice's password", nil, 1, 0, ""},
		{"success, other spelling", " alice@EXAMPLE.com ", "alice's password", nil, 1, 0, ""},
		{"wrong password", "alice@example.com", "wrong password", identity.ErrInvalidCredentials, 1, 0, ""},
		{"unknown email", "carol@example.com", "carol's password", identity.ErrInvalidCredentials, 0, 1, "carol's password"},
		{"disabled, right password", "bob@example.com", "bob's password", identity.ErrInvalidCredentials, 1, 0, ""},
		{"not an address", "carol", "carol's password", identity.ErrInvalidCredentials, 0, 1, "carol's password"},
		{"empty email", "", "x", identity.ErrInvalidCredentials, 0, 1, "x"},
		{"overlong password", "alice@example.com", strings.Repeat("p", 5000), identity.ErrInvalidCredentials, 0, 1, strings.Repeat("p", 1024)},
		{"overlong password, unknown email", "carol@example.com", strings.Repeat("p", 5000), identity.ErrInvalidCredentials, 0, 1, strings.Repeat("p", 1024)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.hasher.reset()
			u, err := f.svc.Login(t.Context(), tc.email, tc.password, "192.0.2.1")
			if tc.wantErr == nil {
				if err != nil || u.Email != "alice@example.com" {
					t.Fatalf("Login = %+v, %v", u, err)
				}
			} else if !errors.Is(err, tc.wantErr) || u.ID != "" {
				t.Fatalf("Login = %+v, %v; want %v", u, err, tc.wantErr)
			}
			hashes, verifies, dummies := f.hasher.work()
			if hashes != 0 || verifies != tc.verifies || dummies != tc.dummies {
				t.Errorf("work: %d hashes, %d verifies, %d dummy verifies; want 0, %d, %d", hashes, verifies, dummies, tc.verifies, tc.dummies)
			}
			if tc.dummies > 0 && f.hasher.dummies[0] != tc.dummyPassword {
				t.Errorf("dummy verify of a %d-byte password, want %d bytes", len(f.hasher.dummies[0]), len(tc.dummyPassword))
			}
		})
	}
}

func TestLoginHasherErrors(t *testing.T) {
	f := newFixture(t, identity.Config{})
	f.user(t, "alice@example.com", "alice's password", false)
	busy := errors.New("busy")
	f.hasher.err = busy
	for _, email := range []string{"alice@example.com", "nobody@example.com", "not-an-address"} {
		if _, err := f.svc.Login(t.Context(), email, "whatever1", "192.0.2.1"); !errors.Is(err, busy) || errors.Is(err, identity.ErrInvalidCredentials) {
			t.Errorf("Login(%s) with a failing hasher = %v, want the hasher's error, not invalid credentials", email, err)
		}
	}
}

func TestLoginRehash(t *testing.T) {
	f := newFixture(t, identity.Config{})
	u := f.user(t, "alice@example.com", "alice's password", false)
	f.hasher.rehash = true
	if _, err := f.svc.Login(t.Context(), u.Email, "alice's password", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if hashes, _, _ := f.hasher.work(); hashes != 1 {
		t.Errorf("%d hashes after a login that needs a rehash, want 1", hashes)
	}
	got, err := f.users.GetUser(t.Context(), u.ID)
	if err != nil || got.PasswordHash != "fake$alice's password" {
		t.Errorf("stored hash %q (err %v)", got.PasswordHash, err)
	}
}

// TestRehashKeepsConcurrentPasswordChange checks that the rehash after a
// login with an outdated hash does not overwrite a password an
// administrator set while that login was verifying the old one.
func TestRehashKeepsConcurrentPasswordChange(t *testing.T) {
	f := newFixture(t, identity.Config{})
	u := f.user(t, "alice@example.com", "old password", false)
	f.hasher.rehash = true
	f.hasher.hold = func() {
		pw := "new password"
		if _, err := f.svc.UpdateUser(t.Context(), u.ID, identity.UserUpdate{Password: &pw}); err != nil {
			t.Errorf("UpdateUser: %v", err)
		}
	}
	if _, err := f.svc.Login(t.Context(), u.Email, "old password", "192.0.2.1"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	got, err := f.users.GetUser(t.Context(), u.ID)
	if err != nil || got.PasswordHash != "fake$new password" {
		t.Fatalf("stored hash %q (err %v): the rehash of the old password overwrote the new one", got.PasswordHash, err)
	}
}

func newLimiter(t *testing.T, max int, window time.Duration, c *clocktest.Clock) ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.NewMemory(ratelimit.Limit{Max: max, Window: window}, ratelimit.MemoryConfig{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLoginRateLimit checks that the per-account limit treats existing and
// unknown accounts alike, refuses without hashing once exceeded, and
// forgets an account's failures after a success.
func TestLoginRateLimit(t *testing.T) {
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFixture(t, identity.Config{AccountLimiter: newLimiter(t, 3, 3*time.Minute, c), AddressLimiter: newLimiter(t, 1000, time.Minute, c)})
	f.clock = c
	f.user(t, "alice@example.com", "alice's password", false)

	for _, email := range []string{"alice@example.com", "ghost@example.com"} {
		for i := range 3 {
			if _, err := f.svc.Login(t.Context(), email, "wrong password", "192.0.2.1"); !errors.Is(err, identity.ErrInvalidCredentials) {
				t.Fatalf("%s failure %d: %v", email, i+1, err)
			}
		}
		f.hasher.reset()
		_, err := f.svc.Login(t.Context(), email, "alice's password", "192.0.2.1")
		var rl *identity.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
			t.Fatalf("%s after 3 failures: %v, want RateLimitedError with RetryAfter in (0, 1m]", email, err)
		}
		if h, v, d := f.hasher.work(); h+v+d != 0 {
			t.Errorf("%s: a refused attempt did hashing work (%d, %d, %d)", email, h, v, d)
		}
	}
	c.Advance(time.Minute)
	if _, err := f.svc.Login(t.Context(), "alice@example.com", "alice's password", "192.0.2.1"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// The success reset alice's budget: three more failures are allowed.
	for i := range 3 {
		if _, err := f.svc.Login(t.Context(), "alice@example.com", "wrong", "192.0.2.1"); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("failure %d after a success: %v", i+1, err)
		}
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFixture(t, identity.Config{AddressLimiter: newLimiter(t, 2, time.Minute, c)})
	f.user(t, "alice@example.com", "alice's password", false)
	for _, email := range []string{"a@example.com", "b@example.com"} {
		f.svc.Login(t.Context(), email, "wrong password", "192.0.2.1")
	}
	var rl *identity.RateLimitedError
	if _, err := f.svc.Login(t.Context(), "alice@example.com", "alice's password", "192.0.2.1"); !errors.As(err, &rl) {
		t.Fatalf("third attempt from the address: %v, want RateLimitedError", err)
	}
	if _, err := f.svc.Login(t.Context(), "alice@example.com", "alice's password", "192.0.2.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}

	// Attempts with strings that are not addresses are failed logins too:
	// they count, and once the address is limited they are refused without
	// hashing work, like any other.
	if _, err := f.svc.Login(t.Context(), "not-an-address", "password", "192.0.2.3"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatalf("first malformed attempt: %v", err)
	}
	f.svc.Login(t.Context(), "also not one", "password", "192.0.2.3")
	f.hasher.reset()
	for _, email := range []string{"not-an-address", "alice@example.com"} {
		if _, err := f.svc.Login(t.Context(), email, "alice's password", "192.0.2.3"); !errors.As(err, &rl) {
			t.Errorf("%s after two malformed attempts from the address: %v, want RateLimitedError", email, err)
		}
	}
	if h, v, d := f.hasher.work(); h+v+d != 0 {
		t.Errorf("refused attempts did hashing work (%d, %d, %d)", h, v, d)
	}
}

func TestSignup(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		f := newFixture(t, identity.Config{SignupOpen: false})
		if _, err := f.svc.Signup(t.Context(), identity.NewUser{Email: "a@example.com", Password: "password123"}, "192.0.2.1"); !errors.Is(err, identity.ErrSignupClosed) {
			t.Fatalf("Signup when closed = %v", err)
		}
		if h, _, _ := f.hasher.work(); h != 0 {
			t.Errorf("closed signup hashed")
		}
		if _, err := f.users.GetUserByEmail(t.Context(), "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("closed signup stored the user: %v", err)
		}
	})
	t.Run("open", func(t *testing.T) {
		c := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		f := newFixture(t, identity.Config{SignupOpen: true, AddressLimiter: newLimiter(t, 2, time.Minute, c)})
		u, err := f.svc.Signup(t.Context(), identity.NewUser{Email: "A@Example.com", Password: "password123", Claims: map[string]any{"admin": true}}, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "A@example.com" || len(u.Claims) != 0 || u.PasswordHash != "fake$password123" || !u.CreatedAt.Equal(f.clock.Now()) {
			t.Errorf("signed up %+v: want the normalised email, no self-chosen claims, the hash, created now", u)
		}
		_, err = f.svc.Signup(t.Context(), identity.NewUser{Email: "A@example.COM", Password: "password123"}, "192.0.2.1")
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second signup = %v, want ErrConflict", err)
		}
		// Both attempts count against the address: probing for taken
		// addresses is limited like guessing passwords.
		var rl *identity.RateLimitedError
		if _, err := f.svc.Signup(t.Context(), identity.NewUser{Email: "new@example.com", Password: "password123"}, "192.0.2.1"); !errors.As(err, &rl) {
			t.Fatalf("third signup from the address = %v, want RateLimitedError", err)
		}
	})
}

// TestRecheck covers what a login sees when it reads the account again
// after creating its session: a change by an administrator meanwhile ends
// the login, another login's rehash of the same password does not.
func TestRecheck(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name   string
		change func(f fixture, u store.User)
		want   error
	}{
		{"unchanged", func(fixture, store.User) {}, nil},
		{"rehashed to the same password", func(f fixture, u store.User) {
			if _, err := f.users.UpdateUser(ctx, u.ID, func(v store.User) (store.User, error) {
				v.PasswordHash = "fake$login password" // what a rehash with new parameters would store
				v.UpdatedAt = v.UpdatedAt.Add(time.Second)
				return v, nil
			}); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"password reset", func(f fixture, u store.User) {
			pw := "another password"
			if _, err := f.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Password: &pw}); err != nil {
				t.Fatal(err)
			}
		}, identity.ErrInvalidCredentials},
		{"disabled", func(f fixture, u store.User) {
			d := true
			if _, err := f.svc.UpdateUser(ctx, u.ID, identity.UserUpdate{Disabled: &d}); err != nil {
				t.Fatal(err)
			}
		}, identity.ErrInvalidCredentials},
		{"deleted", func(f fixture, u store.User) {
			if err := f.svc.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}, identity.ErrInvalidCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, identity.Config{})
			f.user(t, "recheck@example.com", "login password", false)
			u, err := f.svc.Login(ctx, "recheck@example.com", "login password", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			// Make the stored hash differ from the verified one in form but
			// not in meaning for the rehash case.
			if tc.name == "rehashed to the same password" {
				u.PasswordHash = "fake-old-params$login password"
			}
			tc.change(f, u)
			if err := f.svc.Recheck(ctx, u, "login password"); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Recheck = %v, want %v", err, tc.want)
			}
		})
	}
}

// versionedHasher stores "v2$"+password and also accepts the older
// "v1$"+password, which it asks to rehash.
type versionedHasher struct{ fakeHasher }

func (*versionedHasher) Hash(_ context.Context, pw string) (string, error) { return "v2$" + pw, nil }

func (*versionedHasher) Verify(_ context.Context, pw, encoded string) (bool, bool, error) {
	switch encoded {
	case "v2$" + pw:
		return true, false, nil
	case "v1$" + pw:
		return true, true, nil
	}
	return false, false, nil
}

// TestLoginReturnsRehashedUser checks that a login that rehashed the
// password returns the account with the hash it stored, so that its
// recheck compares against the current hash and needs no second
// verification.
func TestLoginReturnsRehashedUser(t *testing.T) {
	users := newUsers(t)
	hasher := &versionedHasher{}
	svc := identity.NewService(users, hasher, identity.Config{}, nil, nil)
	now := time.Now().UTC()
	if err := users.CreateUser(t.Context(), store.User{ID: "u1", Email: "rh@example.com", PasswordHash: "v1$login password", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Login(t.Context(), "rh@example.com", "login password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "v2$login password" {
		t.Errorf("Login returned hash %q, want the rehashed v2$", u.PasswordHash)
	}
	if err := svc.Recheck(t.Context(), u, "login password"); err != nil {
		t.Errorf("Recheck after a rehash = %v", err)
	}
}

// TestEmailNFC checks that the composed (NFC) and decomposed (NFD)
// spellings of an address are one account: stored in NFC, a second signup
// in the other form is a conflict, and either form logs in. An account
// stored decomposed before NFC normalisation still logs in with the form
// it was created with.
func TestEmailNFC(t *testing.T) {
	const nfc, nfd = "jos\u00e9@caf\u00e9.example", "jose\u0301@cafe\u0301.example"
	f := newFixture(t, identity.Config{SignupOpen: true})
	u := f.user(t, nfd, "password123", false)
	if u.Email != nfc {
		t.Fatalf("stored email %q, want the NFC form %q", u.Email, nfc)
	}
	if _, err := f.svc.Signup(t.Context(), identity.NewUser{Email: nfc, Password: "password123"}, "192.0.2.1"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("signup of the NFC form = %v, want ErrConflict", err)
	}
	if _, err := f.svc.CreateUser(t.Context(), identity.NewUser{Email: " " + nfd, Password: "password123"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser of the NFD form = %v, want ErrConflict", err)
	}
	for _, email := range []string{nfc, nfd} {
		if got, err := f.svc.Login(t.Context(), email, "password123", "192.0.2.1"); err != nil || got.ID != u.ID {
			t.Errorf("Login(%q) = %v, %v; want user %s", email, got.ID, err, u.ID)
		}
	}

	legacy := store.User{ID: "legacy-user", Email: "rene\u0301@example.com", PasswordHash: "fake$password123",
		Claims: map[string]any{}, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.users.CreateUser(t.Context(), legacy); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Login(t.Context(), legacy.Email, "password123", "192.0.2.1"); err != nil || got.ID != legacy.ID {
		t.Errorf("Login of a legacy decomposed account = %v, %v; want it", got.ID, err)
	}
	// The composed spelling of the legacy address is the same account:
	// it logs in, is found, and cannot be taken by a new signup (which
	// would lock the legacy owner out).
	const legacyNFC = "ren\u00e9@example.com"
	if got, err := f.svc.Login(t.Context(), legacyNFC, "password123", "192.0.2.1"); err != nil || got.ID != legacy.ID {
		t.Errorf("Login of a legacy decomposed account in NFC = %v, %v; want it", got.ID, err)
	}
	if got, err := f.svc.FindUserByEmail(t.Context(), legacyNFC); err != nil || got.ID != legacy.ID {
		t.Errorf("FindUserByEmail of a legacy decomposed account in NFC = %v, %v; want it", got.ID, err)
	}
	if _, err := f.svc.Signup(t.Context(), identity.NewUser{Email: legacyNFC, Password: "password123"}, "192.0.2.2"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("signup of a legacy decomposed address in NFC = %v, want ErrConflict", err)
	}
	if _, err := f.svc.CreateUser(t.Context(), identity.NewUser{Email: legacyNFC, Password: "password123"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser of a legacy decomposed address in NFC = %v, want ErrConflict", err)
	}
}

// TestEmailInvalidUTF8 checks that signup and admin creation refuse
// invalid UTF-8 and U+FFFD, which JSON decoding makes of invalid UTF-8 and
// lone surrogates, instead of storing a mangled address, and that a login
// with one is refused like any unknown address.
func TestEmailInvalidUTF8(t *testing.T) {
	f := newFixture(t, identity.Config{SignupOpen: true})
	for _, email := range []string{"jos\xc3@example.com", "\ufffd@example.com", "a@\xed\xa0\x80.example"} {
		if _, err := f.svc.Signup(t.Context(), identity.NewUser{Email: email, Password: "password123"}, "192.0.2.1"); !errors.Is(err, identity.ErrInvalidEmail) {
			t.Errorf("Signup(%q) = %v, want ErrInvalidEmail", email, err)
		}
		if _, err := f.svc.CreateUser(t.Context(), identity.NewUser{Email: email, Password: "password123"}); !errors.Is(err, identity.ErrInvalidEmail) {
			t.Errorf("CreateUser(%q) = %v, want ErrInvalidEmail", email, err)
		}
		if _, err := f.svc.Login(t.Context(), email, "password123", "192.0.2.1"); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Errorf("Login(%q) = %v, want ErrInvalidCredentials", email, err)
		}
	}
}
