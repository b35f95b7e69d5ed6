package verifier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// introspectScope is the scope of a Gatehouse resource server: its token
// may introspect every token and session cookie, and do nothing more.
const introspectScope = "gatehouse:introspect"

// minTokenLifetime is the shortest token lifetime clientToken accepts as
// given; shorter or missing expires_in values count as this.
const minTokenLifetime = 10 * time.Second

// clientToken gets and keeps the access token of a resource-server client
// through the client credentials grant (RFC 6749 section 4.4). It renews
// the token once three quarters of its lifetime have passed, so a request
// never goes out with a token about to expire; concurrent callers share
// one renewal.
type clientToken struct {
	url, id, secret, audience string
	fetch                     *fetcher
	now                       func() time.Time

	mu      sync.Mutex // held across a renewal: callers queue behind it
	token   string
	renewAt time.Time
}

func newClientToken(c SessionCookieConfig, issuer string, f *fetcher, now func() time.Time) *clientToken {
	return &clientToken{url: c.TokenURL, id: c.ClientID, secret: c.ClientSecret, audience: issuer, fetch: f, now: now}
}

// get returns a usable token, renewing it when due.
func (t *clientToken) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.renewAt) {
		return t.token, nil
	}
	tok, lifetime, err := t.request(ctx)
	if err != nil {
		return "", err
	}
	t.token, t.renewAt = tok, t.now().Add(lifetime*3/4)
	return tok, nil
}

// drop forgets token if it is still the kept one (the issuer refused it:
// revoked, or the client's secret changed), so the next get renews.
func (t *clientToken) drop(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token = ""
	}
}

// tokenAnswer is the part of a token response the verifier reads.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// request asks the token endpoint for a new token. The secret travels in
// an HTTP Basic header (client_secret_basic, id and secret
// form-urlencoded first as RFC 6749 section 2.3.1 requires) and never
// appears in an error.
func (t *clientToken) request(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {introspectScope}}
	if t.audience != "" {
		form.Set("audience", t.audience)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("%w: client credentials: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(t.id)+":"+url.QueryEscape(t.secret))))
	body, err := t.fetch.do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%w: client credentials token for client %q: %w", ErrUnavailable, t.id, err)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return "", 0, fmt.Errorf("%w: client credentials answer: %w", ErrUnavailable, err)
	}
	if a.AccessToken == "" || !strings.EqualFold(a.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("%w: client credentials answer has no bearer token", ErrUnavailable)
	}
	lifetime := time.Duration(a.ExpiresIn) * time.Second
	if lifetime < minTokenLifetime {
		lifetime = minTokenLifetime
	}
	return a.AccessToken, lifetime, nil
}

// isUnauthorized reports whether err is a 401 answer.
func isUnauthorized(err error) bool {
	var s errStatus
	return errors.As(err, &s) && int(s) == http.StatusUnauthorized
}
