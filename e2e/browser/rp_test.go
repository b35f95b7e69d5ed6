package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// relyingParty is a small web app that signs its users in with Gatehouse
// as a real one does: x/oauth2 for the authorization code flow with PKCE
// (S256), go-oidc for discovery and ID token verification (signature,
// issuer, audience, expiry, nonce), and RP-initiated logout.
type relyingParty struct {
	srv    *httptest.Server
	issuer string
	client client

	mu      sync.Mutex
	pending map[string]authRequest // by state
	claims  map[string]any         // of the signed-in user, nil if none
}

type authRequest struct{ verifier, nonce string }

// newRelyingParty starts the app on a loopback port. Call register once
// Gatehouse runs.
func newRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{pending: map[string]authRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", rp.home)
	mux.HandleFunc("GET /start", rp.start)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("GET /signout", rp.signout)
	mux.HandleFunc("GET /signed-out", rp.signedOut)
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

// register registers the app as a third-party (consent) client.
func (rp *relyingParty) register(t *testing.T, g *gatehouse) {
	rp.issuer = g.URL
	rp.client = g.registerClient(t, map[string]any{
		"client_name":                "Example RP",
		"grant_types":                []string{"authorization_code"},
		"redirect_uris":              []string{rp.srv.URL + "/callback"},
		"post_logout_redirect_uris":  []string{rp.srv.URL + "/signed-out"},
		"scope":                      "openid email profile",
		"token_endpoint_auth_method": "client_secret_basic",
	})
}

func (rp *relyingParty) config(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	p, err := oidc.NewProvider(ctx, rp.issuer)
	if err != nil {
		return nil, nil, err
	}
	return p, &oauth2.Config{
		ClientID: rp.client.ID, ClientSecret: rp.client.Secret, Endpoint: p.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback", Scopes: []string{oidc.ScopeOpenID, "email"},
	}, nil
}

var rpPage = template.Must(template.New("rp").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Example RP</title></head>
<body><h1>Example RP</h1>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
{{if .Email}}<p id="who">Signed in as {{.Email}}</p><p id="acr">{{.ACR}}</p><p><a id="signout" href="/signout">Sign out</a></p>
{{else}}<p id="who">Not signed in</p><p><a id="signin" href="/start">Sign in with Gatehouse</a></p>{{end}}
</body></html>`))

func (rp *relyingParty) render(w http.ResponseWriter, status int, errMsg string) {
	rp.mu.Lock()
	email, _ := rp.claims["email"].(string)
	acr, _ := rp.claims["acr"].(string)
	rp.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = rpPage.Execute(w, map[string]string{"Email": email, "ACR": acr, "Error": errMsg})
}

func (rp *relyingParty) home(w http.ResponseWriter, r *http.Request) { rp.render(w, 200, "") }

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// start sends the browser to the authorization endpoint; prompt and
// acr_values query parameters are passed on.
func (rp *relyingParty) start(w http.ResponseWriter, r *http.Request) {
	_, cfg, err := rp.config(r.Context())
	if err != nil {
		rp.render(w, http.StatusBadGateway, "discovery: "+err.Error())
		return
	}
	state, req := random(), authRequest{verifier: oauth2.GenerateVerifier(), nonce: random()}
	rp.mu.Lock()
	rp.pending[state] = req
	rp.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.verifier), oidc.Nonce(req.nonce)}
	for _, name := range []string{"prompt", "acr_values"} {
		if v := r.URL.Query().Get(name); v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(name, v))
		}
	}
	http.Redirect(w, r, cfg.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback redeems the code with the PKCE verifier and verifies the ID
// token, as every OpenID Connect RP must.
func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rp.mu.Lock()
	req, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	if !ok {
		rp.render(w, http.StatusBadRequest, "unknown state")
		return
	}
	if e := q.Get("error"); e != "" {
		rp.render(w, http.StatusOK, "Gatehouse answered "+e)
		return
	}
	if q.Get("iss") != rp.issuer {
		rp.render(w, http.StatusBadRequest, "iss "+q.Get("iss")+" is not the issuer (RFC 9207)")
		return
	}
	p, cfg, err := rp.config(r.Context())
	if err != nil {
		rp.render(w, http.StatusBadGateway, "discovery: "+err.Error())
		return
	}
	tok, err := cfg.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(req.verifier))
	if err != nil {
		rp.render(w, http.StatusBadGateway, "token: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: rp.client.ID}).Verify(r.Context(), raw)
	if err != nil {
		rp.render(w, http.StatusBadGateway, "id token: "+err.Error())
		return
	}
	if idt.Nonce != req.nonce {
		rp.render(w, http.StatusBadGateway, "id token: wrong nonce")
		return
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		rp.render(w, http.StatusBadGateway, "at_hash: "+err.Error())
		return
	}
	ui, err := p.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject {
		rp.render(w, http.StatusBadGateway, fmt.Sprintf("userinfo: %v", err))
		return
	}
	claims := map[string]any{}
	if err := ui.Claims(&claims); err != nil {
		rp.render(w, http.StatusBadGateway, "userinfo: "+err.Error())
		return
	}
	// How the user authenticated comes from the ID token (acr, amr).
	var how struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&how); err != nil {
		rp.render(w, http.StatusBadGateway, "id token claims: "+err.Error())
		return
	}
	claims["acr"] = how.ACR
	rp.mu.Lock()
	rp.claims = claims
	rp.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signout starts RP-initiated logout without an id_token_hint, so that
// Gatehouse asks the user to confirm with its logout form.
func (rp *relyingParty) signout(w http.ResponseWriter, r *http.Request) {
	p, _, err := rp.config(r.Context())
	if err != nil {
		rp.render(w, http.StatusBadGateway, "discovery: "+err.Error())
		return
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.EndSession == "" {
		rp.render(w, http.StatusBadGateway, "no end_session_endpoint")
		return
	}
	rp.mu.Lock()
	rp.claims = nil
	rp.mu.Unlock()
	q := url.Values{"client_id": {rp.client.ID}, "post_logout_redirect_uri": {rp.srv.URL + "/signed-out"}, "state": {"bye"}}
	http.Redirect(w, r, meta.EndSession+"?"+q.Encode(), http.StatusFound)
}

func (rp *relyingParty) signedOut(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("state") != "bye" {
		rp.render(w, http.StatusBadRequest, "wrong state after logout")
		return
	}
	rp.render(w, http.StatusOK, "")
}
