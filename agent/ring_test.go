package agent

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/statshard/statshard/wire/pb"
)

// TestRingMPSC: producers push concurrently while one consumer pops; every accepted event comes out
// exactly once, each producer's in order, and every rejected one was counted by its producer.
func TestRingMPSC(t *testing.T) {
	r := newRing(64)
	const producers, per = 4, 50000
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, ok := r.push(event{op: pb.Op(p), bits: uint64(i)}); ok {
					accepted.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var got int64
	last := [producers]int64{-1, -1, -1, -1}
	for finished := false; ; {
		e, ok := r.pop()
		if !ok {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true
			default:
			}
			continue
		}
		got++
		if int64(e.bits) <= last[e.op] {
			t.Fatalf("producer %d: event %d after %d", e.op, e.bits, last[e.op])
		}
		last[e.op] = int64(e.bits)
	}
	if got != accepted.Load() {
		t.Errorf("popped %d, accepted %d", got, accepted.Load())
	}
	if got == 0 || got == producers*per {
		t.Logf("popped %d of %d (no contention seen)", got, producers*per)
	}
}

func TestRingFull(t *testing.T) {
	r := newRing(4)
	for i := 0; i < 4; i++ {
		if _, ok := r.push(event{bits: uint64(i)}); !ok {
			t.Fatalf("push %d into a ring of 4 failed", i)
		}
	}
	if _, ok := r.push(event{bits: 4}); ok {
		t.Fatal("push into a full ring succeeded")
	}
	if e, ok := r.pop(); !ok || e.bits != 0 {
		t.Fatalf("pop = %v %v, want the oldest (0)", e.bits, ok)
	}
	if _, ok := r.push(event{bits: 5}); !ok {
		t.Fatal("push after a pop failed")
	}
	for _, want := range []uint64{1, 2, 3, 5} {
		if e, ok := r.pop(); !ok || e.bits != want {
			t.Fatalf("pop = %v %v, want %d", e.bits, ok, want)
		}
	}
	if _, ok := r.pop(); ok {
		t.Fatal("pop from an empty ring succeeded")
	}
}
