package redisstore

import "strings"

// uaCodes are common pieces of browser User-Agent headers, each stored as
// one byte: piece i as byte i+1. A header value holds no byte below 0x20
// (RFC 9110 section 5.5; net/http refuses them), so those bytes are free
// to code with. The order is the order encodeUA tries them in.
var uaCodes = [...]string{
	"Mozilla/5.0 (",
	") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/",
	") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/",
	") AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	" Safari/537.36",
	" Mobile Safari/537.36",
	" Mobile/15E148 Safari/604.1",
	" Safari/605.1.15",
	" Safari/604.1",
	"Windows NT 10.0; Win64; x64",
	"Macintosh; Intel Mac OS X 10_15_7",
	"Macintosh; Intel Mac OS X 10.15",
	"X11; Linux x86_64",
	"X11; Ubuntu; Linux x86_64",
	"iPhone; CPU iPhone OS ",
	"iPad; CPU OS ",
	" like Mac OS X",
	"Linux; Android ",
	") Gecko/20100101 Firefox/",
	"; rv:",
	" Edg/",
	" OPR/",
	".0.0.0",
	" CriOS/",
	" FxiOS/",
	" SamsungBrowser/",
	"curl/",
}

// encodeUA returns ua with the pieces of uaCodes replaced by their bytes,
// and true; or "", false if ua holds a byte below 0x20, and is then
// stored as it is.
func encodeUA(ua string) (string, bool) {
	for i := 0; i < len(ua); i++ {
		if ua[i] < 0x20 {
			return "", false
		}
	}
	var b strings.Builder
	b.Grow(len(ua))
next:
	for i := 0; i < len(ua); {
		for c, piece := range uaCodes {
			if strings.HasPrefix(ua[i:], piece) {
				b.WriteByte(byte(c + 1))
				i += len(piece)
				continue next
			}
		}
		b.WriteByte(ua[i])
		i++
	}
	return b.String(), true
}

// decodeUA reverses encodeUA.
func decodeUA(coded string) string {
	var b strings.Builder
	b.Grow(2 * len(coded))
	for i := 0; i < len(coded); i++ {
		if c := int(coded[i]); c >= 1 && c <= len(uaCodes) {
			b.WriteString(uaCodes[c-1])
		} else {
			b.WriteByte(coded[i])
		}
	}
	return b.String()
}
