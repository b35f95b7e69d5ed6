package passkey

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// BeginLogin starts a passwordless login: options for
// navigator.credentials.get with no allowed credentials, so the
// authenticator offers its discoverable credentials for the RP ID. User
// verification is required: a passkey that replaces the password must
// prove more than possession (a PIN or biometric on the device).
func (s *Service) BeginLogin(ctx context.Context) (*protocol.CredentialAssertion, error) {
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	if err := s.saveCeremony(ctx, store.CeremonyLogin, "", session); err != nil {
		return nil, err
	}
	return assertion, nil
}

// FinishLogin verifies an AuthenticationResponseJSON (body) for a ceremony
// begun by BeginLogin and returns the user its user handle names. When the
// credential was found but the assertion fails (ErrInvalidResponse,
// ErrClonedAuthenticator), the Result returned with the error carries the
// owner's UserID, so the caller can count the failure against the account.
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
		if owner == nil {
			return Result{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
		}
		return Result{UserID: owner.id}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	res, err := s.recordUse(ctx, owner.id, cred, parsed)
	if errors.Is(err, ErrClonedAuthenticator) {
		res.UserID = owner.id
	}
	return res, err
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
