package httpapi_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
)

func TestMatchETag(t *testing.T) {
	cases := []struct {
		header, current string
		strong, weak    bool // MatchETag(header, current, false), (…, true)
	}{
		{`"1"`, `"1"`, true, true},
		{`"1"`, `"2"`, false, false},
		{`*`, `"7"`, true, true},
		{` * `, `"7"`, true, true},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `W/"1"`, true, true},
		{`"0", "1"`, `"1"`, true, true},
		{`"0","1" , "2"`, `"1"`, true, true},
		{`W/"0", "1"`, `"0"`, false, true},
		{`"a,b"`, `"a,b"`, true, true}, // a comma inside a tag is part of it
		{`"a,b"`, `"a"`, false, false},
		{`""`, `""`, true, true},
		{`"1", , "2"`, `"2"`, true, true}, // empty list elements are ignored (RFC 9110 5.6.1.2)
		{`, "1",`, `"1"`, true, true},
		{``, `"1"`, false, false},
		{`1`, `"1"`, false, false},
		{`"1`, `"1"`, false, false},
		{`'1'`, `"1"`, false, false},
		{`"1" "2"`, `"1"`, false, false},
		{`"1", garbage`, `"1"`, false, false}, // a malformed list matches nothing
		{`garbage, "1"`, `"1"`, false, false},
		{`"1", *`, `"1"`, false, false},
		{`w/"1"`, `"1"`, false, false},
		{`W/ "1"`, `"1"`, false, false},
		{"\"1\"\t,\t\"2\"", `"2"`, true, true},
		{"\"1 2\"", `"1 2"`, false, false}, // space is not an etagc
		{"\"\x7f\"", "\"\x7f\"", false, false},
	}
	for _, tc := range cases {
		if got := httpapi.MatchETag(tc.header, tc.current, false); got != tc.strong {
			t.Errorf("MatchETag(%q, %q, strong) = %v, want %v", tc.header, tc.current, got, tc.strong)
		}
		if got := httpapi.MatchETag(tc.header, tc.current, true); got != tc.weak {
			t.Errorf("MatchETag(%q, %q, weak) = %v, want %v", tc.header, tc.current, got, tc.weak)
		}
	}
}

// refMatchETag is RFC 9110's grammar for If-Match and If-None-Match
// written out plainly: "*", or a comma-separated list (with optional
// white space and empty elements) of entity-tags, [W/] DQUOTE *etagc
// DQUOTE, where etagc is %x21 / %x23-7E / obs-text. A list that does not
// parse matches nothing.
func refMatchETag(header, current string, weak bool) bool {
	ows := func(s string, i int) int {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		return i
	}
	i := ows(header, 0)
	if rest := header[i:]; strings.TrimRight(rest, " \t") == "*" {
		return true
	}
	cur := strings.TrimPrefix(current, "W/")
	matched := false
	for {
		for i = ows(header, i); i < len(header) && header[i] == ','; i = ows(header, i+1) {
		}
		if i == len(header) {
			return matched
		}
		isWeak := strings.HasPrefix(header[i:], "W/")
		if isWeak {
			i += 2
		}
		if i >= len(header) || header[i] != '"' {
			return false
		}
		j := i + 1
		for ; j < len(header) && header[j] != '"'; j++ {
			if c := header[j]; c < 0x21 || c == 0x7f {
				return false
			}
		}
		if j == len(header) {
			return false
		}
		if header[i:j+1] == cur && (weak || !isWeak) {
			matched = true
		}
		i = ows(header, j+1)
		if i < len(header) && header[i] != ',' {
			return false
		}
	}
}

