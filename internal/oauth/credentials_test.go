package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"testing"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		form    url.Values
		want    Credentials
		wantErr error
	}{
		{"nothing", "", url.Values{}, Credentials{}, nil},
		{"basic", basic("c1", "s3cret"), url.Values{}, Credentials{AuthClientSecretBasic, "c1", "s3cret"}, nil},
		{"basic scheme any case", "bAsIc " + basic("c1", "s")[6:], url.Values{}, Credentials{AuthClientSecretBasic, "c1", "s"}, nil},
		{"basic form-urlencoded", basic("a:b+c", "x y+z%"), url.Values{}, Credentials{AuthClientSecretBasic, "a:b+c", "x y+z%"}, nil},
		{"basic plus is space", "Basic " + base64.StdEncoding.EncodeToString([]byte("c1:a+b")), url.Values{}, Credentials{AuthClientSecretBasic, "c1", "a b"}, nil},
		{"basic with the same client_id", basic("c1", "s"), url.Values{"client_id": {"c1"}}, Credentials{AuthClientSecretBasic, "c1", "s"}, nil},
		{"basic empty secret is public", basic("c1", ""), url.Values{}, Credentials{AuthNone, "c1", ""}, nil},
		{"post", "", url.Values{"client_id": {"c1"}, "client_secret": {"s"}}, Credentials{AuthClientSecretPost, "c1", "s"}, nil},
		{"none", "", url.Values{"client_id": {"c1"}}, Credentials{AuthNone, "c1", ""}, nil},
		{"none with empty secret", "", url.Values{"client_id": {"c1"}, "client_secret": {""}}, Credentials{AuthNone, "c1", ""}, nil},
		{"bearer is ignored", "Bearer abc", url.Values{}, Credentials{}, nil},
		{"bearer with post", "Bearer abc", url.Values{"client_id": {"c1"}, "client_secret": {"s"}}, Credentials{AuthClientSecretPost, "c1", "s"}, nil},

		{"basic and post", basic("c1", "s"), url.Values{"client_id": {"c1"}, "client_secret": {"s"}}, Credentials{}, ErrInvalidRequest},
		{"basic and other client_id", basic("c1", "s"), url.Values{"client_id": {"c2"}}, Credentials{}, ErrInvalidRequest},
		{"basic not base64", "Basic !!!", url.Values{}, Credentials{}, ErrInvalidClient},
		{"basic without colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("c1")), url.Values{}, Credentials{}, ErrInvalidClient},
		{"basic bad escape", "Basic " + base64.StdEncoding.EncodeToString([]byte("c1:%zz")), url.Values{}, Credentials{}, ErrInvalidClient},
		{"basic empty id", basic("", "s"), url.Values{}, Credentials{}, ErrInvalidClient},
		{"basic empty", "Basic", url.Values{}, Credentials{}, ErrInvalidClient},
		{"secret without id", "", url.Values{"client_secret": {"s"}}, Credentials{}, ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.header, tt.form)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCredentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseCredentials checks that any header and form either parse into
// credentials that name a client with a method, or fail with an *Error.
func FuzzParseCredentials(f *testing.F) {
	f.Add(basic("c1", "s"), "")
	f.Add("Basic Og==", "client_id=x")
	f.Add("", "client_id=c1&client_secret=s")
	f.Add("Bearer x", "client_secret=s")
	f.Fuzz(func(t *testing.T, header, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		cr, err := ParseCredentials(header, form)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || (oe.Code != "invalid_client" && oe.Code != "invalid_request") {
				t.Fatalf("error %v is not invalid_client or invalid_request", err)
			}
			return
		}
		switch cr.Method {
		case "":
			if cr.ClientID != "" || cr.Secret != "" {
				t.Fatalf("no method but credentials %+v", cr)
			}
		case AuthNone:
			if cr.ClientID == "" || cr.Secret != "" {
				t.Fatalf("none with %+v", cr)
			}
		case AuthClientSecretBasic, AuthClientSecretPost:
			if cr.ClientID == "" || cr.Secret == "" {
				t.Fatalf("%s with %+v", cr.Method, cr)
			}
		default:
			t.Fatalf("unknown method %q", cr.Method)
		}
	})
}
