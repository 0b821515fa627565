package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. Linux fixes it at 100
// on every architecture Go supports (the kernel converts from its own HZ), and reading it with
// sysconf(_SC_CLK_TCK) would need cgo.
const clockTicks = 100

const supported = true

// selfCPU returns the CPU time (user + system) this process has used, from getrusage(2).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the CPU time (user + system) process pid has used, from /proc/<pid>/stat, with
// a resolution of 1/clockTicks s.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("capacity: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields are counted
	// after its closing parenthesis, where field 3 (state) comes first.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("capacity: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	const utime, stime = 14 - 3, 15 - 3 // proc(5) numbers fields from 1; f[0] is field 3
	if len(f) <= stime {
		return 0, fmt.Errorf("capacity: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	u, err1 := strconv.ParseUint(f[utime], 10, 64)
	s, err2 := strconv.ParseUint(f[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("capacity: /proc/%d/stat: bad utime/stime %q %q", pid, f[utime], f[stime])
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// procRSS returns the resident set size of process pid in bytes (VmRSS of /proc/<pid>/status).
func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("capacity: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("capacity: VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("capacity: /proc/%d/status: no VmRSS", pid)
}

// udpSockets reports how many IPv4 UDP sockets are bound to local port and the datagrams the
// kernel dropped on them for a full receive buffer, summed (the "drops" column of /proc/net/udp).
// Unlike SO_RXQ_OVFL, which reports a drop only with the next datagram delivered, this is
// current, and it works for any process.
func udpSockets(port int) (sockets int, drops uint64, err error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, 0, fmt.Errorf("capacity: %w", err)
	}
	return parseProcNetUDP(b, port)
}

// parseProcNetUDP is udpSockets on the text of /proc/net/udp.
func parseProcNetUDP(b []byte, port int) (sockets int, drops uint64, err error) {
	want := fmt.Sprintf(":%04X", port)
	lines := strings.Split(string(b), "\n")
	for _, l := range lines[1:] { // the first line is the header
		f := strings.Fields(l)
		if len(f) < 13 || !strings.HasSuffix(f[1], want) {
			continue
		}
		d, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("capacity: /proc/net/udp drops %q: %w", f[12], err)
		}
		sockets++
		drops += d
	}
	return sockets, drops, nil
}
