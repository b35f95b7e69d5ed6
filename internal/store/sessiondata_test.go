package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestValidateSessionData checks the conformance suite's edge cases
// against the validator itself, and that its errors never quote the data.
func TestValidateSessionData(t *testing.T) {
	for _, tc := range storetest.ValidSessionData() {
		if err := store.ValidateSessionData([]byte(tc.JSON)); err != nil {
			t.Errorf("%s: %v, want nil", tc.Name, err)
		}
	}
	for _, tc := range storetest.InvalidSessionData() {
		err := store.ValidateSessionData([]byte(tc.JSON))
		if !errors.Is(err, store.ErrInvalidData) {
			t.Errorf("%s: %v, want ErrInvalidData", tc.Name, err)
			continue
		}
		if msg := err.Error(); !utf8.ValidString(msg) || strings.Contains(msg, `"a"`) || len(msg) > 120 {
			t.Errorf("%s: error %q quotes the data or is long", tc.Name, msg)
		}
	}
}

// FuzzValidateSessionData checks that the validator never panics and that
// what it accepts is valid UTF-8 JSON that encoding/json decodes.
func FuzzValidateSessionData(f *testing.F) {
	for _, tc := range append(storetest.ValidSessionData(), storetest.InvalidSessionData()...) {
		f.Add([]byte(tc.JSON))
	}
	for _, s := range []string{``, `"`, `"\`, `"\u`, `"\ud800\u`, `"\ud800\`, `1e`, `-`, `[1e-0999]`, `{"a":[{"a":{}}],"b":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if store.ValidateSessionData(b) != nil {
			return
		}
		if !json.Valid(b) || !utf8.Valid(b) {
			t.Fatalf("accepted %q, which is not valid UTF-8 JSON", b)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
	})
}
