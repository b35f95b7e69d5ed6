//go:build !unix

package sqlite_test

// setUmask does nothing where there is no umask.
func setUmask(int) int { return 0 }
