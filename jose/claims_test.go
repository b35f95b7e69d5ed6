package jose

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"
)

func TestParseClaims(t *testing.T) {
	full := `{"iss":"https://auth.example.com","sub":"u1","aud":["a","b"],"exp":1900000000,"nbf":1899990000,` +
		`"iat":1899996400,"jti":"j1","sid":"s1","scope":"openid profile","client_id":"c1","custom":{"x":[1,2]}}`
	tests := []struct {
		name    string
		payload string
		want    Claims
		err     error
	}{
		{"all registered", full, Claims{
			Issuer: "https://auth.example.com", Subject: "u1", Audience: []string{"a", "b"},
			ExpiresAt: time.Unix(1900000000, 0), NotBefore: time.Unix(1899990000, 0), IssuedAt: time.Unix(1899996400, 0),
			ID: "j1", SessionID: "s1", Scope: "openid profile", ClientID: "c1",
		}, nil},
		{"empty object", `{}`, Claims{}, nil},
		{"aud string", `{"aud":"api"}`, Claims{Audience: []string{"api"}}, nil},
		{"aud empty array", `{"aud":[]}`, Claims{Audience: []string{}}, nil},
		{"null is absent", `{"iss":null,"aud":null,"exp":null}`, Claims{}, nil},
		{"exp zero", `{"exp":0}`, Claims{ExpiresAt: time.Unix(0, 0)}, nil},
		{"exp fraction", `{"exp":1900000000.25}`, Claims{ExpiresAt: time.Unix(1900000000, 250000000)}, nil},
		{"exp exponent", `{"exp":1.9e9}`, Claims{ExpiresAt: time.Unix(1900000000, 0)}, nil},
		{"exp negative", `{"exp":-1}`, Claims{ExpiresAt: time.Unix(-1, 0)}, nil},
		{"escapes", `{"sub":"\u00e9\ud83d\ude00\n"}`, Claims{Subject: "é😀\n"}, nil},
		{"custom case variants of unregistered names", `{"Email":"x","EMAIL":"y"}`, Claims{}, nil},
		{"RFC 7515 payload", rfc7515Payload, Claims{Issuer: "joe", ExpiresAt: time.Unix(1300819380, 0)}, nil},

		{"not an object", `[]`, Claims{}, ErrMalformed},
		{"not JSON", `iss=joe`, Claims{}, ErrMalformed},
		{"trailing data", `{}{}`, Claims{}, ErrMalformed},
		{"duplicate iss", `{"iss":"a","iss":"b"}`, Claims{}, ErrMalformed},
		{"duplicate exp", `{"exp":1,"exp":2}`, Claims{}, ErrMalformed},
		{"duplicate null", `{"exp":null,"exp":2}`, Claims{}, ErrMalformed},
		{"case variant ISS", `{"iss":"a","ISS":"b"}`, Claims{}, ErrMalformed},
		{"case variant Exp", `{"Exp":1}`, Claims{}, ErrMalformed},
		{"case variant Client_ID", `{"Client_ID":"x"}`, Claims{}, ErrMalformed},
		{"Kelvin sign folds to k", "{\"\u212aid\":1,\"s\u212bope\":1,\"\u017fub\":\"x\"}", Claims{}, ErrMalformed},
		{"iss number", `{"iss":1}`, Claims{}, ErrMalformed},
		{"aud number", `{"aud":1}`, Claims{}, ErrMalformed},
		{"aud array of numbers", `{"aud":[1]}`, Claims{}, ErrMalformed},
		{"aud nested array", `{"aud":[["a"]]}`, Claims{}, ErrMalformed},
		{"exp string", `{"exp":"1900000000"}`, Claims{}, ErrMalformed},
		{"exp bool", `{"exp":true}`, Claims{}, ErrMalformed},
		{"exp huge", `{"exp":1e300}`, Claims{}, ErrMalformed},
		{"exp huge integer", `{"exp":99999999999999999999}`, Claims{}, ErrMalformed},
		{"exp leading zero", `{"exp":01}`, Claims{}, ErrMalformed},
		{"exp plus sign", `{"exp":+1}`, Claims{}, ErrMalformed},
		{"invalid UTF-8", "{\"sub\":\"\xc3\"}", Claims{}, ErrMalformed},
		{"control character", "{\"sub\":\"a\tb\"}", Claims{}, ErrMalformed},
		{"bad escape", `{"sub":"\x"}`, Claims{}, ErrMalformed},
		{"lone surrogate", `{"sub":"\udc00"}`, Claims{}, ErrMalformed},
		{"deep custom claim", `{"x":` + deep(maxJSONDepth+2) + `}`, Claims{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClaims([]byte(tt.payload))
			// ParseClaimsInto reads the same, into zero claims and into
			// claims left over from another token with an audience array
			// to reuse.
			var into Claims
			intoErr := ParseClaimsInto(&into, []byte(tt.payload), nil)
			var audBuf [1]string
			reused := Claims{Issuer: "old", Subject: "old", ID: "old", SessionID: "old", Scope: "old", ClientID: "old",
				ExpiresAt: time.Unix(1, 0), NotBefore: time.Unix(1, 0), IssuedAt: time.Unix(1, 0), Audience: audBuf[:1]}
			reusedErr := ParseClaimsInto(&reused, []byte(tt.payload), nil)
			if tt.err != nil {
				for _, err := range []error{err, intoErr, reusedErr} {
					if !errors.Is(err, tt.err) {
						t.Fatalf("err = %v, want %v", err, tt.err)
					}
				}
				if !reflect.DeepEqual(into, Claims{}) || !reflect.DeepEqual(reused, Claims{}) {
					t.Errorf("ParseClaimsInto left %+v and %+v after an error, want zero claims", into, reused)
				}
				return
			}
			if err := errors.Join(err, intoErr, reusedErr); err != nil {
				t.Fatal(err)
			}
			for _, c := range []Claims{got, into, reused} {
				if !reflect.DeepEqual(c, tt.want) {
					t.Errorf("got  %+v\nwant %+v", c, tt.want)
				}
			}
		})
	}
}

