package identity

import "encoding/json"

// jsonSize returns the encoded length of v, or a huge number if it cannot
// be encoded.
func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return int(^uint(0) >> 1)
	}
	return len(b)
}
