package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body accepted (1 MiB); larger ones
// get 413 before they are read whole.
const MaxBodyBytes = 1 << 20

// readBody reads a request body of at most limit bytes whose media type is
// one of types. It answers 413 from Content-Length before reading, 415 for
// another media type, and 413 if the body turns out longer than limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, types ...string) ([]byte, error) {
	return readBodyInto(nil, w, r, limit, types...)
}

// readBodyInto is readBody reading into dst's array when the body fits
// its capacity (dst's length is ignored). The bytes returned may be dst's.
func readBodyInto(dst []byte, w http.ResponseWriter, r *http.Request, limit int64, types ...string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if err := checkMediaType(r, types...); err != nil {
		return nil, err
	}
	var (
		b   []byte
		err error
	)
	if n := r.ContentLength; n > 0 {
		// The length is known and within the limit (the server's body
		// reader returns no more than it): one exact buffer instead of
		// ReadAll's growing ones and a MaxBytesReader.
		if int64(cap(dst)) >= n {
			b = dst[:n]
		} else {
			b = make([]byte, n)
		}
		_, err = io.ReadFull(r.Body, b)
	} else {
		b, err = readAllInto(dst[:0], http.MaxBytesReader(w, r.Body, limit))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errInvalidRequest("could not read the request body")
	}
	return b, nil
}

func checkMediaType(r *http.Request, types ...string) error {
	ct := r.Header.Get("Content-Type")
	// The common case, a bare media type exactly as expected, needs no
	// parsing (ParseMediaType would accept it as is).
	for _, t := range types {
		if ct == t {
			return nil
		}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			err = errors.New("charset")
		}
	}
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: codeUnsupportedMediaType,
		Description: fmt.Sprintf("Content-Type must be %s", strings.Join(types, " or "))}
}

// decodeJSON reads a JSON object body into dst. Unknown fields are
// ignored; malformed JSON, a value of the wrong type and trailing data are
// 400 invalid_request.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	_, err := readJSONObject(w, r, MaxBodyBytes, dst)
	return err
}

// readJSONObject is decodeJSON for handlers that also need the raw body
// (a WebAuthn response handed on as it came, a stored document), up to
// limit bytes: it returns the body after decoding it into dst.
func readJSONObject(w http.ResponseWriter, r *http.Request, limit int64, dst any) ([]byte, error) {
	b, err := readBody(w, r, limit, "application/json")
	if err != nil {
		return nil, err
	}
	if err := unmarshalObject(b, dst); err != nil {
		return nil, err
	}
	return b, nil
}

// unmarshalObject decodes one JSON object into dst with the errors the
// contract wants.
func unmarshalObject(b []byte, dst any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errInvalidRequest("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return errInvalidRequest("field %q has the wrong type", typeErr.Field)
		}
		return errInvalidRequest("malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errInvalidRequest("malformed JSON: data after the object")
	}
	return nil
}

// readAllInto is io.ReadAll appending to b.
func readAllInto(b []byte, rd io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}
