package oauth

import (
	"net/url"
	"strconv"
	"strings"
)

// The loopback IP literals whose http redirect URIs match on any port
// (RFC 8252 section 7.3), as they appear in a URI.
const (
	loopbackIPv4 = "127.0.0.1"
	loopbackIPv6 = "[::1]"
)

// maxRedirectURILen bounds a registered redirect URI.
const maxRedirectURILen = 2000

// MatchRedirectURI reports whether requested is one of the registered
// redirect URIs. The comparison is exact, byte for byte, with no
// normalisation (RFC 6749 section 3.1.2.3, RFC 9700 section 4.1.3), with
// one exception: a registered http URI whose host is the loopback IP
// literal 127.0.0.1 or [::1] matches a request that differs from it only
// in the port, present or not, because a native app listens on whatever
// port the operating system gives it (RFC 8252 section 7.3). The host
// literal, the path and the query must still be identical. "localhost"
// gets no such exception: RFC 8252 section 8.3 advises against it, and it
// is matched exactly.
func MatchRedirectURI(registered []string, requested string) bool {
	for _, r := range registered {
		if requested == r || loopbackMatch(r, requested) {
			return true
		}
	}
	return false
}

// loopbackMatch reports whether registered and requested are loopback IP
// redirect URIs that differ at most in their ports.
func loopbackMatch(registered, requested string) bool {
	rh, rrest, ok := splitLoopback(registered)
	if !ok {
		return false
	}
	qh, qrest, ok := splitLoopback(requested)
	return ok && rh == qh && rrest == qrest
}

// splitLoopback splits an "http://" URI whose host is a loopback IP
// literal into that literal and what follows the port (the path and the
// query, which start with "/" or "?", or nothing). It reports false for
// any other URI, and for a port that is not a number from 1 to 65535
// written without leading zeros. Working on the string, rather than on a
// parsed URL, keeps the match exact: no parser's normalisation can make
// two different strings equal.
func splitLoopback(uri string) (host, rest string, ok bool) {
	after, found := strings.CutPrefix(uri, "http://")
	if !found {
		return "", "", false
	}
	for _, h := range []string{loopbackIPv4, loopbackIPv6} {
		if r, found := strings.CutPrefix(after, h); found {
			host, after = h, r
			break
		}
	}
	if host == "" {
		return "", "", false
	}
	if p, found := strings.CutPrefix(after, ":"); found {
		i := 0
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		if !validPort(p[:i]) {
			return "", "", false
		}
		after = p[i:]
	}
	if after != "" && after[0] != '/' && after[0] != '?' {
		return "", "", false
	}
	return host, after, true
}

// validPort reports whether p is a port number from 1 to 65535 without
// leading zeros.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// checkRedirectURI returns why uri cannot be registered as a redirect URI,
// or "" if it can. A redirect URI is an absolute URI without a fragment
// (RFC 6749 section 3.1.2) and without user information, written in
// printable ASCII, whose scheme is
//
//   - https, with a host;
//   - http, only for loopback redirects of native apps: the host is
//     127.0.0.1 or [::1] (any port will match, RFC 8252 section 7.3) or
//     localhost (matched exactly);
//   - a private-use scheme of a native app in reverse domain name form,
//     such as com.example.app (RFC 8252 section 7.1); requiring the dot
//     also keeps out javascript:, data: and file:.
func checkRedirectURI(uri string) string {
	if uri == "" {
		return "must not be empty"
	}
	if len(uri) > maxRedirectURILen {
		return "is longer than " + strconv.Itoa(maxRedirectURILen) + " bytes"
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c >= 0x7f {
			return "must be printable ASCII without spaces (percent-encode anything else)"
		}
	}
	if strings.Contains(uri, "#") {
		return "must not contain a fragment (RFC 6749 section 3.1.2)"
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "is not a valid URI"
	}
	if u.Scheme == "" {
		return "must be an absolute URI"
	}
	if !strings.HasPrefix(uri, u.Scheme+":") {
		return "must have a lower-case scheme"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	switch {
	case u.Scheme == "https":
		if u.Host == "" || u.Hostname() == "" {
			return "must name a host"
		}
	case u.Scheme == "http":
		if _, _, ok := splitLoopback(uri); ok {
			return ""
		}
		switch h := u.Hostname(); {
		case h == "127.0.0.1" || h == "::1" || h == "localhost":
			if u.Host != h && !validPort(u.Port()) {
				return "has an invalid port"
			}
			if h == "localhost" {
				return ""
			}
			return "must write a loopback address as http://127.0.0.1 or http://[::1]"
		}
		return "may use http only for a loopback redirect (http://127.0.0.1, http://[::1] or http://localhost); use https"
	case strings.Contains(u.Scheme, "."):
		// A private-use scheme (RFC 8252 section 7.1).
	default:
		return "must use https, http on a loopback address, or a private-use scheme in reverse domain name form such as com.example.app (RFC 8252 section 7.1)"
	}
	return ""
}
