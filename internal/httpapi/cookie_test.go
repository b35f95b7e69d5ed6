package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// sameAsNetHTTP fails t unless cookieValue reads the Cookie lines as
// (*http.Request).Cookie does, for both cookie names Gatehouse uses.
func sameAsNetHTTP(t *testing.T, lines []string) {
	t.Helper()
	h := http.Header{}
	if len(lines) > 0 {
		h["Cookie"] = lines
	}
	r := &http.Request{Header: h}
	for _, name := range []string{cookieName, secureCookieName} {
		got, ok := cookieValue(h, name)
		want, err := r.Cookie(name)
		if (err == nil) != ok || (ok && got != want.Value) {
			t.Fatalf("lines %q, cookie %s: cookieValue = %q, %v; (*http.Request).Cookie = %+v, %v", lines, name, got, ok, want, err)
		}
	}
}

func TestCookieValue(t *testing.T) {
	many := strings.Repeat("a=b;", maxCookies) + cookieName + "=v"
	for _, lines := range [][]string{
		nil,
		{""},
		{cookieName + "=abc"},
		{" " + cookieName + " =abc ; x=y"},
		{"x=y;" + cookieName + `="abc"`},
		{cookieName + `="abc`},
		{cookieName + `=""`},
		{cookieName + `="`},
		{cookieName + "=a b"},
		{cookieName + "= ab"},
		{cookieName + "=a\\b; " + cookieName + "=second"},
		{cookieName + "=a;b", "x=1"},
		{"x=1", cookieName + "=from-second-line"},
		{cookieName + "=\x7f", secureCookieName + "=ok"},
		{cookieName},
		{cookieName + "=a=b"},
		{";;;" + cookieName + "=v;;;"},
		{"\t" + cookieName + "=v\t"},
		{many},
		{strings.Repeat("a=b;", maxCookies-1) + cookieName + "=v"},
	} {
		sameAsNetHTTP(t, lines)
	}
}

func TestCookieValueAllocates(t *testing.T) {
	h := http.Header{"Cookie": {"theme=dark; " + cookieName + "=WRra-ZBVF4eQQ__uf5p8CdcuQyJR6Hf8at29HerPheM; lang=en"}}
	if n := testing.AllocsPerRun(100, func() { _, _ = cookieValue(h, cookieName) }); n != 0 {
		t.Errorf("cookieValue allocates %v times per call", n)
	}
}

// FuzzCookieValue holds cookieValue to (*http.Request).Cookie on one or
// two Cookie lines.
func FuzzCookieValue(f *testing.F) {
	f.Add(cookieName+"=abc", "")
	f.Add("x=y; "+cookieName+`="abc"`, "")
	f.Add(cookieName+"=a\\b", cookieName+"=ok")
	f.Add(" "+secureCookieName+" = v ;", "a=b")
	f.Add("\x00\xff;;;===", cookieName+"=")
	f.Fuzz(func(t *testing.T, first, second string) {
		lines := []string{first}
		if second != "" {
			lines = append(lines, second)
		}
		sameAsNetHTTP(t, lines)
	})
}
