//go:build !linux

package main

import "time"

// The command measures through /proc, getrusage and sendmmsg/recvmmsg: elsewhere main refuses to
// run, and these stand-ins only let the package compile.

const supported = false

func selfCPU() time.Duration                           { return 0 }
func procCPU(int) (time.Duration, error)               { return 0, errUnsupported }
func procRSS(int) (int64, error)                       { return 0, errUnsupported }
func udpSockets(int) (int, uint64, error)              { return 0, 0, errUnsupported }
func parseProcNetUDP([]byte, int) (int, uint64, error) { return 0, 0, errUnsupported }
