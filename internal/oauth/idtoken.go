package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// IDTokenType is the JWT "typ" of ID tokens. OpenID Connect names none;
// "JWT" is what relying parties expect, and it keeps ID tokens apart from
// access tokens ("at+jwt"), which Gatehouse refuses to take for each
// other.
const IDTokenType = "JWT"

// DefaultIDTokenAlgorithm signs ID tokens unless a client registered
// another algorithm: RS256, which OpenID Connect Core section 15.1
// requires every OP to support.
const DefaultIDTokenAlgorithm = jose.RS256

// Signers finds the current signing key of an algorithm and the public
// keys of the JWKS; *keys.Manager implements it.
type Signers interface {
	jose.KeySet
	// Signer returns the current key for alg.
	Signer(alg jose.Algorithm) (jose.PrivateKey, error)
	// Algorithms returns the algorithms a current key is kept for.
	Algorithms() []jose.Algorithm
}

// IDTokenSpec is what an ID token says (OpenID Connect Core section 2).
type IDTokenSpec struct {
	// Subject is the user's id ("sub").
	Subject string
	// ClientID is the audience ("aud") and authorized party ("azp").
	ClientID string
	// Nonce is the authorization request's nonce; omitted when empty.
	Nonce string
	// AuthTime is when the user authenticated ("auth_time").
	AuthTime time.Time
	// Auth is how the user authenticated: the "amr" and "acr" (package
	// authcontext). The zero value leaves both out.
	Auth authcontext.Authentication
	// SessionID is the browser session ("sid").
	SessionID string
	// AccessToken, if not empty, is hashed into "at_hash".
	AccessToken string
	// Algorithm signs the token; empty means DefaultIDTokenAlgorithm.
	Algorithm jose.Algorithm
	// Email, if not nil, adds "email" and "email_verified" (OpenID
	// Connect Core section 5.4: only when the email scope was granted;
	// EmailClaims builds it).
	Email *EmailClaims
}

// EmailClaims are the claims of the email scope.
type EmailClaims struct {
	Email    string
	Verified bool
}

// EmailClaimsFor returns the email claims of u when scope (space
// separated) grants the email scope, and nil otherwise.
func EmailClaimsFor(scope string, u store.User) *EmailClaims {
	if !slices.Contains(strings.Fields(scope), ScopeEmail) {
		return nil
	}
	return &EmailClaims{Email: u.Email, Verified: u.EmailVerified}
}

// IDTokens signs ID tokens.
type IDTokens struct {
	issuer      string
	ttl         time.Duration
	keys        Signers
	now         func() time.Time
	backchannel store.BackchannelStore
}

// DefaultIDTokenTTL is the lifetime of ID tokens. An ID token proves a
// login to its client once; it is not a credential for APIs.
const DefaultIDTokenTTL = 5 * time.Minute

