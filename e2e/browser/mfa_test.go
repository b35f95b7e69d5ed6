package browser

import (
	"encoding/base32"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

// TestBrowserTOTP drives the second-factor pages with Chromium, at a
// desktop and a mobile viewport, with codes computed here as an
// authenticator app would (the repository's totp package):
//
//   - acr_values and enrolment: a user signed in with a password signs
//     in to a relying party that asks for urn:gatehouse:acr:mfa; having
//     no factor, they are sent to /mfa/totp, see the QR code and the key,
//     type the app's code, get ten recovery codes once, continue to the
//     consent page and reach the RP, whose ID token says acr mfa;
//   - sign-in: another browser types the password on /login, then the
//     code on the second step the page now shows, and is signed in with
//     amr pwd, otp, mfa.
func TestBrowserTOTP(t *testing.T) {
	chromium(t) // skip before building anything
	g := startGatehouse(t)
	rp := newRelyingParty(t)
	rp.register(t, g)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			email, password := "totp-"+vp.name+"@example.com", "correct horse battery "+vp.name
			g.signup(t, email, password)

			b := newTab(t, vp)
			b.signIn(g, email, password)
			b.navigate(rp.srv.URL + "/start?acr_values=urn:gatehouse:acr:mfa")
			b.waitFor(g.URL, "/mfa/totp", "#secret")
			if n, err := eval[int](b, `document.querySelectorAll("#qr svg path").length`); err != nil || n != 1 {
				t.Errorf("the enrolment page shows no QR code (%d paths, %v)", n, err)
			}
			b.page("totp")
			secret := b.text("#secret")
			key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
			if err != nil {
				t.Fatalf("key %q on the page: %v", secret, err)
			}
			code := func(at time.Time) string {
				t.Helper()
				c, err := totp.GenerateCode(key, at)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			b.typeInto("#code", code(time.Now()))
			b.click(`button[type=submit]`)
			b.waitFor(g.URL, "/mfa/totp", "#recovery-codes")
			b.notExpired("the enrolment form")
			if n, err := eval[int](b, `document.querySelectorAll("#recovery-codes li").length`); err != nil || n != 10 {
				t.Errorf("recovery codes shown: %d (%v), want 10", n, err)
			}
			b.page("recovery-codes")
			b.click("#next")
			b.waitFor(g.URL, "/oauth2/authorize", `button[value=allow]`)
			b.click(`button[value=allow]`)
			b.waitFor(rp.srv.URL, "/", "#who")
			if got, acr := b.text("#who"), b.text("#acr"); got != "Signed in as "+email || acr != "urn:gatehouse:acr:mfa" || b.text("#error") != "" {
				t.Fatalf("at the RP after enrolment: %q, acr %q, error %q", got, acr, b.text("#error"))
			}
			if amr := b.amr(g); !slices.Contains(amr, "mfa") {
				t.Errorf("the enrolling session's amr = %q, want mfa", amr)
			}

			// Another browser signs in with both steps. The code that
			// confirmed the enrolment cannot sign in; the app's next one
			// can (one step of drift is accepted).
			s := newTab(t, vp)
			s.navigate(g.URL + "/login")
			s.waitFor(g.URL, "/login", "#email")
			s.typeInto("#email", email)
			s.typeInto("#password", password)
			s.click(`button[type=submit]`)
			s.waitFor(g.URL, "/login", "#code")
			s.notExpired("the login form")
			s.page("login-mfa")
			s.typeInto("#code", "000000")
			s.click(`button[type=submit]`)
			s.waitFor(g.URL, "/login/mfa", "#code-error")
			s.typeInto("#code", code(time.Now().Add(30*time.Second)))
			s.click(`button[type=submit]`)
			s.waitFor(g.URL, "/login/mfa", "#message")
			s.notExpired("the second step")
			if got := s.text("main"); !strings.Contains(got, "You are signed in") {
				t.Fatalf("after the second step: %q", got)
			}
			if amr := s.amr(g); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
				t.Errorf("two-step page login amr = %q, want [pwd otp mfa]", amr)
			}
		})
	}
}

// amr opens /v1/me in the browser and returns its auth.amr.
func (b *tab) amr(g *gatehouse) []string {
	b.t.Helper()
	b.navigate(g.URL + "/v1/me")
	b.waitFor(g.URL, "/v1/me", "body")
	raw := b.text("body")
	var me struct {
		Auth struct {
			AMR []string `json:"amr"`
		} `json:"auth"`
	}
	if st := b.status(); st != http.StatusOK {
		b.t.Fatalf("%s: /v1/me: %d %s", b.vp.name, st, raw)
	}
	if err := json.Unmarshal([]byte(raw), &me); err != nil {
		b.t.Fatalf("%s: /v1/me: %v: %s", b.vp.name, err, raw)
	}
	return me.Auth.AMR
}
