// Package oauth is Gatehouse's OAuth 2.0 provider: client registration,
// client authentication and the token endpoint's grants.
//
// Clients (a registry over store.ClientStore) validates client metadata
// (RFC 7591 names), generates client ids and secrets (256 random bits,
// shown once, stored as their SHA-256), authenticates clients
// (client_secret_basic, client_secret_post, or none for public clients),
// and revokes what was issued to a client when it is deleted.
//
// TokenEndpoint owns the steps every grant shares, so that no grant can
// skip them: it authenticates the client with exactly one method (the one
// registered), checks that the client may use the grant type, and checks
// the requested scope and audience against what the client is allowed.
// Only then does it hand the request to the Grant registered for its
// grant_type. Each grant is one small type behind the Grant interface:
// ClientCredentialsGrant (RFC 6749 section 4.4), RefreshGrant (section
// 6, over package token's rotating refresh tokens) and
// AuthorizationCodeGrant (section 4.1.3: one-time codes bound to client,
// redirect URI and PKCE verifier; a reused code revokes its grant).
//
// Authorizer is the domain of the authorization endpoint: it checks
// authorization requests (response_type=code only, PKCE S256 only and
// required of public clients, prompt, max_age), remembers consent per
// user and client (store.ConsentStore), and issues codes
// (store.AuthCodeStore, stored hashed, 60 seconds). Errors of a request
// whose client or redirect URI is not verified carry no redirect URI:
// they are shown, never redirected. IDTokens signs OpenID Connect ID
// tokens (RS256 unless the client registered another algorithm) and
// checks id_token_hint for RP-initiated logout. The browser side (login
// and consent pages, cookies) is package httpapi's.
//
// Errors a client may see are *Error values (RFC 6749 section 5.2): a
// code, a public description and an HTTP status, with the cause kept for
// the logs only. The HTTP layer writes them; anything else is a server
// error.
//
// MatchRedirectURI compares a requested redirect URI with the registered
// ones: exactly, except for the port of loopback IP redirects of native
// apps (RFC 8252 section 7.3).
package oauth
