package httpapi

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	template "github.com/DataDog/datadog-agent/pkg/template/html"
)

// pageFiles holds the server-rendered pages (login, consent, logout,
// messages), their stylesheet and the site's icon.
//
//go:embed pages/*.html pages/gatehouse.css pages/favicon.ico pages/passkey.js
var pageFiles embed.FS

// parsePages parses the pages; the template package escapes every value
// for its context. It is html/template as DataDog's agent keeps it, with
// one change: a template reads fields and map keys but calls no method,
// so the linker can still drop unused methods from the binary
// (docs/decisions.md). Page data holds what the page shows, formatted.
//
// The Server parses the pages on the first page it renders (Server.pages),
// not at start-up: an API-only deployment never pays for them (0.2 MB of
// heap, issue #18). The files are embedded, so a parse error is a build
// defect that every page test catches.
func parsePages() *template.Template {
	return template.Must(template.ParseFS(pageFiles, "pages/*.html"))
}

// pageCSP is the Content-Security-Policy of HTML pages: nothing but the
// stylesheet served from this server; no script at all, no framing. There
// is no form-action directive: the consent and login forms end in a
// redirect to the client, which browsers check against form-action.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageScriptCSP is the Content-Security-Policy of the pages that offer
// passkeys (data "Script": true): pageCSP plus the one script file served
// from this server (never inline script) and its fetch calls to this
// server's API.
const pageScriptCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageReferrerPolicy is the Referrer-Policy of HTML pages, in the header
// and in a meta tag. It must not be no-referrer: under the Fetch standard
// ("serializing a request origin") a form POST from a no-referrer page
// carries "Origin: null", which originOK rightly refuses, so no browser
// could sign in. same-origin sends the real Origin (and Referer) to this
// server and nothing to any other site, so codes and request parameters
// in our URLs never leak in a Referer.
const pageReferrerPolicy = "same-origin"

// Cookie of the login form's CSRF token (double submit): the form carries
// a token derived from it, and only this origin can set it.
const (
	loginCSRFCookie       = "gatehouse_login_csrf"
	secureLoginCSRFCookie = "__Host-gatehouse_login_csrf"
)

// renderPage writes an HTML page with the pages' security headers.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := s.pages().ExecuteTemplate(&buf, name, data); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if script, _ := data["Script"].(bool); script {
		h.Set("Content-Security-Policy", pageScriptCSP)
	} else {
		h.Set("Content-Security-Policy", pageCSP)
	}
	h.Set("Referrer-Policy", pageReferrerPolicy)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderMessage writes a page that says one thing; isError marks it for
// assistive technology.
func (s *Server) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, msg string, isError bool) {
	s.renderPage(w, r, status, "message.html", map[string]any{"Title": title, "Message": msg, "Error": isError})
}

// handleStylesheet serves the pages' stylesheet.
func (s *Server) handleStylesheet(w http.ResponseWriter, r *http.Request) {
	b, err := pageFiles.ReadFile("pages/gatehouse.css")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// handleScript serves the pages' one script, passkey.js (WebAuthn needs
// navigator.credentials). It may be cached for an hour.
func (s *Server) handleScript(w http.ResponseWriter, r *http.Request) {
	b, err := pageFiles.ReadFile("pages/passkey.js")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// handleFavicon serves the site's icon (a 32x32 PNG in an ICO file), so
// that the request every browser makes for /favicon.ico is not a 404. It
// may be cached for a day.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	b, err := pageFiles.ReadFile("pages/favicon.ico")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/vnd.microsoft.icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}

func (s *Server) loginCSRFCookieName() string {
	if s.cfg.SecureCookies {
		return secureLoginCSRFCookie
	}
	return loginCSRFCookie
}

// loginCSRFSecret returns the pre-login CSRF cookie's value, setting a new
// one if the request has none.
func (s *Server) loginCSRFSecret(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.loginCSRFCookieName()); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: s.loginCSRFCookieName(), Value: v, Path: "/", MaxAge: 3600,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	return v
}

// safeReturnTo returns v if it is a path on this server, and "" otherwise:
// only "/" followed by something other than "/" or "\", with no scheme,
// host or control character, so that the login page is never an open
// redirect.
func safeReturnTo(v string) string {
	if len(v) > 8192 || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return v
}
