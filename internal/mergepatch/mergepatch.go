// Package mergepatch applies JSON Merge Patch documents (RFC 7396).
package mergepatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrInvalidJSON reports a target or patch that is not one JSON value.
var ErrInvalidJSON = errors.New("mergepatch: invalid JSON")

// Apply returns the result of applying patch to target as RFC 7396 section
// 2 defines it: an object patch merges member by member, a null member
// removes the member, and any other patch replaces the target whole.
// Numbers keep their exact text.
func Apply(target, patch []byte) ([]byte, error) {
	p, err := decode(patch)
	if err != nil {
		return nil, fmt.Errorf("%w: patch: %w", ErrInvalidJSON, err)
	}
	var t any
	if len(bytes.TrimSpace(target)) > 0 {
		if t, err = decode(target); err != nil {
			return nil, fmt.Errorf("%w: target: %w", ErrInvalidJSON, err)
		}
	}
	out, err := json.Marshal(merge(t, p))
	if err != nil {
		return nil, fmt.Errorf("mergepatch: encode: %w", err)
	}
	return out, nil
}

// merge is the MergePatch(Target, Patch) function of RFC 7396.
func merge(target, patch any) any {
	pobj, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tobj, ok := target.(map[string]any)
	if !ok {
		tobj = map[string]any{}
	}
	for k, v := range pobj {
		if v == nil {
			delete(tobj, k)
			continue
		}
		tobj[k] = merge(tobj[k], v)
	}
	return tobj
}

// decode parses exactly one JSON value, keeping numbers as json.Number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}
