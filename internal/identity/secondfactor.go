package identity

import "context"

// Second-factor attempts (issue #14) count toward the account's login
// limit under a key of their own, "mfa:<user id>", which a correct
// password does not reset (Login resets "account:<email>"): otherwise
// whoever knows the password could clear the count by logging in again
// between guesses. Only a correct second factor resets it. They count
// toward the client address's limit as well, like any failed login.

// secondFactorKey is the account limiter's key of userID's second-factor
// attempts.
func secondFactorKey(userID string) string { return "mfa:" + userID }

// CheckSecondFactor returns a *RateLimitedError if the user, or the
// client address, may not attempt a second factor now, and
// ErrUnavailable if a limiter cannot answer (failing closed).
func (s *Service) CheckSecondFactor(ctx context.Context, userID, clientAddr string) error {
	if err := s.checkLimit(ctx, s.cfg.AccountLimiter, secondFactorKey(userID)); err != nil {
		return err
	}
	return s.checkLimit(ctx, s.cfg.AddressLimiter, "ip:"+clientAddr)
}

// FailSecondFactor counts a wrong second factor against the user and the
// client address; ErrUnavailable if it cannot be counted.
func (s *Service) FailSecondFactor(ctx context.Context, userID, clientAddr string) error {
	return s.recordFailure(ctx, secondFactorKey(userID), "ip:"+clientAddr)
}

// ResetSecondFactor clears the user's count of wrong second factors
// after a correct one. A limiter failure is logged: the login stands.
func (s *Service) ResetSecondFactor(ctx context.Context, userID string) {
	if s.cfg.AccountLimiter == nil {
		return
	}
	if err := s.cfg.AccountLimiter.Reset(ctx, secondFactorKey(userID)); err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable", "err", err)
	}
}

// CheckAddress returns a *RateLimitedError if the client address may not
// attempt a login now (a passwordless login, where no account is known
// before the attempt), and ErrUnavailable if the limiter cannot answer.
func (s *Service) CheckAddress(ctx context.Context, clientAddr string) error {
	return s.checkLimit(ctx, s.cfg.AddressLimiter, "ip:"+clientAddr)
}

// FailAddress counts a failed login against the client address only (an
// attempt that names no account); ErrUnavailable if it cannot be counted.
func (s *Service) FailAddress(ctx context.Context, clientAddr string) error {
	if s.cfg.AddressLimiter == nil {
		return nil
	}
	if _, err := s.cfg.AddressLimiter.Fail(ctx, "ip:"+clientAddr); err != nil {
		return s.unavailable(ctx, err)
	}
	return nil
}
