// Package openapi checks Gatehouse's OpenAPI document against the real
// server: its test builds and runs "gatehouse serve", drives a request
// for every documented operation (successes and the error answers), and
// validates each request and answer against the document that the server
// serves at /openapi.json, with pb33f/libopenapi-validator (OpenAPI 3.1).
// An answer that drifts from the document fails the test.
//
// It is a module of its own so that the validator library stays out of
// the server's go.mod; CI runs it from .ci/run.
package openapi
