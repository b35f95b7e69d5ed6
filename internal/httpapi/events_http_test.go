package httpapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlstore/pgtest"
)

// eventJSON is an event of GET /admin/v1/events.
type eventJSON struct {
	Seq   int64  `json:"seq"`
	Time  string `json:"time"`
	Type  string `json:"type"`
	Actor struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
	UserID    string            `json:"user_id"`
	SessionID string            `json:"session_id"`
	ClientID  string            `json:"client_id"`
	IP        string            `json:"ip"`
	UserAgent string            `json:"user_agent"`
	Detail    map[string]string `json:"detail"`
}

// eventPage is a page of an event listing.
type eventPage struct {
	Events     []eventJSON `json:"events"`
	NextCursor string      `json:"next_cursor"`
}

// wantEvent describes the one event a case must cause: its type and every
// non-empty field.
type wantEvent struct {
	Type      string
	UserID    string
	SessionID string
	ClientID  string
	UserAgent string
	Actor     string // actor kind
	Detail    map[string]string
}

func (w wantEvent) matches(e eventJSON) bool {
	if e.Type != w.Type || (w.UserID != "" && e.UserID != w.UserID) || (w.SessionID != "" && e.SessionID != w.SessionID) ||
		(w.ClientID != "" && e.ClientID != w.ClientID) || (w.UserAgent != "" && e.UserAgent != w.UserAgent) ||
		(w.Actor != "" && e.Actor.Kind != w.Actor) {
		return false
	}
	for k, v := range w.Detail {
		if e.Detail[k] != v {
			return false
		}
	}
	return true
}

// allEvents lists every event of GET /admin/v1/events?query, page by page.
func allEvents(t *testing.T, srv *apptest.Server, query url.Values) []eventJSON {
	t.Helper()
	var out []eventJSON
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for range 1000 {
		var p eventPage
		srv.Admin().Do(t, http.MethodGet, "/admin/v1/events?"+q.Encode(), nil).WantStatus(t, http.StatusOK).Decode(t, &p)
		out = append(out, p.Events...)
		if p.NextCursor == "" {
			return out
		}
		q.Set("cursor", p.NextCursor)
	}
	t.Fatal("more than 1000 pages")
	return nil
}

// findOnce fails the test unless exactly one event of the trail matches w.
func findOnce(t *testing.T, srv *apptest.Server, w wantEvent) eventJSON {
	t.Helper()
	q := url.Values{"type": {w.Type}}
	if w.UserID != "" {
		q.Set("user_id", w.UserID)
	}
	var found []eventJSON
	evs := allEvents(t, srv, q)
	for _, e := range evs {
		if w.matches(e) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d events match %+v, want exactly 1; events of the type: %+v", len(found), w, evs)
	}
	auditSeen[w.Type] = true
	for _, k := range []string{"password", "token", "secret", "code"} {
		if _, ok := found[0].Detail[k]; ok {
			t.Errorf("event %+v has a %q detail", found[0], k)
		}
	}
	return found[0]
}

// auditSeen collects the event types findOnce found, so that
// TestAuditEvents can tell which types no case causes.
var auditSeen = map[string]bool{}

// marker returns a user agent no other request of the test sends, which
// the events of the request carry.
func marker(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "audit-test/" + hex.EncodeToString(b[:])
}

// agent returns a client that sends user agent ua.
func agent(srv *apptest.Server, ua string) *apptest.Client {
	c := srv.NewClient()
	c.Header.Set("User-Agent", ua)
	return c
}

// agentLogin logs u in (session mode) from a client that sends ua.
func agentLogin(t *testing.T, srv *apptest.Server, u apptest.User, ua string) *apptest.Client {
	t.Helper()
	c := agent(srv, ua)
	c.Login(t, u.Email, u.Password)
	return c
}

// auditBackends are the configurations the audit trail is tested on:
// events always live in the SQL database, also when sessions are in
// Redis.
var auditBackends = []struct {
	name string
	args func(t *testing.T) []string
}{
	{"SQLite", func(*testing.T) []string { return nil }},
	{"PostgreSQL", func(t *testing.T) []string { return []string{"--db", pgtest.NewDatabase(t)} }},
	{"Redis sessions", func(t *testing.T) []string { return []string{"--sessions", redisSessions(t)} }},
}

