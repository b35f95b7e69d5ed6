package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Default lifetimes of the links the account lifecycle mails (the HTTP
// contract's defaults).
const (
	DefaultVerificationTTL = 24 * time.Hour
	DefaultRecoveryTTL     = time.Hour
)

// MailKind names a mail of the account lifecycle; the values are the
// template names of package mail (mail.Kind).
type MailKind string

// The mails the Service sends.
const (
	MailVerifyEmail     MailKind = "verify_email"
	MailRecoverPassword MailKind = "recover_password"
	MailEmailChanged    MailKind = "email_changed"
	MailPasswordChanged MailKind = "password_changed"
)

// Mail is one mail of the account lifecycle, before rendering.
type Mail struct {
	Kind MailKind
	// To is the recipient; for MailEmailChanged, the old address.
	To string
	// NewEmail is the new address, for MailEmailChanged only.
	NewEmail string
	// Secret is the one-time token the link carries (MailVerifyEmail,
	// MailRecoverPassword); ExpiresIn how long it lives.
	Secret    string
	ExpiresIn time.Duration
}

// A Mailer renders the lifecycle's mails and queues them in the durable
// outbox, so that once a method returns nil the mail is sent even if the
// process dies right after.
type Mailer interface {
	// SendWithToken renders m and stores tok (superseding the user's
	// older tokens of its purpose) and the mail together, in one
	// transaction where the store allows it.
	SendWithToken(ctx context.Context, m Mail, tok store.OneTimeToken) error
	// Send renders and queues a mail that carries no token (a notice).
	Send(ctx context.Context, m Mail) error
	// Rehearse does the work of SendWithToken for an address that has no
	// account, without sending or keeping anything (what it writes it
	// deletes in the same transaction), so that both answers take the
	// same time.
	Rehearse(ctx context.Context, m Mail) error
}

// LifecycleConfig configures the account lifecycle: email verification,
// recovery, and changes of address and password.
type LifecycleConfig struct {
	// Mailer sends the mails; nil turns the lifecycle off (the request
	// methods answer ErrMailOff, and signup sends nothing).
	Mailer Mailer
	// Tokens keeps the one-time tokens (required with Mailer).
	Tokens store.OneTimeTokenStore
	// VerificationTTL (--verification-ttl, default 24h) and RecoveryTTL
	// (--recovery-ttl, default 1h) are the lifetimes of the links.
	VerificationTTL time.Duration
	RecoveryTTL     time.Duration
	// MailLimiter (--mail-limit-address) limits the mails requested per
	// email address (recovery, verification, address changes),
	// MailIPLimiter (--mail-limit-ip) the requests per client address. Every request counts, whether or not the address has an
	// account. Nil disables either.
	MailLimiter   ratelimit.Limiter
	MailIPLimiter ratelimit.Limiter
	// RequireVerifiedEmail (--require-verified-email) refuses the login
	// of an account whose address is not verified, once its password is
	// right (ErrEmailNotVerified).
	RequireVerifiedEmail bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c *LifecycleConfig) defaults() {
	if c.VerificationTTL <= 0 {
		c.VerificationTTL = DefaultVerificationTTL
	}
	if c.RecoveryTTL <= 0 {
		c.RecoveryTTL = DefaultRecoveryTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// secretBytes is the size of a one-time token's secret: 256 bits, twice
// the contract's minimum.
const secretBytes = 32

// newSecret returns a fresh secret (base64url, unpadded) and its SHA-256.
func newSecret() (string, []byte) {
	var b [secretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashSecret(secret)
}

// hashSecret is the stored form of a secret.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// maxSecretLen bounds a presented token before it is hashed.
const maxSecretLen = 512

// mailOn returns ErrMailOff unless the lifecycle is configured.
func (s *Service) mailOn() error {
	if s.lc.Mailer == nil || s.lc.Tokens == nil {
		return ErrMailOff
	}
	return nil
}

// sendToken issues a token of purpose for u, valid ttl and bound to the
// address to, and queues the mail of kind carrying it.
func (s *Service) sendToken(ctx context.Context, u store.User, to string, purpose store.TokenPurpose, kind MailKind, ttl time.Duration) error {
	secret, hash := newSecret()
	now := s.lc.Now().UTC()
	tok := store.OneTimeToken{Hash: hash, Purpose: purpose, UserID: u.ID, Email: to, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.lc.Mailer.SendWithToken(ctx, Mail{Kind: kind, To: to, Secret: secret, ExpiresIn: ttl}, tok); err != nil {
		return fmt.Errorf("accounts: queue %s mail for user %s: %w", kind, u.ID, err)
	}
	return nil
}

// limitMail counts one mail request against the address email and the
// client address ip, and refuses it (a *RateLimitedError) when either
// is over its budget. A limiter that cannot answer refuses with
// ErrUnavailable.
func (s *Service) limitMail(ctx context.Context, email, ip string) error {
	for _, l := range []struct {
		l   ratelimit.Limiter
		key string
	}{{s.lc.MailLimiter, "mail:" + email}, {s.lc.MailIPLimiter, "mail-ip:" + ip}} {
		if l.l == nil {
			continue
		}
		d, err := l.l.Allow(ctx, l.key)
		if err == nil && d.Allowed {
			d, err = l.l.Fail(ctx, l.key) // every request counts
			d.Allowed = true
		}
		if err != nil {
			s.log.WarnContext(ctx, "rate limiter unavailable: refusing the mail request", "err", err)
			return fmt.Errorf("%w: rate limiter: %w", ErrUnavailable, err)
		}
		if !d.Allowed {
			return &RateLimitedError{RetryAfter: d.RetryAfter}
		}
	}
	return nil
}

// RequestEmailVerification mails the user a new verification link to
// their current address (superseding earlier ones). An address already
// verified gets nothing, and the answer is the same. Requests are
// limited per address and per client address ip (*RateLimitedError).
func (s *Service) RequestEmailVerification(ctx context.Context, userID, ip string) error {
	if err := s.mailOn(); err != nil {
		return err
	}
	u, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.limitMail(ctx, u.Email, ip); err != nil {
		return err
	}
	if u.EmailVerified {
		return nil
	}
	return s.sendToken(ctx, u, u.Email, store.PurposeVerifyEmail, MailVerifyEmail, s.lc.VerificationTTL)
}

// ConfirmEmailVerification uses a verification token and marks the
// address it was mailed to verified. A token that is unknown, used,
// expired or superseded, or whose address is no longer the account's,
// is ErrInvalidToken.
func (s *Service) ConfirmEmailVerification(ctx context.Context, secret string) (store.User, error) {
	tok, err := s.consume(ctx, secret, store.PurposeVerifyEmail)
	if err != nil {
		return store.User{}, err
	}
	verified := true
	u, err := s.d.Users.UpdateUser(ctx, tok.UserID, UserUpdate{EmailVerified: &verified, IfEmail: tok.Email,
		Events: []audit.Event{{Type: audit.UserEmailVerified, UserID: tok.UserID, Detail: map[string]string{"email": tok.Email}}}})
	if err != nil {
		return store.User{}, tokenUserErr(err)
	}
	return u, nil
}

// consume uses the token secret of purpose.
func (s *Service) consume(ctx context.Context, secret string, purpose store.TokenPurpose) (store.OneTimeToken, error) {
	if secret == "" {
		return store.OneTimeToken{}, ErrMissingToken
	}
	if err := s.mailOn(); err != nil {
		return store.OneTimeToken{}, err
	}
	if len(secret) > maxSecretLen {
		return store.OneTimeToken{}, ErrInvalidToken
	}
	tok, err := s.lc.Tokens.ConsumeOneTimeToken(ctx, hashSecret(secret), purpose, s.lc.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return store.OneTimeToken{}, ErrInvalidToken
	}
	if err != nil {
		return store.OneTimeToken{}, fmt.Errorf("accounts: consume %s token: %w", purpose, err)
	}
	return tok, nil
}

// tokenUserErr maps the failure to update the account of a used token:
// an account that is gone or whose address changed makes the token
// invalid.
func tokenUserErr(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, identity.ErrEmailChanged) {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return err
}

// RequestRecovery mails a recovery link to email if it belongs to an
// account that is not disabled. The answer is the same, after the same
// work, whether it does or not: an unknown address still renders the
// mail and writes (then deletes) a token and the mail (Mailer.Rehearse).
// Requests are limited per address and per client address ip, whether
// or not the address has an account (*RateLimitedError). An empty or
// malformed address is an *InvalidRequestError.
func (s *Service) RequestRecovery(ctx context.Context, email, ip string) error {
	if email == "" {
		return &InvalidRequestError{Reason: "email is required"}
	}
	normalized, err := identity.NormalizeEmail(email)
	if err != nil {
		return &InvalidRequestError{Reason: "email is not an address"}
	}
	if err := s.mailOn(); err != nil {
		return err
	}
	if err := s.limitMail(ctx, normalized, ip); err != nil {
		return err
	}
	u, err := s.d.Users.FindUserByEmail(ctx, email)
	// Known or not, the request writes one event, so that it costs the
	// same; only the trail tells them apart (UserID, "known").
	e := audit.Event{Type: audit.UserRecoveryRequested, Detail: map[string]string{"email": normalized, "known": "false"}}
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled):
		secret, _ := newSecret()
		if err := s.lc.Mailer.Rehearse(ctx, Mail{Kind: MailRecoverPassword, To: normalized, Secret: secret, ExpiresIn: s.lc.RecoveryTTL}); err != nil {
			return fmt.Errorf("accounts: rehearse recovery mail: %w", err)
		}
		if u.Disabled {
			e.UserID = u.ID
		}
		return s.record(ctx, e)
	case err != nil:
		return err
	}
	if err := s.sendToken(ctx, u, u.Email, store.PurposeRecover, MailRecoverPassword, s.lc.RecoveryTTL); err != nil {
		return err
	}
	e.UserID, e.Detail["known"] = u.ID, "true"
	return s.record(ctx, e)
}

// ConfirmRecovery uses a recovery token: it sets the new password,
// marks the address verified (the link proved it), and revokes every
// session and grant of the user through the revocation path (their
// authorization codes die with the browser sessions that approved
// them). A bad password is identity.ErrInvalidPassword, checked before
// the token is used; a token that is unknown, used, expired or
// superseded, or whose account is gone, disabled or has another address
// now, is ErrInvalidToken.
func (s *Service) ConfirmRecovery(ctx context.Context, secret, newPassword string) (store.User, error) {
	if secret == "" || newPassword == "" {
		return store.User{}, &InvalidRequestError{Reason: "token and password are required"}
	}
	if err := identity.ValidatePassword(newPassword); err != nil {
		return store.User{}, err
	}
	tok, err := s.consume(ctx, secret, store.PurposeRecover)
	if err != nil {
		return store.User{}, err
	}
	if u, err := s.d.Users.GetUser(ctx, tok.UserID); err != nil {
		return store.User{}, tokenUserErr(err)
	} else if u.Disabled {
		// Disabled since the link was sent: a recovery does not open the
		// account again.
		return store.User{}, ErrInvalidToken
	}
	verified := true
	u, err := s.d.Users.UpdateUser(ctx, tok.UserID, UserUpdate{Password: &newPassword, EmailVerified: &verified, IfEmail: tok.Email,
		Events: []audit.Event{{Type: audit.UserRecovered, UserID: tok.UserID}}})
	if err != nil {
		return store.User{}, tokenUserErr(err)
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, u.ID, "", audit.EndRecovery); err != nil {
		return store.User{}, fmt.Errorf("accounts: revoke sessions of user %s: %w", u.ID, err)
	}
	return u, nil
}

// ChangeEmail gives the account a new address, unverified: a
// verification link goes to the new address and a notice to the old
// one. A taken address is store.ErrConflict; a malformed one
// identity.ErrInvalidEmail; the same address changes nothing. Changes
// are limited as mail requests are.
func (s *Service) ChangeEmail(ctx context.Context, userID, newEmail, ip string) (store.User, error) {
	if newEmail == "" {
		return store.User{}, &InvalidRequestError{Reason: "email is required"}
	}
	normalized, err := identity.NormalizeEmail(newEmail)
	if err != nil {
		return store.User{}, err
	}
	old, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return store.User{}, err
	}
	if old.Email == normalized {
		return old, nil
	}
	if err := s.mailOn(); err != nil {
		return store.User{}, err
	}
	if err := s.limitMail(ctx, old.Email, ip); err != nil {
		return store.User{}, err
	}
	u, err := s.d.Users.UpdateUser(ctx, userID, UserUpdate{Email: &normalized, IfEmail: old.Email,
		Events: []audit.Event{{Type: audit.UserEmailChanged, UserID: userID, Detail: map[string]string{"email": normalized, "old_email": old.Email}}}})
	if err != nil {
		return store.User{}, err
	}
	// The change stands once written; the mails follow. A failure to
	// queue them is reported (the user may ask for a link again).
	err = errors.Join(
		s.sendToken(ctx, u, u.Email, store.PurposeVerifyEmail, MailVerifyEmail, s.lc.VerificationTTL),
		s.lc.Mailer.Send(ctx, Mail{Kind: MailEmailChanged, To: old.Email, NewEmail: u.Email}),
	)
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ChangePassword sets a new password after checking the current one
// (limited as logins are: a wrong one is ErrInvalidCredentials or a
// *RateLimitedError), revokes the user's other sessions and grants
// (keepSessionID, the caller's, stays), and mails a notice. A bad new
// password is identity.ErrInvalidPassword.
func (s *Service) ChangePassword(ctx context.Context, userID, keepSessionID, current, newPassword, ip string) (store.User, error) {
	if current == "" || newPassword == "" {
		return store.User{}, &InvalidRequestError{Reason: "password and current_password are required"}
	}
	if err := identity.ValidatePassword(newPassword); err != nil {
		return store.User{}, err
	}
	u, err := s.d.Users.GetUser(ctx, userID)
	if err != nil {
		return store.User{}, err
	}
	checked, err := s.d.Users.Login(ctx, u.Email, current, ip)
	if err != nil {
		return store.User{}, err
	}
	if checked.ID != u.ID {
		return store.User{}, ErrInvalidCredentials
	}
	u, err = s.d.Users.UpdateUser(ctx, userID, UserUpdate{Password: &newPassword, IfEmail: u.Email,
		Events: []audit.Event{{Type: audit.UserPasswordChanged, UserID: userID}}})
	if errors.Is(err, identity.ErrEmailChanged) {
		return store.User{}, ErrInvalidCredentials // changed meanwhile: check again
	}
	if err != nil {
		return store.User{}, err
	}
	if _, err := s.d.Sessions.RevokeUser(ctx, userID, keepSessionID, audit.EndPasswordChanged); err != nil {
		return store.User{}, fmt.Errorf("accounts: revoke other sessions of user %s: %w", userID, err)
	}
	if s.lc.Mailer != nil {
		if err := s.lc.Mailer.Send(ctx, Mail{Kind: MailPasswordChanged, To: u.Email}); err != nil {
			s.log.ErrorContext(ctx, "could not queue the password-changed notice", "user_id", userID, "err", err)
		}
	}
	return u, nil
}

// sendSignupVerification mails a new account its first verification
// link, when mail is configured. A failure is logged: the account
// exists, and the user can ask for a link again.
func (s *Service) sendSignupVerification(ctx context.Context, u store.User) {
	if s.mailOn() != nil {
		return
	}
	if err := s.sendToken(ctx, u, u.Email, store.PurposeVerifyEmail, MailVerifyEmail, s.lc.VerificationTTL); err != nil {
		s.log.ErrorContext(ctx, "could not queue the signup verification mail", "user_id", u.ID, "err", err)
	}
}

// SweepTokens deletes the one-time tokens that expired, used or not, and
// returns how many (the server's sweep job calls it). Without a token
// store it does nothing.
func (s *Service) SweepTokens(ctx context.Context) (int, error) {
	if s.lc.Tokens == nil {
		return 0, nil
	}
	n, err := s.lc.Tokens.DeleteExpiredOneTimeTokens(ctx, s.lc.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("accounts: sweep one-time tokens: %w", err)
	}
	return n, nil
}
