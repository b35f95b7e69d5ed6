// Package verifier lets a resource server accept Gatehouse credentials:
// access tokens (JWTs, RFC 9068) sent as bearer tokens, and, optionally,
// the Gatehouse session cookie of a browser. It runs the same checks as
// the server's own bearer path, fed by the issuer's published key set
// (JWKS) and revocation feed instead of the server's stores, so it
// imports nothing from the server and no database driver: only the
// standard library and package jose.
//
// # Use
//
// Build one [Verifier] per issuer at start-up with [New] and keep it for
// the life of the process; it is safe for concurrent use. Wrap handlers
// with [Verifier.Middleware], which puts a [Principal] in the request
// context ([FromContext]) and answers 401 with an RFC 6750
// WWW-Authenticate header when the credential is missing or invalid. Call
// [Verifier.Verify] directly for anything that is not an HTTP request,
// and [Verifier.Close] at shutdown.
//
// # What is checked
//
// A bearer token is accepted only if all of these hold:
//
//   - Its signature verifies with a key from the issuer's JWKS. The key
//     decides the algorithm (EdDSA, ES256 or RS256): a token whose "alg"
//     differs from its key's, or is "none", fails (RFC 8725 §3.1).
//     Tokens never choose where keys come from ("jku", "jwk", "x5u",
//     "x5c" are refused).
//   - Its "typ" header is "at+jwt" (RFC 9068 §2.1), so an ID token or any
//     other JWT from the same issuer is not mistaken for an access token.
//   - "iss" is [Config.Issuer]; "aud" names [Config.Audience]; "exp" has
//     not passed, "nbf" (if present) and "iat" are not in the future, each
//     with [Config.Leeway] for clock skew; "sub" is present.
//   - Its scopes include every one of [Config.RequiredScopes].
//   - It is not revoked: neither its session ("sid"), nor the token itself
//     ("jti"), nor all of its user's tokens issued up to some instant
//     ("sub" and "iat").
//
// # Keys
//
// Keys are fetched from the issuer's jwks_uri (found through OpenID
// Connect discovery, or set with [Config.JWKSURL]) and cached by a
// [RemoteKeySet]. A token signed with an unknown "kid" makes the set
// refetch once: concurrent misses share one request, and refetches happen
// at most once per [Config.MinRefreshInterval], so a flood of tokens with
// made-up key IDs costs the issuer at most one request per interval.
// Gatehouse publishes a new key before it signs with it and keeps retired
// keys listed while their tokens may be valid, so key rotation never
// rejects a good token.
//
// # Revocation and its delay
//
// Gatehouse access tokens live a few minutes; revoking a session, a user
// or one token must take effect sooner. The verifier follows the issuer's
// revocation feed and keeps the live events in memory, dropping each once
// every token it could affect has expired (see [RevocationConfig]):
//
//   - Stream mode (the default) holds open the Server-Sent Events stream
//     (gatehouse_revocations_stream_endpoint). An event reaches the
//     verifier as soon as the server writes it: typically within
//     milliseconds of the revocation. When the stream breaks, the
//     verifier reconnects with exponential backoff (100ms doubling up to
//     [RevocationConfig.MaxBackoff], default 5s), resuming from the last
//     event it saw so nothing is missed, and polls the feed while it is
//     disconnected. The delay is therefore bounded by the reconnect
//     backoff and never exceeds [RevocationConfig.PollInterval] (default
//     5s) plus one request. A connection that dies silently is noticed
//     after [RevocationConfig.IdleTimeout] (default 30s) without a byte,
//     since the server sends a keep-alive every 15s.
//   - Poll mode reads the feed (gatehouse_revocations_endpoint) every
//     [RevocationConfig.PollInterval]: the delay is at most one interval
//     plus one request.
//   - Off: revoked tokens stay valid until they expire.
//
// With several Gatehouse instances, an event appended on one instance
// reaches the stream of another when that instance is notified (Redis or
// PostgreSQL, milliseconds) or at the latest at its own log poll
// (--revocation-poll-interval, default 1s), which adds to the bound.
// The stream never skips an event: each carries the cursor of the one
// before it, and on a gap the verifier reads the feed before going on, so
// its cursor never moves past an event it has not read. A burst of
// thousands of revocations therefore delays the last of them (about a
// second for 10,000), but loses none.
// [New] reads the whole feed before it returns, so a new verifier never
// accepts a token revoked before it started. If the issuer cannot be
// reached the verifier keeps accepting tokens by default (they expire on
// their own); set [RevocationConfig.FailClosedAfter] to refuse them
// instead once its view is that old.
//
// # Session cookies
//
// When [SessionCookieConfig.ClientID] and ClientSecret are set (a
// resource-server client, registered with scope gatehouse:introspect,
// which may introspect and do nothing else), or the older
// [SessionCookieConfig.IntrospectionCredential], a request
// without an Authorization header may carry the Gatehouse session cookie
// instead (it reaches resource servers on the same host as the issuer).
// The verifier asks the issuer's introspection endpoint about it (RFC
// 7662, token_type_hint=gatehouse_session) and caches the answer, active
// or not, for [SessionCookieConfig.CacheTTL] (default 10s), keyed by the
// SHA-256 of the cookie value: the value itself is never stored. A
// revocation event for the session or its user removes a cached session
// as fast as it does a token. Cookie-authenticated requests with unsafe
// methods must pass a cross-origin check (net/http's
// CrossOriginProtection), since browsers send cookies on their own.
//
// # Live connections
//
// [Verifier.Watch] ties a WebSocket, a Server-Sent Events stream or any
// other long-lived connection to the credential that opened it: its
// context is cancelled, with the reason as its cause, when a revocation
// event covers the credential (its session, the token, or its user), when
// an access token expires, or when a cookie session ends (it is
// introspected again shortly before its expiry, which keeps it alive
// while the connection is open). Revocations reach watches as fast as
// they reach Verify; watches are indexed by sid, jti and sub, and share
// one expiry timer.
//
// # Errors
//
// Every rejected token yields an error that matches [ErrInvalidToken]
// and one more specific sentinel ([ErrExpired], [ErrAudience],
// [ErrRevoked], ...) with errors.Is; an expired token's error is also an
// [*ExpiredError] for errors.As. Failures to reach the issuer match
// [ErrUnavailable] instead, and a valid token without a required scope
// matches [ErrScope]. Error texts are for logs; the middleware answers
// clients with fixed descriptions.
package verifier
