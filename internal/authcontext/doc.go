// Package authcontext records how and when a user authenticated, and
// derives from it what tokens and policies need: the amr claim (RFC 8176
// method values), the acr claim (the authentication context class), and
// whether an authentication is recent enough for a sensitive action
// (step-up).
//
// Sessions and grants store an Authentication; handlers and the token
// issuer ask it for AMR, ACR, Satisfies and Recent instead of re-deriving
// the rules.
//
// # acr values
//
// Gatehouse defines two classes, as URNs under its own name because
// neither OIDC nor RFC 8176 registers generic ones (Keycloak uses "0",
// "1", "2" mapped to its levels of assurance, Ory Kratos "aal1"/"aal2"
// after NIST SP 800-63B, which Gatehouse does not claim to certify):
//
//   - ACROneFactor, "urn:gatehouse:acr:1fa": one factor, a password or a
//     passkey used without user verification.
//   - ACRMultiFactor, "urn:gatehouse:acr:mfa": two factors of different
//     kinds: a password and a TOTP code, recovery code or passkey, or a
//     passkey with user verification (the device checked a PIN or a
//     biometric: possession plus knowledge or inherence).
//
// ACRMultiFactor satisfies a request for ACROneFactor; acr_values that
// Gatehouse does not define are ignored, as OpenID Connect Core section
// 3.1.2.1 lets a provider do (it answers with the class it achieved).
package authcontext
