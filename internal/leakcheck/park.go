package leakcheck

// park blocks until stop is closed. It exists for this package's own test: a goroutine running
// non-test statshard code.
//
//go:noinline
func park(stop <-chan struct{}) { <-stop }
