// Package browser is Gatehouse's real-browser test suite: headless
// Chromium, driven by chromedp, signs in through a real `gatehouse serve`
// on a loopback port, consents, completes the authorization code flow
// with PKCE at a relying party that verifies the ID token with go-oidc,
// uses a cookie session from a same-site app with fetch and the CSRF
// token, logs out (RP-initiated) and sees an error page, at a desktop and
// a mobile viewport.
//
// It is a module of its own so that the browser driver never enters the
// server's module. Scripted HTTP clients send no Origin header and miss
// what browsers do (the no-referrer pages that made every form POST carry
// "Origin: null"); this suite exists to catch that class of bug.
//
// Without a browser the tests skip, loudly; with CI=true they fail.
// The browser is $GATEHOUSE_CHROMIUM, else /usr/bin/chromium (Debian's
// package "chromium"), else chromium, chromium-browser or google-chrome
// on $PATH. Run with -update-screenshots to rewrite docs/img/page-*.png.
package browser
