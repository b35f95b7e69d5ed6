package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// maxPagesPerPoll bounds the pages one poll reads; the next poll goes on
// from there.
const maxPagesPerPoll = 100

// errNoStream reports a stream endpoint that does not serve an event
// stream at all (404, 405, 406, 501 or another media type), such as
// behind a proxy that does not pass it: the subscriber polls instead.
var errNoStream = errors.New("verifier: no event stream at the stream endpoint")

// subscriber keeps a RevocationSet up to date from the feed.
type subscriber struct {
	cfg   RevocationConfig
	fetch *fetcher
	set   *RevocationSet
	now   func() time.Time
	log   *slog.Logger

	// heard is when (by now) the subscriber last knew its view was
	// current: a poll succeeded, or the open stream sent a line.
	heard atomic.Int64
	// streaming is true while the stream is open.
	streaming atomic.Bool
	// gaps counts the stream events that arrived after a gap, each of
	// which made the subscriber read the feed.
	gaps atomic.Int64
}

// markHeard records contact with the feed.
func (s *subscriber) markHeard() { s.heard.Store(s.now().UnixNano()) }

// staleFor returns how long ago the subscriber last knew its view was
// current. An open stream counts as current.
func (s *subscriber) staleFor(now time.Time) time.Duration {
	if s.streaming.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, s.heard.Load()))
}

// poll reads the feed from the set's cursor until it has no more, or
// for at most maxPagesPerPoll pages (the next poll goes on from there).
func (s *subscriber) poll(ctx context.Context) error { return s.pollPages(ctx, maxPagesPerPoll) }

// catchUp reads the whole feed from the set's cursor, however many pages
// it takes: New must not return with part of it.
func (s *subscriber) catchUp(ctx context.Context) error { return s.pollPages(ctx, -1) }

// pollPages reads up to limit pages of the feed (no limit if negative),
// stopping early when the feed has no more or its cursor stops moving.
func (s *subscriber) pollPages(ctx context.Context, limit int) error {
	for page := 0; limit < 0 || page < limit; page++ {
		since := s.set.Cursor()
		u, err := withQuery(s.cfg.FeedURL, "since", strconv.FormatInt(since, 10))
		if err != nil {
			return err
		}
		body, err := s.fetch.get(ctx, u)
		if err != nil {
			return fmt.Errorf("%w: revocation feed: %w", ErrUnavailable, err)
		}
		events, cursor, more, bad, err := parseFeedPage(body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		for _, e := range bad {
			s.log.WarnContext(ctx, "verifier: skipped a revocation event", "err", e)
		}
		s.set.Add(s.now(), cursor, events...)
		if !more || s.set.Cursor() <= since {
			s.markHeard()
			return nil
		}
	}
	s.markHeard()
	return nil
}

// streamGap reports whether a stream event with the given data and
// cursor leaves out events after pos, the cursor read so far. Gatehouse
// puts in each event the cursor of the one it sent before ("prev"), which
// tells exactly; without it, cursors are taken to be consecutive, and a
// gap that is only a hole in the numbering costs one feed read.
func streamGap(data []byte, cursor, pos int64) bool {
	var p struct {
		Prev *int64 `json:"prev"`
	}
	if json.Unmarshal(data, &p) == nil && p.Prev != nil {
		return *p.Prev > pos
	}
	return cursor > pos+1
}

// withQuery returns raw with the query parameter name set to value.
func withQuery(raw, name, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// run follows the feed until ctx ends: the stream in stream mode, with
// polling while it is down, or polling alone.
func (s *subscriber) run(ctx context.Context) {
	if s.cfg.Mode == RevocationPoll {
		s.pollLoop(ctx)
		return
	}
	backoff := initialBackoff
	for {
		connected, err := s.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNoStream) {
			s.log.WarnContext(ctx, "verifier: the revocation stream is not available; polling instead", "err", err, "interval", s.cfg.PollInterval.String())
			s.pollLoop(ctx)
			return
		}
		if connected {
			backoff = initialBackoff
		}
		s.log.DebugContext(ctx, "verifier: revocation stream ended; reconnecting", "err", err, "backoff", backoff.String())
		// Until the stream is back, poll: at once, then every
		// PollInterval, so the delay never exceeds PollInterval.
		reconnect := time.Now().Add(backoff)
		for {
			if err := s.poll(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "verifier: revocation poll failed", "err", err)
			}
			wait := time.Until(reconnect)
			if wait > s.cfg.PollInterval {
				wait = s.cfg.PollInterval
			}
			if !sleep(ctx, wait) {
				return
			}
			if !time.Now().Before(reconnect) {
				break
			}
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// pollLoop polls every PollInterval until ctx ends.
func (s *subscriber) pollLoop(ctx context.Context) {
	for {
		if !sleep(ctx, s.cfg.PollInterval) {
			return
		}
		if err := s.poll(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "verifier: revocation poll failed", "err", err)
		}
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// stream reads the event stream from the set's cursor until it breaks.
// connected reports whether it was open at all.
func (s *subscriber) stream(parent context.Context) (connected bool, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	since := s.set.Cursor()
	u, err := withQuery(s.cfg.StreamURL, "since", strconv.FormatInt(since, 10))
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("verifier: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if since > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(since, 10))
	}
	// The idle timer also bounds the wait for the answer's header.
	idle := time.AfterFunc(s.cfg.IdleTimeout, cancel)
	defer idle.Stop()
	res, err := s.fetch.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("revocation stream: %w", err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusNotImplemented:
		return false, fmt.Errorf("%w: %w", errNoStream, errStatus(res.StatusCode))
	default:
		return false, fmt.Errorf("revocation stream: %w", errStatus(res.StatusCode))
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, fmt.Errorf("%w: content type %q", errNoStream, res.Header.Get("Content-Type"))
	}
	s.streaming.Store(true)
	defer func() {
		s.streaming.Store(false)
		s.markHeard()
	}()
	s.markHeard()
	p := newSSEParser(res.Body)
	p.onLine = func() {
		idle.Reset(s.cfg.IdleTimeout)
		s.markHeard()
	}
	for {
		ev, err := p.next()
		if err != nil {
			return true, fmt.Errorf("revocation stream: %w", err)
		}
		if ev.Type != "revocation" {
			continue
		}
		var cursor int64
		if id, err := strconv.ParseInt(ev.ID, 10, 64); err == nil && id > 0 {
			cursor = id
		}
		pos := s.set.Cursor()
		if cursor > 0 && cursor <= pos {
			continue // already read (from the feed, after a gap)
		}
		if streamGap(ev.Data, cursor, pos) {
			// An event between pos and this one did not arrive: read the
			// feed, which has every event in order, before going on, so
			// that the cursor never moves past an event not read.
			if err := s.catchUp(parent); err != nil {
				return true, fmt.Errorf("revocation stream: reading the feed after a gap at cursor %d: %w", pos, err)
			}
			idle.Reset(s.cfg.IdleTimeout)
			s.gaps.Add(1)
		}
		e, err := parseFeedEvent(ev.Data)
		if err != nil {
			s.log.WarnContext(ctx, "verifier: skipped a revocation event", "err", err)
			s.set.Add(s.now(), cursor)
			continue
		}
		s.set.Add(s.now(), cursor, e)
	}
}
