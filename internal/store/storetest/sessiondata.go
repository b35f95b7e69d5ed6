package storetest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// DataCase is one session data document of the edge-case lists below.
type DataCase struct {
	Name string
	JSON string
}

// nest returns a JSON object nested depth levels deep, the innermost
// holding inner: nest(1, "1") is {"a":1}.
func nest(depth int, inner string) string {
	return strings.Repeat(`{"a":`, depth) + inner + strings.Repeat("}", depth)
}

// nestArrays returns a JSON object whose member holds arrays, depth levels
// deep in all.
func nestArrays(depth int) string {
	return `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
}

// ValidSessionData lists session data at the edges of what
// store.ValidateSessionData accepts. Every backend must store each one and
// serve back the same JSON value; the HTTP tests send them too.
func ValidSessionData() []DataCase {
	return []DataCase{
		{"DepthAtLimit", nest(store.MaxDataDepth, "1")},
		{"ArrayDepthAtLimit", nestArrays(store.MaxDataDepth)},
		{"SurrogatePairEscapes", `{"\ud83d\ude00":"\ud83d\ude00 \uD83D\uDE00 \udbff\udfff"}`},
		{"RawMultibyteUTF8", `{"😀 é":"😀 é \u00e9 ` + "\uffff \u2028 \U0010FFFF" + `"}`},
		{"SimpleEscapes", `{"q":"\" \\ \/ \b \f \n \r \t \u001f \u0001"}`},
		{"EmptyKeyAndStrings", `{"":"","a.b":{"":[]}}`},
		{"LargestDouble", `{"max":1.7976931348623157e308,"min":-1.7976931348623157e308}`},
		{"SmallestSubnormal", `{"tiny":5e-324,"neg":-5e-324}`},
		{"ZeroForms", `{"z":[0,-0,0.0,0e999,0E-999,-0.000e+5,0e+0999]}`},
		{"ExponentForms", `{"n":[1E+2,1e2,1.5e-3,12345678901234567890]}`},
		{"FractionDigitsAtLimit", `{"n":[1.` + strings.Repeat("0", store.MaxDataFractionDigits) + `,1.5` + strings.Repeat("0", store.MaxDataFractionDigits-2) + `e-1]}`},
		{"IntegerDigitsOfADouble", `{"n":1` + strings.Repeat("0", 308) + `}`},
		{"Scalars", `{"t":true,"f":false,"n":null,"o":{},"l":[]}`},
	}
}

// InvalidSessionData lists session data that store.ValidateSessionData
// refuses: every backend must refuse each one with store.ErrInvalidData
// and store nothing, and the HTTP API must answer 400 invalid_request.
func InvalidSessionData() []DataCase {
	return []DataCase{
		{"DepthOverLimit", nest(store.MaxDataDepth+1, "1")},
		{"ArrayDepthOverLimit", nestArrays(store.MaxDataDepth + 1)},
		{"Depth1001", nestArrays(1001)},
		{"InvalidUTF8Value", "{\"a\":\"\xff\xfe\"}"},
		{"InvalidUTF8Key", "{\"\xff\":1}"},
		{"TruncatedUTF8", "{\"a\":\"\xe2\x82\"}"},
		{"OverlongUTF8", "{\"a\":\"\xc0\xaf\"}"},
		{"SurrogateAsUTF8", "{\"a\":\"\xed\xa0\x80\"}"},
		{"LoneHighSurrogate", `{"a":"\ud800"}`},
		{"LoneHighSurrogateKey", `{"\ud800":1}`},
		{"LoneLowSurrogate", `{"a":"\udc00"}`},
		{"LoneLowSurrogateKey", `{"x\uDFFF":1}`},
		{"ReversedPair", `{"a":"\ude00\ud83d"}`},
		{"HighThenNonSurrogate", `{"a":"\ud800\u0041"}`},
		{"HighThenEscape", `{"a":"\ud800\n"}`},
		{"HighThenText", `{"a":"\ud800x"}`},
		{"NULValue", `{"a":"x\u0000"}`},
		{"NULKey", `{"\u0000":1}`},
		{"HugeExponent", `{"a":1e999999}`},
		{"HugeNegative", `{"a":-1e999999}`},
		{"JustOverDouble", `{"a":1e309}`},
		{"TinyExponent", `{"a":1e-999999}`},
		{"ZeroHugeExponent", `{"a":0e999999}`},
		{"ZeroExponentOverLimit", `{"a":0e-1000}`},
		{"UnderflowsToZero", `{"a":1e-400}`},
		{"FractionDigitsOverLimit", `{"n":1.` + strings.Repeat("0", store.MaxDataFractionDigits+1) + `}`},
		{"FractionDigitsOverLimitByExponent", `{"n":1.5` + strings.Repeat("0", store.MaxDataFractionDigits-1) + `e-1}`},
		{"IntegerTooLargeForADouble", `{"n":1` + strings.Repeat("0", 309) + `}`},
		{"LongFraction", `{"n":0.` + strings.Repeat("1", 20000) + `}`},
		{"DuplicateKey", `{"a":1,"a":2}`},
		{"DuplicateKeyEscaped", `{"a":1,"\u0061":2}`},
		{"DuplicateNestedKey", `{"o":{"k":[],"k":{}}}`},
		{"Truncated", `{"a":1`},
		{"TwoValues", `{} {}`},
	}
}

// testSessionDataEdgeCases stores every ValidSessionData case, by
// CreateSession and by UpdateSessionData, and checks that it comes back as
// the same JSON value, itself valid.
func testSessionDataEdgeCases(t *testing.T, st store.SessionStore) {
	for _, tc := range ValidSessionData() {
		t.Run(tc.Name, func(t *testing.T) {
			if err := store.ValidateSessionData([]byte(tc.JSON)); err != nil {
				t.Fatalf("ValidateSessionData refuses a valid case: %v", err)
			}
			s := newCookieSession(t, randomID(t, "u-"), baseTime())
			s.Data = json.RawMessage(tc.JSON)
			mustCreateSession(t, st, s)
			checkSameData(t, "after CreateSession", mustGetSession(t, st, s.ID).Data, tc.JSON)

			u := newCookieSession(t, randomID(t, "u-"), baseTime())
			mustCreateSession(t, st, u)
			got, err := st.UpdateSessionData(t.Context(), u.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
				return json.RawMessage(tc.JSON), nil
			})
			noErr(t, "UpdateSessionData", err)
			checkSameData(t, "UpdateSessionData's answer", got.Data, tc.JSON)
			checkSameData(t, "after UpdateSessionData", mustGetSession(t, st, u.ID).Data, tc.JSON)
		})
	}
}

// checkSameData fails the test unless got is valid session data with the
// same JSON value as want.
func checkSameData(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	if err := store.ValidateSessionData(got); err != nil {
		t.Fatalf("%s: data served back is not valid: %v: %q", what, err, got)
	}
	if g, w := jsonValue(t, what, got), jsonValue(t, "want", []byte(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: data = %s, want the value of %s", what, got, want)
	}
}

// testSessionDataInvalidRefused offers every InvalidSessionData case to
// CreateSession and to UpdateSessionData: both must fail with
// store.ErrInvalidData and write nothing.
func testSessionDataInvalidRefused(t *testing.T, st store.SessionStore) {
	for _, tc := range InvalidSessionData() {
		t.Run(tc.Name, func(t *testing.T) {
			s := newCookieSession(t, randomID(t, "u-"), baseTime())
			s.Data = json.RawMessage(tc.JSON)
			wantErr(t, "CreateSession", st.CreateSession(t.Context(), s), store.ErrInvalidData)
			wantGone(t, st, s.ID)

			u := newCookieSession(t, randomID(t, "u-"), baseTime())
			u.Data = json.RawMessage(`{"keep":1}`)
			mustCreateSession(t, st, u)
			_, err := st.UpdateSessionData(t.Context(), u.ID, func(json.RawMessage, int64) (json.RawMessage, error) {
				return json.RawMessage(tc.JSON), nil
			})
			wantErr(t, "UpdateSessionData", err, store.ErrInvalidData)
			got := mustGetSession(t, st, u.ID)
			checkSameData(t, "after the refused update", got.Data, `{"keep":1}`)
			if got.DataVersion != 0 {
				t.Errorf("DataVersion = %d after a refused update, want 0", got.DataVersion)
			}
		})
	}
}
