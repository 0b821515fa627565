package netio

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

// TestHubGreetingDone: every Greeting call is followed by one GreetingDone with the same slices,
// once they are no longer read: after the greeting was written, and when the client went away
// before it could be.
func TestHubGreetingDone(t *testing.T) {
	greet, greetEnds := hubBatch(0, 10, hubFixed)
	big, bigEnds := hubBatch(0, 1024, func(int) int { return 8 << 10 }) // 8 MiB: cannot all be buffered
	var calls, done, mismatched atomic.Int64
	h := hubStart(t, HubConfig{
		WriteTimeout: time.Minute,
		Greeting: func() ([]byte, []int) {
			if calls.Add(1) == 1 {
				return greet, greetEnds
			}
			return big, bigEnds
		},
		GreetingDone: func(frames []byte, ends []int) {
			want := greetEnds
			if len(ends) != len(greetEnds) {
				want = bigEnds
			}
			if &ends[0] != &want[0] || len(frames) == 0 {
				mismatched.Add(1)
			}
			done.Add(1)
		},
	})
	c := hubDial(t, h)
	if got := hubReadN(t, c, len(greet)); !bytes.Equal(got, greet) {
		t.Fatalf("greeting: got %x, want %x", got, greet)
	}
	hubWaitFor(t, "GreetingDone after the greeting was written", func() bool { return done.Load() == 1 })

	stuck := hubDialSmall(t, h, 4096) // never reads: its greeting cannot be written whole
	hubWaitClients(t, h, 2)
	time.Sleep(50 * time.Millisecond)
	if got := done.Load(); got != 1 {
		t.Fatalf("GreetingDone called %d times while a greeting was still being written, want 1", got)
	}
	stuck.Close()
	hubWaitFor(t, "GreetingDone after the client went away", func() bool { return done.Load() == 2 })
	if got := mismatched.Load(); got != 0 {
		t.Errorf("GreetingDone got other slices than Greeting returned %d times, want 0", got)
	}
}
