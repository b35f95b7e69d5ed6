//go:build !race

package password

// raceEnabled reports whether the race detector is on: sync.Pool then
// drops some of what is put back, so tests of reuse skip.
const raceEnabled = false
