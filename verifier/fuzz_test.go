package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/jose"
)

func FuzzSSEParser(f *testing.F) {
	for _, s := range []string{
		"id: 1\nevent: revocation\ndata: {\"cursor\":1}\n\n",
		": keep-alive\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		"data:a\rdata\r\r",
		"\xef\xbb\xbfid: 7\nretry: 1000\ndata\n\n",
		"id: 1\x00\ndata: x\n\n",
		"data: unfinished",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := newSSEParser(bytes.NewReader(in))
		for range len(in) + 1 {
			ev, err := p.next()
			if err != nil {
				if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errSSELineTooLong) && !errors.Is(err, errSSEEventTooLong) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if ev.Type == "" {
				t.Fatal("dispatched an event without a type")
			}
			if strings.ContainsRune(ev.ID, 0) {
				t.Fatal("event id holds NUL")
			}
			if bytes.ContainsAny(ev.Data, "\r") || strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n") {
				t.Fatal("a line terminator leaked into a field")
			}
			if len(ev.Data) > maxSSEEvent {
				t.Fatal("event over the limit")
			}
		}
		t.Fatal("more events than input bytes")
	})
}

func TestSSEParser(t *testing.T) {
	in := "\xef\xbb\xbf: hello\n\nid: 1\nevent: revocation\ndata: {\"a\":1}\n\n" +
		"data: x\r\ndata:y\r\n\r\n" + "id: 9\nretry: 250\nevent: other\ndata\r\rdata: tail"
	p := newSSEParser(strings.NewReader(in))
	lines := 0
	p.onLine = func() { lines++ }
	want := []sseEvent{
		{ID: "1", Type: "revocation", Data: []byte(`{"a":1}`)},
		{ID: "1", Type: "message", Data: []byte("x\ny")},
		{ID: "9", Type: "other", Data: []byte("")},
	}
	for i, w := range want {
		ev, err := p.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.ID != w.ID || ev.Type != w.Type || string(ev.Data) != string(w.Data) {
			t.Errorf("event %d = {%q %q %q}, want {%q %q %q}", i, ev.ID, ev.Type, ev.Data, w.ID, w.Type, w.Data)
		}
	}
	if _, err := p.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("unfinished event: %v, want io.ErrUnexpectedEOF", err)
	}
	if p.Retry != 250 || lines != 14 {
		t.Errorf("retry %d, lines %d; want 250, 14", p.Retry, lines)
	}
	long := newSSEParser(strings.NewReader("data: " + strings.Repeat("x", maxSSELine) + "\n\n"))
	if _, err := long.next(); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("long line: %v", err)
	}
}

func FuzzFeedPage(f *testing.F) {
	f.Add([]byte(`{"revocations":[{"cursor":1,"sid":"s","at":"2030-01-01T00:00:00Z","expires":"2030-01-01T00:06:00Z"}],"cursor":1,"more":false}`))
	f.Add([]byte(`{"revocations":[{"cursor":2,"user":"u","at":"2030-01-01T00:00:00.123Z","expires":"2030-01-01T00:06:00Z"},{"cursor":3,"client":"c"}],"cursor":3,"more":true}`))
	f.Add([]byte(`{"revocations":[],"cursor":0}`))
	f.Add([]byte(`{"cursor":-1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		events, cursor, _, _, err := parseFeedPage(in)
		if err != nil {
			return
		}
		if cursor < 0 {
			t.Fatal("negative cursor accepted")
		}
		for _, e := range events {
			if err := e.check(); err != nil {
				t.Fatalf("returned an invalid event: %v", err)
			}
		}
		s := NewRevocationSet(0)
		s.Add(t0, cursor, events...)
		if s.Cursor() < cursor {
			t.Fatal("cursor went backwards")
		}
	})
}

func FuzzFeedEvent(f *testing.F) {
	f.Add([]byte(`{"cursor":1,"jti":"j","at":"2030-01-01T00:00:00Z","expires":"2030-01-01T00:06:00Z"}`))
	f.Add([]byte(`{"cursor":1,"jti":"j","sid":"s","expires":"2030-01-01T00:06:00Z"}`))
	f.Add([]byte(`{"cursor":1,"user":"u","expires":"2030-01-01T00:06:00Z"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := parseFeedEvent(in)
		if err != nil {
			return
		}
		n := 0
		for _, id := range []string{e.SID, e.User, e.JTI} {
			if id != "" {
				n++
			}
		}
		if n != 1 || e.Expires.IsZero() || (e.User != "" && e.At.IsZero()) {
			t.Fatalf("accepted %+v", e)
		}
	})
}

// FuzzCustomClaims checks the raw member scanner against encoding/json:
// for any object encoding/json accepts, the custom claims are exactly
// its non-registered members.
func FuzzCustomClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"x","tenant":"acme","n":[1,{"a":"}"}],"z":null}`))
	f.Add([]byte(`{"\u0073ub":"x","a\"b":1}`))
	f.Add([]byte(` { } `))
	f.Add([]byte(`{"a":1e5,"b":-0.5,"c":true,"d":false}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want map[string]any
		if err := json.Unmarshal(in, &want); err != nil || want == nil {
			_, _, _ = parseClaims(in) // must not panic
			return
		}
		// jose.ParseClaims, which reads the same pass, rejects registered
		// claims of the wrong type, twice or in another case.
		if _, err := jose.ParseClaims(in); err != nil {
			return
		}
		// jose.ParseClaims, which runs first, rejects invalid UTF-8.
		if !utf8.Valid(in) || bytes.Contains(in, []byte(`\u`)) && !strictNames(in) {
			return
		}
		_, got, err := parseClaims(in)
		if err != nil {
			t.Fatalf("parseClaims(%q): %v", in, err)
		}
		for _, r := range registeredClaims {
			delete(want, r)
		}
		if len(want) == 0 {
			if got != nil {
				t.Fatalf("got %v, want nil", got)
			}
			return
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("parseClaims(%q) = %s, want %s", in, gb, wb)
		}
	})
}

// strictNames reports whether every member name of the object in
// decodes as valid UTF-8 (encoding/json replaces invalid surrogates,
// which makes the comparison meaningless).
func strictNames(in []byte) bool {
	ok := true
	_ = eachMember(in, func(name, _ []byte) error {
		var s string
		if json.Unmarshal(name, &s) != nil || strings.ContainsRune(s, '\uFFFD') {
			ok = false
		}
		return nil
	})
	return ok
}

// FuzzClaimIndexed checks Principal.Claim's two ways against each other:
// for any claims set jose.ParseClaims accepts, every member name (and a
// few that are not there) reads the same through the members Verify
// notes as through a scan of the claims set.
func FuzzClaimIndexed(f *testing.F) {
	f.Add([]byte(`{"iss":"x","tenant":"acme","n":[1,{"a":"}"}],"z":null}`))
	f.Add([]byte(`{"\u0074":1,"t":2,"t":3}`))
	f.Add([]byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":10}`))
	f.Add([]byte(`{"h":1e999,"s":"\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := jose.ParseClaims(in); err != nil {
			return
		}
		names := []string{"", "absent", "sub", "tenant"}
		_ = eachMember(in, func(name, _ []byte) error {
			var s string
			if json.Unmarshal(name, &s) == nil {
				names = append(names, s)
			}
			return nil
		})
		for _, name := range names {
			claimBothWays(t, in, name)
		}
	})
}
