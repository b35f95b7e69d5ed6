package passkey

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Errors of the ceremonies. A caller answers all but system failures with
// a 4xx that names no detail; the wrapped library error is for logs.
var (
	// ErrNoDomain reports an issuer whose host is not a domain name.
	ErrNoDomain = errors.New("passkey: the issuer's host must be a domain name (localhost works), not an IP address")
	// ErrInvalidResponse reports a response that does not parse or does
	// not verify: wrong origin, wrong RP ID, bad signature, missing user
	// presence, an attestation that fails.
	ErrInvalidResponse = errors.New("passkey: invalid WebAuthn response")
	// ErrCeremony reports a response to no live ceremony: its challenge
	// is unknown, used already, expired, or was issued for another kind of
	// ceremony or another user.
	ErrCeremony = errors.New("passkey: no such ceremony")
	// ErrUnknownCredential reports an assertion by a credential that is
	// not registered (or not to the user the handle names).
	ErrUnknownCredential = errors.New("passkey: unknown credential")
	// ErrClonedAuthenticator reports a signature counter that went
	// backwards or stood still: the credential's key may have been copied.
	ErrClonedAuthenticator = errors.New("passkey: signature counter did not increase; the authenticator may be cloned")
	// ErrAlreadyRegistered reports a credential id registered already.
	ErrAlreadyRegistered = errors.New("passkey: credential already registered")
	// ErrNoPasskeys reports a second-factor ceremony for a user without
	// passkeys.
	ErrNoPasskeys = errors.New("passkey: the user has no passkeys")
	// ErrInvalidName reports a passkey name that NormalizeName refuses.
	ErrInvalidName = errors.New("passkey: invalid name")
)

// Config configures a Service.
type Config struct {
	// Issuer is the server's public base URL (--issuer): its host name is
	// the RP ID and its origin is accepted.
	Issuer string
	// TrustedOrigins are further origins (--trusted-origins, serialised as
	// config.SerializeOrigin does); those whose host is the RP ID or lies
	// under it are accepted too, the others ignored.
	TrustedOrigins []string
	// DisplayName is the relying party name authenticators show; default
	// "Gatehouse".
	DisplayName string
	// Timeout is how long a ceremony can take from begin to finish;
	// default 5 minutes.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives clone warnings and ignored origins; default: none.
	Logger *slog.Logger
}

// Service runs the WebAuthn ceremonies.
type Service struct {
	wa         *webauthn.WebAuthn
	creds      store.PasskeyStore
	ceremonies store.CeremonyStore
	timeout    time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// User is whom a passkey is registered for.
type User struct {
	// ID is the user id; its bytes are the WebAuthn user handle (opaque,
	// random, no personal data, as WebAuthn asks).
	ID string
	// Email is shown by authenticators as the account name.
	Email string
}

// Result is a verified assertion.
type Result struct {
	// UserID is the authenticated user.
	UserID string
	// Credential is the credential used, as stored after this use.
	Credential store.PasskeyCredential
	// Methods are the RFC 8176 methods the assertion proves, to record in
	// the session: HardwareKey for a device-bound credential or
	// SoftwareKey for a synced (backup-eligible) one, and UserVerified when
	// the authenticator verified the user.
	Methods []authcontext.Method
}

// New returns a Service for the relying party described by cfg, keeping
// credentials in creds and ceremonies in ceremonies.
func New(cfg Config, creds store.PasskeyStore, ceremonies store.CeremonyStore) (*Service, error) {
	if cfg.DisplayName == "" {
		cfg.DisplayName = "Gatehouse"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rpID, origins, ignored, err := RelyingParty(cfg.Issuer, cfg.TrustedOrigins)
	if err != nil {
		return nil, err
	}
	for _, o := range ignored {
		cfg.Logger.Info("passkey: trusted origin is not under the RP ID; passkeys will not work there", "origin", o, "rp_id", rpID)
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: cfg.DisplayName,
		RPOrigins:     origins,
		// No attestation: passkeys rarely give one, and Gatehouse keeps no
		// metadata service to judge it.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		// The ceremony store enforces the timeout with the injected clock;
		// these only set the timeout hint sent to the browser.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{wa: wa, creds: creds, ceremonies: ceremonies, timeout: cfg.Timeout, now: cfg.Now, log: cfg.Logger}, nil
}

// RelyingParty derives the RP ID and the accepted origins from the issuer
// URL and the trusted origins: the RP ID is the issuer's host name, the
// origins are the issuer's origin and every trusted origin whose host is
// the RP ID or a subdomain of it. The other trusted origins, and any that
// is not an http(s) origin, are returned as ignored. An IP address host
// is ErrNoDomain.
func RelyingParty(issuer string, trusted []string) (rpID string, origins, ignored []string, err error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return "", nil, nil, fmt.Errorf("passkey: issuer %q is not an http(s) URL", issuer)
	}
	rpID = strings.ToLower(u.Hostname())
	if net.ParseIP(rpID) != nil {
		return "", nil, nil, ErrNoDomain
	}
	if err := protocol.ValidateRPID(rpID); err != nil {
		return "", nil, nil, fmt.Errorf("passkey: issuer host %q is not a valid RP ID: %w", rpID, err)
	}
	origins = []string{config.SerializeOrigin(u)}
	for _, o := range trusted {
		t, err := url.Parse(o)
		host := ""
		if err == nil && (t.Scheme == "https" || t.Scheme == "http") {
			host = strings.ToLower(t.Hostname())
		}
		if host == "" || (host != rpID && !strings.HasSuffix(host, "."+rpID)) {
			ignored = append(ignored, o)
			continue
		}
		if so := config.SerializeOrigin(t); so != origins[0] {
			origins = append(origins, so)
		}
	}
	return rpID, origins, ignored, nil
}

// RPID returns the relying party id.
func (s *Service) RPID() string { return s.wa.Config.RPID }

// Origins returns the accepted origins.
func (s *Service) Origins() []string { return s.wa.Config.RPOrigins }
