package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Environment variables that decide where the exporter comes from and whether its absence fails.
const (
	envBinary  = "STATSD_EXPORTER"
	envRequire = "STATSHARD_REQUIRE_PEERS"
)

const installHint = "go install github.com/prometheus/statsd_exporter@v0.31.0"

// Binary returns the path of the statsd_exporter binary: $STATSD_EXPORTER when set, else the
// statsd_exporter found in $PATH. When there is none it skips the test with the reason, or fails
// it when STATSHARD_REQUIRE_PEERS=1 (CI sets this so that a missing peer cannot pass silently).
func Binary(t testing.TB) string {
	t.Helper()
	path, required, err := findBinary(os.Getenv, exec.LookPath)
	if err == nil {
		return path
	}
	if required {
		t.Fatalf("%v (%s=1 makes this a failure)", err, envRequire)
	}
	t.Skipf("%v; skipping (set %s=1 to fail instead)", err, envRequire)
	return ""
}

// findBinary holds Binary's decision with the environment passed in, so tests can cover every
// case without touching the real environment. required reports whether a missing binary must
// fail the test rather than skip it.
func findBinary(getenv func(string) string, lookPath func(string) (string, error)) (path string, required bool, err error) {
	required = getenv(envRequire) == "1"
	if p := getenv(envBinary); p != "" {
		// lookPath on a path with a slash checks it is an executable file, so a stale
		// $STATSD_EXPORTER is reported here rather than as a confusing exec error later.
		path, err = lookPath(p)
		if err != nil {
			return "", required, fmt.Errorf("peertest: $%s=%q is not usable: %w", envBinary, p, err)
		}
		return path, required, nil
	}
	path, err = lookPath("statsd_exporter")
	if err != nil {
		return "", required, fmt.Errorf("peertest: statsd_exporter not found in $PATH and $%s unset (install: %s): %w",
			envBinary, installHint, err)
	}
	return path, required, nil
}
