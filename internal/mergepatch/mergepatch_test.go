package mergepatch

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
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
// and that applying the same patch twice changes nothing more (RFC 7396
// patches are idempotent).
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"a":"b"}`), []byte(`{"a":null,"b":{"c":1}}`))
	f.Add([]byte(`[1]`), []byte(`{"x":[1,{"y":null}]}`))
	f.Add([]byte(`{}`), []byte(`null`))
	f.Add([]byte(``), []byte(`"s"`))
	f.Add([]byte(`{"a":{"b":{"c":{}}}}`), []byte(`{"a":{"b":{"c":{"d":1e400}}}}`))
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		once, err := Apply(target, patch)
		if err != nil {
			return
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
