package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/verifier"
)

// RevocationResult is the delay distribution of one revocation path.
type RevocationResult struct {
	Path   string
	Delays []time.Duration
	Sum    Summary
	Failed int    // trials that never saw the rejection within the cap
	Note   string // why the path was not measured, when it was not
}

// revocationCap bounds one trial's wait for the rejection.
const revocationCap = 10 * time.Second

// revokeOwn measures, on one server, the time from sending DELETE
// /v1/sessions/{id} to the first 401 from GET /v1/me with the revoked
// cookie, on the same server (a) or on another (c).
func revokeOwn(path string, on, check *Server, email, password string, trials int) RevocationResult {
	res := RevocationResult{Path: path}
	client := newClient(2)
	for range trials {
		s, err := on.LoginSession(client, email, password)
		if err != nil {
			res.Note = err.Error()
			return res
		}
		hdr := map[string]string{"Cookie": cookieHeader(s.Cookie)}
		if st, b, _, err := do(client, http.MethodGet, check.URL+"/v1/me", "", hdr); err != nil || st != 200 {
			res.Note = fmt.Sprintf("warm-up /v1/me: %d %s %v", st, b, err)
			return res
		}
		t0 := time.Now()
		st, b, _, err := do(client, http.MethodDelete, on.URL+"/v1/sessions/"+s.ID, "", map[string]string{"Cookie": cookieHeader(s.Cookie), "X-CSRF-Token": s.CSRF})
		if err != nil || st != http.StatusNoContent {
			res.Note = fmt.Sprintf("revoke: %d %s %v", st, b, err)
			return res
		}
		ok := false
		for time.Since(t0) < revocationCap {
			st, _, _, err := do(client, http.MethodGet, check.URL+"/v1/me", "", hdr)
			if err == nil && st == http.StatusUnauthorized {
				ok = true
				break
			}
			if on != check {
				time.Sleep(time.Millisecond)
			}
		}
		if !ok {
			res.Failed++
			continue
		}
		res.Delays = append(res.Delays, time.Since(t0))
	}
	res.Sum = Summarize(res.Delays)
	return res
}

