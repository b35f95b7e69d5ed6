package store

import "errors"

// Sentinel errors that every backend returns (wrapped or not) so callers can
// test for them with errors.Is.
var (
	// ErrNotFound reports that the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a record with the same unique key (an id, an
	// email address or a session's secret hash) already exists.
	ErrConflict = errors.New("store: conflict")
)
