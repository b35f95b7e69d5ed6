package oauth

import (
	"net/url"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	tests := []struct {
		name       string
		registered string
		requested  string
		want       bool
	}{
		{"exact https", "https://app.example.com/cb", "https://app.example.com/cb", true},
		{"https other path", "https://app.example.com/cb", "https://app.example.com/cb2", false},
		{"https trailing slash", "https://app.example.com/cb", "https://app.example.com/cb/", false},
		{"https added query", "https://app.example.com/cb", "https://app.example.com/cb?x=1", false},
		{"https other port", "https://app.example.com/cb", "https://app.example.com:8443/cb", false},
		{"https case of host", "https://app.example.com/cb", "https://APP.example.com/cb", false},
		{"https case of scheme", "https://app.example.com/cb", "HTTPS://app.example.com/cb", false},
		{"https percent-encoding", "https://app.example.com/a b", "https://app.example.com/a%20b", false},
		{"https fragment", "https://app.example.com/cb", "https://app.example.com/cb#x", false},
		{"https subdomain", "https://example.com/cb", "https://evil.example.com/cb", false},
		{"https user info", "https://app.example.com/cb", "https://app.example.com@evil.com/cb", false},

		{"loopback v4 any port", "http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", true},
		{"loopback v4 registered port", "http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb", true},
		{"loopback v4 no port", "http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", true},
		{"loopback v4 query", "http://127.0.0.1/cb?a=1", "http://127.0.0.1:1/cb?a=1", true},
		{"loopback v4 no path", "http://127.0.0.1", "http://127.0.0.1:65535", true},
		{"loopback v6 any port", "http://[::1]/cb", "http://[::1]:4000/cb", true},
		{"loopback v4 to v6", "http://127.0.0.1/cb", "http://[::1]:4000/cb", false},
		{"loopback other path", "http://127.0.0.1/cb", "http://127.0.0.1:4000/other", false},
		{"loopback other query", "http://127.0.0.1/cb?a=1", "http://127.0.0.1:4000/cb?a=2", false},
		{"loopback slash vs none", "http://127.0.0.1", "http://127.0.0.1:4000/", false},
		{"loopback https", "http://127.0.0.1/cb", "https://127.0.0.1:4000/cb", false},
		{"loopback port zero", "http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false},
		{"loopback port too big", "http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", false},
		{"loopback leading zero", "http://127.0.0.1/cb", "http://127.0.0.1:080/cb", false},
		{"loopback empty port", "http://127.0.0.1/cb", "http://127.0.0.1:/cb", false},
		{"loopback longer address", "http://127.0.0.1/cb", "http://127.0.0.10/cb", false},
		{"loopback as subdomain", "http://127.0.0.1/cb", "http://127.0.0.1.evil.com/cb", false},
		{"loopback user info", "http://127.0.0.1/cb", "http://127.0.0.1:80@evil.com/cb", false},
		{"loopback user info no port", "http://127.0.0.1/cb", "http://127.0.0.1@evil.com/cb", false},
		{"loopback backslash", "http://127.0.0.1/cb", `http://127.0.0.1:80\evil.com/cb`, false},
		{"loopback fragment", "http://127.0.0.1/cb", "http://127.0.0.1:80/cb#x", false},
		{"localhost exact", "http://localhost:3000/cb", "http://localhost:3000/cb", true},
		{"localhost any port refused", "http://localhost:3000/cb", "http://localhost:3001/cb", false},
		{"localhost is not 127.0.0.1", "http://127.0.0.1/cb", "http://localhost:3001/cb", false},
		{"private-use exact", "com.example.app:/oauth2redirect", "com.example.app:/oauth2redirect", true},
		{"private-use other", "com.example.app:/oauth2redirect", "com.example.evil:/oauth2redirect", false},
		{"empty requested", "https://app.example.com/cb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchRedirectURI([]string{"https://unrelated.example/x", tt.registered}, tt.requested); got != tt.want {
				t.Errorf("MatchRedirectURI([%q], %q) = %v, want %v", tt.registered, tt.requested, got, tt.want)
			}
		})
	}
	if MatchRedirectURI(nil, "https://app.example.com/cb") {
		t.Error("MatchRedirectURI with nothing registered matched")
	}
}

