package verifier

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// discoveryPath is where OpenID Connect Discovery 1.0 §4 puts the
// provider's metadata, relative to the issuer.
const discoveryPath = "/.well-known/openid-configuration"

// discovery holds the members of the discovery document the verifier
// uses.
type discovery struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	RevocationsEndpoint   string `json:"gatehouse_revocations_endpoint"`
	RevocationsStream     string `json:"gatehouse_revocations_stream_endpoint"`
}

// discover fetches the issuer's discovery document and checks that it
// names the same issuer (OpenID Connect Discovery 1.0 §4.3), so that a
// document served for one issuer cannot configure a verifier for
// another.
func discover(ctx context.Context, f *fetcher, issuer string) (discovery, error) {
	u := strings.TrimSuffix(issuer, "/") + discoveryPath
	if _, err := checkURL(u, f.insecureHTTP); err != nil {
		return discovery{}, err
	}
	body, err := f.get(ctx, u)
	if err != nil {
		return discovery{}, fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return discovery{}, fmt.Errorf("%w: discovery document: %w", ErrConfig, err)
	}
	if d.Issuer != issuer {
		return discovery{}, fmt.Errorf("%w: discovery document names issuer %q, want %q", ErrConfig, d.Issuer, issuer)
	}
	return d, nil
}

// resolveEndpoints fills the endpoint URLs of c that are empty from the
// discovery document (when needed) and checks every URL that will be
// used.
func resolveEndpoints(ctx context.Context, c *Config, f *fetcher) error {
	if c.discoveryNeeded() {
		if c.Issuer == "" {
			return fmt.Errorf("%w: an endpoint URL is missing and there is no Issuer to discover it from", ErrConfig)
		}
		d, err := discover(ctx, f, c.Issuer)
		if err != nil {
			return err
		}
		fill := func(dst *string, v, name string) error {
			if *dst != "" {
				return nil
			}
			if v == "" {
				return fmt.Errorf("%w: discovery document has no %s", ErrConfig, name)
			}
			*dst = v
			return nil
		}
		if err := fill(&c.JWKSURL, d.JWKSURI, "jwks_uri"); err != nil {
			return err
		}
		r := &c.Revocations
		if r.Mode != RevocationOff {
			if err := fill(&r.FeedURL, d.RevocationsEndpoint, "gatehouse_revocations_endpoint"); err != nil {
				return err
			}
		}
		if r.Mode == RevocationStream {
			if err := fill(&r.StreamURL, d.RevocationsStream, "gatehouse_revocations_stream_endpoint"); err != nil {
				return err
			}
		}
		if c.SessionCookie.enabled() {
			if err := fill(&c.SessionCookie.IntrospectionURL, d.IntrospectionEndpoint, "introspection_endpoint"); err != nil {
				return err
			}
			if c.SessionCookie.usesClient() {
				if err := fill(&c.SessionCookie.TokenURL, d.TokenEndpoint, "token_endpoint"); err != nil {
					return err
				}
			}
		}
	}
	urls := []string{c.JWKSURL}
	if c.Revocations.Mode != RevocationOff {
		urls = append(urls, c.Revocations.FeedURL)
	}
	if c.Revocations.Mode == RevocationStream {
		urls = append(urls, c.Revocations.StreamURL)
	}
	if c.SessionCookie.enabled() {
		urls = append(urls, c.SessionCookie.IntrospectionURL)
	}
	if c.SessionCookie.usesClient() {
		urls = append(urls, c.SessionCookie.TokenURL)
	}
	for _, u := range urls {
		if _, err := checkURL(u, c.InsecureAllowHTTP); err != nil {
			return err
		}
	}
	return nil
}
