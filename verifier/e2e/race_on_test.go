//go:build race

package e2e_test

// raceSlowdown scales the burst tests' ceiling: this build has the race
// detector, which slows the server's hot loops many times over.
const raceSlowdown = 3
