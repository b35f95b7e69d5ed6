package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// meCases are /v1/me bodies that reach every branch of appendJSON: empty
// and full optional fields, strings json.Marshal escapes (HTML, control
// characters, invalid UTF-8, U+2028), claims, and times it refuses.
func meCases() map[string]meJSON {
	at := time.Date(2026, 12, 6, 12, 31, 58, 18_000_000, time.UTC)
	exp := at.Add(30 * time.Minute)
	full := meJSON{
		Auth: meAuthJSON{ACR: "urn:gatehouse:acr:mfa", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: at, ExpiresAt: exp,
			Method: "session", MFAEnrolmentRequired: true, SessionID: "50e3be9fb81308ce9dd184ce44bc9130"},
		User: userJSON{ID: "68276752e17a262fb2d36af9f3e5a4ed", Email: "a@example.com", EmailVerified: true,
			Claims: map[string]any{"roles": []any{"admin", "<ops>"}, "tier": 3.5, "a": nil}, CreatedAt: at},
	}
	escaped := full
	escaped.User.Email = "<script>&\"\\\u2028\u2029\x00\x1f\x7f\xffé@example.com"
	escaped.Auth.SessionID = "tab\tnewline\n"
	zoneless := full
	zoneless.Auth.ExpiresAt = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	year10000 := full
	year10000.User.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	negative := full
	negative.Auth.ExpiresAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	badAuthTime := full
	bad := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	badAuthTime.Auth.AuthTime = bad
	return map[string]meJSON{
		"zero":                    {},
		"bearer minimal":          {Auth: meAuthJSON{ExpiresAt: exp, Method: "jwt"}, User: userJSON{ID: "u", Email: "b@example.com", CreatedAt: at}},
		"full":                    full,
		"escaped":                 escaped,
		"other zone":              zoneless,
		"year 10000":              year10000,
		"year -1":                 negative,
		"auth_time in year 12000": badAuthTime,
		"empty amr":               {Auth: meAuthJSON{AMR: []string{}, ExpiresAt: exp}, User: userJSON{Claims: map[string]any{}}},
	}
}

// TestMeJSONMatchesEncodingJSON holds the hand-written /v1/me encoding to
// json.Marshal: the same bytes, or ok false where json.Marshal fails.
func TestMeJSONMatchesEncodingJSON(t *testing.T) {
	for name, m := range meCases() {
		t.Run(name, func(t *testing.T) { checkMeJSON(t, m) })
	}
}

func checkMeJSON(t *testing.T, m meJSON) {
	t.Helper()
	want, wantErr := json.Marshal(m)
	got, ok := m.appendJSON(nil)
	if wantErr != nil {
		if ok {
			t.Fatalf("json.Marshal fails (%v) but appendJSON gave %s", wantErr, got)
		}
		return
	}
	if !ok {
		t.Fatalf("appendJSON refused what json.Marshal encodes as %s", want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

// FuzzMeJSON compares the two encodings on arbitrary strings and times.
func FuzzMeJSON(f *testing.F) {
	f.Add("a@example.com", "sess", "pwd", "claim", int64(1_796_000_000), int64(0), true, false)
	f.Add("<&>\u2028\xff", "\x00\t", "mfa\"", "\\", int64(-62_167_219_200), int64(999_999_999), false, true)
	f.Add("", "", "", "", int64(253_402_300_800), int64(1), false, false)
	f.Fuzz(func(t *testing.T, email, sid, amr, claim string, sec, nsec int64, verified, enrol bool) {
		tm := time.Unix(sec, nsec).UTC()
		m := meJSON{
			Auth: meAuthJSON{ACR: amr, AMR: []string{amr, sid}, AuthTime: tm, ExpiresAt: tm, Method: sid, MFAEnrolmentRequired: enrol, SessionID: sid},
			User: userJSON{ID: claim, Email: email, EmailVerified: verified, CreatedAt: tm},
		}
		if claim != "" {
			m.User.Claims = map[string]any{claim: email}
		}
		checkMeJSON(t, m)
	})
}
