// Package mfa owns the rules of TOTP second factors and their recovery
// codes over the store: enrolment (a secret sealed under the KEK, not
// active until confirmed by a first code), confirmation (which hands out
// the recovery codes, once), verification at login or step-up (a TOTP
// code, each time step once across all instances, or an unused recovery
// code, each once), regeneration of the codes, and removal.
//
// The pieces come from package totp (codes, window, sealing) and package
// recoverycode (codes and their keyed hashes); single use is enforced by
// the atomic store operations store.TOTPStore.AdvanceTOTPStep and
// store.RecoveryCodeStore.UseRecoveryCode, not by a read-then-write here.
//
// The caller (the accounts service) owns what surrounds a check: the
// login's mfa_token, the login rate limit that wrong codes count toward,
// the step-up window before a removal, and recording the returned method
// in the session (authcontext).
package mfa
