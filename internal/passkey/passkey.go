package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// BeginRegistration starts adding a passkey for u: it returns the options
// for navigator.credentials.create (resident key required, user
// verification preferred, the user's existing credentials excluded).
// The caller has checked a recent authentication (step-up) first.
func (s *Service) BeginRegistration(ctx context.Context, u User) (*protocol.CredentialCreation, error) {
	wu, err := s.loadUser(ctx, u.ID, u.Email)
	if err != nil {
		return nil, err
	}
	creation, session, err := s.wa.BeginRegistration(wu, webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	if err := s.saveCeremony(ctx, store.CeremonyRegistration, u.ID, session); err != nil {
		return nil, err
	}
	return creation, nil
}

// FinishRegistration verifies a RegistrationResponseJSON (body) for the
// ceremony begun by BeginRegistration for the same user, and stores the new
// credential under name (see NormalizeName).
func (s *Service) FinishRegistration(ctx context.Context, u User, name string, body []byte) (store.PasskeyCredential, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return store.PasskeyCredential{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	session, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, store.CeremonyRegistration, u.ID)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	wu, err := s.loadUser(ctx, u.ID, u.Email)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	cred, err := s.wa.CreateCredential(wu, session, parsed)
	if err != nil {
		return store.PasskeyCredential{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	rec := fromLibrary(u.ID, *cred)
	rec.Name = name
	rec.CreatedAt = s.now().UTC()
	if err := s.creds.CreatePasskey(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.PasskeyCredential{}, ErrAlreadyRegistered
		}
		return store.PasskeyCredential{}, fmt.Errorf("passkey: store credential: %w", err)
	}
	return rec, nil
}

// List returns the user's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]store.PasskeyCredential, error) {
	list, err := s.creds.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list credentials: %w", err)
	}
	return list, nil
}

// Rename gives the user's passkey id a new name (see NormalizeName). A
// passkey that does not exist or belongs to another user is
// ErrUnknownCredential.
func (s *Service) Rename(ctx context.Context, userID string, id []byte, name string) (store.PasskeyCredential, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return store.PasskeyCredential{}, err
	}
	c, err := s.creds.UpdatePasskey(ctx, id, func(c store.PasskeyCredential) (store.PasskeyCredential, error) {
		if c.UserID != userID {
			return c, ErrUnknownCredential
		}
		c.Name = name
		return c, nil
	})
	if errors.Is(err, ErrUnknownCredential) || errors.Is(err, store.ErrNotFound) {
		return store.PasskeyCredential{}, ErrUnknownCredential
	}
	if err != nil {
		return store.PasskeyCredential{}, fmt.Errorf("passkey: rename: %w", err)
	}
	return c, nil
}

// Delete removes the user's passkey id. The caller checks a recent
// authentication first. A passkey that does not exist or belongs to
// another user is ErrUnknownCredential.
func (s *Service) Delete(ctx context.Context, userID string, id []byte) error {
	err := s.creds.DeletePasskey(ctx, userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownCredential
	}
	if err != nil {
		return fmt.Errorf("passkey: delete: %w", err)
	}
	return nil
}

