package agent

import (
	"testing"

	"github.com/statshard/statshard/internal/leakcheck"
)

// TestMain makes the package's tests independent of the machine they run on — no DD_* variable
// of the CI's environment, no container ID of the CI's container reaches a recorder unless a test
// injects one (Config.env) — and fails them if any goroutine they started outlives them.
func TestMain(m *testing.M) {
	processEnv = noEnvironment
	leakcheck.VerifyTestMain(m)
}

// noEnvironment has no variables and no container.
var noEnvironment = environment{
	lookup:    func(string) (string, bool) { return "", false },
	container: func() string { return "" },
}
