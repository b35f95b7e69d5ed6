package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/authn"
	"github.com/gatehouse-auth/gatehouse/internal/mergepatch"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// MaxSessionData is the largest session data object (64 KiB).
const MaxSessionData = 64 << 10

func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if p.SessionID == "" {
		s.writeError(w, r, errNotFound)
		return
	}
	sess, err := s.deps.Sessions.Get(r.Context(), p.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{"session": toSessionJSON(sess, p.SessionID)}
	if p.Method == authn.MethodSession {
		body["csrf_token"] = session.CSRFToken(p.CookieSecret)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	s.writeSessionList(w, r, p.UserID, p.SessionID)
}

func (s *Server) writeSessionList(w http.ResponseWriter, r *http.Request, userID, currentID string) {
	list, err := s.deps.Sessions.List(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := jsonList(list, func(sess store.Session) sessionJSON { return toSessionJSON(sess, currentID) })
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) handleDeleteSession(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	id := r.PathValue("id")
	reason := audit.EndRevoked
	if id == p.SessionID {
		reason = audit.EndLogout
	}
	if err := s.deps.Sessions.Revoke(r.Context(), p.UserID, id, reason); err != nil {
		if errors.Is(err, session.ErrInvalid) {
			err = errNotFound // another user's id, or none: the same answer
		}
		s.writeError(w, r, err)
		return
	}
	if id == p.SessionID && p.Method == authn.MethodSession {
		s.clearCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteOtherSessions(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if _, err := s.deps.Sessions.RevokeUser(r.Context(), p.UserID, p.SessionID, audit.EndRevoked); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// etag is the strong entity tag of a data version.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func (s *Server) handleGetData(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	if p.SessionID == "" {
		s.writeError(w, r, errNotFound)
		return
	}
	sess, err := s.deps.Sessions.Get(r.Context(), p.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tag := etag(sess.DataVersion)
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && MatchETag(inm, tag, true) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sess.Data)
}

func (s *Server) handlePutData(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	var obj map[string]json.RawMessage
	body, err := readJSONObject(w, r, MaxSessionData, &obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validData(body); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.updateData(w, r, p, func(json.RawMessage) (json.RawMessage, error) {
		return compactJSON(body)
	})
}

func (s *Server) handlePatchData(w http.ResponseWriter, r *http.Request, p authn.Principal) {
	patch, err := readBody(w, r, MaxSessionData, "application/merge-patch+json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '{' {
		s.writeError(w, r, errInvalidRequest("the merge patch must be a JSON object"))
		return
	}
	if _, err := mergepatch.Apply([]byte("{}"), patch); err != nil {
		s.writeError(w, r, errInvalidRequest("malformed JSON"))
		return
	}
	// The patch is checked as sent: decoding it would quietly turn
	// invalid UTF-8 and lone surrogates into U+FFFD.
	if err := validData(patch); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.updateData(w, r, p, func(old json.RawMessage) (json.RawMessage, error) {
		return mergepatch.Apply(old, patch)
	})
}

// updateData runs one atomic read-modify-write of the session data,
// honouring If-Match against the version current inside the update.
func (s *Server) updateData(w http.ResponseWriter, r *http.Request, p authn.Principal, change func(json.RawMessage) (json.RawMessage, error)) {
	if p.SessionID == "" {
		s.writeError(w, r, errNotFound)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	sess, err := s.deps.Sessions.UpdateData(r.Context(), p.SessionID, func(data json.RawMessage, version int64) (json.RawMessage, error) {
		if ifMatch != "" && !MatchETag(ifMatch, etag(version), false) {
			return nil, errPrecondition
		}
		next, err := change(data)
		if err != nil {
			return nil, err
		}
		if len(next) > MaxSessionData {
			return nil, &http.MaxBytesError{Limit: MaxSessionData}
		}
		if err := validData(next); err != nil {
			return nil, err
		}
		return next, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(sess.DataVersion))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sess.Data)
}

func compactJSON(b []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, errInvalidRequest("malformed JSON")
	}
	return buf.Bytes(), nil
}

// validData answers 400 invalid_request unless doc is session data that
// every backend stores and serves back as the same JSON value (valid
// UTF-8, no lone surrogates or NUL, bounded depth and numbers): see
// store.ValidateSessionData.
func validData(doc []byte) error {
	if err := store.ValidateSessionData(doc); err != nil {
		return errInvalidRequest("session data: %s", strings.TrimPrefix(err.Error(), store.ErrInvalidData.Error()+": "))
	}
	return nil
}
