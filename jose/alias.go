package jose

import "unsafe"

// bytesOf returns the bytes of s without copying them. The slice must
// only ever be read: a string's memory may be shared and read-only.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf returns b as a string without copying it. Nothing may write to
// b's array afterwards, for as long as the string is in use.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
