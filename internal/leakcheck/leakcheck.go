// Package leakcheck fails a test binary that leaves statshard goroutines running: every package
// that starts goroutines calls it from TestMain, so a Close that forgets to wait for one is caught.
// It imports only the standard library (a go.uber.org/goleak in miniature), so it adds nothing to
// go.mod.
//
//	func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// module is the prefix of the functions whose goroutines are checked.
const module = "github.com/statshard/statshard/"

// VerifyTestMain runs the tests, then waits up to 5 s for every goroutine running statshard code
// (other than test code itself) to end. If any remains, it prints their stacks and exits with 1.
func VerifyTestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Wait(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Wait waits up to timeout for statshard goroutines other than the caller's to end, and returns
// the stacks of those still running ("" when none).
func Wait(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := Leaked()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leaked returns the stacks of goroutines, other than the caller's, that run a statshard function
// defined outside a _test.go file.
func Leaked() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the calling goroutine is always listed first
		}
		if ours(g) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// ours reports whether a goroutine's stack has a statshard frame from non-test code. The stack
// lists each frame as a function line followed by a "\tfile:line" line.
func ours(g string) bool {
	lines := strings.Split(g, "\n")
	for i := 1; i+1 < len(lines); i += 2 {
		if strings.Contains(lines[i], module) {
			file := strings.TrimSpace(lines[i+1])
			if j := strings.LastIndexByte(file, ':'); j >= 0 {
				file = file[:j]
			}
			if !strings.HasSuffix(file, "_test.go") {
				return true
			}
		}
	}
	return false
}