// revokeVerifier measures the time from POST /v1/logout with a token to
// the first refusal of that token by a verifier.Verifier subscribed to
// the server's revocation stream (b).
func revokeVerifier(ctx context.Context, srv *Server, email, password string, trials int) RevocationResult {
	res := RevocationResult{Path: "verifier subscribed to the feed"}
	client := newClient(2)
	tok, _, err := srv.LoginToken(client, email, password)
	if err != nil {
		res.Note = err.Error()
		return res
	}
	claims, err := tokenPayload(tok)
	if err != nil {
		res.Note = err.Error()
		return res
	}
	aud, _ := claims["aud"].(string)
	if list, ok := claims["aud"].([]any); ok && len(list) > 0 {
		aud, _ = list[0].(string)
	}
	v, err := verifier.New(ctx, verifier.Config{Issuer: srv.URL, Audience: aud})
	if err != nil {
		res.Note = "verifier.New: " + err.Error()
		return res
	}
	defer v.Close()
	for i := range trials {
		if i > 0 {
			if tok, _, err = srv.LoginToken(client, email, password); err != nil {
				res.Note = err.Error()
				return res
			}
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			res.Note = "fresh token refused: " + err.Error()
			return res
		}
		t0 := time.Now()
		st, b, _, err := do(client, http.MethodPost, srv.URL+"/v1/logout", "", map[string]string{"Authorization": "Bearer " + tok})
		if err != nil || st != http.StatusNoContent {
			res.Note = fmt.Sprintf("logout: %d %s %v", st, b, err)
			return res
		}
		ok := false
		for time.Since(t0) < revocationCap {
			if _, err := v.Verify(ctx, tok); err != nil {
				ok = true
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		if !ok {
			res.Failed++
			continue
		}
		res.Delays = append(res.Delays, time.Since(t0))
	}
	res.Sum = Summarize(res.Delays)
	return res
}

// StormResult is what a login storm measured.
type StormResult struct {
	// Logins were sent; Shed were refused with 429 (the server sheds
	// logins that queue too long for a hash slot, by design); Errors are
	// every other failure.
	Logins, Shed, Errors   int
	Elapsed                time.Duration
	Lat                    Summary
	RSSBefore, HWMAfter    int64 // bytes
	HashConcurrency        int
	FirstError             string
	DBBytesBefore, DBAfter int64
}

// loginStorm fires n concurrent session logins at a fresh server and
// reads its peak resident memory (VmHWM) before and after.
func loginStorm(srv *Server, email, password string, n int) StormResult {
	res := StormResult{Logins: n, RSSBefore: ProcStatus(srv.PID(), "VmHWM"), DBBytesBefore: dirBytes(srv.DataDir, "*.db*")}
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			t := time.Now()
			_, err := srv.LoginSession(client, email, password)
			el := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var se *StatusError
				if errors.As(err, &se) && se.Status == http.StatusTooManyRequests {
					res.Shed++
					return
				}
				res.Errors++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				return
			}
			lat = append(lat, el)
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Elapsed = time.Since(t0)
	res.Lat = Summarize(lat)
	res.HWMAfter = ProcStatus(srv.PID(), "VmHWM")
	res.DBAfter = dirBytes(srv.DataDir, "*.db*")
	return res
}

// OK returns how many logins succeeded.
func (r StormResult) OK() int { return r.Logins - r.Shed - r.Errors }

// StormTarget judges that peak resident memory stays bounded under a
// login storm: the storm of many logins must not peak much higher than
// the one of few (at most 1.25× plus 16 MiB), since only the hashing
// slots (one per CPU by default, 19 MiB each) hold Argon2id memory
// however many logins wait, and no login may fail other than by being
// shed with 429.
func StormTarget(small, big StormResult) Target {
	bound := small.HWMAfter + small.HWMAfter/4 + 16<<20
	t := Target{
		Name: fmt.Sprintf("login storm peak RSS bounded (%d vs %d concurrent)", big.Logins, small.Logins),
		Bound: fmt.Sprintf("peak at %d ≤ 1.25 × peak at %d + 16 MiB = %s, no errors but 429 (unbounded hashing would need %d×19 MiB = %s)",
			big.Logins, small.Logins, mib(bound), big.Logins, mib(int64(big.Logins)*19<<20)),
		Measured: fmt.Sprintf("%s at %d, %s at %d; errors %d", mib(big.HWMAfter), big.Logins, mib(small.HWMAfter), small.Logins, small.Errors+big.Errors),
		Verdict:  "not met",
	}
	switch {
	case small.HWMAfter <= 0 || big.HWMAfter <= 0:
		t.Verdict = "not measured"
	case big.HWMAfter <= bound && small.Errors == 0 && big.Errors == 0:
		t.Verdict = "met"
	}
	return t
}

// dirBytes sums the sizes of the files matching pattern in dir.
func dirBytes(dir, pattern string) int64 {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	var n int64
	for _, f := range m {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// WireSize is the size on the wire of each credential for one algorithm.
type WireSize struct {
	Alg                       string
	AccessToken, RefreshToken int
	Cookie, SetCookie         int // cookie value; whole Set-Cookie header value
}

// wireSizes logs in both ways on srv and measures the credentials.
func wireSizes(srv *Server, alg, email, password string) (WireSize, error) {
	ws := WireSize{Alg: alg}
	client := newClient(1)
	_, b, err := srv.LoginToken(client, email, password)
	if err != nil {
		return ws, err
	}
	ws.AccessToken = len(jsonField(b, "access_token"))
	ws.RefreshToken = len(jsonField(b, "refresh_token"))
	st, body, res, err := do(client, http.MethodPost, srv.URL+"/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), nil)
	if err != nil || st != 200 {
		return ws, fmt.Errorf("login: %d %s %v", st, body, err)
	}
	for _, c := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, cookieName+"=") {
			ws.SetCookie = len(c)
			v, _, _ := strings.Cut(strings.TrimPrefix(c, cookieName+"="), ";")
			ws.Cookie = len(v)
		}
	}
	return ws, nil
}

func jsonField(b []byte, name string) string {
	_, after, ok := strings.Cut(string(b), `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// cpuTicks returns utime+stime of a process in clock ticks (USER_HZ,
// 100 per second on Linux), or -1.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return u + st
}
