package verifier

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits of the Server-Sent Events parser. Revocation events are a few
// hundred bytes; anything much larger is not from a Gatehouse server.
const (
	maxSSELine  = 16 << 10
	maxSSEEvent = 64 << 10
)

var (
	errSSELineTooLong  = errors.New("verifier: event stream line too long")
	errSSEEventTooLong = errors.New("verifier: event stream event too large")
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	// ID is the last event ID after this event (the "id" field, which
	// persists across events until changed).
	ID string
	// Type is the "event" field; "message" when absent.
	Type string
	// Data is the "data" fields joined with newlines.
	Data []byte
}

// sseParser reads the text/event-stream format of the HTML Living
// Standard, §9.2.6 "Interpreting an event stream": lines end in LF, CR or
// CRLF; a line starting with ':' is a comment; "field: value" lines set
// the fields; an empty line dispatches the event. An event without data
// is not dispatched, and an unfinished event at the end of the stream is
// discarded. Unknown fields are ignored.
type sseParser struct {
	r *bufio.Reader
	// onLine, if set, is called for every complete line, comments
	// included: any line proves the stream is alive.
	onLine func()
	// Retry is the last valid "retry" field, in milliseconds, or -1.
	Retry int64

	lastID  string
	line    []byte
	skipLF  bool
	started bool
}

// newSSEParser returns a parser reading r.
func newSSEParser(r io.Reader) *sseParser {
	return &sseParser{r: bufio.NewReaderSize(r, 4<<10), Retry: -1}
}

// readLine returns the next line without its terminator. The result is
// valid until the next call.
func (p *sseParser) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if p.skipLF {
			p.skipLF = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\n':
			return p.line, nil
		case '\r':
			p.skipLF = true
			return p.line, nil
		}
		if len(p.line) >= maxSSELine {
			return nil, errSSELineTooLong
		}
		p.line = append(p.line, c)
	}
}

// next returns the next event. It returns an error when the stream ends
// (io.ErrUnexpectedEOF for a clean end, since an event stream never
// ends by design) or breaks a limit.
func (p *sseParser) next() (sseEvent, error) {
	var (
		data    []byte
		hasData bool
		typ     string
	)
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if !p.started {
			p.started = true
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a leading BOM
		}
		if p.onLine != nil {
			p.onLine()
		}
		if len(line) == 0 {
			if !hasData {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return sseEvent{ID: p.lastID, Type: typ, Data: data}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			if len(data)+len(value)+1 > maxSSEEvent {
				return sseEvent{}, errSSEEventTooLong
			}
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.lastID = string(value)
			}
		case "retry":
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 && isDigits(value) {
				p.Retry = n
			}
		}
	}
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
