package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on session data that every backend can store and serve back
// unchanged. SQLite's JSON functions refuse nesting deeper than 1000,
// PostgreSQL's jsonb refuses lone surrogates, U+0000 and numbers outside
// its numeric range, and JSON decoders disagree on invalid UTF-8,
// duplicate keys and numbers beyond float64; ValidateSessionData refuses
// all of them, so that data accepted by one backend is accepted by all.
const (
	// MaxDataDepth is the deepest nesting of objects and arrays in session
	// data; the top-level object is depth 1.
	MaxDataDepth = 64
	// MaxDataExponent bounds the exponent of a number literal: 1e999 and
	// 0e-999 are accepted, 0e1000 is not (PostgreSQL refuses 0e999999).
	MaxDataExponent = 999
	// MaxDataFractionDigits bounds the digits after the decimal point of
	// a number written out without exponent: 1.5e-3 has four (0.0015).
	// PostgreSQL stores numbers that way and refuses more than 16383.
	MaxDataFractionDigits = 1000
)

// ErrInvalidData reports session data that is not one JSON value within
// the limits ValidateSessionData checks. Backends refuse such data with
// an error wrapping it and store nothing.
var ErrInvalidData = errors.New("store: invalid session data")

// ValidateSessionData reports, as an error wrapping ErrInvalidData, why b
// is not storable session data, or nil when it is. Storable data is one
// JSON value (RFC 8259) that is valid UTF-8, whose \u escapes encode
// Unicode scalar values (surrogates only in high-low pairs, and no
// \u0000), in keys and values alike; that nests objects and arrays at most
// MaxDataDepth deep; whose objects have no duplicate keys; and whose
// numbers have an exponent of at most MaxDataExponent in absolute value,
// at most MaxDataFractionDigits digits after the decimal point once the
// exponent is applied, and are finite, and non-zero unless written as
// zero, when read as IEEE 754 doubles (so no 1e999999, 1e309 or 1e-400).
// The rules hold for the data as every backend serves it back, so data
// read from a store passes them again. The error's text says what is wrong without quoting
// the data.
func ValidateSessionData(b []byte) error {
	if !json.Valid(b) {
		return fmt.Errorf("%w: not a single valid JSON value", ErrInvalidData)
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidData)
	}
	if err := checkEscapes(b); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	if err := checkStructure(b); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return nil
}

// checkEscapes checks every \u escape in the strings of b, which is valid
// JSON: surrogates must come in high-low pairs and U+0000 is refused.
func checkEscapes(b []byte) error {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			i++
			if b[i] != 'u' {
				continue
			}
			r := hex4(b[i+1 : i+5])
			i += 4
			switch {
			case r == 0:
				return errors.New(`the NUL character (\u0000) is not allowed`)
			case r >= 0xDC00 && r <= 0xDFFF:
				return errors.New("a low surrogate escape without a high surrogate before it")
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
					return errors.New("a high surrogate escape without a low surrogate after it")
				}
				if lo := hex4(b[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
					return errors.New("a high surrogate escape without a low surrogate after it")
				}
				i += 6
			}
		}
	}
	return nil
}

// hex4 decodes four hexadecimal digits, which valid JSON guarantees.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		}
	}
	return r
}

// checkStructure checks nesting depth, duplicate keys and numbers of b,
// which is valid JSON.
func checkStructure(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// keys[i] holds the keys seen in the i-th enclosing container, nil for
	// an array; expectKey is true where the next string is an object key.
	var keys []map[string]struct{}
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := len(keys) - 1
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(keys) >= MaxDataDepth {
					return fmt.Errorf("nested deeper than %d levels", MaxDataDepth)
				}
				var set map[string]struct{}
				if v == '{' {
					set = map[string]struct{}{}
				}
				keys = append(keys, set)
			default:
				keys = keys[:top]
			}
		case string:
			if expectKey {
				if _, dup := keys[top][v]; dup {
					return errors.New("an object has a duplicate key")
				}
				keys[top][v] = struct{}{}
			}
		case json.Number:
			if err := checkNumber(string(v)); err != nil {
				return err
			}
		}
		// After this token, the next one is a key if we are inside an
		// object and this token ended a key-value pair or opened it.
		top = len(keys) - 1
		expectKey = top >= 0 && keys[top] != nil && !(expectKey && isString(tok))
	}
}

func isString(tok json.Token) bool {
	_, ok := tok.(string)
	return ok
}

// checkNumber checks one JSON number literal.
func checkNumber(lit string) error {
	mant, exp := lit, 0
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(lit[i+1:], "+"))
		if err != nil || e > MaxDataExponent || e < -MaxDataExponent {
			return fmt.Errorf("a number with an exponent beyond ±%d", MaxDataExponent)
		}
		mant, exp = lit[:i], e
	}
	if _, frac, ok := strings.Cut(mant, "."); ok && len(frac)-exp > MaxDataFractionDigits {
		return fmt.Errorf("a number with more than %d digits after the decimal point", MaxDataFractionDigits)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return errors.New("a number out of the range of a double")
	}
	if f == 0 && strings.ContainsAny(mant, "123456789") {
		return errors.New("a number too small to tell from zero as a double")
	}
	return nil
}
