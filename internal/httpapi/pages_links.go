package httpapi

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/session"
)

// linkPage is a page that a mailed link opens: /verify or /recover.
//
// The mail's link is <issuer><path>?token=<secret>. The page never acts
// on that GET (mail scanners and link previews follow links): it moves
// the secret into a short-lived cookie scoped to the page's path and
// redirects to the bare path, so the secret leaves the address bar, the
// browser's history entry and any Referer; the form on the page then
// posts, and the POST reads the secret from the cookie. See
// docs/decisions.md, "Pages for the mailed links".
type linkPage struct {
	// path is the page's path, and the cookie's.
	path string
	// cookie is the cookie's name on an http issuer; an https one adds
	// the __Secure- prefix (__Host- would need Path=/).
	cookie string
}

var (
	verifyPage  = linkPage{path: "/verify", cookie: "gatehouse_verify"}
	recoverPage = linkPage{path: "/recover", cookie: "gatehouse_recover"}
)

// linkCookieMaxAge is how long, in seconds, a browser keeps a link's
// secret after opening the link: long enough to read the page and type
// a password. The mail's link keeps working until the secret itself
// expires, so opening it again starts over.
const linkCookieMaxAge = 30 * 60

// maxLinkToken bounds the secrets the pages accept from a link; real ones
// are far shorter.
const maxLinkToken = 256

func (s *Server) linkCookieName(p linkPage) string {
	if s.cfg.SecureCookies {
		return "__Secure-" + p.cookie
	}
	return p.cookie
}

// plausibleLinkToken reports whether v can be a mailed secret: 1 to
// maxLinkToken characters of the base64url alphabet (so also a valid
// cookie value). Whether it is a live secret is for the service to say.
func plausibleLinkToken(v string) bool {
	if v == "" || len(v) > maxLinkToken {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// stashLinkToken handles GET <path>?token=: it keeps a plausible secret
// in the page's cookie and redirects to the bare path, and answers the
// "link no longer works" page for anything else. It reports whether the
// request had a token parameter (and so was answered).
func (s *Server) stashLinkToken(w http.ResponseWriter, r *http.Request, p linkPage, invalid func()) bool {
	q := r.URL.Query()
	if !q.Has("token") {
		return false
	}
	tok := q.Get("token")
	if len(q["token"]) != 1 || !plausibleLinkToken(tok) {
		invalid()
		return true
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.linkCookieName(p), Value: tok, Path: p.path, MaxAge: linkCookieMaxAge,
		// Lax, not Strict: the link is opened from a mail client, often a
		// web mail on another site, and the redirect that follows is part
		// of that cross-site navigation.
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, (&url.URL{Path: p.path}).String(), http.StatusSeeOther)
	return true
}

// linkToken returns the secret the browser keeps for the page.
func (s *Server) linkToken(r *http.Request, p linkPage) (string, bool) {
	c, err := r.Cookie(s.linkCookieName(p))
	if err != nil || !plausibleLinkToken(c.Value) {
		return "", false
	}
	return c.Value, true
}

// dropLinkToken tells the browser to forget the page's secret.
func (s *Server) dropLinkToken(w http.ResponseWriter, p linkPage) {
	http.SetCookie(w, &http.Cookie{
		Name: s.linkCookieName(p), Value: "", Path: p.path, MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// pageFormOK checks a page form's CSRF defences, as the login form does:
// an Origin that is absent, the issuer's or a trusted one ("null" never
// is), and a csrf_token derived from the pre-login CSRF cookie.
func (s *Server) pageFormOK(r *http.Request, form url.Values) bool {
	c, err := r.Cookie(s.loginCSRFCookieName())
	return s.originOK(r) && err == nil && session.ValidCSRFToken(c.Value, form.Get("csrf_token"))
}

// renderNotice writes a one-message page with a link (a button) to a next
// step on this server.
func (s *Server) renderNotice(w http.ResponseWriter, r *http.Request, status int, title, msg string, isError bool, link, linkText string) {
	s.renderPage(w, r, status, "message.html", map[string]any{
		"Title": title, "Message": msg, "Error": isError, "Link": link, "LinkText": linkText,
	})
}

// linkPageRoutes mounts the pages of the mailed links.
func (s *Server) linkPageRoutes() {
	m := s.mux
	m.HandleFunc("GET /verify", s.handleVerifyPage)
	m.HandleFunc("POST /verify", s.handleVerifySubmit)
	m.HandleFunc("GET /recover", s.handleRecoverPage)
	m.HandleFunc("POST /recover", s.handleRecoverSubmit)
}
