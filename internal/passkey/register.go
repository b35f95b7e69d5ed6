package passkey

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

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
// credential under name (see NormalizeName). An empty or blank name is
// DefaultName's: the authenticator's, or "Passkey n".
func (s *Service) FinishRegistration(ctx context.Context, u User, name string, body []byte) (store.PasskeyCredential, error) {
	unnamed := strings.TrimSpace(name) == ""
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
	if unnamed {
		rec.Name = DefaultName(rec.AAGUID, len(wu.creds)+1)
	}
	rec.CreatedAt = s.now().UTC()
	if err := s.creds.CreatePasskey(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.PasskeyCredential{}, ErrAlreadyRegistered
		}
		return store.PasskeyCredential{}, fmt.Errorf("passkey: store credential: %w", err)
	}
	return rec, nil
}
