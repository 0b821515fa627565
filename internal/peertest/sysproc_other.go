//go:build !linux

package peertest

import "os/exec"

// setSysProcAttr does nothing here; see the Linux version for why it exists.
func setSysProcAttr(*exec.Cmd) {}
