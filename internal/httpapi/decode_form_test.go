package httpapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// formRequest is a form POST; chunked hides the length, as a client
// streaming its body does.
func formRequest(body string, chunked bool) *http.Request {
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // no length for NewRequest to see
	}
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", rd)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if chunked {
		r.ContentLength = -1
	}
	return r
}

// TestReadFormPooledBuffer reads forms one after another through the
// same pooled buffer, with and without a known length, small and larger
// than the kept buffers: each form has exactly its own values, and a
// value kept from one form is not changed by reading the next.
func TestReadFormPooledBuffer(t *testing.T) {
	s := &Server{}
	s.buffers.New = newPooledBuffer
	long := strings.Repeat("x", maxPooledBuffer+100)
	bodies := []string{
		"grant_type=client_credentials&scope=a+b",
		"token=" + long,
		"token=short&token_type_hint=access_token",
		"grant_type=refresh_token&refresh_token=%2Fr%3D",
		"",
	}
	var kept []string
	for _, chunked := range []bool{false, true} {
		for i, body := range bodies {
			form, err := s.readForm(httptest.NewRecorder(), formRequest(body, chunked))
			if err != nil {
				t.Fatalf("form %d (chunked %v): %v", i, chunked, err)
			}
			if got := form.Encode(); got != normalizeForm(t, body) {
				t.Errorf("form %d (chunked %v) = %q, want %q", i, chunked, got, normalizeForm(t, body))
			}
			for _, v := range form {
				kept = append(kept, v[0])
			}
		}
	}
	joined := strings.Join(kept, "|")
	for _, want := range []string{"client_credentials", "a b", long, "short", "access_token", "/r="} {
		if !strings.Contains(joined, want) {
			t.Errorf("a kept value changed: %q lacks %.20q", joined, want)
		}
	}
}

func normalizeForm(t *testing.T, body string) string {
	t.Helper()
	r := formRequest(body, false)
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return r.PostForm.Encode()
}

// TestReadFormLimits: the pooled read keeps readBody's answers: 413 for a
// body over the limit (by its length, or while reading one without), and
// a repeated parameter refused.
func TestReadFormLimits(t *testing.T) {
	s := &Server{}
	s.buffers.New = newPooledBuffer
	big := "token=" + strings.Repeat("a", MaxBodyBytes)
	for _, chunked := range []bool{false, true} {
		_, err := s.readForm(httptest.NewRecorder(), formRequest(big, chunked))
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			t.Errorf("body over the limit (chunked %v): %v, want MaxBytesError", chunked, err)
		}
		if _, err := s.readForm(httptest.NewRecorder(), formRequest("a=1&a=2", chunked)); err == nil {
			t.Errorf("repeated parameter accepted (chunked %v)", chunked)
		}
	}
}

// TestReadAllInto reads into the given buffer and grows past it.
func TestReadAllInto(t *testing.T) {
	buf := make([]byte, 0, 8)
	got, err := readAllInto(buf, strings.NewReader("hello"))
	if err != nil || string(got) != "hello" || &got[0] != &buf[:1][0] {
		t.Errorf("small read = %q, %v (in the buffer: %v)", got, err, len(got) > 0 && &got[0] == &buf[:1][0])
	}
	long := strings.Repeat("0123456789", 1000)
	got, err = readAllInto(buf, io.MultiReader(strings.NewReader(long)))
	if err != nil || string(got) != long {
		t.Errorf("long read = %d bytes, %v", len(got), err)
	}
	got, err = readAllInto(nil, strings.NewReader(""))
	if err != nil || len(got) != 0 {
		t.Errorf("empty read = %q, %v", got, err)
	}
}
