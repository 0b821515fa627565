package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewBucketsErrors(t *testing.T) {
	tests := []struct {
		name   string
		bounds []float64
		want   string // "" means valid
	}{
		{"nil", nil, "shard: bucket bounds must be non-empty"},
		{"empty", []float64{}, "shard: bucket bounds must be non-empty"},
		{"nan", []float64{1, math.NaN()}, "shard: bucket bounds must be finite"},
		{"+inf", []float64{1, math.Inf(1)}, "shard: bucket bounds must be finite"},
		{"-inf", []float64{math.Inf(-1), 1}, "shard: bucket bounds must be finite"},
		{"equal", []float64{1, 2, 2}, "shard: bucket bounds must be strictly ascending"},
		{"descending", []float64{3, 1}, "shard: bucket bounds must be strictly ascending"},
		{"one", []float64{0}, ""},
		{"negative", []float64{-5, -1, 0, 0.5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBuckets(tt.bounds)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %q, want none", err)
			case tt.want == "" && !slices.Equal(b.Bounds(), tt.bounds):
				t.Fatalf("Bounds: got %v, want %v", b.Bounds(), tt.bounds)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one starting %q", err, tt.want)
			case tt.want != "" && b != nil:
				t.Fatalf("got Buckets %v with the error, want nil", b)
			}
		})
	}
}

func TestBucketsCopiesBounds(t *testing.T) {
	in := []float64{1, 2, 3}
	b, err := NewBuckets(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 100
	if got := b.Bounds()[0]; got != 1 {
		t.Errorf("Bounds()[0] after changing the caller's slice: got %v, want 1", got)
	}
}

func TestBucketsLe(t *testing.T) {
	b, err := NewBuckets([]float64{-1, 1, 2, 5})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v    float64
		want int // bucket index; 4 is +Inf
	}{
		{math.Inf(-1), -1}, {-math.MaxFloat64, 0}, {-1.5, 0}, {-1, 0}, {math.Nextafter(-1, 0), 1},
		{0, 1}, {1, 1}, {math.Nextafter(1, 2), 2}, {1.5, 2}, {2, 2}, {4.999, 3}, {5, 3},
		{5.0001, 4}, {1e300, 4}, {math.Inf(1), -1}, {math.NaN(), -1},
	}
	var s BucketsSnapshot
	for _, tt := range tests {
		b.Observe(tt.v)
		b.Swap(&s)
		want := make([]uint64, 5)
		var wantInvalid uint64 = 1
		if tt.want >= 0 {
			want[tt.want], wantInvalid = 1, 0
		}
		if !slices.Equal(s.Counts, want) || s.Invalid != wantInvalid {
			t.Errorf("Observe(%v): got counts %v invalid %d, want %v invalid %d", tt.v, s.Counts, s.Invalid, want, wantInvalid)
		}
	}
}

// bktWant is the le bucket by definition: the number of bounds below v.
func bktWant(bounds []float64, v float64) int {
	n := 0
	for _, b := range bounds {
		if b < v {
			n++
		}
	}
	return n
}

// TestBucketsSearch checks the bucket of random values, on and between bounds, for bound lists
// of many lengths.
func TestBucketsSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s BucketsSnapshot
	for nb := 1; nb <= 40; nb++ {
		bounds := make([]float64, nb)
		for i := range bounds {
			bounds[i] = float64(i*3) + float64(r.IntN(3)) - 10
		}
		b, err := NewBuckets(bounds)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			v := float64(r.IntN(4*nb+20)) - 15
			if r.IntN(2) == 0 {
				v += r.Float64()
			}
			b.Observe(v)
			b.Swap(&s)
			want := bktWant(bounds, v)
			if s.Counts[want] != 1 || s.Count != 1 {
				t.Fatalf("bounds %v, Observe(%v): got counts %v, want bucket %d", bounds, v, s.Counts, want)
			}
		}
	}
}

