package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserPasskeys does, with Chromium's virtual authenticator (the
// DevTools WebAuthn domain: a CTAP2 platform authenticator with resident
// keys and user verification), at a desktop and a mobile viewport,
// exactly the steps of docs/mfa.md "Passkeys in a browser":
//
//  1. sign in with the password at /login;
//  2. open /account/passkeys, type a name, press "Add a passkey";
//  3. sign out, then at /login press "Sign in with a passkey": no email,
//     no password;
//  4. sign out, sign in with the password: the second step asks for the
//     passkey ("Use your passkey");
//  5. open /reauth and press "Use your passkey": the step-up of that
//     session, back to return_to.
//
// The server's issuer is http://localhost:PORT: WebAuthn needs a domain
// name as RP ID, and 127.0.0.1 is none.
func TestBrowserPasskeys(t *testing.T) {
	chromium(t) // skip before building anything
	g := startGatehouseAt(t, "localhost")

	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			email, password := "passkey-"+vp.name+"@example.com", "correct horse battery "+vp.name
			g.signup(t, email, password)
			b := newTab(t, vp)
			authenticator := b.virtualAuthenticator()

			// 1. Password.
			b.signIn(g, email, password)

			// 2. Add a passkey on the management page.
			b.navigate(g.URL + "/account/passkeys")
			b.waitFor(g.URL, "/account/passkeys", "#passkey-add:not([hidden])")
			if got := b.text("main"); !strings.Contains(got, "You have no passkeys yet") {
				t.Errorf("passkeys page before adding one: %q", got)
			}
			b.page("passkeys-empty")
			b.typeInto("#passkey-name", "This browser")
			b.click("#passkey-add-button")
			b.waitFor(g.URL, "/account/passkeys", "li.passkey")
			if got := b.text("#passkeys"); !strings.Contains(got, "This browser") || !strings.Contains(got, "never used") {
				t.Errorf("passkeys page after adding one: %q", got)
			}
			b.page("passkeys")
			if creds := b.credentials(authenticator); len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
				t.Fatalf("the virtual authenticator holds %+v, want one discoverable credential for localhost", creds)
			}

			// 3. Sign out; sign in with the passkey alone.
			b.signOut()
			b.navigate(g.URL + "/login")
			b.waitFor(g.URL, "/login", "#passkey-signin:not([hidden]) #passkey-login")
			b.page("login-passkey")
			b.click("#passkey-login")
			b.waitFor(g.URL, "/login", "#message")
			if got := b.text("main"); !strings.Contains(got, "You are signed in") {
				t.Fatalf("after Sign in with a passkey: %q", got)
			}
			me := b.meAuth(g)
			if me.Status != http.StatusOK || me.User.Email != email || !slices.Equal(me.Auth.AMR, []string{"hwk", "user", "mfa"}) {
				t.Fatalf("after the passkey login /v1/me: %+v, want %s with amr [hwk user mfa]", me, email)
			}

			// 4. Sign out; the password now asks for the passkey too.
			b.signOut()
			b.navigate(g.URL + "/login")
			b.waitFor(g.URL, "/login", "#email")
			b.typeInto("#email", email)
			b.typeInto("#password", password)
			b.click(`form button[type=submit]`)
			b.waitFor(g.URL, "/login", "#passkey-signin:not([hidden]) #passkey-login")
			b.notExpired("the login form")
			b.page("login-passkey-second-step")
			b.click("#passkey-login")
			b.waitFor(g.URL, "/login", "#message")
			if me := b.meAuth(g); me.Status != http.StatusOK || !slices.Equal(me.Auth.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
				t.Fatalf("after password + passkey /v1/me: %+v, want amr [pwd hwk user mfa]", me)
			}

			// 5. Step-up of this session with the passkey on /reauth.
			b.navigate(g.URL + "/reauth?return_to=%2Fv1%2Fme")
			b.waitFor(g.URL, "/reauth", "#passkey-reauth-box:not([hidden]) #passkey-reauth")
			if got := b.text("main"); !strings.Contains(got, "Use your passkey") {
				t.Errorf("/reauth of a passkey account: %q", got)
			}
			b.click("#passkey-reauth")
			b.waitFor(g.URL, "/v1/me", "body")
			if me := b.meAuth(g); me.Status != http.StatusOK || !slices.Equal(me.Auth.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
				t.Fatalf("after the passkey step-up /v1/me: %+v, want amr [pwd hwk user mfa]", me)
			}
		})
	}
}

// virtualAuthenticator enables the WebAuthn domain in the tab and adds a
// platform authenticator like a phone's or a laptop's: CTAP2, internal
// transport, resident keys, user verification that succeeds, presence
// simulated.
func (b *tab) virtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return "", fmt.Errorf("WebAuthn.enable: %w", err)
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport:      webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true,
		}})
		if err != nil {
			return "", fmt.Errorf("WebAuthn.addVirtualAuthenticator: %w", err)
		}
		return res.AuthenticatorID, nil
	})
	if err != nil {
		b.t.Fatalf("%s: %v", b.vp.name, err)
	}
	return id
}

// credentials lists the credentials the virtual authenticator holds.
func (b *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (webauthn.GetCredentialsResult, error) {
		return cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	})
	if err != nil {
		b.t.Fatalf("%s: WebAuthn.getCredentials: %v", b.vp.name, err)
	}
	return res.Credentials
}

// signOut drops the browser's cookies, as closing a private window does;
// the virtual authenticator keeps its passkeys.
func (b *tab) signOut() {
	b.t.Helper()
	b.do("clear cookies", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
}

// meAuthAnswer is what GET /v1/me showed the browser, with how the
// session authenticated.
type meAuthAnswer struct {
	Status int
	User   struct {
		Email string `json:"email"`
	} `json:"user"`
	Auth struct {
		AMR []string `json:"amr"`
	} `json:"auth"`
}

func (b *tab) meAuth(g *gatehouse) meAuthAnswer {
	b.t.Helper()
	b.navigate(g.URL + "/v1/me")
	b.waitFor(g.URL, "/v1/me", "body")
	var m meAuthAnswer
	m.Status = b.status()
	if m.Status == http.StatusOK {
		if raw := b.text("body"); json.Unmarshal([]byte(raw), &m) != nil {
			b.t.Fatalf("%s: /v1/me: %s", b.vp.name, raw)
		}
	}
	return m
}
