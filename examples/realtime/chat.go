package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// WebSocket close codes this server sends when a connection's credential
// ends (4000-4999 are for applications, RFC 6455 §7.4.2).
const (
	// CloseExpired: the access token expired. A client refreshes it
	// (refresh token) and reconnects.
	CloseExpired websocket.StatusCode = 4001
	// CloseRevoked: the session, the token or the user's credentials
	// were revoked, or the cookie session ended. A client must log in
	// again.
	CloseRevoked websocket.StatusCode = 4003
)

// Limits of the chat.
const (
	maxMessageBytes = 4 << 10
	sendBuffer      = 16
	writeTimeout    = 5 * time.Second
)

// closeReason maps the end of a credential's watch to a close code and a
// fixed reason (the detailed cause goes to the log, not to the client).
func closeReason(cause error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(cause, verifier.ErrExpired):
		return CloseExpired, "token expired"
	case errors.Is(cause, verifier.ErrRevoked):
		return CloseRevoked, "credential revoked"
	case errors.Is(cause, verifier.ErrSessionInactive):
		return CloseRevoked, "session ended"
	case errors.Is(cause, verifier.ErrClosed):
		return websocket.StatusGoingAway, "server shutting down"
	}
	return websocket.StatusNormalClosure, ""
}

// chat is one room: every message a member sends goes to every member.
type chat struct {
	v       *verifier.Verifier
	log     *slog.Logger
	origins []string

	// conns counts the open sockets, so shutdown can wait for their
	// close handshakes (http.Server.Shutdown does not track hijacked
	// connections).
	conns sync.WaitGroup

	mu      sync.Mutex
	members map[*member]struct{}
}

// member is one open connection.
type member struct {
	send chan []byte
	// gone is closed when the member was dropped for not keeping up.
	gone chan struct{}
}

func newChat(v *verifier.Verifier, log *slog.Logger, origins []string) *chat {
	return &chat{v: v, log: log, origins: origins, members: map[*member]struct{}{}}
}

// handler serves the page and the WebSocket endpoint. The upgrade is
// authenticated by the verifier's middleware like any other request: a
// bearer token (non-browser clients) or the Gatehouse session cookie
// (browsers on the issuer's host).
func (c *chat) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
	mux.Handle("GET /ws", c.v.Middleware(http.HandlerFunc(c.serveWS)))
	return mux
}

// serveWS upgrades an authenticated request and keeps the connection
// open until the client leaves or its credential ends, whichever comes
// first; then it closes the socket with a code saying why.
func (c *chat) serveWS(w http.ResponseWriter, r *http.Request) {
	p, _ := verifier.FromContext(r.Context())
	// Accept checks the Origin against the Host (and c.origins): with
	// cookie authentication this stops other sites' pages from opening
	// the socket in the user's name (cross-site WebSocket hijacking).
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: c.origins})
	if err != nil {
		c.log.Info("websocket upgrade failed", "err", err)
		return
	}
	c.conns.Add(1)
	defer c.conns.Done()
	conn.SetReadLimit(maxMessageBytes)
	// live ends when the credential is revoked or expires.
	live, stop := c.v.Watch(r.Context(), p)
	defer stop()

	m := &member{send: make(chan []byte, sendBuffer), gone: make(chan struct{})}
	c.join(m)
	defer c.leave(m)
	c.log.Info("joined", "sub", p.Subject, "sid", p.SessionID, "method", p.Method)

	// The reader uses the request's context, not live: a cancelled
	// context would make the library drop the connection without the
	// close frame that tells the client why.
	readDone := make(chan error, 1)
	go func() {
		for {
			_, msg, err := conn.Read(r.Context())
			if err != nil {
				readDone <- err
				return
			}
			c.broadcast(fmt.Appendf(nil, "%s: %s", p.Subject, msg))
		}
	}()

	for {
		select {
		case <-live.Done():
			cause := context.Cause(live)
			code, reason := closeReason(cause)
			c.log.Info("closing: credential ended", "sub", p.Subject, "sid", p.SessionID, "cause", cause)
			_ = conn.Close(code, reason)
			<-readDone
			return
		case err := <-readDone:
			if s := websocket.CloseStatus(err); s != websocket.StatusNormalClosure && s != websocket.StatusGoingAway {
				c.log.Info("connection ended", "sub", p.Subject, "err", err)
			}
			_ = conn.CloseNow()
			return
		case <-m.gone:
			_ = conn.Close(websocket.StatusPolicyViolation, "too slow")
			<-readDone
			return
		case msg := <-m.send:
			ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
			err := conn.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				_ = conn.CloseNow()
				<-readDone
				return
			}
		}
	}
}

// wait waits until every socket is closed, or ctx ends.
func (c *chat) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { c.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (c *chat) join(m *member) {
	c.mu.Lock()
	c.members[m] = struct{}{}
	c.mu.Unlock()
}

func (c *chat) leave(m *member) {
	c.mu.Lock()
	delete(c.members, m)
	c.mu.Unlock()
}

// broadcast sends msg to every member; a member whose buffer is full is
// dropped rather than allowed to slow the others down.
func (c *chat) broadcast(msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for m := range c.members {
		select {
		case m.send <- msg:
		default:
			delete(c.members, m)
			close(m.gone)
		}
	}
}

// page is a minimal browser client; it authenticates with the Gatehouse
// session cookie, which the browser sends to every port of the issuer's
// host.
const page = `<!doctype html>
<meta charset="utf-8">
<title>Gatehouse realtime chat</title>
<p id="status">connecting...</p>
<form id="f"><input id="text" autocomplete="off" autofocus> <button>send</button></form>
<pre id="log"></pre>
<script>
const log = document.getElementById("log"), status = document.getElementById("status");
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onopen = () => status.textContent = "connected";
ws.onmessage = (e) => log.textContent += e.data + "\n";
ws.onclose = (e) => status.textContent = "closed: " + e.code + " " + (e.reason || "(no reason)");
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  const t = document.getElementById("text");
  if (t.value) ws.send(t.value);
  t.value = "";
};
</script>
`
