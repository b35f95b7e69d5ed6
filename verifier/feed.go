package verifier

import (
	"encoding/json"
	"fmt"
	"time"
)

// RevocationEvent is one item of Gatehouse's revocation feed, the same
// JSON in GET /v1/revocations pages and in the event stream's data:
//
//	{"cursor":N,"sid"|"user"|"jti":"...","at":RFC3339,"expires":RFC3339}
//
// A "sid" revokes every token of that session or grant, a "jti" one
// token, a "user" every token with that "sub" and "iat" at or before
// "at". The event may be forgotten after "expires".
type RevocationEvent struct {
	Cursor  int64     `json:"cursor"`
	SID     string    `json:"sid"`
	User    string    `json:"user"`
	JTI     string    `json:"jti"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
}

// feedPage is one answer of the feed endpoint.
type feedPage struct {
	Revocations []json.RawMessage `json:"revocations"`
	Cursor      int64             `json:"cursor"`
	More        bool              `json:"more"`
}

// maxIDLen bounds the ids in feed events, like jose.MaxKeyIDLen bounds
// key IDs.
const maxIDLen = 256

// parseFeedEvent decodes and checks one feed item. An item whose kind
// this verifier does not know (none of sid, user, jti) is an error the
// caller may skip past.
func parseFeedEvent(data []byte) (RevocationEvent, error) {
	var e RevocationEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return RevocationEvent{}, fmt.Errorf("verifier: revocation event: %w", err)
	}
	if err := e.check(); err != nil {
		return RevocationEvent{}, err
	}
	return e, nil
}

// check validates a decoded event.
func (e *RevocationEvent) check() error {
	n := 0
	for _, id := range [...]string{e.SID, e.User, e.JTI} {
		if id != "" {
			n++
		}
		if len(id) > maxIDLen {
			return fmt.Errorf("verifier: revocation event: id longer than %d bytes", maxIDLen)
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("verifier: revocation event: want exactly one of sid, user, jti; got %d", n)
	case e.Cursor < 0:
		return fmt.Errorf("verifier: revocation event: negative cursor")
	case e.Expires.IsZero():
		return fmt.Errorf("verifier: revocation event: no expires")
	case e.User != "" && e.At.IsZero():
		return fmt.Errorf("verifier: user revocation event without at")
	}
	return nil
}

// parseFeedPage decodes a page of the feed. Items that fail
// parseFeedEvent are returned as errs, not as a failure of the page, so
// one event of a kind this verifier does not know does not stall it.
func parseFeedPage(data []byte) (events []RevocationEvent, cursor int64, more bool, errs []error, err error) {
	var p feedPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, 0, false, nil, fmt.Errorf("verifier: revocation feed page: %w", err)
	}
	if p.Cursor < 0 {
		return nil, 0, false, nil, fmt.Errorf("verifier: revocation feed page: negative cursor")
	}
	events = make([]RevocationEvent, 0, len(p.Revocations))
	for _, raw := range p.Revocations {
		e, err := parseFeedEvent(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events = append(events, e)
	}
	return events, p.Cursor, p.More, errs, nil
}
