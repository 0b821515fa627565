package peertest

import (
	"os/exec"
	"syscall"
)

// setSysProcAttr makes the kernel kill the exporter if the test binary dies without running its
// cleanups (a -timeout panic, a crash), so no exporter outlives the test run holding its ports.
// On other systems an exporter can outlive a crashed test binary.
//
// Pdeathsig fires when the forking OS thread exits. Go only ends a thread when a goroutine exits
// while locked to it with runtime.LockOSThread, which tests using this package do not do.
func setSysProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
