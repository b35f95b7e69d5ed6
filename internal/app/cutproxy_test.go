package app_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cutProxy forwards loopback TCP connections to a backend server (the
// shared PostgreSQL or Redis, never touched itself), counts the bytes sent
// to it, and can be cut: Cut closes every open connection and makes new
// ones close at once, as a network failure between Gatehouse and its
// backend would; Restore lets connections through again.
type cutProxy struct {
	ln     net.Listener
	target string
	sent   atomic.Int64 // bytes from Gatehouse to the backend

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newCutProxy listens on a free loopback port and forwards to target
// (host:port) until the test ends.
func newCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// addr returns the proxy's host:port.
func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// through returns rawURL with its host replaced by the proxy's address.
func (p *cutProxy) through(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr()
	return u.String()
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst io.Writer, dc, sc net.Conn) {
			_, _ = io.Copy(dst, sc)
			dc.Close()
			sc.Close()
			p.mu.Lock()
			delete(p.conns, dc)
			delete(p.conns, sc)
			p.mu.Unlock()
		}
		p.wg.Go(func() { pipe(countingWriter{up, &p.sent}, up, c) })
		p.wg.Go(func() { pipe(c, c, up) })
	}
}

// countingWriter adds to n what it is given to write, before it writes
// it: a byte Gatehouse sends is counted before the backend can see it, so
// before any answer to it reaches Gatehouse. Once a request that waits on
// its backend calls has returned, the count holds every byte they sent,
// with no need to wait for the copy loops.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(b []byte) (int, error) {
	cw.n.Add(int64(len(b)))
	return cw.w.Write(b)
}

// Cut closes every connection and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets new connections through.
func (p *cutProxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}
