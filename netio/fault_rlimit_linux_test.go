package netio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultRlimitEnv marks the subprocess TestHubAcceptOutOfFDs starts: lowering RLIMIT_NOFILE
// affects the whole process, so it must not happen in the one running the other tests.
const faultRlimitEnv = "STATSHARD_FAULT_RLIMIT_CHILD"

// faultRlimitOK starts the line the subprocess prints when every check passed.
const faultRlimitOK = "fault-rlimit: ok"

// TestHubAcceptOutOfFDs runs TestHelperRlimit in a subprocess: a Hub whose process runs out of
// file descriptors must survive in its accept loop, count the errors with backoff, and serve
// clients again once descriptors are free.
func TestHubAcceptOutOfFDs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperRlimit$", "-test.count=1", "-test.v", "-test.timeout=25s")
	cmd.Env = append(os.Environ(), faultRlimitEnv+"=1")
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte("--- SKIP: TestHelperRlimit")) {
		t.Skipf("the subprocess skipped:\n%s", out)
	}
	if err != nil {
		t.Fatalf("subprocess: %v\n%s", err, out)
	}
	var oks []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, faultRlimitOK) {
			oks = append(oks, line)
		}
	}
	if len(oks) != len(faultRlimitFree) {
		t.Fatalf("subprocess printed %d %q lines, want %d:\n%s", len(oks), faultRlimitOK, len(faultRlimitFree), out)
	}
	for _, line := range oks {
		t.Log(line)
	}
}

// faultRlimitFree lists how many descriptors TestHelperRlimit leaves free in its runs: one even
// and one odd count, so that the last descriptor goes to a client in one run and to the hub's
// Accept in the other.
var faultRlimitFree = []int{8, 9}

// TestHelperRlimit is TestHubAcceptOutOfFDs's subprocess; run directly, it skips.
func TestHelperRlimit(t *testing.T) {
	if os.Getenv(faultRlimitEnv) != "1" {
		t.Skip("runs only as the subprocess of TestHubAcceptOutOfFDs")
	}
	for _, free := range faultRlimitFree {
		t.Run("free="+strconv.Itoa(free), func(t *testing.T) { faultOutOfFDs(t, free) })
	}
}

