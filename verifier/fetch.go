package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is the most redirects followed for one request.
const maxRedirects = 5

// checkURL parses raw and accepts https URLs, and plain http ones only
// to loopback hosts unless insecureHTTP is set.
func checkURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrConfig, raw, err)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q must be an absolute URL without user info or fragment", ErrConfig, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u, nil
	case "http":
		if insecureHTTP || isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: %q: plain http is allowed only to loopback hosts", ErrInsecureURL, raw)
	}
	return nil, fmt.Errorf("%w: %q: scheme must be https", ErrInsecureURL, raw)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// fetcher makes the verifier's requests to the issuer.
type fetcher struct {
	// client has a redirect policy and no overall timeout, so it can
	// also hold the revocation stream open.
	client       *http.Client
	maxBytes     int64
	insecureHTTP bool
}

// newFetcher wraps base (nil for a default client) with the URL policy
// on redirects and without its Timeout.
func newFetcher(base *http.Client, maxBytes int64, insecureHTTP bool) *fetcher {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Timeout = 0
	userCheck := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("verifier: stopped after %d redirects", maxRedirects)
		}
		if _, err := checkURL(req.URL.String(), insecureHTTP); err != nil {
			return err
		}
		if userCheck != nil {
			return userCheck(req, via)
		}
		return nil
	}
	return &fetcher{client: c, maxBytes: maxBytes, insecureHTTP: insecureHTTP}
}

// errStatus is the cause for an unexpected HTTP status.
type errStatus int

// Error names the status.
func (e errStatus) Error() string {
	return fmt.Sprintf("status %d %s", int(e), http.StatusText(int(e)))
}

// do sends req, bounded by fetchTimeout, and returns the body of a 200
// answer, read up to the size limit.
func (f *fetcher) do(req *http.Request) ([]byte, error) {
	ctx, cancel := context.WithTimeout(req.Context(), fetchTimeout)
	defer cancel()
	res, err := f.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), errStatus(res.StatusCode))
	}
	body, err := readLimited(res.Body, f.maxBytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	return body, nil
}

// get fetches a JSON document.
func (f *fetcher) get(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	return f.do(req)
}

// errTooLarge is the cause for a document over the size limit.
var errTooLarge = errors.New("response larger than the limit")

// readLimited reads r whole, failing if it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
	}
	return b, nil
}
