package accounts

import (
	"context"
	"fmt"
)

// SecondFactors is what a user's own account page shows of their second
// factors: never a secret or a code, only whether each is set up.
type SecondFactors struct {
	// Available is false when the server offers no second factor
	// (Deps.MFA is nil); the other fields are then zero.
	Available bool
	// TOTP reports a confirmed TOTP factor, which login then requires.
	TOTP bool
	// RecoveryCodesLeft is how many of the user's recovery codes are
	// unused (0 without TOTP).
	RecoveryCodesLeft int
}

// SecondFactors returns the state of the user's second factors.
func (s *Service) SecondFactors(ctx context.Context, userID string) (SecondFactors, error) {
	if s.d.MFA == nil {
		return SecondFactors{}, nil
	}
	on, err := s.d.MFA.Enabled(ctx, userID)
	if err != nil {
		return SecondFactors{}, fmt.Errorf("accounts: second factors of user %s: %w", userID, err)
	}
	f := SecondFactors{Available: true, TOTP: on}
	if on {
		if f.RecoveryCodesLeft, err = s.d.MFA.RemainingRecoveryCodes(ctx, userID); err != nil {
			return SecondFactors{}, fmt.Errorf("accounts: recovery codes of user %s: %w", userID, err)
		}
	}
	return f, nil
}
