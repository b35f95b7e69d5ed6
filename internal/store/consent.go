package store

import (
	"context"
	"time"
)

// Consent records that a user let an OAuth client have some scopes, so
// that the authorization endpoint asks again only for scopes not yet
// granted. There is at most one per (UserID, ClientID).
type Consent struct {
	// UserID is the user who consented.
	UserID string
	// ClientID is the client they consented to.
	ClientID string
	// Scopes are the scopes granted, in the order stored.
	Scopes []string
	// CreatedAt is when the user first consented to the client;
	// UpdatedAt when the scopes last changed.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConsentStore keeps consents. A missing consent is ErrNotFound. Scopes
// come back in the order written; nil and empty are the same.
type ConsentStore interface {
	// PutConsent stores c, replacing the consent of the same user and
	// client if there is one (CreatedAt is then kept from the stored one).
	PutConsent(ctx context.Context, c Consent) error
	// GetConsent returns the user's consent to the client.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// ListUserConsents returns the user's consents, oldest first (ties
	// broken by client id); an empty slice if there are none.
	ListUserConsents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent removes the user's consent to the client, or returns
	// ErrNotFound.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}
