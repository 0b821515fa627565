package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.json")
	os.WriteFile(cfg, []byte(`{"interval": "7s", "prefix": "file.", "max_series": 5,
		"histogram_rules": [{"match": "http.*", "mode": "buckets", "bounds": [0.1, 1]}]}`), 0o600)
	t.Setenv("STATSHARD_PREFIX", "env.")
	t.Setenv("STATSHARD_UPSTREAM", "udp://127.0.0.1:9")
	s, path, _, err := load([]string{"-config", cfg, "-upstream", "udp://127.0.0.1:10", "-tags", "a:1,b:2"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if path != cfg {
		t.Errorf("config path %q", path)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"interval from the file", time.Duration(s.Interval), 7 * time.Second},
		{"max_series from the file", s.MaxSeries, 5},
		{"prefix: environment over file", s.Prefix, "env."},
		{"upstream: flag over environment", s.Upstream, "udp://127.0.0.1:10"},
		{"tags from the flag", strings.Join(s.Tags, ","), "a:1,b:2"},
		{"rule from the file", len(s.HistogramRules), 1},
		{"default listen", strings.Join(s.Listen, ","), "udp://127.0.0.1:8125"},
		{"default tcp", s.TCP, "127.0.0.1:5000"},
		{"default http", s.HTTP, "127.0.0.1:8127"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"intervall": "7s"}`), 0o600)
	tests := []struct {
		args []string
		env  [2]string
		want string
	}{
		{[]string{"-interval", "0s"}, [2]string{}, "-interval: must be positive"},
		{[]string{"-histogram-mode", "nope"}, [2]string{}, "unknown histogram mode"},
		{[]string{"-histogram-rule", "x"}, [2]string{}, "want match=mode"},
		{[]string{"-quantiles", "2"}, [2]string{}, "outside [0, 1]"},
		{[]string{"-upstream", "tcp://x:1"}, [2]string{}, "unknown scheme"},
		{[]string{"-log-level", "loud"}, [2]string{}, "log-level"},
		{[]string{"-config", bad}, [2]string{}, "bad.json:1:2: intervall: unknown key"},
		{[]string{"-config", filepath.Join(dir, "missing.json")}, [2]string{}, "no such file"},
		{nil, [2]string{"STATSHARD_MAX_SERIES", "many"}, "STATSHARD_MAX_SERIES"},
		{[]string{"extra"}, [2]string{}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+tt.env[0], func(t *testing.T) {
			if tt.env[0] != "" {
				t.Setenv(tt.env[0], tt.env[1])
			}
			_, _, _, err := load(tt.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRulesFlag(t *testing.T) {
	s, _, _, err := load([]string{"-histogram-rule", "http.*=buckets:0.1,1", "-histogram-rule", "*.size=distribution"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := (*rulesValue)(&s.HistogramRules).String(); got != "http.*=buckets:0.1,1;*.size=distribution" {
		t.Errorf("rules = %q", got)
	}
}

func TestCheckConfigAndVersion(t *testing.T) {
	var out bytes.Buffer
	// Port 0 everywhere: -check-config binds every listener for an instant.
	args := []string{"-check-config", "-prefix", "x.", "-listen", "udp://127.0.0.1:0", "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0"}
	if err := run(args, &out, &bytes.Buffer{}, signals{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"prefix": "x."`) || !strings.Contains(out.String(), "configuration OK") {
		t.Errorf("check-config printed:\n%s", out.String())
	}
	out.Reset()
	if err := run([]string{"-version"}, &out, &bytes.Buffer{}, signals{}); err != nil || !strings.HasPrefix(out.String(), "statshard ") {
		t.Errorf("-version: %v %q, want it to start with \"statshard \"", err, out.String())
	}
}

// TestRunDefaultsPrintTable runs the agent in-process on its defaults but for ports, receives a
// line, prints the flush table on stdout and stops on a signal.
func TestRunDefaultsPrintTable(t *testing.T) {
	udp := freePort(t, "udp")
	var out, errs syncBuffer
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-listen", "udp://" + udp, "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0", "-interval", "50ms", "-telemetry=false"}, &out, &errs, signals{term: sigs})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "hello.world") {
		if time.Now().After(deadline) {
			t.Fatalf("no table with hello.world on stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
		}
		send(t, "udp", udp, "hello.world:3|c|#k:v")
		time.Sleep(60 * time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME", "TAGS", "KIND", "VALUE", "hello.world", "k:v", "counter"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSIGHUPReload: a bad file keeps the running configuration; a good one replaces it.
func TestSIGHUPReload(t *testing.T) {
	udp := freePort(t, "udp")
	cfg := filepath.Join(t.TempDir(), "agent.json")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"prefix": "one.", "interval": "50ms", "telemetry": false}`)
	var out, errs syncBuffer
	term, hup := make(chan os.Signal, 1), make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-config", cfg, "-listen", "udp://" + udp, "-tcp", "off", "-http", "off"}, &out, &errs, signals{term: term, hup: hup})
	}()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("stdout never showed %q:\n%s\nstderr:\n%s", want, out.String(), errs.String())
			}
			send(t, "udp", udp, "m:1|c")
			time.Sleep(30 * time.Millisecond)
		}
	}
	waitOut("one.m")
	write(`{"prefix": "two.", "interval": "fast"}`)
	hup <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errs.String(), "configuration rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("bad config not reported:\n%s", errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	write(`{"prefix": "two.", "interval": "50ms", "telemetry": false}`)
	hup <- syscall.SIGHUP
	waitOut("two.m")
	term <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
