// Package passkey runs the WebAuthn ceremonies of Gatehouse on top of
// github.com/go-webauthn/webauthn: registering passkeys (several per
// user), passwordless login with discoverable credentials (no email typed:
// the user handle names the user), and a passkey as the second factor
// after a password.
//
// The relying party comes from the server's configuration: the RP ID is
// the issuer's host name, and the accepted origins are the issuer's origin
// plus those of --trusted-origins that lie under the RP ID (a browser
// refuses the others anyway). An issuer whose host is an IP address cannot
// have passkeys (WebAuthn needs a domain; "localhost" works).
//
// # Ceremonies
//
// Each Begin method stores the challenge server-side in a
// store.CeremonyStore, keyed by the SHA-256 of the challenge, and returns
// the options for navigator.credentials; the matching Finish method finds
// the ceremony from the challenge in the response's clientDataJSON and
// takes it out of the store before verifying anything, so a ceremony is
// used once whatever the outcome, expires after Config.Timeout, and cannot
// finish a ceremony of another kind or for another user. No cookie or
// client state is needed between begin and finish.
//
// # Counters and clones
//
// Each use updates the stored signature counter, backup state and last
// use in one atomic store update. A counter that does not grow (when
// either side is non-zero) means two copies of the private key may exist:
// the login is refused with ErrClonedAuthenticator, logged, and the
// stored counter is left alone. Synced passkeys report 0 always, which is
// allowed.
package passkey
