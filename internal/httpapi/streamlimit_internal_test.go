package httpapi

import "testing"

// TestStreamClientKey: IPv4 hosts are limited one by one, IPv4-mapped
// IPv6 addresses as their IPv4 host (not all in one shared /64), and IPv6
// hosts by their /64.
func TestStreamClientKey(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.8", "192.0.2.8"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		if got := streamClientKey(tt.ip); got != tt.want {
			t.Errorf("streamClientKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}
