package redisstore

import (
	"strings"
	"testing"
)

// TestUserAgentCoding checks that coded User-Agents come back as they
// were, and that common ones shrink to what keeps a record compact.
func TestUserAgentCoding(t *testing.T) {
	for _, tt := range []struct {
		ua      string
		maxSize int
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 12},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", 12},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 20},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 16},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 16},
		{"curl/8.5.0", 6},
		{"", 0},
		{"Mozilla/5.0 (", 1},
		{"plain text, no pieces", 21},
		{strings.Repeat("é", 100), 200},
	} {
		coded, ok := encodeUA(tt.ua)
		if !ok {
			t.Fatalf("encodeUA(%q) refused", tt.ua)
		}
		if got := decodeUA(coded); got != tt.ua {
			t.Errorf("decodeUA(encodeUA(%q)) = %q", tt.ua, got)
		}
		if len(coded) > tt.maxSize {
			t.Errorf("encodeUA(%q) = %d bytes, want at most %d", tt.ua, len(coded), tt.maxSize)
		}
	}
	for _, ua := range []string{"a\x01b", "tab\there", "\x00"} {
		if _, ok := encodeUA(ua); ok {
			t.Errorf("encodeUA(%q) coded a value with a control byte", ua)
		}
	}
}