// BeginLogin starts a passwordless login: options for
// navigator.credentials.get with no allowed credentials, so the
// authenticator offers its discoverable credentials for the RP ID.
func (s *Service) BeginLogin(ctx context.Context) (*protocol.CredentialAssertion, error) {
	assertion, session, err := s.wa.BeginDiscoverableLogin()
	if err != nil {
		return nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	if err := s.saveCeremony(ctx, store.CeremonyLogin, "", session); err != nil {
		return nil, err
	}
	return assertion, nil
}

// FinishLogin verifies an AuthenticationResponseJSON (body) for a ceremony
// begun by BeginLogin and returns the user its user handle names.
func (s *Service) FinishLogin(ctx context.Context, body []byte) (Result, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	session, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, store.CeremonyLogin, "")
	if err != nil {
		return Result{}, err
	}
	var owner *user
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		c, err := s.creds.GetPasskey(ctx, rawID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && c.UserID != string(userHandle)) {
			return nil, ErrUnknownCredential
		}
		if err != nil {
			return nil, fmt.Errorf("passkey: load credential: %w", err)
		}
		owner = &user{id: c.UserID, creds: []webauthn.Credential{toLibrary(c)}}
		return owner, nil
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(handler, session, parsed)
	if err != nil {
		if errors.Is(err, ErrUnknownCredential) {
			return Result{}, ErrUnknownCredential
		}
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return s.recordUse(ctx, owner.id, cred, parsed)
}

// BeginSecondFactor starts a passkey check for userID after a correct
// password: options listing the user's credentials. A user without any is
// ErrNoPasskeys.
func (s *Service) BeginSecondFactor(ctx context.Context, userID string) (*protocol.CredentialAssertion, error) {
	wu, err := s.loadUser(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	if len(wu.creds) == 0 {
		return nil, ErrNoPasskeys
	}
	assertion, session, err := s.wa.BeginLogin(wu)
	if err != nil {
		return nil, fmt.Errorf("passkey: begin second factor: %w", err)
	}
	if err := s.saveCeremony(ctx, store.CeremonySecondFactor, userID, session); err != nil {
		return nil, err
	}
	return assertion, nil
}

// FinishSecondFactor verifies an AuthenticationResponseJSON (body) for the
// ceremony begun by BeginSecondFactor for the same user.
func (s *Service) FinishSecondFactor(ctx context.Context, userID string, body []byte) (Result, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	session, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, store.CeremonySecondFactor, userID)
	if err != nil {
		return Result{}, err
	}
	wu, err := s.loadUser(ctx, userID, "")
	if err != nil {
		return Result{}, err
	}
	cred, err := s.wa.ValidateLogin(wu, session, parsed)
	if err != nil {
		var unknown *protocol.ErrorUnknownCredential
		if errors.As(err, &unknown) {
			return Result{}, ErrUnknownCredential
		}
		return Result{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return s.recordUse(ctx, userID, cred, parsed)
}

// recordUse checks the counter and stores the use atomically: a
// concurrent use of the same credential cannot slip the same counter value
// in between the library's check and the write.
func (s *Service) recordUse(ctx context.Context, userID string, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (Result, error) {
	flags := parsed.Response.AuthenticatorData.Flags
	counter := parsed.Response.AuthenticatorData.Counter
	now := s.now().UTC()
	updated, err := s.creds.UpdatePasskey(ctx, cred.ID, func(c store.PasskeyCredential) (store.PasskeyCredential, error) {
		if c.UserID != userID {
			return c, ErrUnknownCredential
		}
		if (counter != 0 || c.SignCount != 0) && counter <= c.SignCount {
			return c, ErrClonedAuthenticator
		}
		c.SignCount = counter
		c.BackupState = flags.HasBackupState()
		c.LastUsedAt = now
		return c, nil
	})
	if errors.Is(err, ErrClonedAuthenticator) || cred.Authenticator.CloneWarning {
		s.log.Warn("passkey: signature counter did not increase; refusing a possibly cloned authenticator",
			"user_id", userID, "credential_id", base64.RawURLEncoding.EncodeToString(cred.ID), "counter", counter)
		return Result{}, ErrClonedAuthenticator
	}
	if errors.Is(err, ErrUnknownCredential) || errors.Is(err, store.ErrNotFound) {
		return Result{}, ErrUnknownCredential
	}
	if err != nil {
		return Result{}, fmt.Errorf("passkey: record use: %w", err)
	}
	return Result{UserID: userID, Credential: updated, Methods: Methods(updated.BackupEligible, flags.HasUserVerified())}, nil
}

// Methods returns the RFC 8176 methods a passkey assertion proves: swk
// for a backup-eligible (synced) credential, hwk for a device-bound one,
// and user when the authenticator verified the user (UV).
func Methods(backupEligible, userVerified bool) []authcontext.Method {
	m := []authcontext.Method{authcontext.HardwareKey}
	if backupEligible {
		m[0] = authcontext.SoftwareKey
	}
	if userVerified {
		m = append(m, authcontext.UserVerified)
	}
	return m
}

// NormalizeName returns a passkey name fit to store and show: spaces
// trimmed and runs of white space made one space; "Passkey" if empty. A
// name longer than 64 characters, or with invalid UTF-8 or control or
// format characters (which could disguise it in a list), is ErrInvalidName.
func NormalizeName(name string) (string, error) {
	if !utf8.ValidString(name) || len(name) > 256 {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) && !unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "", ErrInvalidName
		}
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "Passkey", nil
	}
	if utf8.RuneCountInString(name) > 64 {
		return "", ErrInvalidName
	}
	return name, nil
}

// ceremonyID is the store key of the ceremony of a challenge (as the
// base64url string of the options and of clientDataJSON).
func ceremonyID(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Service) saveCeremony(ctx context.Context, kind store.CeremonyKind, userID string, session *webauthn.SessionData) error {
	data, err := json.Marshal(session)
	if err != nil {
		return fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	c := store.Ceremony{
		ID:        ceremonyID(session.Challenge),
		Kind:      kind,
		UserID:    userID,
		Data:      data,
		ExpiresAt: s.now().Add(s.timeout).UTC(),
	}
	if err := s.ceremonies.CreateCeremony(ctx, c); err != nil {
		return fmt.Errorf("passkey: store ceremony: %w", err)
	}
	return nil
}

// takeCeremony removes the ceremony of challenge from the store and checks
// it was begun as kind for userID.
func (s *Service) takeCeremony(ctx context.Context, challenge string, kind store.CeremonyKind, userID string) (webauthn.SessionData, error) {
	var session webauthn.SessionData
	if challenge == "" {
		return session, ErrCeremony
	}
	c, err := s.ceremonies.TakeCeremony(ctx, ceremonyID(challenge), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return session, ErrCeremony
	}
	if err != nil {
		return session, fmt.Errorf("passkey: take ceremony: %w", err)
	}
	if c.Kind != kind || c.UserID != userID {
		return session, ErrCeremony
	}
	if err := json.Unmarshal(c.Data, &session); err != nil {
		return session, fmt.Errorf("passkey: decode ceremony: %w", err)
	}
	return session, nil
}

func (s *Service) loadUser(ctx context.Context, id, email string) (*user, error) {
	list, err := s.creds.ListPasskeys(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("passkey: list credentials: %w", err)
	}
	u := &user{id: id, name: email}
	for _, c := range list {
		u.creds = append(u.creds, toLibrary(c))
	}
	return u, nil
}

// user is a webauthn.User.
type user struct {
	id, name string
	creds    []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var _ webauthn.User = (*user)(nil)

func toLibrary(c store.PasskeyCredential) webauthn.Credential {
	var f protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if c.UserVerified {
		f |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		f |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		f |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:              c.ID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Transport:       transports,
		Flags:           webauthn.NewCredentialFlags(f),
		Authenticator:   webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func fromLibrary(userID string, c webauthn.Credential) store.PasskeyCredential {
	transports := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		transports[i] = string(t)
	}
	return store.PasskeyCredential{
		ID:              c.ID,
		UserID:          userID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		AAGUID:          c.Authenticator.AAGUID,
		SignCount:       c.Authenticator.SignCount,
		Transports:      transports,
		UserVerified:    c.Flags.UserVerified,
		BackupEligible:  c.Flags.BackupEligible,
		BackupState:     c.Flags.BackupState,
	}
}