func TestCheckRedirectURI(t *testing.T) {
	ok := []string{
		"https://app.example.com/callback",
		"https://app.example.com:8443/cb?tenant=a",
		"http://127.0.0.1/cb",
		"http://127.0.0.1:8080/cb",
		"http://127.0.0.1",
		"http://[::1]:8080/cb",
		"http://localhost:3000/callback",
		"http://localhost/callback",
		"com.example.app:/oauth2redirect/example-provider",
		"com.example.app://callback",
	}
	for _, u := range ok {
		if why := checkRedirectURI(u); why != "" {
			t.Errorf("checkRedirectURI(%q) = %q, want accepted", u, why)
		}
	}
	bad := map[string]string{
		"":                                   "empty",
		"/relative/cb":                       "absolute",
		"app.example.com/cb":                 "absolute",
		"https://app.example.com/cb#frag":    "fragment",
		"https://app.example.com/cb#":        "fragment",
		"http://app.example.com/cb":          "loopback",
		"http://10.0.0.1/cb":                 "loopback",
		"http://127.0.0.2/cb":                "loopback",
		"http://127.0.0.1:0/cb":              "port",
		"http://127.0.0.1:/cb":               "port",
		"http://127.0.0.1:070/cb":            "port",
		"http://localhost:/cb":               "port",
		"HTTPS://app.example.com/cb":         "lower-case",
		"https://user:pw@app.example.com/cb": "user information",
		"https:///cb":                        "host",
		"https:app.example.com":              "host",
		"javascript:alert(1)":                "private-use",
		"data:text/html,hi":                  "private-use",
		"file:///etc/passwd":                 "private-use",
		"myapp:/cb":                          "private-use",
		"https://app.example.com/a b":        "printable ASCII",
		"https://app.example.com/\u00e9":     "printable ASCII",
		"https://app.example.com/\x00":       "printable ASCII",
		"https://app.example.com/" + strings.Repeat("a", 2000): "longer",
	}
	for u, want := range bad {
		why := checkRedirectURI(u)
		if why == "" || !strings.Contains(why, want) {
			t.Errorf("checkRedirectURI(%q) = %q, want a refusal mentioning %q", u, why, want)
		}
	}
}

// FuzzMatchRedirectURI checks the matcher's promises on any input: a URI
// always matches itself, and a match that is not byte-for-byte equal
// sends the browser to the same loopback host, path and query as the
// registered URI, according to Go's URL parser.
func FuzzMatchRedirectURI(f *testing.F) {
	seeds := [][2]string{
		{"http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"},
		{"http://[::1]/cb?a=1", "http://[::1]:1/cb?a=1"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:80@evil.com/cb"},
		{"http://127.0.0.1/cb", `http://127.0.0.1:80\evil.com/cb`},
		{"https://app.example.com/cb", "https://app.example.com/cb"},
		{"http://127.0.0.1", "http://127.0.0.1:8080?x"},
		{"com.example.app:/cb", "com.example.app:/cb"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if !MatchRedirectURI([]string{registered}, registered) {
			t.Fatalf("%q does not match itself", registered)
		}
		if !MatchRedirectURI([]string{registered}, requested) || requested == registered {
			return
		}
		reg, err1 := url.Parse(registered)
		req, err2 := url.Parse(requested)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q matched %q, but they do not both parse: %v, %v", requested, registered, err1, err2)
		}
		if req.Scheme != "http" || reg.Scheme != "http" {
			t.Fatalf("%q matched %q with scheme %q", requested, registered, req.Scheme)
		}
		if h := req.Hostname(); (h != "127.0.0.1" && h != "::1") || h != reg.Hostname() {
			t.Fatalf("%q matched %q but goes to host %q", requested, registered, h)
		}
		if req.User != nil || req.Fragment != "" || req.EscapedPath() != reg.EscapedPath() || req.RawQuery != reg.RawQuery {
			t.Fatalf("%q matched %q but differs beyond the port", requested, registered)
		}
	})
}