// TestAuditEvents causes each event type through the real router and
// finds it exactly once in GET /admin/v1/events, on every backend.
func TestAuditEvents(t *testing.T) {
	type tcase struct {
		name string
		// skip names backends the case cannot run on, and why.
		skip map[string]string
		// passkeys runs the case on a server with a domain-name issuer.
		passkeys bool
		cause    func(t *testing.T, srv *apptest.Server) wantEvent
	}
	ended := func(reason string) map[string]string { return map[string]string{"reason": reason} }
	cases := []tcase{
		{name: audit.UserSignedUp, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			ua := marker(t)
			var b struct {
				User struct{ ID string } `json:"user"`
			}
			agent(srv, ua).Do(t, http.MethodPost, "/v1/signup", map[string]string{"email": apptest.RandomEmail(), "password": "correct horse"}).
				WantStatus(t, http.StatusCreated).Decode(t, &b)
			return wantEvent{Type: audit.UserSignedUp, UserID: b.User.ID, UserAgent: ua, Actor: audit.ActorUser}
		}},
		{name: "login.succeeded/session", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			return wantEvent{Type: audit.LoginSucceeded, UserID: u.ID, SessionID: c.SessionID, UserAgent: ua, Detail: map[string]string{"kind": "cookie"}}
		}},
		{name: "login.succeeded/token", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password, "mode": "token"}).WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.LoginSucceeded, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"kind": "token"}}
		}},
		{name: "login.failed/unknown address", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			ua := marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login", map[string]string{"email": apptest.RandomEmail(), "password": "whatever pw"}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			return wantEvent{Type: audit.LoginFailed, UserAgent: ua, Detail: map[string]string{"reason": audit.ReasonInvalidCredentials}}
		}},
		{name: "login.failed/wrong password", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "not the password"}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			return wantEvent{Type: audit.LoginFailed, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"reason": audit.ReasonInvalidCredentials}}
		}},
		{name: "login.failed/wrong password at reauth", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			c.Do(t, http.MethodPost, "/v1/reauth", map[string]string{"password": "not the password"}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			return wantEvent{Type: audit.LoginFailed, UserID: u.ID, SessionID: c.SessionID, UserAgent: ua, Actor: audit.ActorUser,
				Detail: map[string]string{"reason": audit.ReasonInvalidCredentials, "action": "step_up"}}
		}},
		{name: "login.failed/disabled", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": u.Password}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			return wantEvent{Type: audit.LoginFailed, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"reason": audit.ReasonDisabled}}
		}},
		{name: "login.failed/rate limited", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			for range 10 {
				srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "not the password"}).
					WantError(t, http.StatusUnauthorized, "invalid_credentials")
			}
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "not the password"}).
				WantStatus(t, http.StatusTooManyRequests)
			return wantEvent{Type: audit.LoginFailed, UserAgent: ua, Detail: map[string]string{"reason": audit.ReasonRateLimited}}
		}},
		{name: audit.TOTPEnrolled, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			enrolTOTP(t, srv, agentLogin(t, srv, u, ua))
			return wantEvent{Type: audit.TOTPEnrolled, UserID: u.ID, UserAgent: ua, Actor: audit.ActorUser}
		}},
		{name: audit.MFASucceeded, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			a, _ := enrolTOTP(t, srv, srv.Login(t, u.Email, u.Password))
			srv.Clock.Advance(time.Minute)
			tok, ua := mfaRequired(t, srv, u.Email, u.Password, "session"), marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login/mfa", map[string]string{"mfa_token": tok, "code": a.code(t, 0)}).WantStatus(t, http.StatusOK)
			findOnce(t, srv, wantEvent{Type: audit.LoginSucceeded, UserID: u.ID, UserAgent: ua})
			return wantEvent{Type: audit.MFASucceeded, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"factor": "totp"}}
		}},
		{name: audit.MFAFailed, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			enrolTOTP(t, srv, srv.Login(t, u.Email, u.Password))
			tok, ua := mfaRequired(t, srv, u.Email, u.Password, "session"), marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login/mfa", map[string]string{"mfa_token": tok, "code": "000000"}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
			findOnce(t, srv, wantEvent{Type: audit.LoginFailed, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"reason": audit.ReasonMFAFailed}})
			return wantEvent{Type: audit.MFAFailed, UserID: u.ID, UserAgent: ua}
		}},
		{name: audit.RecoveryCodeUsed, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			_, codes := enrolTOTP(t, srv, srv.Login(t, u.Email, u.Password))
			tok, ua := mfaRequired(t, srv, u.Email, u.Password, "session"), marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/login/mfa", map[string]string{"mfa_token": tok, "code": codes[0]}).WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.RecoveryCodeUsed, UserID: u.ID, UserAgent: ua}
		}},
		{name: audit.TOTPRemoved, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			a, _ := enrolTOTP(t, srv, c)
			srv.Clock.Advance(time.Minute)
			c.Do(t, http.MethodDelete, "/v1/mfa/totp", map[string]string{"code": a.code(t, 0)}).WantStatus(t, http.StatusNoContent)
			return wantEvent{Type: audit.TOTPRemoved, UserID: u.ID, UserAgent: ua}
		}},
		{name: audit.PasskeyRegistered, passkeys: true, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			pk := registerPasskey(t, agentLogin(t, srv, u, ua), passkeytest.New(t), "audit key")
			return wantEvent{Type: audit.PasskeyRegistered, UserID: u.ID, UserAgent: ua, Actor: audit.ActorUser,
				Detail: map[string]string{"passkey_id": pk.ID, "name": "audit key"}}
		}},
		{name: audit.PasskeyRemoved, passkeys: true, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			pk := registerPasskey(t, c, passkeytest.New(t), "")
			c.Do(t, http.MethodDelete, "/v1/passkeys/"+pk.ID, nil).WantStatus(t, http.StatusNoContent)
			return wantEvent{Type: audit.PasskeyRemoved, UserID: u.ID, UserAgent: ua, Actor: audit.ActorUser,
				Detail: map[string]string{"passkey_id": pk.ID}}
		}},
		{name: "login.succeeded/passkey", passkeys: true, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, a := srv.NewUser(t), passkeytest.New(t)
			registerPasskey(t, agentLogin(t, srv, u, marker(t)), a, "")
			c, r := passkeyLogin(t, srv, a, "session")
			r.WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.LoginSucceeded, UserID: u.ID, SessionID: signedIn(t, c, r).SessionID, Detail: map[string]string{"kind": "cookie"}}
		}},
		{name: "session.ended/logout", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			c.Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, UserAgent: ua, Actor: audit.ActorUser,
				Detail: map[string]string{"reason": audit.EndLogout, "kind": "cookie"}}
		}},
		{name: "session.ended/revoked", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			other := srv.Login(t, u.Email, u.Password)
			agentLogin(t, srv, u, ua).Do(t, http.MethodDelete, "/v1/sessions/"+other.SessionID, nil).WantStatus(t, http.StatusNoContent)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: other.SessionID, UserAgent: ua, Detail: ended(audit.EndRevoked)}
		}},
		{name: "session.ended/admin_revoked", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, c := srv.NewSession(t)
			srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusNoContent)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, Actor: audit.ActorAdmin, Detail: ended(audit.EndAdminRevoked)}
		}},
		{name: "session.ended/reuse_detected", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			first := tokenLogin(t, srv, u)
			refresh(t, srv, first.RefreshToken).WantStatus(t, http.StatusOK)
			srv.Clock.Advance(time.Minute)
			refresh(t, srv, first.RefreshToken).WantError(t, http.StatusBadRequest, "invalid_grant")
			_, claims := jwtParts(t, first.AccessToken)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: claims["sid"].(string), Actor: audit.ActorSystem,
				Detail: map[string]string{"reason": audit.EndReuseDetected, "kind": "token"}}
		}},
		{name: "session.ended/expired", skip: map[string]string{"Redis sessions": "Redis expires records by itself, without an event (docs/events.md)"},
			cause: func(t *testing.T, srv *apptest.Server) wantEvent {
				u, c := srv.NewSession(t)
				srv.Clock.Advance(13 * time.Hour)
				if err := srv.App.Sweep(t.Context()); err != nil {
					t.Fatal(err)
				}
				return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, Actor: audit.ActorSystem, Detail: ended(audit.EndExpired)}
			}},
		{name: "session.ended/replaced", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			c := agentLogin(t, srv, u, ua)
			old := c.SessionID
			c.Login(t, u.Email, u.Password)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: old, UserAgent: ua, Detail: ended(audit.EndReplaced)}
		}},
		{name: "session.ended/password_changed", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			other := srv.Login(t, u.Email, u.Password)
			agentLogin(t, srv, u, ua).Do(t, http.MethodPatch, "/v1/me", map[string]string{"password": "a new password", "current_password": u.Password}).WantStatus(t, http.StatusOK)
			findOnce(t, srv, wantEvent{Type: audit.UserPasswordChanged, UserID: u.ID, UserAgent: ua})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: other.SessionID, UserAgent: ua, Detail: ended(audit.EndPasswordChanged)}
		}},
		{name: "session.ended/user_disabled", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, c := srv.NewSession(t)
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"disabled": true}).WantStatus(t, http.StatusOK)
			findOnce(t, srv, wantEvent{Type: audit.UserDisabled, UserID: u.ID, Actor: audit.ActorAdmin})
			findOnce(t, srv, wantEvent{Type: audit.UserUpdated, UserID: u.ID, Actor: audit.ActorAdmin, Detail: map[string]string{"fields": "disabled"}})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, Actor: audit.ActorAdmin, Detail: ended(audit.EndUserDisabled)}
		}},
		{name: "session.ended/user_deleted", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, c := srv.NewSession(t)
			srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID, nil).WantStatus(t, http.StatusNoContent)
			findOnce(t, srv, wantEvent{Type: audit.UserDeleted, UserID: u.ID, Actor: audit.ActorAdmin})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, Actor: audit.ActorAdmin, Detail: ended(audit.EndUserDeleted)}
		}},
		{name: "session.ended/recovery", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, c := srv.NewSession(t)
			ua := marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/recovery", map[string]string{"email": u.Email}).WantStatus(t, http.StatusAccepted)
			findOnce(t, srv, wantEvent{Type: audit.UserRecoveryRequested, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"known": "true"}})
			for srv.DeliverMail(t) > 0 { // every mail queued so far, batch by batch
			}
			m := linkMail(t, srv, u.Email, "recover")
			agent(srv, ua).Do(t, http.MethodPost, "/v1/recovery/confirm", map[string]string{"token": m.Token, "password": "a new password"}).WantStatus(t, http.StatusOK)
			findOnce(t, srv, wantEvent{Type: audit.UserRecovered, UserID: u.ID, UserAgent: ua})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, UserAgent: ua, Detail: ended(audit.EndRecovery)}
		}},
		{name: "user.recovery_requested/unknown", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			ua := marker(t)
			agent(srv, ua).Do(t, http.MethodPost, "/v1/recovery", map[string]string{"email": apptest.RandomEmail()}).WantStatus(t, http.StatusAccepted)
			return wantEvent{Type: audit.UserRecoveryRequested, UserAgent: ua, Detail: map[string]string{"known": "false"}}
		}},
		{name: audit.UserEmailVerified, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			for srv.DeliverMail(t) > 0 {
			}
			m := linkMail(t, srv, u.Email, "verify")
			agent(srv, ua).Do(t, http.MethodPost, "/v1/verification/email/confirm", map[string]string{"token": m.Token}).WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.UserEmailVerified, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"email": u.Email}}
		}},
		{name: audit.UserEmailChanged, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, ua := srv.NewUser(t), marker(t)
			email := apptest.RandomEmail()
			agentLogin(t, srv, u, ua).Do(t, http.MethodPatch, "/v1/me", map[string]string{"email": email}).WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.UserEmailChanged, UserID: u.ID, UserAgent: ua, Detail: map[string]string{"email": email, "old_email": u.Email}}
		}},
		{name: "consent granted, revoked, and the grant ended", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			r := newRP(t, srv, map[string]any{"client_name": "RP", "scope": "openid offline_access"})
			verifier := oauth2.GenerateVerifier()
			q := r.authorize(t, newBrowser(t, srv), u, oauth2.S256ChallengeOption(verifier))
			if _, err := r.config.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
			findOnce(t, srv, wantEvent{Type: audit.ConsentGranted, UserID: u.ID, ClientID: r.client.ClientID, Detail: map[string]string{"scope": "openid offline_access"}})
			ua := marker(t)
			agentLogin(t, srv, u, ua).Do(t, http.MethodDelete, "/v1/consents/"+r.client.ClientID, nil).WantStatus(t, http.StatusNoContent)
			findOnce(t, srv, wantEvent{Type: audit.ConsentRevoked, UserID: u.ID, ClientID: r.client.ClientID, UserAgent: ua})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, ClientID: r.client.ClientID, UserAgent: ua,
				Detail: map[string]string{"reason": audit.EndConsentRevoked, "kind": "token"}}
		}},
		{name: "client created and deleted, its grants ended", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			c := newClient(t, srv, map[string]any{"client_name": "svc", "grant_types": []string{"client_credentials"}, "scope": "read"})
			findOnce(t, srv, wantEvent{Type: audit.ClientCreated, ClientID: c.ClientID, Actor: audit.ActorAdmin})
			clientGrant(t, srv, u.ID, c.ClientID)
			srv.Admin().Do(t, http.MethodDelete, "/admin/v1/clients/"+c.ClientID, nil).WantStatus(t, http.StatusNoContent)
			findOnce(t, srv, wantEvent{Type: audit.ClientDeleted, ClientID: c.ClientID, Actor: audit.ActorAdmin})
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, ClientID: c.ClientID, Actor: audit.ActorAdmin, Detail: ended(audit.EndClientDeleted)}
		}},
		{name: "session.ended/revoked by its client (RFC 7009)", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u := srv.NewUser(t)
			c := newClient(t, srv, map[string]any{"client_name": "web", "grant_types": []string{"authorization_code", "refresh_token"},
				"redirect_uris": []string{"https://app.example.com/cb"}, "scope": "openid"})
			p := clientGrant(t, srv, u.ID, c.ClientID)
			form(t, basicAuth(srv, c.ClientID, c.ClientSecret), "/oauth2/revoke", url.Values{"token": {p.RefreshToken}}).WantStatus(t, http.StatusOK)
			return wantEvent{Type: audit.SessionEnded, UserID: u.ID, ClientID: c.ClientID, Actor: audit.ActorClient,
				Detail: map[string]string{"reason": audit.EndRevoked, "kind": "token"}}
		}},
		{name: audit.KeyRotated, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			var b struct {
				KID string `json:"kid"`
			}
			srv.Admin().Do(t, http.MethodPost, "/admin/v1/keys/rotate?alg=ES256", nil).WantStatus(t, http.StatusOK).Decode(t, &b)
			if b.KID == "" {
				t.Fatal("rotate answered no kid")
			}
			return wantEvent{Type: audit.KeyRotated, Actor: audit.ActorAdmin, Detail: map[string]string{"kid": b.KID, "alg": "ES256"}}
		}},
		{name: audit.UserCreated, cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			var b struct {
				User struct{ ID string } `json:"user"`
			}
			srv.Admin().Do(t, http.MethodPost, "/admin/v1/users", map[string]string{"email": apptest.RandomEmail(), "password": "correct horse"}).
				WantStatus(t, http.StatusCreated).Decode(t, &b)
			return wantEvent{Type: audit.UserCreated, UserID: b.User.ID, Actor: audit.ActorAdmin}
		}},
		{name: "user.updated/password reset", cause: func(t *testing.T, srv *apptest.Server) wantEvent {
			u, c := srv.NewSession(t)
			srv.Admin().Do(t, http.MethodPatch, "/admin/v1/users/"+u.ID, map[string]any{"password": "reset by admin"}).WantStatus(t, http.StatusOK)
			findOnce(t, srv, wantEvent{Type: audit.SessionEnded, UserID: u.ID, SessionID: c.SessionID, Detail: ended(audit.EndPasswordChanged)})
			return wantEvent{Type: audit.UserUpdated, UserID: u.ID, Actor: audit.ActorAdmin, Detail: map[string]string{"fields": "password"}}
		}},
	}
	for _, be := range auditBackends {
		t.Run(be.name, func(t *testing.T) {
			srv := apptest.Start(t, apptest.Options{Args: be.args(t)})
			// A second server with a domain-name issuer, so that passkeys
			// are on (see TestPasskeysOffForIPIssuer), on the same backend.
			pkSrv := apptest.Start(t, apptest.Options{Args: append(be.args(t), "--issuer", pkIssuer)})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if why := tc.skip[be.name]; why != "" {
						t.Skip(why)
					}
					srv := srv
					if tc.passkeys {
						srv = pkSrv
					}
					want := tc.cause(t, srv)
					e := findOnce(t, srv, want)
					if e.Seq <= 0 || e.Time == "" {
						t.Errorf("event %+v has no seq or time", e)
					}
					if want.UserAgent != "" && e.IP == "" {
						t.Errorf("event %+v of a request has no ip", e)
					}
				})
			}
		})
	}
	uncaused := map[string]string{
		audit.UserSessionsEnded:        "the stores list every record before a bulk end, so one session.ended each is written",
		audit.UserEmailChangeRequested: "PATCH /v1/me changes the address at once (user.email_changed); its verification follows",
		audit.RecoveryCodesRegenerated: "no operation regenerates recovery codes yet",
		audit.ClientUpdated:            "clients cannot be updated yet",
	}
	for _, typ := range audit.Types() {
		if !auditSeen[typ] && uncaused[typ] == "" && !t.Failed() {
			t.Errorf("no case of TestAuditEvents causes %s", typ)
		}
	}
}

