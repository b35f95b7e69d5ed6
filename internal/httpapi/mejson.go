package httpapi

import (
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"
)

// appendJSON appends m as encoding/json would encode it, byte for byte,
// without reflection and without allocating for the common case (ASCII
// strings that need no escaping, times in years 0 to 9999). GET /v1/me
// answers every request of a session-backed page, and encoding it with
// json.Marshal was a tenth of that request's CPU (issue #18). ok is false
// when a value needs what only json.Marshal does (a time it refuses);
// the caller then uses json.Marshal, which answers as before.
// TestMeJSONMatchesEncodingJSON and FuzzMeJSON hold it to json.Marshal.
func (m *meJSON) appendJSON(b []byte) (_ []byte, ok bool) {
	a := &m.Auth
	b = append(b, `{"auth":{`...)
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if a.ACR != "" {
		field("acr")
		b = appendJSONString(b, a.ACR)
	}
	if len(a.AMR) > 0 {
		field("amr")
		b = append(b, '[')
		for i, v := range a.AMR {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
	}
	if !a.AuthTime.IsZero() {
		field("auth_time")
		if b, ok = appendJSONTime(b, a.AuthTime); !ok {
			return b, false
		}
	}
	field("expires_at")
	if b, ok = appendJSONTime(b, a.ExpiresAt); !ok {
		return b, false
	}
	field("method")
	b = appendJSONString(b, a.Method)
	if a.MFAEnrolmentRequired {
		field("mfa_enrolment_required")
		b = append(b, "true"...)
	}
	field("session_id")
	b = appendJSONString(b, a.SessionID)

	u := &m.User
	b = append(b, `},"user":{"id":`...)
	b = appendJSONString(b, u.ID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, u.Email)
	b = append(b, `,"email_verified":`...)
	if u.EmailVerified {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	if len(u.Claims) > 0 {
		claims, err := json.Marshal(u.Claims)
		if err != nil {
			return b, false
		}
		b = append(b, `,"claims":`...)
		b = append(b, claims...)
	}
	b = append(b, `,"created_at":`...)
	if b, ok = appendJSONTime(b, u.CreatedAt); !ok {
		return b, false
	}
	return append(b, "}}"...), true
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it: strings of printable ASCII without '"', '\\', '<', '>' or '&'
// as they are, anything else through json.Marshal itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, quoted); ok is false for the years it refuses.
func appendJSONTime(b []byte, t time.Time) (_ []byte, ok bool) {
	if y := t.Year(); y < 0 || y >= 10000 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// writeMe answers GET /v1/me with m: the hand-written encoding when it
// applies, json.Marshal otherwise.
func (s *Server) writeMe(w http.ResponseWriter, m meJSON) {
	buf := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(buf)
	b, ok := m.appendJSON((*buf)[:0])
	if !ok {
		fallback := m
		writeJSON(w, http.StatusOK, &fallback)
		return
	}
	writeAppended(w, buf, b)
}

// writeAppended answers 200 with the JSON object b, which was appended to
// the pooled buffer buf (see buffers): it adds the newline
// json.Marshal's answers end with and keeps b's array in buf for the next
// answer if it is not too large. The caller puts buf back in the pool
// after this returns: w.Write has copied b by then.
func writeAppended(w http.ResponseWriter, buf *[]byte, b []byte) {
	b = append(b, '\n')
	keepBuffer(buf, b)
	w.Header()["Content-Type"] = hdrJSONContent
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// maxPooledBuffer bounds the buffers kept in Server.buffers: an answer
// with large custom claims, or a large form, gets a buffer of its own,
// which is not kept.
const maxPooledBuffer = 4 << 10

// keepBuffer keeps b's array in the pooled buffer buf for the next use,
// unless it grew past maxPooledBuffer (or b is nil: nothing was read).
func keepBuffer(buf *[]byte, b []byte) {
	if b != nil && cap(b) <= maxPooledBuffer {
		*buf = b[:0]
	}
}

// newPooledBuffer is the pool's New: a buffer that fits a usual answer.
func newPooledBuffer() any {
	b := make([]byte, 0, 512)
	return &b
}
