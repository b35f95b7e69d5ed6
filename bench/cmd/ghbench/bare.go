package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
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

// bareSpec is BareConfig as the bare process receives it: the public
// keys travel as the JWKS itself, and the process generates its own
// signing key of SignKey's algorithm.
type bareSpec struct {
	MeJSON    []byte         `json:"me_json"`
	JWKS      []byte         `json:"jwks"`
	SignAlg   jose.Algorithm `json:"sign_alg"`
	CCPayload map[string]any `json:"cc_payload"`
	Password  string         `json:"password"`
}

// bareEnv, when set, turns this program into the bare server: it holds
// the path of a JSON bareSpec. The bare handlers run in a process of
// their own, like Gatehouse, so that both sides of a row pay the same
// process boundary and their CPU time can be read apart from the load
// generator's.
const bareEnv = "GHBENCH_BARE_SPEC"

func init() {
	if path := os.Getenv(bareEnv); path != "" {
		if err := bareMain(path); err != nil {
			fmt.Fprintln(os.Stderr, "ghbench bare:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// bareMain serves the bare handlers on a loopback port, writes its base
// URL as the first line of standard output, and exits when standard input
// closes (the parent is done or gone).
func bareMain(specPath string) error {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec bareSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return err
	}
	keys, err := jose.ParseJWKS(spec.JWKS)
	if err != nil {
		return fmt.Errorf("parse JWKS: %w", err)
	}
	signKey, err := jose.GenerateKey(spec.SignAlg, "bare")
	if err != nil {
		return err
	}
	cfg := BareConfig{MeJSON: spec.MeJSON, JWKS: spec.JWKS, Keys: keys, SignKey: signKey, CCPayload: spec.CCPayload, Password: spec.Password}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hardLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := bareMux(cfg)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	hard := hardenedServer(mux)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
		_ = hard.Close()
	}()
	fmt.Printf("http://%s\nhttp://%s\n", ln.Addr(), hardLn.Addr())
	go func() { _ = hard.Serve(hardLn) }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hardenedServer serves the bare handlers the way Gatehouse serves its
// API, minus everything Gatehouse does per request: the headers every
// Gatehouse answer carries (internal/httpapi securityHeaders and cors)
// and the http.Server timeouts of internal/app Serve, whose deadlines
// are set on every request. It is the reference of the wrk section's
// "hardened bare" column: what a bare handler costs once it answers as
// safely as Gatehouse does, so that the report can tell the price of
// those headers and timeouts from the price of Gatehouse's own work.
func hardenedServer(h http.Handler) *http.Server {
	secured := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["X-Content-Type-Options"] = []string{"nosniff"}
		hd["Referrer-Policy"] = []string{"no-referrer"}
		hd["X-Frame-Options"] = []string{"DENY"}
		hd["Content-Security-Policy"] = []string{"default-src 'none'; frame-ancestors 'none'"}
		hd["Cache-Control"] = []string{"no-store"}
		hd["Vary"] = []string{"Origin"}
		h.ServeHTTP(w, r)
	})
	return &http.Server{
		Handler:           secured,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// BareServer is a plain net/http server on loopback, in a process of its
// own, doing only the cryptography or lookup of each measured Gatehouse
// endpoint.
type BareServer struct {
	URL string
	// HardenedURL serves the same handlers with Gatehouse's headers and
	// server timeouts (hardenedServer).
	HardenedURL string
	cmd         *exec.Cmd
	stdin       io.Closer
	spec        string
}

// StartBare starts the bare handlers in a child process (this program,
// re-run with bareEnv set), at URL and, with Gatehouse's headers and
// server timeouts, at HardenedURL:
//
//	GET  /me-json    writes the /v1/me body
//	GET  /me-bearer  verifies the bearer token's signature, then writes it
//	POST /sign       signs a client-credentials token like Gatehouse's
//	POST /verify     verifies the form's token and writes {"active":true}
//	GET  /jwks       writes the JWKS body
//	POST /login      one Argon2id hash at OWASP parameters (m=19 MiB, t=2, p=1),
//	                 at most GOMAXPROCS at once
func StartBare(cfg BareConfig) (*BareServer, error) {
	alg := cfg.SignKey.Algorithm()
	if alg == "" {
		alg = jose.EdDSA
	}
	spec, err := json.Marshal(bareSpec{MeJSON: cfg.MeJSON, JWKS: cfg.JWKS, SignAlg: alg, CCPayload: cfg.CCPayload, Password: cfg.Password})
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "ghbench-bare-*.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Write(spec); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), bareEnv+"="+f.Name())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	b := &BareServer{cmd: cmd, stdin: stdin, spec: f.Name()}
	line := make(chan [2]string, 1)
	go func() {
		rd := bufio.NewReader(stdout)
		l1, _ := rd.ReadString('\n')
		l2, _ := rd.ReadString('\n')
		line <- [2]string{strings.TrimSpace(l1), strings.TrimSpace(l2)}
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l[0], "http://") || !strings.HasPrefix(l[1], "http://") {
			b.Close()
			return nil, fmt.Errorf("bare server did not start (said %q)", l)
		}
		b.URL, b.HardenedURL = l[0], l[1]
	case <-time.After(30 * time.Second):
		b.Close()
		return nil, errors.New("bare server did not start within 30s")
	}
	return b, nil
}

// PID returns the bare process's id, for its CPU time.
func (b *BareServer) PID() int { return b.cmd.Process.Pid }

// Close stops the bare server.
func (b *BareServer) Close() {
	_ = b.stdin.Close()
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	os.Remove(b.spec)
}

// bareMux returns the bare handlers.
func bareMux(cfg BareConfig) http.Handler {
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
		if _, err := v.Verify(r.Context(), tok[7:]); err != nil {
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
		if _, err := v.Verify(r.Context(), r.PostForm.Get("token")); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		writeJSON(w, []byte(`{"active":true}`))
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, cfg.JWKS) })
	salt := make([]byte, 16)
	// As many hashes at once as there are CPUs, as any server that
	// hashes passwords must bound them (Gatehouse does the same, and
	// sheds past its 2 s wait with a 429): unbounded, a round at c=128
	// left the bare process computing abandoned hashes for seconds, and
	// the next rows measured that backlog (0 or 1 bare logins per second
	// at c=1). A request whose client has gone is not hashed.
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-slots }()
		if r.Context().Err() != nil {
			return
		}
		_ = argon2.IDKey([]byte(cfg.Password), salt, 2, 19*1024, 1, 32)
		writeJSON(w, cfg.MeJSON)
	})
	return mux
}

// tokenPayload decodes the claims of a compact JWS without verifying it.
func tokenPayload(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}
