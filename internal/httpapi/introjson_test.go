package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// checkIntrospectionJSON fails the test unless appendIntrospection
// encodes in as json.Marshal does.
func checkIntrospectionJSON(t *testing.T, in token.Introspection) {
	t.Helper()
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendIntrospection(nil, &in); !bytes.Equal(got, want) {
		t.Fatalf("appendIntrospection:\n%s\njson.Marshal:\n%s", got, want)
	}
}

// filledIntrospection sets every field of token.Introspection, found by
// reflection, to a value that is not empty: a field added to the struct
// and not to appendIntrospection fails the comparison.
func filledIntrospection(t *testing.T, n int) token.Introspection {
	var in token.Introspection
	v := reflect.ValueOf(&in).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString(fmt.Sprintf("%s-%d", v.Type().Field(i).Name, n))
		case reflect.Int64:
			f.SetInt(int64(1_796_000_000 + i*n))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"a", fmt.Sprint(n)}))
		default:
			t.Fatalf("field %s has kind %s: teach appendIntrospection and this test about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	return in
}

// TestIntrospectionJSONMatchesEncodingJSON holds the hand-written
// introspection answer to json.Marshal: inactive, every field set, the
// answers Gatehouse gives, empty and nil lists, negative numbers, and
// strings json.Marshal escapes.
func TestIntrospectionJSONMatchesEncodingJSON(t *testing.T) {
	cases := map[string]token.Introspection{
		"inactive":    {},
		"every field": filledIntrospection(t, 7),
		"access token": {Active: true, Scope: "openid profile", ClientID: "c1", TokenType: "Bearer", Exp: 1_796_000_900, Iat: 1_796_000_000,
			Sub: "68276752e17a262fb2d36af9f3e5a4ed", Aud: []string{"https://api.example.com"}, Iss: "https://auth.example.com",
			Jti: "j", Sid: "s", ACR: "urn:gatehouse:acr:mfa", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: 1_796_000_000},
		"session":         {Active: true, TokenType: "gatehouse_session", Sub: "u", Sid: "s", Iss: "http://127.0.0.1:8080", Exp: 1, Iat: 1},
		"empty lists":     {Active: true, Aud: []string{}, AMR: []string{}},
		"negative":        {Active: true, Exp: -1, Iat: -62_167_219_200, Nbf: -9_223_372_036_854_775_808},
		"escaped strings": {Active: true, Scope: "<&>\u2028\u2029", Sub: "\x00\t\"\\", Username: "\xff\xfeé", Aud: []string{"<", "\x7f"}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) { checkIntrospectionJSON(t, in) })
	}
}

// TestWriteIntrospection: the answer carries the JSON content type and
// ends with the newline of the other JSON answers, and the pooled buffer
// does not leak one answer into the next.
func TestWriteIntrospection(t *testing.T) {
	s := &Server{}
	s.buffers.New = newPooledBuffer
	long := filledIntrospection(t, 1)
	for i, in := range []token.Introspection{long, {}, long} {
		rec := httptest.NewRecorder()
		s.writeIntrospection(rec, &in)
		want, _ := json.Marshal(in)
		if got := rec.Body.Bytes(); !bytes.Equal(got, append(want, '\n')) {
			t.Errorf("answer %d = %q, want %q", i, got, want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Code != 200 {
			t.Errorf("answer %d: %d, Content-Type %q", i, rec.Code, ct)
		}
	}
}

// TestAppendIntrospectionAllocations: an answer of ASCII strings is
// encoded without allocating into a buffer that holds it.
func TestAppendIntrospectionAllocations(t *testing.T) {
	in := filledIntrospection(t, 3)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = appendIntrospection(buf[:0], &in) }); n != 0 {
		t.Errorf("appendIntrospection allocates %v times", n)
	}
}

// FuzzIntrospectionJSON compares the two encodings on arbitrary strings
// and numbers.
func FuzzIntrospectionJSON(f *testing.F) {
	f.Add(true, "openid", "c", "Bearer", "u", "a", int64(1_796_000_000), int64(0))
	f.Add(false, "<&>\u2028\xff", "\x00\t", "\"\\", "", "", int64(-1), int64(1<<62))
	f.Fuzz(func(t *testing.T, active bool, scope, client, typ, sub, aud string, exp, iat int64) {
		in := token.Introspection{Active: active, Scope: scope, ClientID: client, Username: sub, TokenType: typ, Exp: exp, Iat: iat, Nbf: exp ^ iat,
			Sub: sub, Iss: client, Jti: typ, Sid: scope, ACR: aud, AuthTime: iat}
		if aud != "" {
			in.Aud = []string{aud, sub}
			in.AMR = []string{sub}
		}
		checkIntrospectionJSON(t, in)
	})
}
