package token

import (
	"encoding/json"
	"reflect"
	"testing"
)

// memberByJSON is what authClaims.member decoded with encoding/json alone.
func memberByJSON(name, value []byte) (authClaims, error) {
	var a authClaims
	var err error
	switch string(name) {
	case "amr":
		err = json.Unmarshal(value, &a.amr)
	case "acr":
		err = json.Unmarshal(value, &a.acr)
	case "auth_time":
		err = json.Unmarshal(value, &a.authTime)
	}
	return a, err
}

func checkMember(t *testing.T, name, value string) {
	t.Helper()
	want, wantErr := memberByJSON([]byte(name), []byte(value))
	var got authClaims
	err := got.member([]byte(name), []byte(value))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s=%s: error %v, encoding/json says %v", name, value, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s=%s: %#v, encoding/json decodes %#v", name, value, got, want)
	}
}

// TestAuthClaimsMember holds the hand-written decoding of amr, acr and
// auth_time to encoding/json's, on what Gatehouse writes and on what it
// does not.
func TestAuthClaimsMember(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"amr", `["pwd"]`}, {"amr", `["pwd","otp","mfa"]`}, {"amr", `[]`}, {"amr", `null`},
		{"amr", `[ "pwd" , "otp" ]`}, {"amr", `["p\u0077d"]`}, {"amr", `["é"]`}, {"amr", `["a",]`},
		{"amr", `["a""b"]`}, {"amr", `["a",1]`}, {"amr", `"pwd"`}, {"amr", `[""]`}, {"amr", `["a","`},
		{"acr", `"urn:gatehouse:acr:mfa"`}, {"acr", `""`}, {"acr", `"a\"b"`}, {"acr", `"\u00e9"`},
		{"acr", `"é"`}, {"acr", `5`}, {"acr", `null`},
		{"auth_time", `1796560706`}, {"auth_time", `0`}, {"auth_time", `-1`}, {"auth_time", `1.5`},
		{"auth_time", `1e9`}, {"auth_time", `"1"`}, {"auth_time", `99999999999999999999`},
		{"auth_time", `999999999999999999`}, {"auth_time", `null`},
		{"other", `{"x":1}`},
	} {
		checkMember(t, c.name, c.value)
	}
}

// FuzzAuthClaimsMember compares the two decodings on arbitrary values
// (valid JSON only: jose's scanner hands member nothing else).
func FuzzAuthClaimsMember(f *testing.F) {
	for _, s := range []string{`["pwd","hwk","user","mfa"]`, `"urn:gatehouse:acr:1fa"`, `1796560706`, `["a\\b"]`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !json.Valid([]byte(value)) {
			return
		}
		for _, name := range []string{"amr", "acr", "auth_time"} {
			checkMember(t, name, value)
		}
	})
}

// TestPlainStringKnownValues checks that the amr and acr values Gatehouse
// writes decode to themselves without allocating, and that other values
// still decode.
func TestPlainStringKnownValues(t *testing.T) {
	for _, k := range []string{"pwd", "otp", "hwk", "swk", "user", "mfa", "urn:gatehouse:acr:1fa", "urn:gatehouse:acr:mfa"} {
		v := []byte(`"` + k + `"`)
		if got, ok := plainString(v); !ok || got != k {
			t.Errorf("plainString(%s) = %q, %v", v, got, ok)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = plainString(v) }); n != 0 {
			t.Errorf("plainString(%s) allocates %v times", v, n)
		}
	}
	if got, ok := plainString([]byte(`"pwdx"`)); !ok || got != "pwdx" {
		t.Errorf(`plainString("pwdx") = %q, %v`, got, ok)
	}
}
