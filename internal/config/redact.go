package config

import "net/url"

// RedactURL returns a database or Redis URL fit for messages and logs:
// the user info's password and a password= query parameter (a Redis
// Sentinel URL's master password, which url.URL.Redacted leaves alone)
// are replaced by "xxxxx". An unparsable URL is not echoed at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
