// Package httpapi is Gatehouse's HTTP surface: the router, the middleware
// every request passes (recovery, security headers, CORS, metrics and
// access logs, authentication, CSRF), and thin handlers that decode a
// request, call the domain packages and encode the answer. The contract it
// implements is shared/spec/http-api.md; its error codes and status codes
// are fixed there.
package httpapi
