// Package totp implements time-based one-time passwords (RFC 6238) as a
// second factor: enrolment (a random secret, its otpauth:// URI and a QR
// code for authenticator apps), validation of a code with a one-step
// window and a replay guard, and sealing of secrets at rest under the
// key-encryption key.
//
// The parameters are fixed to what every authenticator app supports and
// the HTTP contract names: HMAC-SHA-1, 6 digits, 30-second steps. The
// HOTP arithmetic comes from github.com/pquerna/otp; this package adds the
// rules around it: which steps are accepted, that a step is used once,
// and how the secret is stored.
//
// Replay: Validate returns the time step a code belongs to. The caller
// stores it as the factor's last used step (atomically, see
// store.TOTPStore.AdvanceTOTPStep) and passes it to the next Validate,
// which then refuses every code of that step or an earlier one, so a
// code seen over a shoulder or in a log cannot be used again within its
// window.
package totp
