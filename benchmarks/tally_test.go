package benchmarks

import (
	"bytes"
	"strconv"
)

// tally counts what a receiver got and how many recorded events the lines of one watched metric
// stand for, so that a client's output can be checked against the b.N events the benchmark
// recorded, whether the client sent them one per line or aggregated. It runs in the receiver,
// which must keep up with clients that flush hundreds of thousands of datagrams at once: hence
// the precomputed names and the cached sample rate.
type tally struct {
	metric, countName string // the watched metric's name, and its summary count's

	dgrams, lines, bytes uint64
	events               float64

	rateText []byte // the last sample rate parsed, and its value
	rate     float64
}

func newTally(metric string) tally { return tally{metric: metric, countName: metric + ".count"} }

// datagram adds one DogStatsD payload: lines joined by '\n'.
func (t *tally) datagram(p []byte) {
	t.dgrams++
	t.bytes += uint64(len(p))
	for len(p) > 0 {
		line, rest, _ := bytes.Cut(p, []byte{'\n'})
		p = rest
		if len(line) > 0 {
			t.lines++
			t.events += t.represented(line)
		}
	}
}

// represented returns how many recorded events a DogStatsD line stands for, 0 when it is not
// about the watched metric:
//   - a count ("c") of the metric stands for its value: an aggregated "m:1000|c" is 1000
//     increments;
//   - a histogram, distribution or timing ("h", "d", "ms") line stands for its number of values,
//     which multi-value lines ("m:1:2:3|d", DogStatsD 1.1) pack several of;
//   - a count named metric+".count" stands for its value: statshard's summary histograms send the
//     exact number of observations that way, with the quantiles as gauges;
//   - gauges and sets stand for nothing countable.
//
// A sample rate "|@r" scales it by 1/r, as a DogStatsD server would.
func (t *tally) represented(line []byte) float64 {
	name, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok || (string(name) != t.metric && string(name) != t.countName) {
		return 0
	}
	values, rest, _ := bytes.Cut(rest, []byte{'|'})
	typ, rest, _ := bytes.Cut(rest, []byte{'|'})
	var n float64
	switch {
	case string(typ) == "c":
		v, err := strconv.ParseFloat(string(values), 64)
		if err != nil {
			return 0
		}
		n = v
	case string(name) == t.countName:
		return 0 // a summary's gauges
	case string(typ) == "h" || string(typ) == "d" || string(typ) == "ms":
		n = float64(bytes.Count(values, []byte{':'}) + 1)
	default:
		return 0
	}
	if len(rest) == 0 {
		return n
	}
	var field []byte
	if rest[0] == '@' {
		field, _, _ = bytes.Cut(rest[1:], []byte{'|'})
	} else if i := bytes.Index(rest, []byte("|@")); i >= 0 {
		field, _, _ = bytes.Cut(rest[i+2:], []byte{'|'})
	} else {
		return n
	}
	if !bytes.Equal(field, t.rateText) {
		r, err := strconv.ParseFloat(string(field), 64)
		if err != nil || !(r > 0 && r <= 1) {
			return n
		}
		t.rateText, t.rate = append(t.rateText[:0], field...), r
	}
	return n / t.rate
}

// expositionSum returns the sum of the samples of metric in a Prometheus text exposition: for a
// counter, the events that reached the scrape.
func expositionSum(text []byte, metric string) float64 {
	var sum float64
	for len(text) > 0 {
		var line []byte
		line, text, _ = bytes.Cut(text, []byte{'\n'})
		if !bytes.HasPrefix(line, []byte(metric)) || len(line) == len(metric) {
			continue
		}
		if c := line[len(metric)]; c != '{' && c != ' ' {
			continue // another metric whose name starts with this one
		}
		i := bytes.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(string(line[i+1:]), 64); err == nil {
			sum += v
		}
	}
	return sum
}
