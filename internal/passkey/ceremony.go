package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

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
