package statsd

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const typicalLine = "page.views:1|c|#env:prod,region:eu,service:web"

// mixedDatagram is what a busy service sends: counters, timings, gauges,
// a multi-value distribution, a set, a sampled line, one service check.
const mixedDatagram = typicalLine + "\n" +
	"http.server.duration:12.75|ms|#env:prod,service:api,code:200,method:get\n" +
	"queue.depth:42|g|#env:prod,queue:emails\n" +
	"rpc.latency:0.25:0.31:1.5:0.07|d|#env:prod,service:api\n" +
	"users.uniques:u-83c0a99c|s|#env:prod\n" +
	"cache.hits:1|c|@0.1|#env:prod,cache:l1\n" +
	"_sc|db.up|0|#env:prod\n"

// naiveSample is what the naive parser returns.
type naiveSample struct {
	name, typ string
	values    []float64
	rate      float64
	tags      []string
}

var errNaive = errors.New("naive: bad line")

// naiveParse is the obvious parser: strings.Split and strconv, one string
// conversion of the line. It is the baseline the Parser is measured against.
func naiveParse(line []byte) (naiveSample, error) {
	var s naiveSample
	parts := strings.Split(string(line), "|")
	if len(parts) < 2 {
		return s, errNaive
	}
	nv := strings.SplitN(parts[0], ":", 2)
	if len(nv) != 2 || nv[0] == "" {
		return s, errNaive
	}
	s.name, s.typ = nv[0], parts[1]
	if s.typ != "s" {
		for _, v := range strings.Split(nv[1], ":") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return s, err
			}
			s.values = append(s.values, f)
		}
	}
	for _, f := range parts[2:] {
		switch {
		case strings.HasPrefix(f, "#"):
			s.tags = strings.Split(f[1:], ",")
		case strings.HasPrefix(f, "@"):
			r, err := strconv.ParseFloat(f[1:], 64)
			if err != nil {
				return s, err
			}
			s.rate = r
		}
	}
	return s, nil
}

var (
	sinkSum  float64
	sinkTags int
)

func BenchmarkParseTypicalLine(b *testing.B) {
	line := []byte(typicalLine)
	b.Run("statsd", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		var p Parser
		sum := 0.0
		add := func(v float64, _ bool) { sum += v }
		for range b.N {
			_, s, err := p.Parse(line)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Values(add); err != nil {
				b.Fatal(err)
			}
			sinkTags += len(s.Tags)
		}
		sinkSum = sum
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for range b.N {
			s, err := naiveParse(line)
			if err != nil {
				b.Fatal(err)
			}
			sinkSum += s.values[0]
			sinkTags += len(s.tags)
		}
	})
}

// BenchmarkParseDatagram measures a whole datagram, split into lines; one
// op is one datagram of 7 lines.
func BenchmarkParseDatagram(b *testing.B) {
	dg := []byte(mixedDatagram)
	b.Run("statsd", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(dg)))
		var p Parser
		sum := 0.0
		add := func(v float64, _ bool) { sum += v }
		parse := func(line []byte) {
			kind, s, err := p.Parse(line)
			if err != nil {
				b.Fatal(err)
			}
			if kind == KindMetric && s.Type != Set {
				_ = s.Values(add)
			}
		}
		for range b.N {
			SplitLines(dg, parse)
		}
		sinkSum = sum
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(dg)))
		for range b.N {
			for _, line := range strings.Split(string(dg), "\n") {
				if line == "" || strings.HasPrefix(line, "_sc") {
					continue
				}
				s, err := naiveParse([]byte(line))
				if err != nil {
					b.Fatal(err)
				}
				sinkTags += len(s.tags)
			}
		}
	})
}
