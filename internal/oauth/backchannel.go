package oauth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// LogoutTokenType is the JWT "typ" of logout tokens (OpenID Connect
// Back-Channel Logout 1.0 section 2.4), which keeps them apart from ID
// and access tokens.
const LogoutTokenType = "logout+jwt"

// BackchannelLogoutEvent is the member of a logout token's "events"
// claim that makes it one.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// DefaultLogoutTokenTTL is how long a logout token is valid: the
// specification recommends a short lifetime (section 2.4); two minutes
// leave room for clock skew, and a retried delivery gets a fresh token.
const DefaultLogoutTokenTTL = 2 * time.Minute

// maxHTTPURLLen bounds back-channel logout and webhook URLs.
const maxHTTPURLLen = 2000

// CheckHTTPURL returns why raw is not acceptable as a URL the server
// POSTs to (a back-channel logout URI, a webhook endpoint), or "" if it
// is: an absolute https URL with a host, no user information and no
// fragment; http only on a loopback host (127.0.0.1, [::1], localhost)
// unless anyHTTP, for operators' internal receivers.
func CheckHTTPURL(raw string, anyHTTP bool) string {
	switch {
	case raw == "":
		return "must not be empty"
	case len(raw) > maxHTTPURLLen:
		return fmt.Sprintf("is longer than %d bytes", maxHTTPURLLen)
	case strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		return "must be printable ASCII without spaces (percent-encode anything else)"
	case strings.Contains(raw, "#"):
		return "must not contain a fragment"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must be an absolute https URL"
	case !strings.HasPrefix(raw, u.Scheme+"://"):
		return "must have a lower-case scheme and a host"
	case u.User != nil:
		return "must not contain user information"
	case u.Hostname() == "":
		return "must name a host"
	case u.Port() != "" && !validPort(u.Port()):
		return "has an invalid port"
	}
	if u.Scheme == "http" && !anyHTTP {
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
		default:
			return "may use http only on a loopback host (127.0.0.1, [::1] or localhost); use https"
		}
	}
	return ""
}

// checkBackchannelLogoutURI checks a backchannel_logout_uri (section
// 2.2): absolute, no fragment, https (http on loopback for development).
func checkBackchannelLogoutURI(raw string) string { return CheckHTTPURL(raw, false) }

// backchannelMargin keeps a back-channel session past its grant's end,
// so that the grant's own expiry event still finds it.
const backchannelMargin = 24 * time.Hour

// WithBackchannel makes t record, in st, every browser session an ID
// token is issued in for a client with a backchannel_logout_uri, so that
// its end reaches the client (package webhook sends the logout token).
// Call it once, while wiring, before t signs anything; it returns t.
func (t *IDTokens) WithBackchannel(st store.BackchannelStore) *IDTokens {
	t.backchannel = st
	return t
}

// recordBackchannel records that client got an ID token with sid and sub,
// kept until grantExpires (plus a margin). It does nothing for a client
// without a backchannel_logout_uri or a token without "sid".
func (t *IDTokens) recordBackchannel(ctx context.Context, client *store.Client, sid, sub string, grantExpires time.Time) error {
	if t.backchannel == nil || client == nil || client.BackchannelLogoutURI == "" || sid == "" {
		return nil
	}
	until := t.now().Add(t.ttl)
	if grantExpires.After(until) {
		until = grantExpires
	}
	until = until.Add(backchannelMargin)
	if err := t.backchannel.RecordBackchannelSession(ctx, store.BackchannelSession{ClientID: client.ID, SID: sid, Subject: sub, ExpiresAt: until}); err != nil {
		return fmt.Errorf("oauth: record the session of a back-channel logout client: %w", err)
	}
	return nil
}

// LogoutTokenSpec is what a logout token says.
type LogoutTokenSpec struct {
	// ClientID is the audience.
	ClientID string
	// SessionID is the "sid" of the client's ID tokens: the browser
	// session the user signed in with.
	SessionID string
	// Subject is the user ("sub").
	Subject string
	// Algorithm signs the token (the client's ID token algorithm, so the
	// client's validation needs no other key type); empty means RS256.
	Algorithm jose.Algorithm
}

// logoutTokenClaims is a logout token's claims set (section 2.4): no
// nonce, ever.
type logoutTokenClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub,omitempty"`
	Audience []string                   `json:"aud"`
	IssuedAt int64                      `json:"iat"`
	Expires  int64                      `json:"exp"`
	JTI      string                     `json:"jti"`
	Events   map[string]json.RawMessage `json:"events"`
	SID      string                     `json:"sid,omitempty"`
}

// SignLogoutToken returns a signed logout token (OpenID Connect
// Back-Channel Logout 1.0 section 2.4) for spec, with the same issuer,
// keys and clock as the ID tokens, living DefaultLogoutTokenTTL.
func (t *IDTokens) SignLogoutToken(_ context.Context, spec LogoutTokenSpec) (string, error) {
	if spec.ClientID == "" || (spec.SessionID == "" && spec.Subject == "") {
		return "", fmt.Errorf("oauth: a logout token needs an audience and a sid or sub")
	}
	alg := spec.Algorithm
	if alg == "" {
		alg = DefaultIDTokenAlgorithm
	}
	key, err := t.keys.Signer(alg)
	if err != nil {
		return "", fmt.Errorf("oauth: logout token key: %w", err)
	}
	now := t.now()
	c := logoutTokenClaims{
		Issuer: t.issuer, Subject: spec.Subject, Audience: []string{spec.ClientID},
		IssuedAt: now.Unix(), Expires: now.Add(DefaultLogoutTokenTTL).Unix(), JTI: rand.Text(),
		Events: map[string]json.RawMessage{BackchannelLogoutEvent: json.RawMessage(`{}`)}, SID: spec.SessionID,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("oauth: encode logout token: %w", err)
	}
	tok, err := jose.Sign(key, LogoutTokenType, payload)
	if err != nil {
		return "", fmt.Errorf("oauth: sign logout token: %w", err)
	}
	return tok, nil
}
