package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/revocation"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/token"
	"github.com/gatehouse-auth/gatehouse/jose"
)

// TokenService is what the token endpoints need from package token.
type TokenService interface {
	accounts.TokenIssuer
	BearerAuthenticator
	SessionToken(ctx context.Context, sess store.Session, audience string) (token.Response, error)
	Refresh(ctx context.Context, presented, clientID string, scope []string, extend token.Extend) (token.Response, error)
	Introspect(ctx context.Context, raw string) (token.Introspection, store.Session)
	Revoke(ctx context.Context, raw, clientID string) error
}

// KeyService is what the key endpoints need from package keys.
type KeyService interface {
	JWKS() []byte
	DefaultAlgorithm() jose.Algorithm
	Algorithms() []jose.Algorithm
	// RotateDelayed publishes a new key that signs after the publish
	// delay; RotateImmediately one that signs at once. Either may add an
	// algorithm the server has no key for yet.
	RotateDelayed(ctx context.Context, alg jose.Algorithm) (keys.Rotation, error)
	RotateImmediately(ctx context.Context, alg jose.Algorithm) (keys.Rotation, error)
}

// RevocationFeed is what the revocation feed needs from package
// revocation.
type RevocationFeed interface {
	Since(ctx context.Context, seq int64, limit int) ([]store.Revocation, error)
	// Subscribe reads the published log after a cursor: every event
	// exactly once, in order.
	Subscribe(after int64) *revocation.Subscription
}

func (s *Server) tokenRoutes() {
	m := s.mux
	discovery := s.discoveryHandler()
	m.HandleFunc("GET /.well-known/openid-configuration", discovery)
	// RFC 8414 section 3: the same metadata for plain OAuth clients.
	m.HandleFunc("GET /.well-known/oauth-authorization-server", discovery)
	m.HandleFunc("GET /.well-known/jwks.json", s.jwksHandler())
	m.Handle("POST /v1/session/token", s.user(s.handleSessionToken))
	m.HandleFunc("GET /v1/revocations", s.handleRevocations)
	m.Handle("GET /v1/revocations/stream", s.limitStreams(http.HandlerFunc(s.handleRevocationStream)))
	m.Handle("POST /admin/v1/keys/rotate", s.admin(s.handleRotateKey))
	m.HandleFunc("POST /oauth2/token", s.handleToken)
	m.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
	m.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
}

// Discovery returns the OpenID Connect Discovery document's fields that
// describe what is implemented. The OAuth work extends it.
func (s *Server) discovery() map[string]any {
	iss := s.cfg.Issuer
	doc := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"token_endpoint":                        iss + "/oauth2/token",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"introspection_endpoint":                iss + "/oauth2/introspect",
		"gatehouse_revocations_endpoint":        iss + "/v1/revocations",
		"gatehouse_revocations_stream_endpoint": iss + "/v1/revocations/stream",
	}
	s.addOAuthDiscovery(doc)
	return doc
}

func (s *Server) handleSessionToken(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if p.Method != authn.MethodSession {
		s.writeError(w, r, errInvalidRequest("POST /v1/session/token needs a cookie session"))
		return
	}
	var req struct {
		Audience string `json:"audience"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if len(req.Audience) > 512 {
		s.writeError(w, r, errInvalidRequest("audience is too long"))
		return
	}
	sess, err := s.deps.Sessions.Get(r.Context(), p.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.deps.TokenService.SessionToken(r.Context(), sess, req.Audience)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// revocationJSON is one event of the revocation feed.
type revocationJSON struct {
	Cursor  int64     `json:"cursor"`
	SID     string    `json:"sid,omitempty"`
	User    string    `json:"user,omitempty"`
	JTI     string    `json:"jti,omitempty"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
}

func toRevocationJSON(e store.Revocation) revocationJSON {
	return revocationJSON{Cursor: e.Seq, SID: e.SessionID, User: e.UserID, JTI: e.TokenID, At: e.At.UTC(), Expires: e.Expires.UTC()}
}

// feedPage is the most events one GET /v1/revocations returns.
const feedPage = 1000

func parseCursor(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalidRequest("since must be a cursor from an earlier answer")
	}
	return n, nil
}

// handleRevocations answers the live revocation events after a cursor:
// {"revocations": [...], "cursor": N}. Pass cursor back as since=N.
func (s *Server) handleRevocations(w http.ResponseWriter, r *http.Request) {
	since, err := parseCursor(r.URL.Query().Get("since"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	evs, err := s.deps.Revocations.Since(r.Context(), since, feedPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]revocationJSON, 0, len(evs))
	cursor := since
	for _, e := range evs {
		out = append(out, toRevocationJSON(e))
		cursor = max(cursor, e.Seq)
	}
	writeJSON(w, http.StatusOK, map[string]any{"revocations": out, "cursor": cursor, "more": len(evs) == feedPage})
}

// streamEventJSON is one event of the revocation stream: a feed event
// with the cursor of the event the stream sent before it (or the cursor it
// resumed from), so that a reader sees at once whether it missed one.
type streamEventJSON struct {
	revocationJSON
	Prev int64 `json:"prev"`
}

// handleRevocationStream streams revocation events as Server-Sent Events:
// first those after since (or Last-Event-ID), then each new one as it
// happens, every event exactly once and in cursor order, however many
// arrive at once. Each event's id is its cursor and its "prev" the cursor
// before it; a comment every 15 seconds keeps proxies from closing the
// stream. The stream ends if the log cannot be read; the reader resumes
// from the last id it got.
func (s *Server) handleRevocationStream(w http.ResponseWriter, r *http.Request) {
	cur := r.URL.Query().Get("since")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		cur = id
	}
	since, err := parseCursor(cur)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the write timeout
	sub := s.deps.Revocations.Subscribe(since)
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	prev := since
	send := func(e store.Revocation) error {
		b, err := json.Marshal(streamEventJSON{toRevocationJSON(e), prev})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: revocation\ndata: %s\n\n", e.Seq, b); err != nil {
			return err
		}
		prev = e.Seq
		return nil
	}
	// drain sends every waiting event.
	drain := func() error {
		for {
			evs, err := sub.Next(r.Context(), feedPage)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if err := send(e); err != nil {
					return err
				}
			}
			if len(evs) == 0 {
				return nil
			}
		}
	}
	if drain() != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-sub.Ready():
			if drain() != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// handleRotateKey rotates the key of alg (default: the access-token
// algorithm), which may add an algorithm to the server. The new key is in
// the JWKS at once and signs after the publish delay, so that verifiers
// with a cached JWKS know it by then; immediate=true makes it sign at once
// (an emergency rotation). The answer is {"kid", "signs_from"}.
func (s *Server) handleRotateKey(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	alg := jose.Algorithm(q.Get("alg"))
	if alg == "" {
		alg = s.deps.Keys.DefaultAlgorithm()
	}
	if !alg.Valid() {
		s.writeError(w, r, errInvalidRequest("alg must be one of EdDSA, ES256 or RS256"))
		return
	}
	rotate := s.deps.Keys.RotateDelayed
	switch q.Get("immediate") {
	case "", "false":
	case "true":
		rotate = s.deps.Keys.RotateImmediately
	default:
		s.writeError(w, r, errInvalidRequest("immediate must be true or false"))
		return
	}
	rot, err := rotate(r.Context(), alg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"kid": rot.KeyID, "signs_from": rot.SignsFrom.UTC().Format(time.RFC3339Nano)})
}
