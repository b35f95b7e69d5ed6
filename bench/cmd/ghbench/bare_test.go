package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// TestStartBare runs the bare handlers in their child process and checks
// that they answer like Gatehouse's endpoints and that the process ends
// with Close.
func TestStartBare(t *testing.T) {
	key, err := jose.GenerateKey(jose.EdDSA, "k1")
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewJWKS(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(key, "at+jwt", []byte(`{"sub":"u1"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartBare(BareConfig{MeJSON: []byte(`{"user":{}}`), JWKS: jwks, Keys: keys, SignKey: key, CCPayload: map[string]any{"sub": "c1"}, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if pid == os.Getpid() || cpuTicks(pid) < 0 {
		t.Fatalf("bare server pid %d: not a child process of its own", pid)
	}
	cases := []struct {
		name string
		req  func() *http.Request
		want int
		body string
	}{
		{"me-json", getReq(b.URL + "/me-json"), 200, `{"user":{}}`},
		{"me-bearer", getReq(b.URL+"/me-bearer", "Authorization", "Bearer "+tok), 200, `{"user":{}}`},
		{"me-bearer bad", getReq(b.URL+"/me-bearer", "Authorization", "Bearer "+tok+"x"), 401, ""},
		{"verify", postReq(b.URL+"/verify", "token="+tok, "application/x-www-form-urlencoded"), 200, `{"active":true}`},
		{"jwks", getReq(b.URL + "/jwks"), 200, string(jwks)},
		{"sign", postReq(b.URL+"/sign", "scope=a", "application/x-www-form-urlencoded"), 200, ""},
	}
	for _, tc := range cases {
		resp, err := http.DefaultClient.Do(tc.req())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.body != "" && string(body) != tc.body) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.want, tc.body)
		}
	}
	// The hardened server answers the same, with Gatehouse's headers.
	resp, err := http.Get(b.HardenedURL + "/me-json")
	if err != nil {
		t.Fatalf("hardened: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"user":{}}` || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("hardened me-json: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if b.HardenedURL == b.URL {
		t.Errorf("hardened and plain bare servers share %s", b.URL)
	}
	b.Close()
	if b.cmd.ProcessState == nil || !b.cmd.ProcessState.Exited() {
		t.Errorf("bare process still running after Close: %v", b.cmd.ProcessState)
	}
}
