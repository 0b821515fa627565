package agent

import (
	"testing"

	"github.com/statshard/statshard/internal/leakcheck"
)

// TestMain fails the package's tests if any goroutine it started outlives them.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