// TestEventsAPI: filters, pagination, bad filters answer 400 and the
// caller's own listing.
func TestEventsAPI(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u, c := srv.NewSession(t)
	for range 3 {
		srv.NewClient().Do(t, http.MethodPost, "/v1/login", map[string]string{"email": u.Email, "password": "wrong password"}).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	}
	srv.Admin().Do(t, http.MethodDelete, "/admin/v1/users/"+u.ID+"/sessions", nil).WantStatus(t, http.StatusNoContent)

	t.Run("Filters", func(t *testing.T) {
		all := allEvents(t, srv, url.Values{"user_id": {u.ID}})
		var types []string
		for _, e := range all {
			types = append(types, e.Type)
		}
		want := []string{audit.SessionEnded, audit.LoginFailed, audit.LoginFailed, audit.LoginFailed, audit.LoginSucceeded, audit.UserSignedUp}
		if !slices.Equal(types, want) {
			t.Fatalf("events of the user, newest first: %v, want %v", types, want)
		}
		two := allEvents(t, srv, url.Values{"user_id": {u.ID}, "type": {audit.UserSignedUp + "," + audit.SessionEnded}})
		if len(two) != 2 {
			t.Errorf("comma list of types gave %d events, want 2", len(two))
		}
		rep := allEvents(t, srv, url.Values{"user_id": {u.ID}, "type": {audit.UserSignedUp, audit.SessionEnded}})
		if len(rep) != 2 {
			t.Errorf("repeated type gave %d events, want 2", len(rep))
		}
		now := srv.Clock.Now()
		if evs := allEvents(t, srv, url.Values{"user_id": {u.ID}, "since": {now.Add(time.Second).Format(time.RFC3339)}}); len(evs) != 0 {
			t.Errorf("since a second from now: %d events", len(evs))
		}
		if evs := allEvents(t, srv, url.Values{"user_id": {u.ID}, "until": {now.Add(time.Second).Format(time.RFC3339)}, "since": {now.Add(-time.Second).Format(time.RFC3339)}}); len(evs) != len(all) {
			t.Errorf("range around now: %d events, want %d", len(evs), len(all))
		}
		paged := allEvents(t, srv, url.Values{"user_id": {u.ID}, "limit": {"1"}})
		if len(paged) != len(all) {
			t.Errorf("pages of one: %d events, want %d", len(paged), len(all))
		}
	})
	t.Run("BadFilters", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "type=no.such", "type=login.failed,", "since=yesterday",
			"until=2026-01-01", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "cursor=abc", "cursor=e1.-5"} {
			srv.Admin().Do(t, http.MethodGet, "/admin/v1/events?"+q, nil).WantError(t, http.StatusBadRequest, "invalid_request")
		}
	})
	t.Run("AdminOnly", func(t *testing.T) {
		srv.NewClient().Do(t, http.MethodGet, "/admin/v1/events", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
		_, uc := srv.NewSession(t)
		uc.Do(t, http.MethodGet, "/admin/v1/events", nil, "Authorization", "Bearer not-the-admin-token").WantStatus(t, http.StatusUnauthorized)
	})
	t.Run("Mine", func(t *testing.T) {
		c = srv.Login(t, u.Email, u.Password)
		var p eventPage
		c.Do(t, http.MethodGet, "/v1/me/events?limit=3", nil).WantStatus(t, http.StatusOK).Decode(t, &p)
		if len(p.Events) != 3 || p.NextCursor == "" {
			t.Fatalf("own events: %+v", p)
		}
		for _, e := range p.Events {
			if e.UserID != u.ID {
				t.Errorf("own listing shows %+v", e)
			}
			if e.Actor.Kind == audit.ActorAdmin && (e.Actor.ID != "" || e.IP != "" || e.UserAgent != "") {
				t.Errorf("own listing shows the admin's id, address or user agent: %+v", e)
			}
		}
		c.Do(t, http.MethodGet, "/v1/me/events?user_id=someone", nil).WantError(t, http.StatusBadRequest, "invalid_request")
		srv.NewClient().Do(t, http.MethodGet, "/v1/me/events", nil).WantError(t, http.StatusUnauthorized, "unauthenticated")
	})
}
