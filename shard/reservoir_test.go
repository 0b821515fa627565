package shard

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReservoirBelowCap(t *testing.T) {
	r := Reservoir{Cap: 16}
	var want []float64
	for i := range 10 {
		r.Observe(float64(i))
		want = append(want, float64(i))
	}
	r.Observe(math.NaN())
	r.Observe(math.Inf(-1))
	dst := []float64{-1}
	got, count, invalid := r.swapValues(dst)
	if !slices.Equal(got, append([]float64{-1}, want...)) || count != 10 || invalid != 2 {
		t.Errorf("got %v, count %d, invalid %d; want %v after -1, 10, 2", got, count, invalid, want)
	}
	got, count, invalid = r.swapValues(nil)
	if len(got) != 0 || count != 0 || invalid != 0 {
		t.Errorf("second Swap: got %v, count %d, invalid %d; want nothing", got, count, invalid)
	}
}

func TestReservoirCap(t *testing.T) {
	tests := []struct {
		name    string
		cap     int
		n       int
		wantLen int
	}{
		{"zero-value", 0, 5000, DefaultReservoirCap},
		{"exactly-full", 8, 8, 8},
		{"one", 1, 100, 1},
		{"small", 50, 10_000, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reservoir{Cap: tt.cap}
			for round := range 3 { // the buffers swap roles each round
				for i := range tt.n {
					r.Observe(float64(i))
				}
				got, count, _ := r.swapValues(nil)
				if len(got) != tt.wantLen || count != uint64(tt.n) {
					t.Fatalf("round %d: got %d samples of %d, want %d of %d", round, len(got), count, tt.wantLen, tt.n)
				}
				seen := make(map[float64]bool)
				for _, v := range got {
					if v < 0 || v >= float64(tt.n) || v != math.Trunc(v) || seen[v] {
						t.Fatalf("round %d: sample %v is not a distinct observed value", round, v)
					}
					seen[v] = true
				}
			}
		})
	}
}

// TestReservoirUniform checks that the sample is unbiased: over fixed repetitions, the mean of
// each sample and the share of samples in each tenth of the range stay within about 6 standard
// errors of a uniform sample, so a correct sampler fails with probability below 1e-8.
func TestReservoirUniform(t *testing.T) {
	const (
		n    = 100_000
		k    = 1024
		reps = 20
	)
	// Sampling k of 0..n-1 without replacement: the mean's standard error is
	// σ/√k·√((n-k)/(n-1)) with σ² = (n²-1)/12.
	se := math.Sqrt((n*n-1)/12.0) / math.Sqrt(k) * math.Sqrt(float64(n-k)/(n-1))
	var r Reservoir
	var tenths [10]int
	var grand float64
	buf := make([]float64, 0, k)
	for rep := range reps {
		for i := range n {
			r.Observe(float64(i))
		}
		var count uint64
		buf, count, _ = r.swapValues(buf[:0])
		if len(buf) != k || count != n {
			t.Fatalf("rep %d: got %d samples of %d, want %d of %d", rep, len(buf), count, k, n)
		}
		var sum float64
		for _, v := range buf {
			sum += v
			tenths[int(v)*10/n]++
		}
		mean := sum / k
		grand += mean
		if d := math.Abs(mean - (n-1)/2.0); d > 6*se {
			t.Errorf("rep %d: sample mean %.0f is %.1f standard errors from %.1f", rep, mean, d/se, (n-1)/2.0)
		}
	}
	if d := math.Abs(grand/reps - (n-1)/2.0); d > 6*se/math.Sqrt(reps) {
		t.Errorf("mean of %d sample means %.0f is %.1f standard errors from %.1f", reps, grand/reps, d/(se/math.Sqrt(reps)), (n-1)/2.0)
	}
	// Pearson's chi-square over the tenths, 9 degrees of freedom; P(χ² > 60) ≈ 4e-9.
	exp := float64(reps*k) / 10
	var chi2 float64
	for _, c := range tenths {
		chi2 += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	if chi2 > 60 {
		t.Errorf("chi-square over tenths %.1f, want <= 60 for a uniform sample; counts %v", chi2, tenths)
	}
}

func TestReservoirConcurrent(t *testing.T) {
	const writers, perWriter, capacity = 8, 100_000, 64
	r := Reservoir{Cap: capacity}
	var done atomic.Bool
	var total, invalid uint64
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		var buf []float64
		deadline := time.Now().Add(20 * time.Second)
		for !done.Load() && time.Now().Before(deadline) {
			var c, inv uint64
			buf, c, inv = r.swapValues(buf[:0])
			total, invalid = total+c, invalid+inv
			if len(buf) > capacity || uint64(len(buf)) > c {
				t.Errorf("got %d samples of %d observations, want at most min(%d, count)", len(buf), c, capacity)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if i%1000 == 0 {
					r.Observe(math.NaN())
					continue
				}
				r.Observe(float64(w*perWriter + i))
			}
		})
	}
	wg.Wait()
	done.Store(true)
	<-swapped
	_, c, inv := r.swapValues(nil)
	total, invalid = total+c, invalid+inv
	if wantInvalid := uint64(writers * perWriter / 1000); total != writers*perWriter-wantInvalid || invalid != wantInvalid {
		t.Errorf("got %d valid and %d invalid observations, want %d and %d", total, invalid, writers*perWriter-wantInvalid, wantInvalid)
	}
}

func TestReservoirAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	r := Reservoir{Cap: 128}
	var snap ReservoirSnapshot
	for range 2 { // allocate both buffers
		for i := range 1000 {
			r.Observe(float64(i))
		}
		r.Swap(&snap)
	}
	i := 0
	if got := testing.AllocsPerRun(1000, func() { r.Observe(float64(i)); i++ }); got != 0 {
		t.Errorf("Observe: got %v allocs, want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() {
		for i := range 200 {
			r.Observe(float64(i))
		}
		r.Swap(&snap)
	}); got != 0 {
		t.Errorf("Observe+Swap: got %v allocs, want 0", got)
	}
}

func ExampleReservoir() {
	r := Reservoir{Cap: 100}
	for i := range 1000 {
		r.Observe(float64(i))
	}
	r.ObserveN(5, 3) // one value sampled at rate 1/3
	var s ReservoirSnapshot
	r.Swap(&s)
	// Each kept observation stands for Observations/len(Values) of them.
	fmt.Println(len(s.Values), s.Observations, s.Count, s.Sampled())
	// Output:
	// 100 1001 1003 true
}

// swapValues is Swap for tests that look only at the values: it appends them to dst and returns
// the total weight and the invalid count. It allocates the weights; allocation tests use Swap.
func (r *Reservoir) swapValues(dst []float64) (values []float64, count, invalid uint64) {
	var s ReservoirSnapshot
	r.Swap(&s)
	return append(dst, s.Values...), s.Count, s.Invalid
}

// TestReservoirWeights: each kept value keeps the weight it was observed with; Count is the total
// weight and Observations the number of observations, striped or not.
func TestReservoirWeights(t *testing.T) {
	for _, striped := range []bool{false, true} {
		r := Reservoir{Cap: 50}
		if striped {
			r.stripeNow()
		}
		for i := range 40 {
			r.ObserveN(float64(i), uint32(i%3+1))
		}
		r.ObserveN(1, 0) // weight 0 records nothing
		var s ReservoirSnapshot
		r.Swap(&s)
		if s.Sampled() || len(s.Values) != 40 || s.Observations != 40 || s.Count != 13*6+1 {
			t.Fatalf("striped=%v: %d values, %d observations, count %d: want 40, 40, 79", striped, len(s.Values), s.Observations, s.Count)
		}
		for i, v := range s.Values {
			if want := uint32(int(v)%3 + 1); s.Weights[i] != want {
				t.Errorf("striped=%v: value %v kept with weight %d, want %d", striped, v, s.Weights[i], want)
			}
		}
		for i := range 1000 {
			r.ObserveN(float64(i), 2)
		}
		r.Swap(&s)
		if !s.Sampled() || len(s.Values) > 50 || s.Count != 2000 || s.Observations != 1000 {
			t.Errorf("striped=%v: %d values, count %d, observations %d: want ≤ 50, 2000, 1000", striped, len(s.Values), s.Count, s.Observations)
		}
		for _, w := range s.Weights {
			if w != 2 {
				t.Fatalf("striped=%v: weight %d kept, want 2", striped, w)
			}
		}
	}
}
