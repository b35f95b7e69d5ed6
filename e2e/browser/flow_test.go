package browser

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBrowserSignInFlows drives every Gatehouse page with Chromium, at a
// desktop and a mobile viewport: the login page (and its error), consent,
// the authorization code flow with PKCE back to a relying party that
// verifies the ID token, a same-site app using the cookie session with
// fetch and the CSRF token, prompt=select_account, RP-initiated logout
// with its confirmation form, and an error page.
func TestBrowserSignInFlows(t *testing.T) {
	chromium(t) // skip before building anything
	var issuer string
	app := newSessionApp(t, &issuer)
	rp := newRelyingParty(t)
	g := startGatehouse(t, "--trusted-origins", app.URL)
	issuer = g.URL
	rp.register(t, g)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			email, password := vp.name+"@example.com", "correct horse battery "+vp.name
			g.signup(t, email, password)
			b := newTab(t, vp)

			// The RP sends the browser to Gatehouse, which asks for a login.
			b.navigate(rp.srv.URL + "/")
			b.waitFor(rp.srv.URL, "/", "#signin")
			b.click("#signin")
			b.waitFor(g.URL, "/login", "#email")
			b.page("login")

			// A wrong password: the page again, with the email typed kept.
			b.typeInto("#email", email)
			b.typeInto("#password", "wrong password")
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/login", "#login-error")
			b.notExpired("the login form")
			if got := b.text("#login-error"); !strings.Contains(got, "Wrong email or password") {
				t.Errorf("login error %q", got)
			}
			if got := b.value("#email"); got != email {
				t.Errorf("after an error the email field holds %q, want %q", got, email)
			}
			b.page("login-error")

			// The right password: the consent page of the third-party RP.
			b.typeInto("#password", password)
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/oauth2/authorize", `button[value=allow]`)
			b.notExpired("the login form")
			if got := b.text("main"); !strings.Contains(got, "Example RP") || !strings.Contains(got, email) {
				t.Errorf("consent page: %q", got)
			}
			b.page("consent")

			// Allow: back at the RP with a verified ID token.
			b.click(`button[value=allow]`)
			b.waitFor(rp.srv.URL, "/", "#who")
			b.notExpired("the consent form")
			if got := b.text("#who"); got != "Signed in as "+email || b.text("#error") != "" {
				t.Fatalf("RP: %q %q", got, b.text("#error"))
			}

			// prompt=select_account: the login page with the account signed
			// in; continue as it.
			b.navigate(rp.srv.URL + "/start?prompt=select_account")
			b.waitFor(g.URL, "/oauth2/authorize", "#continue")
			if got := b.text("#continue"); got != "Continue as "+email {
				t.Errorf("account chooser: %q", got)
			}
			b.page("select-account")
			b.click("#continue")
			b.waitFor(rp.srv.URL, "/", "#who")
			if got := b.text("#who"); got != "Signed in as "+email || b.text("#error") != "" {
				t.Fatalf("RP after select_account: %q %q", got, b.text("#error"))
			}

			// The same-site app uses the cookie session with fetch.
			b.navigate(app.URL + "/")
			res := appResult(t, b)
			if res.Session != http.StatusOK || res.Put != http.StatusOK || res.Email != email || len(res.Data.Cart) != 1 {
				t.Errorf("session app: %+v", res)
			}
			if res.PutWithoutToken != http.StatusForbidden {
				t.Errorf("session app: a PUT without the CSRF token answered %d, want 403", res.PutWithoutToken)
			}

			// RP-initiated logout, confirmed with Gatehouse's form.
			b.navigate(rp.srv.URL + "/")
			b.waitFor(rp.srv.URL, "/", "#signout")
			b.click("#signout")
			b.waitFor(g.URL, "/oauth2/logout", `button[type=submit]`)
			if got := b.text("main"); !strings.Contains(got, "Example RP") {
				t.Errorf("logout page: %q", got)
			}
			b.page("logout")
			b.click(`button[type=submit]`)
			b.waitFor(rp.srv.URL, "/signed-out", "#who")
			b.notExpired("the logout form")
			if got := b.text("#who"); got != "Not signed in" || b.text("#error") != "" {
				t.Errorf("after logout the RP shows %q %q", got, b.text("#error"))
			}
			b.navigate(app.URL + "/")
			if res := appResult(t, b); res.Session != http.StatusUnauthorized {
				t.Errorf("after logout the session app got %+v, want a 401", res)
			}

			// An error page: an authorization request of an unknown client.
			b.navigate(g.URL + "/oauth2/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2F")
			b.waitFor(g.URL, "/oauth2/authorize", "main")
			if st, got := b.status(), b.text("main"); st != http.StatusBadRequest || !strings.Contains(got, "Invalid request") {
				t.Errorf("error page: %d %q", st, got)
			}
			b.page("error")
		})
	}
}

// appResult is what the session app's script found.
type appState struct {
	Session, PutWithoutToken, Put int
	Email                         string
	Data                          struct{ Cart []string }
	Error                         string
}

func appResult(t *testing.T, b *tab) appState {
	t.Helper()
	b.waitFor(strings.TrimSuffix(b.currentOrigin(), "/"), "/", "#status")
	var raw string
	for range 200 {
		s, err := eval[string](b, `window.result === undefined ? "" : JSON.stringify(window.result)`)
		if err == nil && s != "" {
			raw = s
			break
		}
		waitABit()
	}
	var st appState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("session app result %q: %v\npage: %s", raw, err, b.describe())
	}
	if st.Error != "" {
		t.Fatalf("session app: %s", st.Error)
	}
	return st
}
