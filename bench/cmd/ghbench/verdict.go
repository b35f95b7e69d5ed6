package main

import (
	"fmt"
	"strings"
)

// row finds an end-to-end row.
func row(rows []E2ERow, flow, backend string, c int) (E2ERow, bool) {
	for _, r := range rows {
		if r.Flow == flow && r.Backend == backend && r.C == c {
			return r, true
		}
	}
	return E2ERow{}, false
}

func revocation(rep *Report, prefix string) string {
	for _, v := range rep.Revoke {
		if strings.HasPrefix(v.Path, prefix) && v.Sum.N > 0 {
			return fmt.Sprintf("p50 %s ms, p99 %s ms", ms(v.Sum.P50), ms(v.Sum.P99))
		}
	}
	return "not measured"
}

// verdicts writes the decision guide from this run's numbers.
func verdicts(rep *Report) []string {
	cookie, okc := row(rep.E2E, "GET /v1/me cookie", "sqlite", 32)
	bearer, okb := row(rep.E2E, "GET /v1/me bearer", "sqlite", 32)
	costs := "the end-to-end rows were not measured"
	if okc && okb {
		costs = fmt.Sprintf("at c=32 on SQLite, `GET /v1/me` by cookie served %.0f req/s (p99 %s µs, %s µs of server CPU per request) and by bearer token %.0f req/s (p99 %s µs, %s µs CPU)",
			cookie.Gatehouse.RPS, us(cookie.Gatehouse.Lat.P99), cpuStr(cookie.CPUPerReq), bearer.Gatehouse.RPS, us(bearer.Gatehouse.Lat.P99), cpuStr(bearer.CPUPerReq))
	}
	own, feed, other := revocation(rep, "own"), revocation(rep, "verifier"), revocation(rep, "another")
	size := "not measured"
	for _, s := range rep.Sizes {
		if s.Alg == "EdDSA" {
			size = fmt.Sprintf("an EdDSA access token is %d bytes against a %d-byte cookie value", s.AccessToken, s.Cookie)
		}
	}
	login := "not measured"
	if l, ok := row(rep.E2E, "POST /v1/login session", "sqlite", 8); ok {
		login = fmt.Sprintf("%.0f logins/s at c=8 (p50 %s µs), bounded by Argon2id", l.Gatehouse.RPS, us(l.Gatehouse.Lat.P50))
	}
	return []string{
		"The numbers behind every answer are from this run (above): " + costs + "; revocation is seen by Gatehouse's own endpoints in " + own +
			", by a `verifier` subscribed to the feed in " + feed + ", and by another instance in " + other + "; " + size + "; login costs " + login + " in either mode.",
		"",
		"- **Single-page app on the same site as its API**: sessions (cookie). The browser keeps an HttpOnly cookie no script can read, a logout is seen at once (" + own + "), and the check is cheaper than a signature. Tokens in a SPA must live in JavaScript memory or storage, where XSS can take them.",
		"- **Mobile or desktop app**: tokens (`mode: token`, a refresh token in the OS keystore). There is no browser cookie jar to lean on, and a short-lived access token (5 min by default) verified locally keeps every API call free of round trips to Gatehouse.",
		"- **Microservices behind a gateway**: bearer tokens checked by `verifier` in each service. Each check is one signature verification (see the per-request table: tens of µs, no network call) and revocations arrive over the feed in " + feed + "; a cookie would force every service to call Gatehouse (introspection) or share its store.",
		"- **Server-rendered web app**: sessions. The app and Gatehouse share the origin, the cookie check is a hash and a cached lookup, and logout is immediate; tokens only add size (" + size + ") and a revocation window.",
		"- **Regulated data (health, finance)**: sessions for people, or tokens only with the feed subscribed and `FailClosedAfter` set. The requirement is usually that a revoked access stops at once: Gatehouse's own check does (" + own + "); a token is honoured elsewhere until the feed delivers (" + feed + ") or, with the feed down, until it expires.",
	}
}
