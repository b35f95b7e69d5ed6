package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Page sizes of the event listings.
const (
	defaultEventPage = 100
	maxEventPage     = store.MaxEventPage
)

// eventRoutes mounts the audit trail's listings (issue #17).
func (s *Server) eventRoutes() {
	s.mux.Handle("GET /admin/v1/events", s.admin(s.handleAdminEvents))
	s.mux.Handle("GET /v1/me/events", s.user(s.handleMyEvents))
}

// eventJSON is one audit event as the API shows it.
type eventJSON struct {
	Seq       int64             `json:"seq"`
	Time      string            `json:"time"`
	Type      string            `json:"type"`
	Actor     actorJSON         `json:"actor"`
	UserID    string            `json:"user_id,omitempty"`
	SessionID string            `json:"session_id,omitempty"`
	ClientID  string            `json:"client_id,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Detail    map[string]string `json:"detail"`
}

// actorJSON is an event's actor; the id is left out where the reader may
// not see it.
type actorJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// eventListJSON is a page of events, newest first; NextCursor, when set,
// asks for the next (older) page.
type eventListJSON struct {
	Events     []eventJSON `json:"events"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func toEventJSON(e audit.Event) eventJSON {
	return eventJSON{
		Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Type: e.Type,
		Actor:  actorJSON{Kind: e.Actor.Kind, ID: e.Actor.ID},
		UserID: e.UserID, SessionID: e.SessionID, ClientID: e.ClientID,
		IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail,
	}
}

// handleAdminEvents answers GET /admin/v1/events: the audit trail, newest
// first, filtered by ?user_id=, ?type= (repeated or comma-separated),
// ?since= and ?until= (RFC 3339; since inclusive, until exclusive), in
// pages of ?limit= (default 100, at most 1000) continued by ?cursor=.
func (s *Server) handleAdminEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := eventFilter(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.UserID = q.Get("user_id")
	s.listEvents(w, r, f, toEventJSON)
}

// handleMyEvents answers GET /v1/me/events: the caller's own events, with
// the filters of the admin listing but user_id. An event another actor
// caused (an administrator, a client, the system) shows its actor's kind
// only: not its id, address or user agent, which are the administrator's
// to see. The caller's own requests, and logins and failed logins naming
// the account (who tried the password, from where), show in full.
func (s *Server) handleMyEvents(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	q := r.URL.Query()
	if q.Has("user_id") {
		s.writeError(w, r, errInvalidRequest("user_id cannot be given here: the events are the caller's"))
		return
	}
	f, err := eventFilter(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.UserID = p.UserID
	s.listEvents(w, r, f, func(e audit.Event) eventJSON {
		j := toEventJSON(e)
		if e.Actor.Kind != audit.ActorUser || e.Actor.ID != p.UserID {
			j.Actor.ID, j.IP, j.UserAgent = "", "", ""
		}
		return j
	})
}

// listEvents answers a page of f with each event shown by show.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, f store.EventFilter, show func(audit.Event) eventJSON) {
	if s.deps.Events == nil {
		s.writeError(w, r, errNotFound)
		return
	}
	evs, next, err := s.deps.Events.ListEvents(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := eventListJSON{Events: make([]eventJSON, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, show(e))
	}
	if next > 0 {
		out.NextCursor = eventCursor(next)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// eventFilter reads the filters common to both listings; a bad one is a
// 400 that names it.
func eventFilter(q url.Values) (store.EventFilter, error) {
	f := store.EventFilter{Limit: defaultEventPage}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxEventPage {
			return f, errInvalidRequest("limit must be a whole number from 1 to %d", maxEventPage)
		}
		f.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		seq, ok := parseEventCursor(c)
		if !ok {
			return f, errInvalidRequest("cursor is not a next_cursor of this listing")
		}
		f.Cursor = seq
	}
	known := audit.Types()
	for _, v := range q["type"] {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(known, t) {
				return f, errInvalidRequest("type %q is not an event type", t)
			}
			if !slices.Contains(f.Types, t) {
				f.Types = append(f.Types, t)
			}
		}
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(b.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, errInvalidRequest("%s must be an RFC 3339 time such as 2026-12-06T09:00:00Z", b.name)
			}
			*b.dst = t
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, errInvalidRequest("until must be after since")
	}
	return f, nil
}

// eventCursorPrefix versions the opaque cursor.
const eventCursorPrefix = "e1."

// eventCursor returns the opaque next_cursor continuing below seq.
func eventCursor(seq int64) string {
	return eventCursorPrefix + strconv.FormatInt(seq, 36)
}

// parseEventCursor reads a cursor eventCursor made.
func parseEventCursor(c string) (int64, bool) {
	v, ok := strings.CutPrefix(c, eventCursorPrefix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(v, 36, 64)
	return seq, err == nil && seq > 0
}
