package accounts_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
)

// TestLifecycleWithoutMail: a Service without a Mailer (the command
// line's) refuses the lifecycle's requests with ErrMailOff after the
// checks that need no mail, and its signup sends nothing.
func TestLifecycleWithoutMail(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	// The changes are step-up actions: they need a fresh session.
	login, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ada@example.com", Password: pw})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	sid := login.Session.Session.ID
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"request recovery", func() error { return f.svc.RequestRecovery(ctx, "ada@example.com", "192.0.2.1") }, accounts.ErrMailOff},
		{"request recovery, no email", func() error { return f.svc.RequestRecovery(ctx, "", "192.0.2.1") }, nil},
		{"request verification", func() error { return f.svc.RequestEmailVerification(ctx, f.user.ID, "192.0.2.1") }, accounts.ErrMailOff},
		{"confirm verification", func() error {
			_, err := f.svc.ConfirmEmailVerification(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			return err
		}, accounts.ErrMailOff},
		{"confirm recovery, short password", func() error {
			_, err := f.svc.ConfirmRecovery(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "short")
			return err
		}, identity.ErrInvalidPassword},
		{"change email", func() error {
			_, err := f.svc.ChangeEmail(ctx, f.user.ID, sid, "ada2@example.com", "192.0.2.1")
			return err
		}, accounts.ErrMailOff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var bad *accounts.InvalidRequestError
			switch {
			case tc.want == nil && !errors.As(err, &bad):
				t.Fatalf("got %v, want an InvalidRequestError", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing changed: the address is the same, and the password works.
	u, err := f.users.GetUser(ctx, f.user.ID)
	if err != nil || u.Email != "ada@example.com" || u.EmailVerified {
		t.Fatalf("user after refused requests = %+v, %v", u, err)
	}
	if _, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ada@example.com", Password: pw}); err != nil {
		t.Fatalf("login: %v", err)
	}
	// A password change needs no mail (its notice is skipped).
	if _, err := f.svc.ChangePassword(ctx, f.user.ID, sid, "wrong password!", "a new password", "192.0.2.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("ChangePassword with a wrong current password: %v", err)
	}
	if _, err := f.svc.ChangePassword(ctx, f.user.ID, sid, pw, "a new password", "192.0.2.1"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if n := len(f.live(t)); n != 1 {
		t.Errorf("%d sessions live after the password change, want 1 (the caller's)", n)
	}
	if n, err := f.svc.SweepTokens(ctx); n != 0 || err != nil {
		t.Errorf("SweepTokens without a token store = %d, %v", n, err)
	}
}
