package netio

import (
	"fmt"
	"testing"
)

// hubTinyBatch returns batch b (< 16) of n (<= 16) one-byte frames: frame f is the byte b*16+f.
func hubTinyBatch(b, n int) ([]byte, []int) {
	frames := make([]byte, n)
	ends := make([]int, n)
	for f := range n {
		frames[f] = byte(b*16 + f)
		ends[f] = f + 1
	}
	return frames, ends
}

// hubQueued returns the frames queued in c, oldest first, as "batch.frame" labels.
func hubQueued(c *hubClient) string {
	var out []string
	for i := 0; i < c.q.n; i++ {
		for _, x := range c.q.at(i).bytes() {
			out = append(out, fmt.Sprintf("%d.%d", x/16, x%16))
		}
	}
	return fmt.Sprint(out)
}

func TestHubEnqueueDropsOldest(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		batches     []int // frames per batch, broadcast in order
		wantDropped int
		want        string
	}{
		{"fits", 8, []int{3, 5}, 0, "[0.0 0.1 0.2 1.0 1.1 1.2 1.3 1.4]"},
		{"no limit", -1, []int{9, 9}, 0, "[0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8]"},
		{"part of the oldest batch", 4, []int{3, 3}, 2, "[0.2 1.0 1.1 1.2]"},
		{"whole oldest batch", 4, []int{2, 2, 1}, 1, "[0.1 1.0 1.1 2.0]"},
		{"several whole batches", 3, []int{1, 1, 1, 1, 2}, 3, "[3.0 4.0 4.1]"},
		{"batch larger than the queue", 4, []int{6}, 2, "[0.2 0.3 0.4 0.5]"},
		{"old batches and part of the new one", 3, []int{2, 5}, 4, "[1.2 1.3 1.4]"},
		{"queue of one", 1, []int{1, 1, 1}, 2, "[2.0]"},
		{"ring grows and wraps", 10, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2},
			6, "[6.0 7.0 8.0 9.0 10.0 11.0 12.0 13.0 14.0 14.1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newHubClient(nil, nil)
			dropped := 0
			for b, n := range tt.batches {
				frames, ends := hubTinyBatch(b, n)
				dropped += c.enqueue(frames, ends, tt.limit)
			}
			if got := hubQueued(c); got != tt.want {
				t.Errorf("queued: got %s, want %s", got, tt.want)
			}
			if dropped != tt.wantDropped {
				t.Errorf("dropped: got %d, want %d", dropped, tt.wantDropped)
			}
			if c.queued != c.q.frames() {
				t.Errorf("queued count: got %d, want %d (frames in the ring)", c.queued, c.q.frames())
			}
		})
	}
}

func TestHubDelivered(t *testing.T) {
	// Two batches: frames of 3, 5 and 2 bytes with the first already dropped, then 4 and 4.
	a := hubEntry{frames: make([]byte, 10), ends: []int{3, 8, 10}, lo: 1}
	b := hubEntry{frames: make([]byte, 8), ends: []int{4, 8}}
	var r hubRing
	r.push(a)
	r.push(b)
	tests := []struct{ written, wantFrames, wantSize int }{
		{0, 0, 0},
		{4, 0, 0},   // inside a's first live frame
		{5, 1, 5},   // exactly a's first live frame
		{6, 1, 5},   // into a's last frame
		{7, 2, 7},   // all of a
		{10, 2, 7},  // into b's first frame
		{11, 3, 11}, // b's first frame
		{15, 4, 15}, // everything
	}
	for _, tt := range tests {
		frames, size := r.delivered(tt.written)
		if frames != tt.wantFrames || size != tt.wantSize {
			t.Errorf("delivered(%d): got %d frames, %d bytes; want %d, %d", tt.written, frames, size, tt.wantFrames, tt.wantSize)
		}
	}
}

func TestHubAdjacent(t *testing.T) {
	buf := make([]byte, 10)
	other := make([]byte, 10)
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"next range of one buffer", buf[0:4], buf[4:9], true},
		{"up to the end", buf[0:4], buf[4:], true},
		{"gap", buf[0:4], buf[5:9], false},
		{"overlap", buf[0:4], buf[3:9], false},
		{"capacity cut", buf[0:4:4], buf[4:9], false},
		{"other buffer", buf[0:4], other[0:4], false},
		{"empty b", buf[0:4], buf[4:4], false},
		{"a at the end", buf[6:], buf[0:2], false},
	}
	for _, tt := range tests {
		if got := hubAdjacent(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHubRingReset(t *testing.T) {
	var r hubRing
	frames, ends := hubTinyBatch(1, 3)
	for range 5 {
		r.push(hubEntry{frames: frames, ends: ends})
	}
	r.dropFront()
	r.reset()
	if r.n != 0 || r.head != 0 {
		t.Fatalf("after reset: got n=%d head=%d, want 0, 0", r.n, r.head)
	}
	for i, e := range r.buf {
		if e.frames != nil || e.ends != nil {
			t.Errorf("slot %d still references a batch after reset: the GC could not free it", i)
		}
	}
}
