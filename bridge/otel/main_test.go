package otelbridge_test

import (
	"testing"

	"github.com/statshard/statshard/internal/leakcheck"
)

// TestMain fails the package's tests if any goroutine they started outlives them.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
