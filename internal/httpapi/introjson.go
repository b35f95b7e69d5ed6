package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/token"
)

// appendIntrospection appends an introspection answer (RFC 7662 §2.2) as
// json.Marshal encodes token.Introspection, byte for byte: its fields in
// order, the empty ones left out (omitempty), without reflection and
// without allocating for ASCII strings. Resource servers introspect on
// every request they cannot check offline, and json.Marshal (with the
// answer boxed into an interface) was the largest part of the endpoint's
// own work after the signature (issue #18).
// TestIntrospectionJSONMatchesEncodingJSON and FuzzIntrospectionJSON hold
// it to json.Marshal, every field of the struct included.
func appendIntrospection(b []byte, in *token.Introspection) []byte {
	b = append(b, `{"active":`...)
	b = strconv.AppendBool(b, in.Active)
	key := func(name string) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":`...)
	}
	str := func(name, v string) {
		if v != "" {
			key(name)
			b = appendJSONString(b, v)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			key(name)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	list := func(name string, v []string) {
		if len(v) > 0 {
			key(name)
			b = append(b, '[')
			for i, s := range v {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, s)
			}
			b = append(b, ']')
		}
	}
	str("scope", in.Scope)
	str("client_id", in.ClientID)
	str("username", in.Username)
	str("token_type", in.TokenType)
	num("exp", in.Exp)
	num("iat", in.Iat)
	num("nbf", in.Nbf)
	str("sub", in.Sub)
	list("aud", in.Aud)
	str("iss", in.Iss)
	str("jti", in.Jti)
	str("sid", in.Sid)
	str("acr", in.ACR)
	list("amr", in.AMR)
	num("auth_time", in.AuthTime)
	return append(b, '}')
}

// writeIntrospection answers an introspection request with in.
func (s *Server) writeIntrospection(w http.ResponseWriter, in *token.Introspection) {
	buf := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(buf)
	writeAppended(w, buf, appendIntrospection((*buf)[:0], in))
}
