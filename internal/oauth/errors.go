package oauth

import (
	"errors"
	"net/http"
)

// Error is an OAuth 2.0 error answer (RFC 6749 section 5.2, RFC 7009,
// RFC 7662): the "error" code, an "error_description" that is safe to
// show the client, and the HTTP status. The cause, if any, is for logs
// only and never reaches the client.
//
// Two Errors match under errors.Is when their codes are equal, so
// errors.Is(err, ErrInvalidClient) holds for every invalid_client answer
// whatever its description; errors.Is also sees the cause.
type Error struct {
	// Code is the "error" member: invalid_request, invalid_client, ….
	Code string
	// Description is the "error_description" member.
	Description string
	// Status is the HTTP status of the answer.
	Status int
	cause  error
}

// The errors of the token, revocation and introspection endpoints. Use
// WithDescription and WithCause to make a specific answer from one.
var (
	// ErrInvalidRequest: a required parameter is missing, a parameter is
	// malformed or repeated, or more than one client authentication
	// method is used.
	ErrInvalidRequest = &Error{Code: "invalid_request", Description: "the request is malformed", Status: http.StatusBadRequest}
	// ErrInvalidClient: client authentication failed (unknown client,
	// wrong secret, no authentication, or a method other than the one
	// registered). Its status is 401; the HTTP layer adds a
	// WWW-Authenticate: Basic challenge.
	ErrInvalidClient = &Error{Code: "invalid_client", Description: "client authentication failed", Status: http.StatusUnauthorized}
	// ErrInvalidGrant: the grant (a refresh token) is invalid, expired,
	// revoked, or was issued to another client.
	ErrInvalidGrant = &Error{Code: "invalid_grant", Description: "the grant is invalid, expired or revoked", Status: http.StatusBadRequest}
	// ErrUnauthorizedClient: the client is not registered for this grant
	// type.
	ErrUnauthorizedClient = &Error{Code: "unauthorized_client", Description: "the client may not use this grant type", Status: http.StatusBadRequest}
	// ErrUnsupportedGrantType: the server does not implement the grant
	// type.
	ErrUnsupportedGrantType = &Error{Code: "unsupported_grant_type", Description: "the grant type is not supported", Status: http.StatusBadRequest}
	// ErrInvalidScope: the requested scope is malformed or exceeds what
	// the client (or the grant) allows.
	ErrInvalidScope = &Error{Code: "invalid_scope", Description: "the requested scope is invalid or not allowed", Status: http.StatusBadRequest}
	// ErrInvalidTarget (RFC 8707 section 2): the requested audience is
	// malformed or not one the client may get tokens for.
	ErrInvalidTarget = &Error{Code: "invalid_target", Description: "the requested audience is invalid or not allowed", Status: http.StatusBadRequest}
)

// Error returns the code, the description and, for the logs, the cause.
func (e *Error) Error() string {
	s := "oauth: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDescription returns a copy of e with the public description desc.
func (e *Error) WithDescription(desc string) *Error {
	c := *e
	c.Description = desc
	return &c
}

// WithCause returns a copy of e that wraps err, for the logs.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// ErrInvalidMetadata reports client metadata that cannot be registered;
// the error is a *MetadataError naming the field.
var ErrInvalidMetadata = errors.New("oauth: invalid client metadata")

// MetadataError reports which field of a client registration is invalid,
// and why, in words safe to show the administrator. It matches
// ErrInvalidMetadata under errors.Is.
type MetadataError struct {
	// Field is the RFC 7591 name of the field, with an index for list
	// members: "redirect_uris[1]".
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error returns "oauth: invalid client metadata: field: reason".
func (e *MetadataError) Error() string {
	return ErrInvalidMetadata.Error() + ": " + e.Message()
}

// Message returns "field: reason", without the package prefix.
func (e *MetadataError) Message() string { return e.Field + ": " + e.Reason }

// Is reports whether target is ErrInvalidMetadata.
func (e *MetadataError) Is(target error) bool { return target == ErrInvalidMetadata }
