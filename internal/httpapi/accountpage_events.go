package httpapi

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// accountEventCount is how many of the user's newest events the account
// page shows; GET /v1/me/events lists them all.
const accountEventCount = 20

// accountEventView is one security event as the account page shows it.
type accountEventView struct {
	Text   string
	Time   pageTime
	Device string
	IP     string
}

// eventWords words the event types a user sees about their account.
var eventWords = map[string]string{
	audit.UserSignedUp:             "Account created",
	audit.LoginSucceeded:           "Signed in",
	audit.LoginFailed:              "Sign-in refused",
	audit.MFASucceeded:             "Second factor accepted",
	audit.MFAFailed:                "Second factor refused",
	audit.SessionEnded:             "Session ended",
	audit.UserSessionsEnded:        "Every session ended",
	audit.UserPasswordChanged:      "Password changed",
	audit.UserEmailChangeRequested: "Change of email address asked for",
	audit.UserEmailChanged:         "Email address changed",
	audit.UserEmailVerified:        "Email address confirmed",
	audit.UserRecoveryRequested:    "Password reset link asked for",
	audit.UserRecovered:            "Password reset with a mailed link",
	audit.TOTPEnrolled:             "Authenticator app added",
	audit.TOTPRemoved:              "Authenticator app removed",
	audit.RecoveryCodesRegenerated: "New recovery codes made",
	audit.RecoveryCodeUsed:         "Recovery code used",
	audit.PasskeyRegistered:        "Passkey added",
	audit.PasskeyRemoved:           "Passkey removed",
	audit.ConsentGranted:           "App allowed",
	audit.ConsentRevoked:           "App's access removed",
	audit.UserCreated:              "Account created by an administrator",
	audit.UserUpdated:              "Account changed by an administrator",
	audit.UserDisabled:             "Account disabled by an administrator",
	audit.UserDeleted:              "Account deleted",
}

// endWords words the reasons of session.ended and user.sessions_ended.
var endWords = map[string]string{
	audit.EndLogout:          "signed out",
	audit.EndRevoked:         "signed out by you",
	audit.EndAdminRevoked:    "by an administrator",
	audit.EndReuseDetected:   "a refresh token was used twice",
	audit.EndExpired:         "expired",
	audit.EndRecovery:        "password reset",
	audit.EndPasswordChanged: "password changed",
	audit.EndUserDisabled:    "account disabled",
	audit.EndUserDeleted:     "account deleted",
	audit.EndReplaced:        "a new sign-in in the same browser",
	audit.EndClientDeleted:   "the app was removed",
	audit.EndConsentRevoked:  "the app's access was removed",
}

// failWords words the reasons of login.failed.
var failWords = map[string]string{
	audit.ReasonInvalidCredentials: "wrong password",
	audit.ReasonDisabled:           "account disabled",
	audit.ReasonUnverifiedEmail:    "email address not confirmed",
	audit.ReasonRateLimited:        "too many attempts",
	audit.ReasonMFAFailed:          "wrong second factor",
	audit.ReasonUnavailable:        "server busy",
}

// eventText is the sentence for e, with its reason and app when it has
// them.
func eventText(e audit.Event, clientName func(string) string) string {
	text, ok := eventWords[e.Type]
	if !ok {
		text = e.Type
	}
	var why string
	switch e.Type {
	case audit.SessionEnded, audit.UserSessionsEnded:
		why = endWords[e.Detail["reason"]]
	case audit.LoginFailed:
		why = failWords[e.Detail["reason"]]
	}
	if why != "" {
		text += " (" + why + ")"
	}
	if e.ClientID != "" {
		text += " · " + clientName(e.ClientID)
	}
	return text
}

// accountEvents returns the user's newest events as the page shows them;
// ok is false when the server keeps no audit trail.
func (s *Server) accountEvents(ctx context.Context, userID string, clientName func(string) string) (views []accountEventView, ok bool, err error) {
	if s.deps.Events == nil {
		return nil, false, nil
	}
	evs, _, err := s.deps.Events.ListEvents(ctx, store.EventFilter{UserID: userID, Limit: accountEventCount})
	if err != nil {
		return nil, true, err
	}
	views = make([]accountEventView, 0, len(evs))
	for _, e := range evs {
		v := accountEventView{Text: eventText(e, clientName), Time: newPageTime(e.Time)}
		if ownEvent(e, userID) {
			v.IP = e.IP
			if e.UserAgent != "" {
				v.Device = deviceSummary(e.UserAgent)
			}
		}
		views = append(views, v)
	}
	return views, true, nil
}

// ownEvent reports whether userID caused e themselves. A user sees the
// address, user agent and actor id only of their own events: those of an
// administrator, a client or the system keep them (GET /v1/me/events
// and the account page alike).
func ownEvent(e audit.Event, userID string) bool {
	return e.Actor.Kind == audit.ActorUser && e.Actor.ID == userID
}