// NewIDTokens returns a signer of ID tokens issued by issuer, living ttl
// (DefaultIDTokenTTL if not positive). now may be nil for time.Now.
func NewIDTokens(issuer string, ttl time.Duration, keys Signers, now func() time.Time) *IDTokens {
	if ttl <= 0 {
		ttl = DefaultIDTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	return &IDTokens{issuer: issuer, ttl: ttl, keys: keys, now: now}
}

// Algorithms returns the algorithms ID tokens may be signed with: RS256
// first, then the server's other signing algorithms.
func (t *IDTokens) Algorithms() []jose.Algorithm {
	out := []jose.Algorithm{DefaultIDTokenAlgorithm}
	for _, a := range t.keys.Algorithms() {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// idTokenClaims is an ID token's claims set.
type idTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	AZP      string   `json:"azp"`
	Expires  int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	ATHash   string   `json:"at_hash,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	SID      string   `json:"sid,omitempty"`
	// Email and EmailVerified come with the email scope only.
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// Sign returns a signed ID token. Its "amr" lists the methods of
// spec.Auth (RFC 8176) and its "acr" is urn:gatehouse:acr:1fa or
// urn:gatehouse:acr:mfa (authcontext.ACR*; discovery lists them in
// acr_values_supported).
func (t *IDTokens) Sign(spec IDTokenSpec) (string, error) {
	alg := spec.Algorithm
	if alg == "" {
		alg = DefaultIDTokenAlgorithm
	}
	key, err := t.keys.Signer(alg)
	if err != nil {
		return "", fmt.Errorf("oauth: ID token key: %w", err)
	}
	now := t.now()
	c := idTokenClaims{
		Issuer: t.issuer, Subject: spec.Subject, Audience: []string{spec.ClientID}, AZP: spec.ClientID,
		Expires: now.Add(t.ttl).Unix(), IssuedAt: now.Unix(), AuthTime: spec.AuthTime.Unix(),
		Nonce: spec.Nonce, ACR: spec.Auth.ACR(), AMR: spec.Auth.AMR(), SID: spec.SessionID,
	}
	if spec.Email != nil {
		c.Email, c.EmailVerified = spec.Email.Email, &spec.Email.Verified
	}
	if spec.AccessToken != "" {
		if c.ATHash, err = TokenHash(alg, spec.AccessToken); err != nil {
			return "", err
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("oauth: encode ID token: %w", err)
	}
	tok, err := jose.Sign(key, IDTokenType, payload)
	if err != nil {
		return "", fmt.Errorf("oauth: sign ID token: %w", err)
	}
	return tok, nil
}

// TokenHash returns the "at_hash" of an access token for an ID token
// signed with alg (OpenID Connect Core section 3.1.3.6): the left half of
// the token's hash, base64url-encoded, with the hash of alg: SHA-256 for
// RS256 and ES256, SHA-512 for EdDSA over Ed25519.
func TokenHash(alg jose.Algorithm, token string) (string, error) {
	var h hash.Hash
	switch alg {
	case jose.RS256, jose.ES256:
		h = sha256.New()
	case jose.EdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("oauth: no token hash for algorithm %s", alg)
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// ErrInvalidIDToken reports an id_token_hint that is not an ID token of
// this server.
var ErrInvalidIDToken = errors.New("oauth: invalid ID token")

// Hint is what an id_token_hint says about the logout it asks for.
type Hint struct {
	// Subject is the user ("sub").
	Subject string
	// ClientID is the token's audience ("aud"): the client it was issued
	// to.
	ClientID string
	// SessionID is the browser session ("sid").
	SessionID string
}

// VerifyHint checks an ID token this server issued, given back as an
// id_token_hint (OpenID Connect RP-Initiated Logout 1.0 section 2): its
// signature, "typ" and issuer. An expired token is accepted, as the
// specification allows: it only identifies the session to end. ctx bounds
// the key lookup.
func (t *IDTokens) VerifyHint(ctx context.Context, raw string) (Hint, error) {
	v := jose.Verifier{Keys: t.keys}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return Hint{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	if tok.Header.Type != IDTokenType {
		return Hint{}, fmt.Errorf("%w: typ %q", ErrInvalidIDToken, tok.Header.Type)
	}
	var c struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
		SID      string          `json:"sid"`
		Nonce    *string         `json:"nonce"`
		AuthTime *int64          `json:"auth_time"`
	}
	if err := json.Unmarshal(tok.Payload, &c); err != nil {
		return Hint{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	if c.Issuer != t.issuer || c.Subject == "" || c.AuthTime == nil {
		// Access tokens have no auth_time: they are not ID tokens.
		return Hint{}, fmt.Errorf("%w: not an ID token of this issuer", ErrInvalidIDToken)
	}
	var aud []string
	if err := json.Unmarshal(c.Audience, &aud); err != nil || len(aud) != 1 {
		return Hint{}, fmt.Errorf("%w: aud", ErrInvalidIDToken)
	}
	return Hint{Subject: c.Subject, ClientID: aud[0], SessionID: c.SID}, nil
}