// FuzzMatchETag checks MatchETag against the grammar, for If-Match lists
// and the ETags the server makes ("<decimal version>").
func FuzzMatchETag(f *testing.F) {
	for _, h := range []string{`"1"`, `*`, `W/"1"`, `"0", "1"`, `"1", , "2"`, `"1", garbage`, `"a,b"`, `""`, `"1`, ` , `, "\"1\"\t,W/\"2\"", `"1" "2"`, "\"\xff\""} {
		f.Add(h, `"1"`)
	}
	f.Add(`"12", "123"`, `"123"`)
	f.Fuzz(func(t *testing.T, header, current string) {
		if !strings.HasPrefix(current, `"`) || !strings.HasSuffix(current, `"`) || len(current) < 2 || strings.Count(current, `"`) != 2 {
			current = `"` + strings.ReplaceAll(current, `"`, "") + `"`
		}
		for _, weak := range []bool{false, true} {
			got := httpapi.MatchETag(header, current, weak)
			if want := refMatchETag(header, current, weak); got != want {
				t.Fatalf("MatchETag(%q, %q, weak=%v) = %v, the grammar says %v", header, current, weak, got, want)
			}
		}
		if httpapi.MatchETag(header, current, false) && !httpapi.MatchETag(header, current, true) {
			t.Fatalf("strong match without weak match: %q %q", header, current)
		}
	})
}

func TestForwardedFor(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	trusted := func(a netip.Addr) bool {
		for _, p := range proxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	cases := []struct {
		values []string
		want   string // "" for not ok
	}{
		{[]string{"203.0.113.7"}, "203.0.113.7"},
		{[]string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{[]string{"203.0.113.7, 10.0.0.2"}, "203.0.113.7"},
		{[]string{"203.0.113.7, 10.0.0.2, 10.1.1.1"}, "203.0.113.7"},
		{[]string{"198.51.100.1", "203.0.113.7, 10.0.0.2"}, "203.0.113.7"}, // several header lines are one list
		{[]string{"::ffff:203.0.113.7"}, "203.0.113.7"},                    // mapped addresses are unmapped
		{[]string{"2001:db8::1, ::1"}, "2001:db8::1"},
		{[]string{" 203.0.113.7 "}, "203.0.113.7"},
		{[]string{"10.0.0.1, 10.0.0.2"}, ""},              // all trusted: no client address
		{[]string{"203.0.113.7, unknown"}, ""},            // garbage to the right ends the walk
		{[]string{"unknown, 203.0.113.7"}, "203.0.113.7"}, // garbage further left does not matter
		{[]string{"203.0.113.7:4711"}, ""},                // ports are not addresses
		{[]string{"203.0.113.7,"}, ""},
		{[]string{""}, ""},
		{nil, ""},
	}
	for _, tc := range cases {
		a, ok := httpapi.ForwardedFor(tc.values, trusted)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("ForwardedFor(%q) = %q, %v; want %q", tc.values, got, ok, tc.want)
		}
	}
}

// FuzzForwardedFor checks ForwardedFor against a plain reading of its
// rule: split every value on commas, walk from the right, skip trusted
// addresses, stop at the first untrusted one or at anything that is not
// an address.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.1, 203.0.113.7, 10.0.0.2", "::ffff:10.0.0.1", "fe80::1%eth0", "unknown", "1.2.3.4:80", ",", "", " 10.0.0.1 ,2001:db8::1 ", "[2001:db8::1]"} {
		f.Add(s, "10.9.9.9")
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		values := []string{first, second}
		trusted := func(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 10 || a.IsLoopback() }
		got, ok := httpapi.ForwardedFor(values, trusted)

		var hops []string
		for _, v := range values {
			hops = append(hops, strings.Split(v, ",")...)
		}
		var want netip.Addr
		wantOK := false
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if a = a.Unmap(); !trusted(a) {
				want, wantOK = a, true
				break
			}
		}
		if ok != wantOK || got != want {
			t.Fatalf("ForwardedFor(%q) = %v, %v; want %v, %v", values, got, ok, want, wantOK)
		}
		if ok && (trusted(got) || !got.IsValid() || got.Is4In6()) {
			t.Fatalf("ForwardedFor(%q) = %v: trusted, invalid or still mapped", values, got)
		}
	})
}
