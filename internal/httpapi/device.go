package httpapi

import "strings"

// deviceSummary turns a User-Agent header into the words the account
// page shows for a session ("Chrome on Android", "Safari on iPhone",
// "curl"), or "Unknown device".
//
// It is a few documented heuristics, not a parser: the header is
// whatever the client chose to send, so the summary is a hint for the
// user and never a security decision. Order matters, because browsers
// name their ancestors: Edge and Opera say "Chrome", Chrome says
// "Safari", and iOS browsers say "Safari" and "Mobile". A product the
// rules do not know is named by its first token ("curl/8.5" is "curl").
func deviceSummary(ua string) string {
	if len(ua) > 512 {
		ua = ua[:512]
	}
	browser := uaBrowser(ua)
	os := uaOS(ua)
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return "A browser on " + os
	}
	return "Unknown device"
}

// uaRule names a product when the header contains one of its markers.
type uaRule struct {
	name    string
	markers []string
}

// uaBrowsers are checked in order: the first match names the browser.
var uaBrowsers = []uaRule{
	{"Edge", []string{"Edg/", "EdgA/", "EdgiOS/", "Edge/"}},
	{"Opera", []string{"OPR/", "OPiOS/", "Opera"}},
	{"Samsung Internet", []string{"SamsungBrowser/"}},
	{"Firefox", []string{"Firefox/", "FxiOS/"}},
	{"Headless Chrome", []string{"HeadlessChrome/"}},
	{"Chrome", []string{"CriOS/", "Chrome/", "Chromium/"}},
	{"Safari", []string{"Version/"}}, // with "Safari/", checked below
}

// uaSystems are checked in order: iPhone and Android before the Linux
// and "like Mac OS X" they also mention.
var uaSystems = []uaRule{
	{"iPhone", []string{"iPhone"}},
	{"iPad", []string{"iPad"}},
	{"Android", []string{"Android"}},
	{"ChromeOS", []string{"CrOS"}},
	{"Windows", []string{"Windows"}},
	{"macOS", []string{"Macintosh", "Mac OS X"}},
	{"Linux", []string{"Linux", "X11"}},
}

func uaBrowser(ua string) string {
	for _, r := range uaBrowsers {
		for _, m := range r.markers {
			if strings.Contains(ua, m) && (r.name != "Safari" || strings.Contains(ua, "Safari/")) {
				return r.name
			}
		}
	}
	if strings.HasPrefix(ua, "Mozilla/") {
		return ""
	}
	// A tool or library: its first product token, if it looks like a
	// name ("curl/8.5.0", "okhttp/4.12", "Go-http-client/1.1").
	name, _, _ := strings.Cut(ua, "/")
	name, _, _ = strings.Cut(name, " ")
	if name == "" || len(name) > 40 {
		return ""
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return name
}

func uaOS(ua string) string {
	for _, r := range uaSystems {
		for _, m := range r.markers {
			if strings.Contains(ua, m) {
				return r.name
			}
		}
	}
	return ""
}
