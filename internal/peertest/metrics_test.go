package peertest

import (
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		labels []string
		want   string
	}{
		{"no labels", "up", nil, "up"},
		{"one label", "a_b", []string{"env", "x"}, `a_b{env="x"}`},
		{"sorted by label name", "h", []string{"quantile", "0.5", "k", "v"}, `h{k="v",quantile="0.5"}`},
		{"value escaped", "m", []string{"a", "q\"b\\c\nd"}, `m{a="q\"b\\c\nd"}`},
		{"value cannot fake a label", "m", []string{"a", `1",b="2`}, `m{a="1\",b=\"2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Metrics(nil).Key(tt.metric, tt.labels...); got != tt.want {
				t.Errorf("Key(%q, %q): got %s, want %s", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
}

// TestKeyMatchesParse checks that keys built by Key find what ParseText stored, whatever the
// label order on either side.
func TestKeyMatchesParse(t *testing.T) {
	m, err := ParseText(strings.NewReader(`h_bucket{route="/a\"b",le="+Inf"} 4` + "\nup 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
		wantOK bool
	}{
		{"same order", "h_bucket", []string{"route", `/a"b`, "le", "+Inf"}, 4, true},
		{"other order", "h_bucket", []string{"le", "+Inf", "route", `/a"b`}, 4, true},
		{"label missing", "h_bucket", []string{"le", "+Inf"}, 0, false},
		{"wrong value", "h_bucket", []string{"le", "1", "route", `/a"b`}, 0, false},
		{"no labels", "up", nil, 1, true},
		{"absent", "down", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := m.Get(tt.metric, tt.labels...)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Get(%q, %q): got %v, %v, want %v, %v", tt.metric, tt.labels, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestKeyPanics(t *testing.T) {
	tests := []struct {
		name   string
		labels []string
		want   string
	}{
		{"odd count", []string{"a"}, "odd number"},
		{"repeated name", []string{"a", "1", "a", "2"}, `label "a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tt.want) {
					t.Errorf("Key(m, %q) panic: got %v, want one containing %q", tt.labels, r, tt.want)
				}
			}()
			Metrics(nil).Key("m", tt.labels...)
		})
	}
}

func TestDump(t *testing.T) {
	m := Metrics{
		`b{x="1"}`:                 2.5,
		"a":                        1,
		"go_goroutines":            9,
		"process_open_fds":         3,
		"promhttp_metric_handler":  1,
		"statsd_exporter_events_x": 7,
	}
	want := "a 1\nb{x=\"1\"} 2.5\nstatsd_exporter_events_x 7\n"
	if got := dump(m); got != want {
		t.Errorf("dump: got %q, want %q", got, want)
	}
	if got, want := dump(Metrics{"go_gc": 1}), "(no samples)\n"; got != want {
		t.Errorf("dump of runtime series only: got %q, want %q", got, want)
	}
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	b.Write([]byte("first\n"))
	if got, want := b.String(), "first\n"; got != want {
		t.Errorf("short output: got %q, want %q", got, want)
	}
	b.Write([]byte(strings.Repeat("x", maxOutput-1) + "\n"))
	got := b.String()
	if want := "[earlier output dropped]\n"; !strings.HasPrefix(got, want) {
		t.Errorf("long output: got prefix %q, want %q", got[:30], want)
	}
	if strings.Contains(got, "first") || !strings.HasSuffix(got, "x\n") {
		t.Errorf("long output: want the oldest bytes dropped and the newest kept, got %d bytes ending %q", len(got), got[len(got)-5:])
	}
	if n := len(got) - len("[earlier output dropped]\n"); n != maxOutput {
		t.Errorf("long output: kept %d bytes, want %d", n, maxOutput)
	}
}
