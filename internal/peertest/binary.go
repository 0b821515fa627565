package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// envRequire, when "1", turns a missing peer binary into a test failure instead of a skip.
const envRequire = "STATSHARD_REQUIRE_PEERS"

// peer names a receiver binary: the command looked up in $PATH, the environment variable that
// overrides it, and how to install the pinned version (.ci/run installs the same).
type peer struct {
	command, env, install string
}

var (
	exporterPeer = peer{
		command: "statsd_exporter",
		env:     "STATSD_EXPORTER",
		install: "go install github.com/prometheus/statsd_exporter@v0.31.0",
	}
	telegrafPeer = peer{
		command: "telegraf",
		env:     "TELEGRAF",
		install: "go install -tags custom,inputs.statsd,outputs.file,serializers.json github.com/influxdata/telegraf/cmd/telegraf@v1.37.2",
	}
)

// Binary returns the path of the statsd_exporter binary: $STATSD_EXPORTER when set, else the
// statsd_exporter found in $PATH. When there is none it skips the test with the reason, or fails
// it when STATSHARD_REQUIRE_PEERS=1 (CI sets this so that a missing peer cannot pass silently).
func Binary(t testing.TB) string {
	t.Helper()
	return binary(t, exporterPeer)
}

// TelegrafBinary returns the path of the telegraf binary: $TELEGRAF when set, else the telegraf
// found in $PATH. A missing binary skips or fails the test as for [Binary]. The binary must include
// the statsd input, the file output and the JSON serializer (the build .ci/run installs).
func TelegrafBinary(t testing.TB) string {
	t.Helper()
	return binary(t, telegrafPeer)
}

func binary(t testing.TB, p peer) string {
	t.Helper()
	path, required, err := findBinary(p, os.Getenv, exec.LookPath)
	if err == nil {
		return path
	}
	if required {
		t.Fatalf("%v (%s=1 makes this a failure)", err, envRequire)
	}
	t.Skipf("%v; skipping (set %s=1 to fail instead)", err, envRequire)
	return ""
}

// findBinary holds binary's decision with the environment passed in, so tests can cover every
// case without touching the real environment. required reports whether a missing binary must
// fail the test rather than skip it.
func findBinary(p peer, getenv func(string) string, lookPath func(string) (string, error)) (path string, required bool, err error) {
	required = getenv(envRequire) == "1"
	if v := getenv(p.env); v != "" {
		// lookPath on a path with a slash checks it is an executable file, so a stale
		// variable is reported here rather than as a confusing exec error later.
		path, err = lookPath(v)
		if err != nil {
			return "", required, fmt.Errorf("peertest: $%s=%q is not usable: %w", p.env, v, err)
		}
		return path, required, nil
	}
	path, err = lookPath(p.command)
	if err != nil {
		return "", required, fmt.Errorf("peertest: %s not found in $PATH and $%s unset (install: %s): %w",
			p.command, p.env, p.install, err)
	}
	return path, required, nil
}
