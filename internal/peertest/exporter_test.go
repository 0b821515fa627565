package peertest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func send(t *testing.T, network, addr, payload string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(payload)); err != nil {
		t.Fatalf("write to %s %s: %v", network, addr, err)
	}
}

func TestStartUDPAndUnixgram(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Unixgram: true})
	if !strings.HasPrefix(e.UDPAddr, "127.0.0.1:") || !strings.HasPrefix(e.HTTPAddr, "127.0.0.1:") {
		t.Errorf("addresses: got UDP %q HTTP %q, want both on 127.0.0.1", e.UDPAddr, e.HTTPAddr)
	}
	if e.UnixPath == "" {
		t.Fatal("UnixPath: got \"\", want a socket path")
	}
	send(t, "udp", e.UDPAddr, "a.b:3|c|#env:x")
	send(t, "unixgram", e.UnixPath, "a.b:3|c|#env:x")
	m := e.WaitFor(t, 10*time.Second, func(m Metrics) bool {
		v, _ := m.Get("a_b", "env", "x")
		return v == 6
	})
	if v, _ := m.Get("statsd_exporter_unixgram_packets_total"); v < 1 {
		t.Errorf("statsd_exporter_unixgram_packets_total: got %v, want >= 1", v)
	}
}

func TestStartMappingConfigHistogram(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{MappingConfig: `
mappings:
- match: "req.*"
  name: "req_seconds"
  observer_type: histogram
  histogram_options:
    buckets: [0.1, 1]
  labels:
    route: "$1"
`})
	if e.UnixPath != "" {
		t.Errorf("UnixPath without Options.Unixgram: got %q, want \"\"", e.UnixPath)
	}
	send(t, "udp", e.UDPAddr, "req.home:500|ms\nreq.home:2000|ms")
	m := e.WaitFor(t, 10*time.Second, func(m Metrics) bool {
		v, _ := m.Get("req_seconds_count", "route", "home")
		return v == 2
	})
	for _, c := range []struct {
		le   string
		want float64
	}{{"0.1", 0}, {"1", 1}, {"+Inf", 2}} {
		if got, ok := m.Get("req_seconds_bucket", "route", "home", "le", c.le); !ok || got != c.want {
			t.Errorf(`req_seconds_bucket{le=%q}: got %v (present %v), want %v`, c.le, got, ok, c.want)
		}
	}
	if got, _ := m.Get("req_seconds_sum", "route", "home"); got != 2.5 {
		t.Errorf("req_seconds_sum: got %v, want 2.5 (ms are exported as seconds)", got)
	}
}

// TestCleanupStopsExporter checks the exporter is gone, not just signalled, once the test that
// started it has finished.
func TestCleanupStopsExporter(t *testing.T) {
	t.Parallel()
	Binary(t) // skip here, not only in the subtest, when there is no exporter
	var e *StatsdExporter
	t.Run("run", func(t *testing.T) {
		e = Start(t, Options{Unixgram: true})
		e.Scrape(t)
	})
	if e == nil {
		t.Fatal("subtest did not start an exporter")
	}
	if !e.proc.exited() {
		t.Fatal("exporter still running after its test's cleanup")
	}
	if _, err := http.Get("http://" + e.HTTPAddr + "/metrics"); err == nil {
		t.Errorf("GET %s after cleanup: got an answer, want connection refused", e.HTTPAddr)
	}
}

func TestLaunchFailures(t *testing.T) {
	t.Parallel()
	bin := Binary(t)
	httpAddr, udpAddr, err := freeAddrs()
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name          string
		cfg           launchConfig
		wantPortClash bool
		wantOutput    string
	}{
		{"HTTP port taken", launchConfig{httpAddr: taken.Addr().String(), udpAddr: udpAddr}, true, "address already in use"},
		{"bad mapping file", launchConfig{httpAddr: httpAddr, udpAddr: udpAddr, mapping: t.TempDir() + "/none.yml"}, false, "error loading config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			e, err := launch(ctx, bin, tt.cfg)
			if err == nil {
				e.proc.stop()
				t.Fatal("launch: got no error, want one")
			}
			var le *launchError
			if !errors.As(err, &le) {
				t.Fatalf("launch error: got %T %v, want *launchError", err, err)
			}
			if le.portClash != tt.wantPortClash {
				t.Errorf("portClash: got %v, want %v (error %v)", le.portClash, tt.wantPortClash, err)
			}
			if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), tt.wantOutput) {
				t.Errorf("launch error: got %q, want it to say the exporter exited and contain %q", err, tt.wantOutput)
			}
		})
	}
}

// fakeExporter writes a shell script standing in for statsd_exporter: it prints a line, creates
// the file started (unless it is ""), then never becomes ready. With ignoreTerm it ignores SIGTERM
// from before it prints, so whoever has seen the line knows SIGTERM will be ignored.
func fakeExporter(t *testing.T, ignoreTerm bool, started string) string {
	t.Helper()
	script := "#!/bin/sh\n"
	if ignoreTerm {
		script += "trap '' TERM\n"
	}
	script += "echo fake exporter waiting >&2\n"
	if started != "" {
		script += ": >'" + started + "'\n"
	}
	script += "exec sleep 30\n"
	path := filepath.Join(t.TempDir(), "fake_exporter")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLaunchTimeout(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
	httpAddr, udpAddr, err := freeAddrs()
	if err != nil {
		t.Fatal(err)
	}
	// launch's context ends once the script has printed its line, not after a fixed time: on a
	// loaded machine the shell may not have run yet after any fixed time, and the error must carry
	// its output. A launch that ignored its context would run on to the 15 s deadline.
	started := filepath.Join(t.TempDir(), "started")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var ended atomic.Int64 // when ctx was cancelled, in Unix ns
	testDone := make(chan struct{})
	defer close(testDone)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := os.Stat(started); err == nil {
				ended.Store(time.Now().UnixNano())
				cancel()
				return
			}
			select {
			case <-tick.C:
			case <-testDone:
				return
			}
		}
	}()
	e, err := launch(ctx, fakeExporter(t, false, started), launchConfig{httpAddr: httpAddr, udpAddr: udpAddr})
	returned := time.Now()
	if err == nil {
		e.proc.stop()
		t.Fatal("launch of a process that never listens: got no error, want a timeout")
	}
	for _, want := range []string{"not ready after", "fake exporter waiting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("launch error: got %q, want it to contain %q", err, want)
		}
	}
	if at := ended.Load(); at == 0 {
		t.Errorf("launch returned before the script started")
	} else if d := returned.Sub(time.Unix(0, at)); d > 5*time.Second {
		t.Errorf("launch returned %v after its context ended, want it to stop at once", d)
	}
}

func TestStopKillsAfterTerm(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
	p, err := startProcess(fakeExporter(t, true, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the line, which the script prints after setting its trap, else SIGTERM could end
	// it before it ignores TERM.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.out.String(), "waiting"); {
		if time.Now().After(deadline) {
			p.stop()
			t.Fatal("fake exporter did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	begin := time.Now()
	p.stop()
	d := time.Since(begin)
	if !p.exited() {
		t.Fatal("stop returned with the process still running")
	}
	if d < killAfter || d > killAfter+3*time.Second {
		t.Errorf("stop of a process ignoring SIGTERM took %v, want about %v (SIGKILL after the grace period)", d, killAfter)
	}
}
