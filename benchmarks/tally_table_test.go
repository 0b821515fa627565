package benchmarks

import "testing"

func TestRepresented(t *testing.T) {
	tests := []struct {
		name, line string
		want       float64
	}{
		{"one increment", "bench.requests:1|c|#env:prod", 1},
		{"aggregated count", "bench.requests:12345|c", 12345},
		{"sampled count", "bench.requests:3|c|@0.5|#env:prod", 6},
		{"rate after tags", "bench.requests:2|c|#a:b|@0.25", 8},
		{"other metric", "bench.other:7|c", 0},
		{"longer name sharing the prefix", "bench.requestsx:7|c", 0},
		{"gauge", "bench.requests:7|g", 0},
		{"one distribution value", "bench.requests:0.5|d|#env:prod", 1},
		{"multi-value distribution", "bench.requests:1:2:3.5|d", 3},
		{"sampled histogram", "bench.requests:1:2|h|@0.1", 20},
		{"timing", "bench.requests:12|ms", 1},
		{"summary count", "bench.requests.count:42|c|#env:prod", 42},
		{"summary quantile", "bench.requests.p99:0.3|g", 0},
		{"summary count as gauge", "bench.requests.count:42|g", 0},
		{"set", "bench.requests:abc|s", 0},
		{"not a line", "garbage", 0},
		{"bad value", "bench.requests:x|c", 0},
		{"rate out of range ignored", "bench.requests:2|c|@0", 2},
		{"rate again", "bench.requests:3|c|@0.5", 6},
		{"another rate", "bench.requests:3|c|@0.25", 12},
		{"tag that looks like a rate", "bench.requests:3|c|#@x:y", 3},
	}
	tl := newTally("bench.requests") // one for all: its rate cache must not leak between lines
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tl.represented([]byte(tt.line)); got != tt.want {
				t.Errorf("represented(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestTallyDatagram(t *testing.T) {
	a := "bench.requests:10|c\nbench.requests:5|c|#a:b\n"
	b := "datadog.dogstatsd.client.metrics:3|c\nbench.requests:1:2|d"
	tl := newTally("bench.requests")
	tl.datagram([]byte(a))
	tl.datagram([]byte(b))
	checkEq(t, "dgrams", tl.dgrams, 2)
	checkEq(t, "lines", tl.lines, 4)
	checkEq(t, "bytes", tl.bytes, uint64(len(a)+len(b)))
	checkEq(t, "events", tl.events, 17)
}

func TestExpositionSum(t *testing.T) {
	text := `# HELP bench_requests_total requests
# TYPE bench_requests_total counter
bench_requests_total{env="prod",route="/a"} 10
bench_requests_total{env="prod",route="/b"} 5
bench_requests_total_created 99
bench_requests_total 2
go_goroutines 7
`
	checkEq(t, "sum", expositionSum([]byte(text), "bench_requests_total"), 17)
	checkEq(t, "absent metric", expositionSum([]byte(text), "nope"), 0)
}

func checkEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
