// Package ratelimittest is the conformance suite for ratelimit.Limiter
// backends. A backend's test calls Run with a constructor; a backend that
// passes is done, and a bug found in any backend becomes a case here.
package ratelimittest
