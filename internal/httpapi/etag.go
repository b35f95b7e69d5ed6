package httpapi

import "strings"

// MatchETag reports whether an If-Match or If-None-Match header value
// matches the current entity tag (RFC 9110 section 13.1). "*" matches any
// tag. If-Match uses the strong comparison (weak=false): a W/ tag never
// matches. If-None-Match uses the weak comparison (weak=true). A malformed
// list matches nothing.
func MatchETag(header, current string, weak bool) bool {
	header = strings.TrimSpace(header)
	if header == "*" {
		return true
	}
	cur := strings.TrimPrefix(current, "W/")
	for header != "" {
		isWeak := false
		if strings.HasPrefix(header, "W/") {
			isWeak = true
			header = header[2:]
		}
		if len(header) < 2 || header[0] != '"' {
			return false
		}
		end := strings.IndexByte(header[1:], '"')
		if end < 0 {
			return false
		}
		tag := header[:end+2]
		header = strings.TrimSpace(header[end+2:])
		if tag == cur && (weak || !isWeak) {
			return true
		}
		if header == "" {
			break
		}
		if header[0] != ',' {
			return false
		}
		header = strings.TrimSpace(header[1:])
	}
	return false
}
