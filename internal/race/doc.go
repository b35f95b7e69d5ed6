// Package race reports whether the program was built with the race
// detector (go build -race), for tests whose bounds or expectations
// depend on it: the detector slows hot loops many times over, and makes
// sync.Pool drop some of what is put back.
package race
