package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client sends requests to a Server the way one browser would: it keeps
// the session cookie the server sets (and drops it when the server clears
// it) and sends its CSRF token on unsafe methods. Its fields may be set by
// hand to forge any other behaviour.
type Client struct {
	srv *Server
	// Cookie is the session cookie's value; empty sends none.
	Cookie string
	// CSRF is sent as X-CSRF-Token on POST, PUT, PATCH and DELETE when not
	// empty.
	CSRF string
	// SessionID and UserID are the public ids of the last login.
	SessionID string
	UserID    string
	// Header is added to every request.
	Header http.Header
}

// NewClient returns a client without a cookie.
func (s *Server) NewClient() *Client { return &Client{srv: s, Header: http.Header{}} }

// LoginResult is the body of a successful session-mode login.
type LoginResult struct {
	User struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"user"`
	Session struct {
		ID            string    `json:"id"`
		CreatedAt     time.Time `json:"created_at"`
		ExpiresAt     time.Time `json:"expires_at"`
		IdleExpiresAt time.Time `json:"idle_expires_at"`
	} `json:"session"`
	CSRFToken string `json:"csrf_token"`
}

// Login posts the credentials in session mode, sending the client's
// current cookie if it has one, and fails the test unless the answer is
// 200 with a cookie and a CSRF token. The client then holds the new
// session.
func (c *Client) Login(t testing.TB, email, password string) LoginResult {
	t.Helper()
	var res LoginResult
	r := c.Do(t, http.MethodPost, "/v1/login", map[string]string{"email": email, "password": password, "mode": "session"}).
		WantStatus(t, http.StatusOK)
	r.Decode(t, &res)
	ck := r.Cookie(c.srv.CookieName())
	if ck == nil || ck.Value == "" {
		t.Fatalf("apptest: login set no %s cookie; Set-Cookie: %q", c.srv.CookieName(), r.Header.Values("Set-Cookie"))
	}
	if res.CSRFToken == "" || res.Session.ID == "" {
		t.Fatalf("apptest: login answered no session id or CSRF token: %s", r.Body)
	}
	c.CSRF = res.CSRFToken
	c.SessionID = res.Session.ID
	c.UserID = res.User.ID
	return res
}

// Do sends a request and returns the answer. body is nil for none, a
// string, []byte or json.RawMessage sent as is, or any other value sent as
// its JSON; a body is labelled application/json. header holds name, value
// pairs applied last; an empty value removes the header (so
// "X-CSRF-Token", "" sends no CSRF token, "Content-Type", "" no media
// type).
func (c *Client) Do(t testing.TB, method, path string, body any, header ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("apptest: encode request body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("apptest: new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(header)%2 != 0 {
		t.Fatalf("apptest: odd number of header arguments: %q", header)
	}
	for i := 0; i < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	// The client's own headers yield to ones given for this request.
	for k, vs := range c.Header {
		if !named(header, k) {
			req.Header[k] = vs
		}
	}
	if c.CSRF != "" && unsafe(method) && !named(header, "X-CSRF-Token") {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	return c.Send(t, req)
}

// named reports whether the name, value pairs of header name the header.
func named(header []string, name string) bool {
	for i := 0; i < len(header); i += 2 {
		if strings.EqualFold(header[i], name) {
			return true
		}
	}
	return false
}

func unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Send sends req as built by the caller, adding only the client's cookie
// (unless req has a Cookie header), and keeps any session cookie the
// answer sets.
func (c *Client) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	if c.Cookie != "" && req.Header.Get("Cookie") == "" {
		req.AddCookie(&http.Cookie{Name: c.srv.CookieName(), Value: c.Cookie})
	}
	res, err := c.srv.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("apptest: %s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := &Response{Status: res.StatusCode, Header: res.Header, Body: b, Method: req.Method, Path: req.URL.Path, cookies: res.Cookies()}
	if ck := r.Cookie(c.srv.CookieName()); ck != nil {
		if ck.MaxAge < 0 || ck.Value == "" {
			c.Cookie = ""
		} else {
			c.Cookie = ck.Value
		}
	}
	return r
}

// Response is an answer read whole.
type Response struct {
	Status       int
	Header       http.Header
	Body         []byte
	Method, Path string
	cookies      []*http.Cookie
}

// Cookie returns the cookie the answer sets under name, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// WantStatus fails the test unless the answer has the status code.
func (r *Response) WantStatus(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Method, r.Path, r.Status, status, r.Body)
	}
	return r
}

// Decode decodes the JSON body into v, failing the test unless the answer
// is labelled application/json and decodes.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json; body: %s", r.Method, r.Path, r.Header.Get("Content-Type"), r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s %s: decode body: %v; body: %s", r.Method, r.Path, err, r.Body)
	}
}

// JSON decodes the body as a JSON object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	return m
}

// ErrorBody is the contract's error answer.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// WantError fails the test unless the answer is status with a JSON error
// body of exactly the contract's two members, carrying code and a
// description.
func (r *Response) WantError(t testing.TB, status int, code string) ErrorBody {
	t.Helper()
	r.WantStatus(t, status)
	var raw map[string]json.RawMessage
	r.Decode(t, &raw)
	var e ErrorBody
	r.Decode(t, &e)
	if e.Error != code {
		t.Fatalf("%s %s: error %q, want %q; body: %s", r.Method, r.Path, e.Error, code, r.Body)
	}
	if e.Description == "" || len(raw) != 2 {
		t.Fatalf("%s %s: error body %s, want exactly error and a non-empty error_description", r.Method, r.Path, r.Body)
	}
	return e
}
