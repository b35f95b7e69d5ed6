package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/jose"
)

// BareConfig is what the bare handlers reproduce: the same answers and
// the same cryptography as Gatehouse, and nothing else.
type BareConfig struct {
	MeJSON    []byte     // the body of GET /v1/me
	JWKS      []byte     // the body of GET /.well-known/jwks.json
	Keys      *jose.JWKS // Gatehouse's public keys, to verify its tokens
	SignKey   jose.PrivateKey
	CCPayload map[string]any // claims of a client-credentials token
	Password  string
}

// BareServer is a plain net/http server on loopback doing only the
// cryptography or lookup of each measured Gatehouse endpoint.
type BareServer struct {
	URL string
	srv *http.Server
}

// StartBare starts the bare handlers:
//
//	GET  /me-json    writes the /v1/me body
//	GET  /me-bearer  verifies the bearer token's signature, then writes it
//	POST /sign       signs a client-credentials token like Gatehouse's
//	POST /verify     verifies the form's token and writes {"active":true}
//	GET  /jwks       writes the JWKS body
//	POST /login      one Argon2id hash at OWASP parameters (m=19 MiB, t=2, p=1)
func StartBare(cfg BareConfig) (*BareServer, error) {
	v := jose.Verifier{Keys: cfg.Keys}
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	mux.HandleFunc("GET /me-json", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, cfg.MeJSON) })
	mux.HandleFunc("GET /me-bearer", func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Authorization")
		if len(tok) < 7 {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if _, err := v.Verify(tok[7:]); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		writeJSON(w, cfg.MeJSON)
	})
	mux.HandleFunc("POST /sign", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		claims := make(map[string]any, len(cfg.CCPayload))
		for k, v := range cfg.CCPayload {
			claims[k] = v
		}
		now := time.Now()
		var jti [16]byte
		_, _ = rand.Read(jti[:])
		claims["iat"], claims["exp"], claims["jti"] = now.Unix(), now.Add(5*time.Minute).Unix(), base64.RawURLEncoding.EncodeToString(jti[:])
		payload, _ := json.Marshal(claims)
		tok, err := jose.Sign(cfg.SignKey, "at+jwt", payload)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		b, _ := json.Marshal(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 300, "scope": r.PostForm.Get("scope")})
		writeJSON(w, b)
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if _, err := v.Verify(r.PostForm.Get("token")); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		writeJSON(w, []byte(`{"active":true}`))
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, cfg.JWKS) })
	salt := make([]byte, 16)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = argon2.IDKey([]byte(cfg.Password), salt, 2, 19*1024, 1, 32)
		writeJSON(w, cfg.MeJSON)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &BareServer{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Close stops the bare server.
func (b *BareServer) Close() { _ = b.srv.Close() }

// tokenPayload decodes the claims of a compact JWS without verifying it.
func tokenPayload(tok string) (map[string]any, error) {
	parts := splitJWS(tok)
	if parts == nil {
		return nil, fmt.Errorf("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

func splitJWS(tok string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(tok); i++ {
		if tok[i] == '.' {
			parts = append(parts, tok[start:i])
			start = i + 1
		}
	}
	parts = append(parts, tok[start:])
	if len(parts) != 3 {
		return nil
	}
	return parts
}
