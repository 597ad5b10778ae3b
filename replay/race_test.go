//go:build race

package replay

// The race detector allocates on its own account: allocation counts are
// only meaningful without it.
func init() { raceEnabled = true }
