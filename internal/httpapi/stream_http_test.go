package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/apptest"
)

// TestRevocationStream checks that the event stream first replays events
// after the cursor, then pushes a new revocation as it happens.
func TestRevocationStream(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	u := srv.NewUser(t)
	old := tokenLogin(t, srv, u)
	bearer(srv, old.AccessToken).Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	_, oldClaims := jwtParts(t, old.AccessToken)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/revocations/stream?since=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream answered %d %q", resp.StatusCode, ct)
	}
	events := make(chan map[string]any, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e map[string]any
				if json.Unmarshal([]byte(data), &e) == nil {
					events <- e
				}
			}
		}
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return e
		case <-ctx.Done():
			t.Fatal("no event within 10s")
		}
		return nil
	}
	if e := next(); e["sid"] != oldClaims["sid"] {
		t.Fatalf("replayed event %v, want sid %v", e, oldClaims["sid"])
	}

	fresh := tokenLogin(t, srv, u)
	_, freshClaims := jwtParts(t, fresh.AccessToken)
	bearer(srv, fresh.AccessToken).Do(t, http.MethodPost, "/v1/logout", nil).WantStatus(t, http.StatusNoContent)
	for {
		e := next()
		if e["sid"] == freshClaims["sid"] {
			if c, ok := e["cursor"].(float64); !ok || c <= 0 {
				t.Errorf("event %v has no cursor", e)
			}
			return
		}
	}
}
