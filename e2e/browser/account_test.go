package browser

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// uaPhone is the User-Agent of the second device: Chrome on an Android
// phone.
const uaPhone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

// TestBrowserAccountCenter drives the account center (/account) with two
// Chromium instances signed in as the same user, as two devices, at a
// desktop and a mobile viewport: device A opens /account (through the
// login page), sees both devices and an app's token sign-in, and signs
// out device B; B's next requests (GET /v1/me, the account page) are
// refused, and A stays signed in. With -update-screenshots it writes
// docs/img/account-<viewport>.png, the whole page before the sign-out.
func TestBrowserAccountCenter(t *testing.T) {
	chromium(t) // skip before building anything
	g := startGatehouse(t)

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			email, password := "account-"+vp.name+"@example.com", "correct horse battery "+vp.name
			g.signup(t, email, password)
			g.verifyEmail(t, email)
			g.tokenLogin(t, email, password, "PhotoSync/3.2 (iPhone; iOS 18.1)")

			// Device B, a phone, signs in.
			phone := newTab(t, vp, chromedp.UserAgent(uaPhone))
			phone.signIn(g, email, password)

			// Device A opens the account center and is sent to sign in
			// first.
			a := newTab(t, vp)
			a.navigate(g.URL + "/account")
			a.waitFor(g.URL, "/login", "#email")
			a.typeInto("#email", email)
			a.typeInto("#password", password)
			a.click(`button[type=submit]`)
			a.waitFor(g.URL, "/account", "#sessions")
			a.notExpired("the login form")
			if st := a.status(); st != http.StatusOK {
				t.Fatalf("the account page: HTTP %d", st)
			}
			sessions := a.text("#sessions")
			for _, want := range []string{"this device", "Chrome on Android", "PhotoSync on iPhone", "Headless Chrome on Linux", "127.0.0.1"} {
				if !strings.Contains(sessions, want) {
					t.Errorf("the sessions section lacks %q:\n%s", want, sessions)
				}
			}
			if got := a.text("#email-state"); got != "confirmed" {
				t.Errorf("email state %q, want confirmed", got)
			}
			phoneCard, err := eval[string](a, `[...document.querySelectorAll(".card:not(.current)[id^='session-']")].find(e => e.innerText.includes("Chrome on Android"))?.id ?? ""`)
			if err != nil || phoneCard == "" {
				t.Fatalf("no card for the phone (%v):\n%s", err, sessions)
			}
			a.checkLayout("account")
			png, err := a.screenshot(chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			a.save("account-"+vp.name+".png", png)
			if vp.mobile {
				// The narrowest phones the page is made for.
				a.do("a 360 px viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait))
				a.checkLayout("account at 360 px")
			}

			// A signs B out.
			a.click("#" + phoneCard + " button[type=submit]")
			a.waitFor(g.URL, "/account", "#done")
			a.notExpired("the sign-out form")
			if got := a.text("#done"); !strings.Contains(got, "signed out") {
				t.Errorf("after the sign-out: %q", got)
			}
			if gone, _ := eval[bool](a, `document.getElementById(`+jsString(phoneCard)+`) === null`); !gone {
				t.Error("the phone is still listed after its sign-out")
			}

			// B's next requests are refused; A is still signed in.
			if me := phone.me(g); me.Status != http.StatusUnauthorized {
				t.Errorf("the phone after its sign-out: /v1/me %+v, want 401", me)
			}
			phone.navigate(g.URL + "/account")
			phone.waitFor(g.URL, "/login", "#email")
			if got := a.text("#events"); !strings.Contains(got, "Session ended (signed out by you)") || !strings.Contains(got, "Chrome on Android") {
				t.Errorf("the recent activity does not show the sign-out and the phone's sign-in:\n%s", got)
			}
			if me := a.me(g); me.Status != http.StatusOK || me.User.Email != email {
				t.Errorf("device A after signing out the phone: /v1/me %+v, want 200", me)
			}
		})
	}
}

// tokenLogin signs in in token mode as an app with that User-Agent would.
func (g *gatehouse) tokenLogin(t *testing.T, email, password, userAgent string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "mode": "token"})
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token login as %s: %d", userAgent, resp.StatusCode)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
