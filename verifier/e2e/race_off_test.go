//go:build !race

package e2e_test

// raceSlowdown scales the burst tests' ceiling: 1 without the race
// detector.
const raceSlowdown = 1
