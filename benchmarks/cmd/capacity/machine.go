package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes the host and toolchain, because the figures mean nothing without them.
func machine() []string {
	m := []string{
		fmt.Sprintf("CPU: %s, %d logical CPUs (nproc), GOMAXPROCS %d", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0)),
		fmt.Sprintf("Go: %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m = append(m, "Linux "+strings.TrimSpace(string(b)))
	}
	if v := firstField("/proc/meminfo", "MemTotal:"); v != "" {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			v = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
		m = append(m, "memory: "+v)
	}
	return m
}

func cpuModel() string {
	if v := firstField("/proc/cpuinfo", "model name"); v != "" {
		return strings.TrimSpace(strings.TrimPrefix(v, ":"))
	}
	return runtime.GOARCH
}

// firstField returns what follows prefix on the first line of file that starts with it.
func firstField(file, prefix string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// binaryVersion returns the main module and version a Go binary was built from ("go version -m"),
// or "" when that cannot be told.
func binaryVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output()
	if err != nil {
		return ""
	}
	for _, l := range bytes.Split(out, []byte("\n")) {
		f := strings.Fields(string(l))
		if len(f) >= 3 && f[0] == "mod" {
			return f[1] + " " + f[2]
		}
	}
	return ""
}
