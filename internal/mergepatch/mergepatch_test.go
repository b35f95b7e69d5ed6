package mergepatch

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// The examples of RFC 7396 appendix A, plus cases of our own.
func TestApply(t *testing.T) {
	tests := []struct {
		name, target, patch, want string
	}{
		{"replace member", `{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{"add member", `{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{"remove member", `{"a":"b"}`, `{"a":null}`, `{}`},
		{"remove one of two", `{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{"array replaced", `{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{"value becomes array", `{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{"nested", `{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{"arrays not merged", `{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{"array target", `["a","b"]`, `["c","d"]`, `["c","d"]`},
		{"object over array", `{"a":"b"}`, `["c"]`, `["c"]`},
		{"null patch", `{"a":"foo"}`, `null`, `null`},
		{"string patch", `{"a":"foo"}`, `"bar"`, `"bar"`},
		{"null inside kept out", `{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{"patch on scalar target", `[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{"deep create", `{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{"empty target", ``, `{"a":1}`, `{"a":1}`},
		{"big number kept exact", `{}`, `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply([]byte(tt.target), []byte(tt.patch))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !jsonEqual(t, got, []byte(tt.want)) {
				t.Errorf("Apply(%s, %s) = %s, want %s", tt.target, tt.patch, got, tt.want)
			}
		})
	}
}

func TestApplyInvalid(t *testing.T) {
	tests := []struct{ name, target, patch string }{
		{"bad patch", `{}`, `{"a":`},
		{"trailing patch", `{}`, `{} {}`},
		{"empty patch", `{}`, ``},
		{"bad target", `{"a"`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply([]byte(tt.target), []byte(tt.patch)); !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("Apply = %v, want ErrInvalidJSON", err)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	x, err := decode(a)
	if err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	y, err := decode(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// FuzzApply checks that Apply never panics, that its output is valid JSON,
// that applying the same patch twice changes nothing more (RFC 7396
// patches are idempotent), and that a valid patch of valid session data
// (store.ValidateSessionData) gives valid session data: the handler
// checks the patch as sent, and decoding must not turn it into something
// the stores refuse. The session data edge cases are seeds.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"a":"b"}`), []byte(`{"a":null,"b":{"c":1}}`))
	f.Add([]byte(`[1]`), []byte(`{"x":[1,{"y":null}]}`))
	f.Add([]byte(`{}`), []byte(`null`))
	f.Add([]byte(``), []byte(`"s"`))
	f.Add([]byte(`{"a":{"b":{"c":{}}}}`), []byte(`{"a":{"b":{"c":{"d":1e400}}}}`))
	for _, tc := range append(storetest.ValidSessionData(), storetest.InvalidSessionData()...) {
		f.Add([]byte(`{"a":{"b":1},"k":"v"}`), []byte(tc.JSON))
		f.Add([]byte(tc.JSON), []byte(`{"a":null,"n":1.5e3}`))
	}
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		once, err := Apply(target, patch)
		valid := store.ValidateSessionData(target) == nil && store.ValidateSessionData(patch) == nil
		if err != nil {
			if valid {
				t.Fatalf("Apply(%q, %q) of valid session data: %v", target, patch, err)
			}
			return
		}
		if valid {
			if err := store.ValidateSessionData(once); err != nil {
				t.Fatalf("Apply(%q, %q) = %q: %v", target, patch, once, err)
			}
		}
		if !json.Valid(once) {
			t.Fatalf("Apply produced invalid JSON %q", once)
		}
		twice, err := Apply(once, patch)
		if err != nil {
			t.Fatalf("second Apply failed: %v", err)
		}
		if !jsonEqual(t, once, twice) {
			t.Fatalf("not idempotent: %s then %s", once, twice)
		}
	})
}
