package verifier

// The raw member scanner, which the fuzz targets use to tell which
// inputs spell every member name plainly.

import (
	"bytes"
	"fmt"
)

// eachMember calls fn with the raw name (with quotes) and raw value of
// each member of the JSON object data.
func eachMember(data []byte, fn func(name, value []byte) error) error {
	s := rawScanner{b: data}
	if !s.consume('{') {
		return errNotObject
	}
	if s.consume('}') {
		return s.end()
	}
	for {
		s.ws()
		start := s.i
		if !s.str() {
			return errSyntax
		}
		name := data[start:s.i]
		if !s.consume(':') {
			return errSyntax
		}
		s.ws()
		vstart := s.i
		if !s.value(0) {
			return errSyntax
		}
		if err := fn(name, data[vstart:s.i]); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return errSyntax
	}
}

var (
	errNotObject = fmt.Errorf("not a JSON object")
	errSyntax    = fmt.Errorf("invalid JSON")
)

// rawScanner skips over JSON values without decoding them.
type rawScanner struct {
	b []byte
	i int
}

func (s *rawScanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *rawScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *rawScanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

// str skips a string starting at s.i.
func (s *rawScanner) str() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	s.i++
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return false
		}
		if k := bytes.IndexByte(s.b[s.i:s.i+j], '\\'); k >= 0 {
			// Step over the escape and its next byte, which may be a quote.
			s.i += k + 2
			if s.i > len(s.b) {
				s.i = len(s.b)
				return false
			}
			continue
		}
		s.i += j + 1
		return true
	}
}

// value skips one value starting at s.i.
func (s *rawScanner) value(depth int) bool {
	if depth > 64 || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.str()
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		if s.consume(closer) {
			return true
		}
		for {
			s.ws()
			if c == '{' {
				if !s.str() || !s.consume(':') {
					return false
				}
				s.ws()
			}
			if !s.value(depth + 1) {
				return false
			}
			if s.consume(',') {
				continue
			}
			return s.consume(closer)
		}
	default:
		// A number or literal: everything up to a delimiter.
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}

// registeredClaims are the claims jose.ParseClaims decodes; the others
// are custom.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope", "client_id"}
