package statsd

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAppendNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{3, "3"},
		{0.5, "0.5"},
		{-2.25, "-2.25"},
		{0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"},
		{123456789, "123456789"},
		{999999999999999, "999999999999999"},
		{1e15, "1000000000000000"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{-1e21, "-1e+21"},
		{1.5e300, "1.5e+300"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{1e-6, "0.000001"},
		{9.9e-7, "9.9e-07"},
		{-1.25e-9, "-1.25e-09"},
		{5e-324, "5e-324"},
	}
	for _, tt := range tests {
		got := string(AppendNumber(nil, tt.v))
		if got != tt.want {
			t.Errorf("AppendNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// referenceNumber is the formatting rule written plainly, without the
// integer fast path AppendNumber takes.
func referenceNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func checkNumber(t *testing.T, v float64) {
	t.Helper()
	got := string(AppendNumber(nil, v))
	if want := referenceNumber(v); got != want {
		t.Fatalf("AppendNumber(%b) = %q, want %q", v, got, want)
	}
	back, err := strconv.ParseFloat(got, 64)
	if err != nil || back != v {
		t.Fatalf("ParseFloat(AppendNumber(%b) = %q) = %v, %v; want %v, nil", v, got, back, err, v)
	}
}

func TestAppendNumberMatchesRule(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edges := []float64{
		exactInt - 1, exactInt, exactInt + 1, -(exactInt - 1), 1 << 53, 1<<53 + 2,
		math.Nextafter(1e21, 0), math.Nextafter(1e-6, 0), math.SmallestNonzeroFloat64,
		math.MaxInt64, math.MinInt64,
	}
	for _, v := range edges {
		checkNumber(t, v)
	}
	for range 20000 {
		bits := r.Uint64()
		v := math.Float64frombits(bits)
		if !Valid(v) {
			continue
		}
		checkNumber(t, v)
		checkNumber(t, float64(r.Int64N(1<<52)-1<<51))
		checkNumber(t, math.Round(r.NormFloat64()*1e6)/1e3)
	}
}

func FuzzAppendNumber(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.5, 1e15, 1e21, 1e-6, 9.9e-7, math.MaxFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if !Valid(v) {
			return
		}
		checkNumber(t, v)
	})
}

func TestValid(t *testing.T) {
	tests := []struct {
		v    float64
		want bool
	}{
		{0, true},
		{-1.5, true},
		{math.MaxFloat64, true},
		{math.NaN(), false},
		{math.Inf(1), false},
		{math.Inf(-1), false},
	}
	for _, tt := range tests {
		if got := Valid(tt.v); got != tt.want {
			t.Errorf("Valid(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestRateForIsReadExactly: for every weight up to 2^22, and for a sample of larger ones up to
// MaxWeight, the rate RateFor gives is written by AppendNumber as a decimal that parses back to it
// and that statsd_exporter turns back into exactly n observations (int(1/rate)).
func TestRateForIsReadExactly(t *testing.T) {
	check := func(n uint64) {
		r := RateFor(n)
		s := string(AppendNumber(nil, r))
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || back != r {
			t.Fatalf("n=%d: rate %v written as %q parses back to %v (%v)", n, r, s, back, err)
		}
		if got := uint64(1 / back); got != n {
			t.Fatalf("n=%d: rate %q reads as int(1/rate) = %d", n, s, got)
		}
		if n > 1 && !(back > 0 && back < 1) {
			t.Fatalf("n=%d: rate %v outside (0, 1): Line would not write it", n, back)
		}
	}
	limit := uint64(1 << 22)
	if testing.Short() || raceEnabled {
		limit = 1 << 18 // the race detector makes each check ~10x slower; CI runs the full range without it
	}
	for n := uint64(1); n <= limit; n++ {
		check(n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(1 + rng.Uint64N(MaxWeight))
	}
	check(MaxWeight)
	check(MaxWeight - 1)
	if RateFor(93) == 1.0/93 {
		t.Error("RateFor(93) is 1/93, which reads as 92 observations")
	}
}
