package jose

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of values that the scanner skips, so a
// hostile document cannot drive deep recursion.
const maxJSONDepth = 64

// errJSON is the cause wrapped under ErrMalformed for any syntax error.
var errJSON = errors.New("invalid JSON")

// scanner reads the one-level JSON objects found in JOSE headers, claims
// sets and JWKs. It accepts exactly RFC 8259 JSON, and is stricter in two
// ways: strings must be valid UTF-8 without lone surrogate escapes (RFC
// 8725 §3.7), and nesting is limited to maxJSONDepth. Member names are returned unescaped
// and compared byte for byte, so "ALG" is not "alg" (encoding/json would
// treat them as the same field).
type scanner struct {
	data []byte
	pos  int
}

// ws skips insignificant whitespace (RFC 8259 §2).
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-whitespace byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// expect consumes c after optional whitespace.
func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return errJSON
	}
	s.pos++
	return nil
}

// end checks that only whitespace remains.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return errJSON
	}
	return nil
}

// member reads the next member name of an object whose '{' has been
// consumed, including the ':' after it. It returns ok=false after
// consuming the closing '}'. first must be true for the first call on an
// object; member clears it.
func (s *scanner) member(first *bool) (name []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !*first {
		if c != ',' {
			return nil, false, errJSON
		}
		s.pos++
		c = s.peek()
	}
	*first = false
	if c != '"' {
		return nil, false, errJSON
	}
	name, err = s.str()
	if err != nil {
		return nil, false, err
	}
	if err := s.expect(':'); err != nil {
		return nil, false, err
	}
	return name, true, nil
}

// next reads the separator before the next element of an array whose '['
// has been consumed. It returns ok=false after consuming the closing ']'.
func (s *scanner) next(first *bool) (ok bool, err error) {
	c := s.peek()
	if c == ']' {
		s.pos++
		return false, nil
	}
	if !*first {
		if c != ',' {
			return false, errJSON
		}
		s.pos++
		s.ws()
	}
	*first = false
	return true, nil
}

// plainStringByte marks the bytes a JSON string may hold as they are:
// printable ASCII other than the quote and the backslash (RFC 8259 §7).
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string value after optional whitespace and returns its
// unescaped bytes. Without escapes the result aliases the input, so copy
// it before keeping it.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, errJSON
	}
	s.pos++
	start := s.pos
	ascii := true
	for s.pos < len(s.data) {
		// Runs of plain ASCII, the whole of most strings in a token,
		// take one table lookup per byte.
		for s.pos < len(s.data) && plainStringByte[s.data[s.pos]] {
			s.pos++
		}
		if s.pos == len(s.data) {
			break
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			raw := s.data[start:s.pos]
			s.pos++
			if !ascii && !utf8.Valid(raw) {
				return nil, errJSON
			}
			return raw, nil
		case c == '\\':
			return s.strEscaped(start)
		case c < 0x20:
			return nil, errJSON
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.pos++
	}
	return nil, errJSON
}

// strEscaped finishes a string that contains escapes, unescaping it into
// a new buffer. start is the offset just after the opening quote.
func (s *scanner) strEscaped(start int) ([]byte, error) {
	out := make([]byte, s.pos-start, s.pos-start+16)
	copy(out, s.data[start:s.pos])
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if !utf8.Valid(out) {
				return nil, errJSON
			}
			return out, nil
		case c < 0x20:
			return nil, errJSON
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		// An escape sequence (RFC 8259 §7).
		if s.pos+1 >= len(s.data) {
			return nil, errJSON
		}
		e := s.data[s.pos+1]
		s.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, errJSON
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate must be followed by an escaped low
				// surrogate; anything else is rejected rather than
				// replaced with U+FFFD.
				if s.pos+1 >= len(s.data) || s.data[s.pos] != '\\' || s.data[s.pos+1] != 'u' {
					return nil, errJSON
				}
				s.pos += 2
				r2, ok := s.hex4()
				if !ok {
					return nil, errJSON
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return nil, errJSON
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errJSON
		}
	}
	return nil, errJSON
}

// hex4 reads the four hex digits of a \u escape.
func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	s.pos += 4
	return r, true
}

// number reads a number value (RFC 8259 §6) and returns its text.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.pos
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return nil, errJSON
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, errJSON
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			return nil, errJSON
		}
	}
	s.pos = i
	return d[start:i], nil
}

// literal consumes the literal word if it is next.
func (s *scanner) literal(word string) bool {
	s.ws()
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return true
	}
	return false
}

// null consumes a null literal if it is next and reports whether it did.
func (s *scanner) null() bool { return s.literal("null") }

// skip reads and discards one value of any type.
func (s *scanner) skip(depth int) error {
	if depth > maxJSONDepth {
		return errJSON
	}
	switch c := s.peek(); {
	case c == '{':
		s.pos++
		first := true
		for {
			_, ok, err := s.member(&first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		s.pos++
		first := true
		for {
			ok, err := s.next(&first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == 't' && s.literal("true"), c == 'f' && s.literal("false"), c == 'n' && s.null():
		return nil
	}
	return errJSON
}

// appendJSONString appends s as a JSON string literal, escaping what RFC
// 8259 §7 requires plus '<', '>' and '&' like encoding/json. s must be
// valid UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
