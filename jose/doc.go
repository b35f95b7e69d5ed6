// Package jose is Gatehouse's JOSE core: compact JWS signing and
// verification (RFC 7515), the three signature algorithms Gatehouse uses
// (RFC 7518 ES256 and RS256, RFC 8037 EdDSA with Ed25519), JSON Web Keys
// and key sets (RFC 7517), and a decoder for the registered JWT claims
// (RFC 7519, RFC 9068).
//
// It is public because two programs need it: the server, which signs
// access and ID tokens, and the verifier package that resource servers
// import, which must not depend on anything under internal/.
//
// The package follows the JWT Best Current Practices (RFC 8725):
//
//   - The algorithm comes from the key, never from the token. Every
//     [PublicKey] carries exactly one [Algorithm], and a token whose "alg"
//     differs from it is rejected with [ErrAlgMismatch]. Only [EdDSA],
//     [ES256] and [RS256] exist; "none" in any spelling, the HMAC
//     algorithms and everything else fail with [ErrUnsupportedAlg].
//   - A token that names a critical extension ("crit") is rejected with
//     [ErrCritUnsupported], since this package understands none.
//   - A token that carries "jku", "x5u", "jwk" or "x5c" is rejected with
//     [ErrForbiddenHeader]. Keys come only from the [KeySet] the caller
//     supplies; a token never points at, or brings, its own key.
//   - Tokens are size-limited before any work is done ([ErrTooLarge]),
//     base64url segments must be canonical and unpadded, and headers must
//     be strict JSON with no duplicate members.
//
// Verification and claims validation are separate steps, as in
// golang-jwt: [Verifier.Verify] checks the signature and returns the
// header and the raw payload; [ParseClaims] decodes the registered claims
// ([ParseClaimsInto] without copying, for a caller that keeps the payload
// unchanged); checking "iss", "aud", "exp" and "nbf" against policy and a
// clock is the job of the verifier package.
//
// The implementation uses only the standard library. Header, claims and
// JWK documents are read by a small strict JSON scanner instead of
// encoding/json, which keeps verification within 10% of the bare
// signature check and gives exact, case-sensitive member names (see
// docs/decisions.md).
package jose