// TestParseClaimsIntoShares checks that ParseClaimsInto copies nothing
// from a payload of plain strings: the string claims point into the
// payload, a one-member audience goes into the array the caller gave, and
// nothing is allocated. A string with escapes gets memory of its own.
func TestParseClaimsIntoShares(t *testing.T) {
	payload := []byte(benchPayload)
	var audBuf [1]string
	c := Claims{Audience: audBuf[:0]}
	allocs := testing.AllocsPerRun(100, func() {
		if err := ParseClaimsInto(&c, payload, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseClaimsInto allocated %v times, want 0", allocs)
	}
	within := func(s string, b []byte) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		start := uintptr(unsafe.Pointer(&b[0]))
		return p >= start && p+uintptr(len(s)) <= start+uintptr(len(b))
	}
	for name, s := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "scope": c.Scope, "aud": c.Audience[0]} {
		if !within(s, payload) {
			t.Errorf("%s %q is a copy, want a slice of the payload", name, s)
		}
	}
	if &c.Audience[0] != &audBuf[0] {
		t.Error("the audience is not in the array the caller gave")
	}

	escaped := []byte(`{"sub":"a\u0062c","aud":["x","y"]}`)
	if err := ParseClaimsInto(&c, escaped, nil); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "abc" || within(c.Subject, escaped) || !slices.Equal(c.Audience, []string{"x", "y"}) || !within(c.Audience[1], escaped) {
		t.Errorf("escaped: sub %q (in the payload: %v), aud %q", c.Subject, within(c.Subject, escaped), c.Audience)
	}
}

func deep(n int) string {
	s := ""
	for range n {
		s = "[" + s + "]"
	}
	return s
}

// TestParseClaimsFunc checks that the members other than the registered
// claims reach the callback in order, names unescaped and values raw,
// and that the callback's error fails the parse as ErrMalformed.
func TestParseClaimsFunc(t *testing.T) {
	payload := []byte(`{"iss":"i", "t\u00e9nant" : {"a":[1,"]}"]} ,"sub":"s","n":null,"x":-1.5e3}`)
	var got []string
	c, err := ParseClaimsFunc(payload, func(name, value []byte) error {
		got = append(got, string(name)+"="+string(value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "i" || c.Subject != "s" {
		t.Errorf("claims = %+v", c)
	}
	want := []string{`ténant={"a":[1,"]}"]}`, `n=null`, `x=-1.5e3`}
	if !slices.Equal(got, want) {
		t.Errorf("members = %q, want %q", got, want)
	}
	boom := errors.New("boom")
	if _, err := ParseClaimsFunc(payload, func(_, _ []byte) error { return boom }); !errors.Is(err, ErrMalformed) || !errors.Is(err, boom) {
		t.Errorf("err = %v, want ErrMalformed wrapping the callback's", err)
	}
}
