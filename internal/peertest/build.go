package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildAgent builds the statshard agent (package github.com/statshard/statshard/cmd/agent) into a
// temporary directory, for the tests that run it as a subprocess, and returns the binary's path
// and a function that removes it. It is meant for TestMain, which has no testing.TB.
func BuildAgent() (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "statshard-agent")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "agent")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/statshard/statshard/cmd/agent").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building the agent: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