// faultOutOfFDs runs a Hub out of file descriptors, leaving free of them for clients and hub.
func faultOutOfFDs(t *testing.T, free int) {
	h := hubStart(t, HubConfig{CloseTimeout: 500 * time.Millisecond})
	addr := h.Addr().String()
	// A descriptor to give back, so that a client can get one the hub cannot.
	spare, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = faultLimitLeaving(t, free)
	if lim.Cur >= old.Cur {
		t.Skipf("RLIMIT_NOFILE %d is already too low to lower", old.Cur)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)

	// Each client costs a descriptor here and one in the hub's Accept. Dial, each time waiting for
	// the hub to accept, until none is left. Linux reserves the new descriptor before it looks at
	// the backlog, so from then on Accept fails whether a client waits or not.
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var exhausted time.Time // just before the last dial that got a descriptor
	for tries := 0; h.Stats().AcceptErrors == 0; {
		if len(clients) >= 64 || tries >= 1000 {
			t.Fatalf("%d clients connected under RLIMIT_NOFILE %d, %d dials failed, and Accept never did", len(clients), lim.Cur, tries)
		}
		before := time.Now()
		c, err := net.DialTimeout("tcp", addr, hubWait)
		if errors.Is(err, syscall.EMFILE) {
			// Either the hub's Accept took the last descriptor, and its next Accept fails at once,
			// or an Accept finding the backlog empty held it for an instant: look again.
			tries++
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("dial %d: %v", len(clients), err)
		}
		clients = append(clients, c)
		exhausted = before
		hubWaitFor(t, "the hub to accept or fail", func() bool {
			st := h.Stats()
			return st.Accepted == uint64(len(clients)) || st.AcceptErrors > 0
		})
	}
	if len(clients) < 2 {
		t.Fatalf("descriptors ran out after %d clients, want at least 2", len(clients))
	}
	if h.Stats().Accepted == uint64(len(clients)) {
		// No client waits: give one a descriptor the hub cannot have. An Accept in progress may
		// hold it for an instant (to find the backlog empty), so a dial may need another try.
		spare.Close()
		var c net.Conn
		for try := 0; ; try++ {
			if c, err = net.DialTimeout("tcp", addr, hubWait); err == nil || !errors.Is(err, syscall.EMFILE) || try == 100 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err != nil {
			t.Fatalf("dial with the spare descriptor: %v", err)
		}
		clients = append(clients, c)
	}

	// Out of descriptors for a while: the accept loop must back off, 5ms doubling to 1s, not spin.
	time.Sleep(300 * time.Millisecond)
	st := h.Stats()
	window := time.Since(exhausted)
	bound := faultBackoffBound(window)
	if st.AcceptErrors < 2 || st.AcceptErrors > bound {
		t.Fatalf("AcceptErrors: got %d in %v, want 2 to %d (backoff from 5ms doubling to 1s)", st.AcceptErrors, window, bound)
	}
	if want := uint64(len(clients) - 1); st.Accepted != want || st.Clients != want {
		t.Fatalf("Accepted, Clients: got %d, %d while out of descriptors, want %d, %d", st.Accepted, st.Clients, want, want)
	}

	// Free descriptors: close every client but the first and the one waiting in the backlog. The
	// hub's side of each closes when it sees EOF, and the waiting one gets accepted.
	dials := len(clients)
	for _, c := range clients[1 : dials-1] {
		c.Close()
	}
	clients = []net.Conn{clients[0], clients[dials-1]}
	hubWaitFor(t, "the backlogged client to be accepted", func() bool {
		st := h.Stats()
		return st.Clients == 2 && st.Accepted == uint64(dials)
	})
	c, err := net.DialTimeout("tcp", addr, hubWait)
	if err != nil {
		t.Fatalf("dial after freeing descriptors: %v", err)
	}
	clients = append(clients, c)
	hubWaitFor(t, "a new client to be accepted", func() bool { return h.Stats().Clients == 3 })
	frames, ends := hubBatch(0, 3, hubFixed)
	h.Broadcast(frames, ends)
	for i, c := range clients {
		if got := hubReadN(t, c, len(frames)); !bytes.Equal(got, frames) {
			t.Fatalf("client %d after recovery: got %x, want %x", i, got, frames)
		}
	}
	fmt.Printf("%s: free=%d: RLIMIT_NOFILE %d, %d clients before Accept failed; AcceptErrors %d in %v (bound %d); then 3 clients served, %d accepted in all\n",
		faultRlimitOK, free, lim.Cur, dials-1, st.AcceptErrors, window.Round(time.Millisecond), bound, h.Stats().Accepted)
}

// faultLimitLeaving returns the RLIMIT_NOFILE under which exactly free more descriptors can be
// opened: new descriptors take the lowest free numbers, which must be below the limit, and open
// ones may leave holes (or sit above it, inherited).
func faultLimitLeaving(t *testing.T, free int) uint64 {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd") // its own descriptor is closed again on return
	if err != nil {
		t.Skipf("cannot list file descriptors: %v", err)
	}
	open := map[int]bool{}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			open[n] = true
		}
	}
	n := 0
	for ; free > 0; n++ {
		if !open[n] {
			free--
		}
	}
	return uint64(n)
}

// faultBackoffBound is the most accept errors the documented backoff allows in d: one at once,
// then one after each pause of 5ms, 10ms, 20ms, ... up to 1s, plus one for timer slack.
func faultBackoffBound(d time.Duration) uint64 {
	n := uint64(1)
	pause, spent := 5*time.Millisecond, time.Duration(0)
	for spent+pause <= d {
		spent += pause
		n++
		pause = min(2*pause, time.Second)
	}
	return n + 1
}