func TestBucketsSnapshot(t *testing.T) {
	b, err := NewBuckets([]float64{0.1, 0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{0.05, 0.1, 0.3, 0.7, 0.9, 3} {
		b.Observe(v)
	}
	b.ObserveN(0.2, 4)
	b.ObserveN(0.2, 0)
	b.ObserveN(math.NaN(), 2)
	var s BucketsSnapshot
	b.Swap(&s)
	wantCounts := []uint64{2, 5, 2, 1}
	if !slices.Equal(s.Counts, wantCounts) || s.Count != 10 || s.Invalid != 2 {
		t.Errorf("got counts %v count %d invalid %d, want %v, 10, 2", s.Counts, s.Count, s.Invalid, wantCounts)
	}
	if want := 0.05 + 0.1 + 0.3 + 0.7 + 0.9 + 3 + 0.8; math.Abs(s.Sum-want) > 1e-12 {
		t.Errorf("Sum: got %v, want %v", s.Sum, want)
	}
	for i, want := range []uint64{2, 7, 9, 10} {
		if got := s.Cumulative(i); got != want {
			t.Errorf("Cumulative(%d): got %d, want %d", i, got, want)
		}
	}
	if got := s.Cumulative(-1); got != 0 {
		t.Errorf("Cumulative(-1): got %d, want 0", got)
	}
	b.Swap(&s)
	if !slices.Equal(s.Counts, make([]uint64, 4)) || s.Count != 0 || s.Sum != 0 || s.Invalid != 0 {
		t.Errorf("second Swap: got counts %v count %d sum %v invalid %d, want zeros", s.Counts, s.Count, s.Sum, s.Invalid)
	}
}

func TestBucketsConcurrent(t *testing.T) {
	const writers, perWriter = 8, 100_000
	bounds := []float64{-100, -10, 0, 1, 2, 5, 10, 50, 100, 500}
	b, err := NewBuckets(bounds)
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	got := make([]uint64, len(bounds)+1)
	var gotCount uint64
	var gotSum float64
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		var s BucketsSnapshot
		deadline := time.Now().Add(20 * time.Second)
		for !done.Load() && time.Now().Before(deadline) {
			b.Swap(&s)
			var c uint64
			for i, n := range s.Counts {
				got[i] += n
				c += n
			}
			if c != s.Count {
				t.Errorf("snapshot counts add up to %d, want Count %d", c, s.Count)
			}
			gotCount += s.Count
			gotSum += s.Sum
		}
	}()
	gen := func(w int, fn func(v float64, n uint64)) {
		r := rand.New(rand.NewPCG(uint64(w), 3))
		for range perWriter {
			fn(float64(r.IntN(1300)-200), uint64(r.IntN(3)+1))
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { gen(w, b.ObserveN) })
	}
	wg.Wait()
	done.Store(true)
	<-swapped
	var s BucketsSnapshot
	b.Swap(&s)
	for i, n := range s.Counts {
		got[i] += n
	}
	gotCount += s.Count
	gotSum += s.Sum

	want := make([]uint64, len(bounds)+1)
	var wantCount uint64
	var wantSum float64
	for w := range writers {
		gen(w, func(v float64, n uint64) {
			want[bktWant(bounds, v)] += n
			wantCount += n
			wantSum += v * float64(n)
		})
	}
	if !slices.Equal(got, want) || gotCount != wantCount || gotSum != wantSum {
		t.Errorf("sum of snapshots: got counts %v count %d sum %v, want %v, %d, %v", got, gotCount, gotSum, want, wantCount, wantSum)
	}
}

func TestBucketsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	b, err := NewBuckets([]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512})
	if err != nil {
		t.Fatal(err)
	}
	var s BucketsSnapshot
	b.Swap(&s)
	i := 0
	if got := testing.AllocsPerRun(1000, func() { b.Observe(float64(i)); i++ }); got != 0 {
		t.Errorf("Observe: got %v allocs, want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { b.ObserveN(3, 2); b.Swap(&s) }); got != 0 {
		t.Errorf("Swap: got %v allocs, want 0", got)
	}
}

func ExampleBuckets() {
	b, err := NewBuckets([]float64{0.01, 0.1, 1}) // seconds
	if err != nil {
		panic(err)
	}
	for _, v := range []float64{0.005, 0.01, 0.02, 0.5, 3} {
		b.Observe(v)
	}
	var s BucketsSnapshot
	b.Swap(&s)
	for i, le := range b.Bounds() {
		fmt.Printf("le=%g %d\n", le, s.Cumulative(i))
	}
	fmt.Printf("le=+Inf %d\n", s.Cumulative(len(b.Bounds())))
	// Output:
	// le=0.01 2
	// le=0.1 3
	// le=1 4
	// le=+Inf 5
}
