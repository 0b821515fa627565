package agent

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/statshard/statshard/wire/statsd"
)

func TestCountFloatCarriesFractions(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	r.CountFloat("bytes", 0.75, "k:v")
	r.CountFloat("bytes", 0.75, "k:v")
	r.Flush()
	assertLines(t, s.take(), []string{"bytes:1|c|#k:v"})
	r.CountFloat("bytes", 0.5, "k:v") // 0.5 carried + 0.5
	r.Flush()
	assertLines(t, s.take(), []string{"bytes:1|c|#k:v"})

	r.CountFloat("bad", math.NaN())
	r.CountFloat("bad", math.Inf(1))
	r.Flush()
	assertLines(t, s.take(), nil)
	if got := r.Stats().InvalidValues; got != 2 {
		t.Errorf("InvalidValues = %d, want 2", got)
	}
}

func TestObserveNWeighsExactly(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{
		Rules: []HistogramRule{{Match: "b", Mode: HistogramBuckets, Bounds: []float64{1, 10}}},
	}})
	r.ObserveN("h", 2, 3)
	r.ObserveN("h", 4, 1)
	r.ObserveN("h", 9, 0) // nothing
	r.ObserveN("b", 5, 7)
	r.ObserveN("b", 0.5, 2)
	r.ObserveDistributionN("d", 3, 5, "k:v")
	r.ObserveDistributionN("one", 3, 1)
	r.Flush()
	lines := s.take()
	for _, want := range []struct {
		prefix string
		v      float64
	}{{"h.count:", 4}, {"h.sum:", 10}, {"h.avg:", 2.5}, {"h.min:", 2}, {"h.max:", 4}} {
		if v := lineValue(t, lines, want.prefix); v != want.v {
			t.Errorf("%s%v, want %v", want.prefix, v, want.v)
		}
	}
	rate := string(statsd.AppendNumber(nil, statsd.RateFor(5)))
	for _, want := range []string{
		"b.bucket:2|c|#le:1", "b.bucket:9|c|#le:10", "b.bucket:9|c|#le:inf", "b.count:9|c", "b.sum:36|g",
		"d:3|d|@" + rate + "|#k:v", "one:3|d",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
}

// A weight past what a reservoir keeps beside one value (2^32) is split, never truncated.
func TestObserveNPastUint32(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	const n = 1<<33 + 5
	r.ObserveN("h", 1, n)
	r.ObserveDistributionN("d", 1, n)
	r.Flush()
	lines := s.take()
	if v := lineValue(t, lines, "h.count:"); v != n {
		t.Errorf("h.count %v, want %v", v, float64(n))
	}
	var total uint64
	for _, l := range lines {
		if len(l) > 2 && l[:2] == "d:" {
			total += weightOf(t, l)
		}
	}
	if total != n {
		t.Errorf("distribution lines weigh %d in all, want %d (%q)", total, uint64(n), lines)
	}
}

// weightOf returns how many values a distribution line stands for at a receiver that honours
// rates as statsd_exporter does: int(1/rate), 1 without a rate.
func weightOf(t *testing.T, line string) uint64 {
	t.Helper()
	for _, f := range strings.Split(line, "|")[2:] {
		if r, ok := strings.CutPrefix(f, "@"); ok {
			rate, err := strconv.ParseFloat(r, 64)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			return uint64(1 / rate)
		}
	}
	return 1
}

func TestWeightedHandles(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	c := r.Counter("c", "k:v")
	c.AddFloat(0.5)
	c.AddFloat(2)
	r.Histogram("h").ObserveN(3, 4)
	r.Distribution("d").ObserveN(3, 1)
	r.Histogram("h").ObserveN(3, 0) // nothing
	var zero Histogram
	zero.ObserveN(1, 1) // the zero handle records nothing, and does not panic
	Counter{}.AddFloat(1)
	r.Flush()
	lines := s.take()
	for _, want := range []string{"c:2|c|#k:v", "h.count:4|c", "h.sum:12|g", "d:3|d"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
}
