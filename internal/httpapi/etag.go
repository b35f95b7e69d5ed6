package httpapi

import "strings"

// MatchETag reports whether an If-Match or If-None-Match header value
// matches the current entity tag (RFC 9110 section 13.1). "*" matches any
// tag. If-Match uses the strong comparison (weak=false): a W/ tag never
// matches. If-None-Match uses the weak comparison (weak=true). The list
// may have optional white space and empty elements (RFC 9110 section
// 5.6.1.2); a list that does not parse as a whole matches nothing.
func MatchETag(header, current string, weak bool) bool {
	header = strings.Trim(header, " \t")
	if header == "*" {
		return true
	}
	cur := strings.TrimPrefix(current, "W/")
	matched := false
	for {
		// Skip white space and empty list elements.
		header = strings.TrimLeft(header, " \t,")
		if header == "" {
			return matched
		}
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
		for i := 1; i < len(tag)-1; i++ {
			if c := tag[i]; c < 0x21 || c == 0x7f { // etagc: %x21 / %x23-7E / obs-text
				return false
			}
		}
		if tag == cur && (weak || !isWeak) {
			matched = true
		}
		header = strings.TrimLeft(header[end+2:], " \t")
		if header != "" && header[0] != ',' {
			return false
		}
	}
}
