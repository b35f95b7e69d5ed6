package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/identity"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// record stores events in the audit trail (Deps.Audit) once the change
// they describe is made, and returns its error, which the caller returns
// instead of success: no caller is told of a change whose event is
// missing. The session manager writes its events (logins' records,
// session.ended) in the records' own transactions; these are the others.
func (s *Service) record(ctx context.Context, events ...audit.Event) error {
	return s.d.Audit.Record(ctx, events...)
}

// recordLogin records the outcome of a password login: login.succeeded
// with the record it created, or login.failed with its reason. Every
// refused attempt writes one row, whether or not the address has an
// account, so the trail costs an unknown address what it costs a known
// one. Malformed requests and a second factor still to give are not
// recorded (the second step records its own outcome). If the event
// cannot be stored, a success becomes ErrUnavailable, and the records it
// created are ended.
func (s *Service) recordLogin(ctx context.Context, ci session.ClientInfo, res LoginResult, err error) error {
	e := audit.Event{IP: ci.IP, UserAgent: ci.UserAgent}
	if err == nil {
		e.Type, e.UserID = audit.LoginSucceeded, res.User.ID
		e.Actor = audit.Actor{Kind: audit.ActorUser, ID: res.User.ID}
		e.Detail = map[string]string{"kind": string(store.KindCookie)}
		e.SessionID = res.Session.Session.ID
		if res.Mode == ModeToken {
			e.Detail["kind"], e.SessionID = string(store.KindToken), res.Tokens.SessionID
		}
		if rerr := s.record(ctx, e); rerr != nil {
			s.log.ErrorContext(ctx, "login event not stored: ending the login's record", "err", rerr)
			if e.SessionID != "" {
				_ = s.d.Sessions.Revoke(context.WithoutCancel(ctx), res.User.ID, e.SessionID, audit.EndRevoked)
			}
			return errors.Join(ErrUnavailable, rerr)
		}
		return nil
	}
	reason, ok := loginFailure(err)
	if !ok {
		return err
	}
	e.Type, e.UserID = audit.LoginFailed, res.User.ID
	var lf *identity.LoginFailure
	if errors.As(err, &lf) {
		e.UserID, reason = lf.UserID, lf.Reason
	}
	e.Detail = map[string]string{"reason": reason}
	e.Actor = audit.Actor{Kind: audit.ActorUser, ID: e.UserID}
	if rerr := s.record(ctx, e); rerr != nil {
		s.log.ErrorContext(ctx, "login failure event not stored", "err", rerr)
	}
	return err
}

// loginFailure returns the login.failed reason of a refused login, and
// false for errors that are not a login attempt (a malformed request)
// or not its end (a second factor is required).
func loginFailure(err error) (string, bool) {
	var rl *RateLimitedError
	var mfaReq *MFARequiredError
	switch {
	case errors.As(err, &mfaReq), errors.Is(err, ErrMissingCredentials), errors.Is(err, ErrInvalidMode),
		errors.Is(err, ErrTokenModeOff):
		return "", false
	case errors.As(err, &rl):
		return audit.ReasonRateLimited, true
	case errors.Is(err, ErrEmailNotVerified):
		return audit.ReasonUnverifiedEmail, true
	case errors.Is(err, ErrInvalidCredentials):
		return audit.ReasonInvalidCredentials, true
	case errors.Is(err, password.ErrBusy), errors.Is(err, ErrUnavailable):
		return audit.ReasonUnavailable, true
	}
	return audit.ReasonUnavailable, true
}

// updateEvents returns the events of an administrative change up of the
// account id: user.updated naming the changed fields (never a password),
// and user.disabled when it disables the account.
func updateEvents(id string, up UserUpdate) []audit.Event {
	var fields []string
	detail := map[string]string{}
	if up.Email != nil {
		fields = append(fields, "email")
		detail["email"] = *up.Email
	}
	if up.Password != nil {
		fields = append(fields, "password")
	}
	if up.Claims != nil {
		fields = append(fields, "claims")
	}
	if up.Disabled != nil {
		fields = append(fields, "disabled")
		detail["disabled"] = boolString(*up.Disabled)
	}
	if up.EmailVerified != nil {
		fields = append(fields, "email_verified")
		detail["email_verified"] = boolString(*up.EmailVerified)
	}
	slices.Sort(fields)
	detail["fields"] = strings.Join(fields, ",")
	events := []audit.Event{{Type: audit.UserUpdated, UserID: id, Detail: detail}}
	if up.Disabled != nil && *up.Disabled {
		events = append(events, audit.Event{Type: audit.UserDisabled, UserID: id})
	}
	return events
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
