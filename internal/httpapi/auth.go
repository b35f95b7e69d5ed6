package httpapi

import (
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Cookie names: the __Host- prefix binds the cookie to the exact host and
// requires Secure, so it is used whenever the issuer is https.
const (
	cookieName       = "gatehouse_session"
	secureCookieName = "__Host-gatehouse"
	// CSRFHeader carries the CSRF token on unsafe cookie requests.
	CSRFHeader = "X-CSRF-Token"
)

// AdminScope is the scope that makes a client credentials token an admin
// credential.
const AdminScope = oauth.ScopeAdmin

// IntrospectScope is the scope of a resource server: its client
// credentials token may introspect every token and session cookie.
const IntrospectScope = oauth.ScopeIntrospect

// serviceToken reports whether p is a client credentials token carrying
// scope: a token that acts for a user (it has a user or a grant) never
// carries the server's own powers, whatever its scope says.
func serviceToken(p authn.Principal, scope string) bool {
	return p.Method == authn.MethodJWT && p.UserID == "" && p.SessionID == "" && p.HasScope(scope)
}

func (s *Server) cookieName() string {
	if s.cfg.SecureCookies {
		return secureCookieName
	}
	return cookieName
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// cookieSecret returns the session cookie's value, if sent.
func (s *Server) cookieSecret(r *http.Request) (string, bool) {
	return cookieValue(r.Header, s.cookieName())
}

// maxCookies is net/http's default limit on the cookies of a request:
// past it, (*http.Request).Cookie finds none.
const maxCookies = 3000

// cookieValue returns the value of the cookie name (a valid cookie name)
// in h's Cookie lines, as (*http.Request).Cookie reads it: the first
// cookie of that name whose value is valid, surrounding double quotes
// removed. It allocates nothing, where Cookie allocates the list of
// cookies and the one found: it runs on every cookie-authenticated
// request (issue #18). FuzzCookieValue holds it to Cookie.
func cookieValue(h http.Header, name string) (string, bool) {
	lines := h["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxCookies {
		return "", false
	}
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			k, v, _ := strings.Cut(part, "=")
			if part == "" || textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// validCookieValue reports whether v has only the bytes net/http accepts
// in a cookie value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// authenticate finds the principal of a request: a bearer token when an
// Authorization header is present (it never falls back to the cookie),
// the session cookie otherwise.
func (s *Server) authenticate(r *http.Request) (authn.Principal, error) {
	if tok, present := bearerToken(r); present {
		if tok == "" || s.deps.Bearer == nil {
			return authn.Principal{}, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Description: "invalid bearer token", Bearer: true}
		}
		p, err := s.deps.Bearer.AuthenticateBearer(r.Context(), tok)
		if err != nil {
			return authn.Principal{}, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Description: "invalid or expired token", Bearer: true}
		}
		return p, nil
	}
	secret, ok := s.cookieSecret(r)
	if !ok {
		return authn.Principal{}, errUnauthenticated
	}
	sess, err := s.deps.Sessions.AuthenticateCookie(r.Context(), secret)
	if err != nil {
		return authn.Principal{}, err
	}
	return authn.Principal{
		Method:        authn.MethodSession,
		UserID:        sess.UserID,
		SessionID:     sess.ID,
		ExpiresAt:     nextTimeout(sess),
		CookieSecret:  secret,
		Auth:          session.AuthOf(sess),
		EnrolmentOnly: sess.EnrolmentOnly,
	}, nil
}

// nextTimeout is when a session dies if nothing happens.
func nextTimeout(s store.Session) time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// user wraps a handler that needs a user principal. Cookie-authenticated
// requests with unsafe methods must pass the CSRF check. An
// enrolment-only session is refused (403 mfa_enrolment_required): see
// enrolling.
func (s *Server) user(next func(http.ResponseWriter, *http.Request, authn.Principal)) http.Handler {
	return s.userHandler(next, false)
}

// enrolling is user for the few requests an enrolment-only session may
// make (a user who must use a second factor and has none): reading who it
// is (GET /v1/me, GET /v1/session), logging out, and enrolling a factor
// (TOTP, passkey registration).
func (s *Server) enrolling(next func(http.ResponseWriter, *http.Request, authn.Principal)) http.Handler {
	return s.userHandler(next, true)
}

func (s *Server) userHandler(next func(http.ResponseWriter, *http.Request, authn.Principal), enrolmentOnlyOK bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			if errors.Is(err, session.ErrInvalid) {
				s.clearCookie(w)
			}
			s.writeError(w, r, err)
			return
		}
		if p.UserID == "" {
			// Admin or client-credentials tokens are not users.
			s.writeError(w, r, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Description: "this token does not belong to a user", Bearer: p.Method == authn.MethodJWT})
			return
		}
		if p.Method == authn.MethodSession && !s.csrfOK(r, p) {
			s.writeError(w, r, errCSRF)
			return
		}
		if p.EnrolmentOnly && !enrolmentOnlyOK && !s.enrolledSince(r, &p) {
			s.writeError(w, r, accounts.ErrMFAEnrolmentRequired)
			return
		}
		next(w, withPrincipal(r, p, audit.Actor{Kind: audit.ActorUser, ID: p.UserID}), p)
	})
}

// admin wraps a handler for administrators: the admin token, or a
// client credentials JWT carrying the gatehouse:admin scope. User tokens
// are refused whatever their scope.
func (s *Server) admin(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, present := bearerToken(r)
		if !present {
			s.writeError(w, r, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Description: "admin credentials required"})
			return
		}
		if tok != "" && s.isAdminToken(tok) {
			p := authn.Principal{Method: authn.MethodAdmin}
			next(w, withPrincipal(r, p, audit.Actor{Kind: audit.ActorAdmin, ID: ActorAdminToken}))
			return
		}
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !serviceToken(p, AdminScope) {
			// Without the scope, or a user's token: a user cannot
			// hold admin power through a token.
			s.writeError(w, r, errForbidden)
			return
		}
		next(w, withPrincipal(r, p, audit.Actor{Kind: audit.ActorAdmin, ID: p.ClientID}))
	})
}

// csrfOK checks an unsafe cookie-authenticated request: the X-CSRF-Token
// header must hold a token of this session and an Origin header, if sent,
// must be trusted.
func (s *Server) csrfOK(r *http.Request, p authn.Principal) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if !s.originOK(r) {
		return false
	}
	return session.ValidCSRFToken(p.CookieSecret, r.Header.Get(CSRFHeader))
}

// originOK reports whether the request has no Origin header or one that
// is the issuer's or trusted.
func (s *Server) originOK(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || s.origins[o]
}

// setSessionCookie sends the cookie of a new session. It lives until the
// session's absolute expiry; the server ends it sooner if it goes idle.
func (s *Server) setSessionCookie(w http.ResponseWriter, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(),
		Value:    secret,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(expires.Sub(s.now()).Seconds()),
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie tells the browser to drop the session cookie.
func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// enrolledSince reports whether the enrolment-only session of p, as this
// instance cached it, has enrolled since (through another instance): it
// reads the record, and if the restriction is gone updates p and drops
// the stale cache entry.
func (s *Server) enrolledSince(r *http.Request, p *authn.Principal) bool {
	if p.Method != authn.MethodSession {
		return false
	}
	rec, err := s.deps.Sessions.Get(r.Context(), p.SessionID)
	if err != nil || rec.EnrolmentOnly {
		return false
	}
	s.deps.Sessions.Evict(rec.ID)
	p.EnrolmentOnly, p.Auth = false, session.AuthOf(rec)
	return true
}
