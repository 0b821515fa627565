package peertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Telegraf's schedule: a short gather and flush interval so a datagram is in the output file about
// 200 ms after it is sent.
const (
	telegrafInterval = 100 * time.Millisecond
)

// DefaultTelegrafPercentiles are the percentiles a [Telegraf] started with nil
// TelegrafOptions.Percentiles computes for timings and histograms.
var DefaultTelegrafPercentiles = []float64{50, 90, 99, 100}

// TelegrafOptions configures [StartTelegraf]. The zero value is the configuration [Telegraf]
// documents.
type TelegrafOptions struct {
	// Percentiles telegraf computes for "ms" and "h" series, each reported as the field
	// "<p>_percentile" (50 gives "50_percentile", 99.9 gives "99.9_percentile"). Nil means
	// DefaultTelegrafPercentiles.
	Percentiles []float64
}

// Telegraf is a running telegraf with one [[inputs.statsd]] on a loopback UDP port and one
// [[outputs.file]] writing JSON lines, started by [StartTelegraf] and stopped by the test's
// cleanup (SIGTERM, SIGKILL after 2 s, then waiting for the exit). Its log is kept (see
// [Telegraf.Log]) and logged when the test failed. The zero value is not usable. Its methods are
// safe for concurrent use by parallel subtests sharing one Telegraf.
//
// # Configuration
//
// The input is configured so that what it reports is a pure function of what it received, whatever
// the alignment of its 100 ms gathers with the sender's flushes:
//
//   - datadog_extensions and datadog_distributions are on: "|#tags" become tags and "|d" lines
//     are kept;
//   - delete_counters, delete_gauges, delete_sets and delete_timings are off, so every gather
//     reports every series with its value since telegraf started (cumulative) and the latest point
//     of a series is its total;
//   - percentile_limit is 1,000,000, so percentiles are of every value, not of a random subset;
//   - one parser worker (number_workers_threads = 1), so lines apply in arrival order: with
//     telegraf's default of 5 workers two datagrams may apply out of order, and a relative gauge
//     sent after an absolute one could land first;
//   - omit_hostname: no "host" tag; the json output writes timestamps in milliseconds.
//
// # How telegraf v1.37.2 maps DogStatsD
//
// From plugins/inputs/statsd/statsd.go at v1.37.2, and checked by this package's tests:
//
//   - Names: '.' becomes '_' (the default graphite template joins the parts with "_"); every other
//     character is kept as sent. The measurement name is the metric name.
//   - Tags: "#k:v" gives the tag k=v and a tag without a value gets the value "true". Each point
//     also has the tag metric_type (counter, gauge, timing, histogram, distribution, set), which
//     [Point] holds as Type, not in Tags. "|c:<container>" is dropped (datadog_keep_container_tag
//     is off). "|T<unix>" is ignored: points carry telegraf's gather time.
//   - Counters ("c"): field "value", an int64. Each line's value is parsed as an integer; a value
//     that is not one is parsed as a float and truncated toward zero, so "0.5|c" adds 0 and a value
//     outside int64 (or a float like "1e308") adds int64(float), which is -9223372036854775808 on
//     amd64. "@rate" divides the line's value and truncates: "1|c|@0.3" adds 3. The total is an
//     int64 sum that wraps on overflow. Telegraf cannot represent a counter above 2^63-1 or a
//     fractional count.
//   - Gauges ("g"): field "value", a float64. A value with a leading '+' or '-' is added to the
//     current value (statsd's relative gauges), so "-5|g" after "3|g" reads -2, and a negative value
//     is set only by "0|g" then "-5|g"; "@rate" is ignored. "NaN|g" is kept but written as a point
//     with no fields (JSON has no NaN); a value out of float64 range ("1e999") is rejected with a
//     log line.
//   - Timings and histograms ("ms", "h"): one point per series with fields count (int64), sum, mean,
//     median, stddev, upper (the maximum), lower (the minimum) and "<p>_percentile" per configured
//     percentile. Values are not converted (milliseconds stay milliseconds). "@rate" adds the value
//     int(1/rate) times, so "@0.3" counts it 3 times, not 3.33. The median is of the last 1,000
//     values only (a fixed limit in telegraf).
//   - Distributions ("d"): every value is its own point with the float64 field "value", reported
//     once, at the next gather (distributions are never cumulative). "@rate" is ignored: a value
//     sampled at 0.1 counts once, not 10 times, so weighted lines (sketch bins, sampled reservoirs)
//     lose their weight.
//   - Sets ("s"): field "value", an int64: the distinct members received since start. The empty
//     member counts as a member.
//   - DogStatsD 1.1 multi-value lines ("name:1:2:3|d") are rejected whole, for every type, with the
//     log line `Splitting '|', unable to parse metric`: telegraf reads a second ':' as statsd's
//     "name:1|c:2|c" multi-metric form.
//   - Transport: UDP only. The statsd input listens with net.ListenUDP ("udp", "udp4", "udp6") or
//     net.ListenTCP ("tcp"); it has no unix datagram socket, so unixgram senders cannot be tested
//     against it.
type Telegraf struct {
	// UDPAddr is where telegraf receives DogStatsD: "127.0.0.1:port".
	UDPAddr string
	// OutPath is the JSON lines file telegraf writes.
	OutPath string

	proc *process

	mu      sync.Mutex
	off     int64  // bytes of OutPath consumed
	partial []byte // a line telegraf has not finished writing
	points  []Point
	readErr error // the first malformed line; every later read reports it
}

// StartTelegraf runs telegraf for the test, waits until a probe gauge sent to its UDP port shows
// up in its output file, and returns it. It skips the test when the binary is missing (see
// [TelegrafBinary]) and fails it, with telegraf's output, when telegraf does not become ready
// within 15 s. A launch that loses its picked port to another process is retried, up to 3
// launches in all.
func StartTelegraf(t testing.TB, opts TelegrafOptions) *Telegraf {
	t.Helper()
	bin := TelegrafBinary(t)
	// Not t.TempDir: telegraf expands $VAR in its configuration, and a test name can put odd
	// characters in that path; MkdirTemp's is plain.
	dir, err := os.MkdirTemp("", "peertest-telegraf")
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	percentiles := opts.Percentiles
	if percentiles == nil {
		percentiles = DefaultTelegrafPercentiles
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		udpAddr, err := freeUDPAddr()
		if err != nil {
			t.Fatal(err)
		}
		c := telegrafConfig{
			udpAddr:     udpAddr,
			outPath:     filepath.Join(dir, fmt.Sprintf("out-%d.json", attempt)),
			percentiles: percentiles,
		}
		conf := filepath.Join(dir, fmt.Sprintf("telegraf-%d.conf", attempt))
		text, err := c.render()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatalf("peertest: write telegraf config: %v", err)
		}
		tg, err := launchTelegraf(ctx, bin, conf, c)
		if err == nil {
			t.Cleanup(func() { tg.stop(t) })
			return tg
		}
		var le *launchError
		if !errors.As(err, &le) || !le.portClash || attempt == maxAttempts {
			t.Fatalf("%v\n(telegraf launch %d of at most %d)", err, attempt, maxAttempts)
		}
		t.Logf("peertest: retrying telegraf start: %v", err)
	}
}

// freeUDPAddr picks a free loopback UDP port by binding port 0 and closing.
func freeUDPAddr() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("peertest: pick a UDP port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// telegrafConfig is what varies between telegraf launches.
type telegrafConfig struct {
	udpAddr, outPath string
	percentiles      []float64
}

// render writes the telegraf TOML configuration. It fails on a path TOML or telegraf's $VAR
// expansion would misread.
func (c telegrafConfig) render() (string, error) {
	out, err := tomlString(c.outPath)
	if err != nil {
		return "", err
	}
	addr, err := tomlString(c.udpAddr)
	if err != nil {
		return "", err
	}
	ps := make([]string, len(c.percentiles))
	for i, p := range c.percentiles {
		if !(p > 0 && p <= 100) {
			return "", fmt.Errorf("peertest: telegraf percentile %v outside (0, 100]", p)
		}
		// 'f' with -1 digits: TOML floats need no exponent, and "50" reads as 50.
		ps[i] = strconv.FormatFloat(p, 'f', -1, 64)
	}
	iv := strconv.Quote(telegrafInterval.String())
	return `[agent]
  interval = ` + iv + `
  flush_interval = ` + iv + `
  round_interval = false
  collection_jitter = "0s"
  flush_jitter = "0s"
  omit_hostname = true
  metric_batch_size = 10000
  metric_buffer_limit = 1000000

[[inputs.statsd]]
  protocol = "udp"
  service_address = ` + addr + `
  datadog_extensions = true
  datadog_distributions = true
  delete_counters = false
  delete_gauges = false
  delete_sets = false
  delete_timings = false
  percentiles = [` + strings.Join(ps, ", ") + `]
  percentile_limit = 1000000
  number_workers_threads = 1
  allowed_pending_messages = 100000
  read_buffer_size = 4194304

[[outputs.file]]
  files = [` + out + `]
  data_format = "json"
  json_timestamp_units = "1ms"
`, nil
}

// tomlString quotes s as a TOML basic string, refusing what would need escapes telegraf's $VAR
// expansion or TOML treat specially.
func tomlString(s string) (string, error) {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '$' {
			return "", fmt.Errorf("peertest: %q cannot go in telegraf's configuration unescaped", s)
		}
	}
	return `"` + s + `"`, nil
}

func launchTelegraf(ctx context.Context, bin, conf string, c telegrafConfig) (*Telegraf, error) {
	p, err := startProcess(bin, []string{"--config", conf})
	if err != nil {
		return nil, err
	}
	tg := &Telegraf{UDPAddr: c.udpAddr, OutPath: c.outPath, proc: p}
	if err := tg.awaitReady(ctx); err != nil {
		p.stop()
		out := p.out.String()
		return nil, &launchError{err: err, peer: telegrafPeer.command, output: out, portClash: isPortClash(out)}
	}
	return tg, nil
}

// awaitReady sends a probe gauge every 20 ms until it is in the output file: datagrams sent before
// telegraf binds its port are lost.
func (tg *Telegraf) awaitReady(ctx context.Context) error {
	start := time.Now()
	probe := nextProbe()
	udp, err := net.Dial("udp", tg.UDPAddr)
	if err != nil {
		return fmt.Errorf("peertest: dial probe socket: %w", err)
	}
	defer udp.Close()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastErr := errors.New("probe not seen yet")
	for {
		// Send errors are expected until telegraf listens (ECONNREFUSED); the probe not showing
		// up is what reports them.
		udp.Write([]byte(probe + ":1|g|#transport:udp"))
		m, err := tg.read()
		switch {
		case err != nil:
			lastErr = err
		case len(m.All(probe, "transport", "udp")) == 0:
			lastErr = fmt.Errorf("probe %s not in %s yet", probe, tg.OutPath)
		case tg.proc.exited():
			// Seen, but telegraf has exited since: reported below.
		default:
			return nil
		}
		select {
		case <-tick.C:
			continue
		case <-tg.proc.done:
		case <-ctx.Done():
		}
		if tg.proc.exited() {
			return fmt.Errorf("peertest: telegraf exited before it was ready: %v", tg.proc.err)
		}
		return fmt.Errorf("peertest: telegraf not ready after %v: %v", time.Since(start).Round(time.Millisecond), lastErr)
	}
}

// read consumes what telegraf appended to its output since the last read and returns every point
// so far. A malformed line is an error, now and on every later read.
func (tg *Telegraf) read() (*TelegrafMetrics, error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.readErr != nil {
		return nil, tg.readErr
	}
	f, err := os.Open(tg.OutPath)
	if errors.Is(err, os.ErrNotExist) {
		// telegraf creates the file at start, but a read can come first.
		return &TelegrafMetrics{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peertest: read telegraf output: %w", err)
	}
	defer f.Close()
	// A section to the end of whatever the file holds now; telegraf may be appending meanwhile.
	data, err := io.ReadAll(io.NewSectionReader(f, tg.off, math.MaxInt64-tg.off))
	if err != nil {
		return nil, fmt.Errorf("peertest: read telegraf output: %w", err)
	}
	tg.off += int64(len(data))
	data = append(tg.partial, data...)
	// Only whole lines: telegraf may be in the middle of writing the last one.
	last := bytes.LastIndexByte(data, '\n')
	tg.partial = append([]byte(nil), data[last+1:]...)
	if last >= 0 {
		for line := range bytes.SplitSeq(data[:last], []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			pt, err := parsePoint(line)
			if err != nil {
				tg.readErr = fmt.Errorf("peertest: %s: %w", tg.OutPath, err)
				return nil, tg.readErr
			}
			tg.points = append(tg.points, pt)
		}
	}
	// The points are never modified once appended, so a snapshot is the slice as it is now.
	return &TelegrafMetrics{points: tg.points[:len(tg.points):len(tg.points)]}, nil
}

// Read returns every point telegraf has written so far, failing the test on a read error.
func (tg *Telegraf) Read(t testing.TB) *TelegrafMetrics {
	t.Helper()
	m, err := tg.read()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// WaitFor reads the output every 20 ms until cond returns true and returns that read. When timeout
// passes first it fails the test with the latest point of every series (probes left out), so the
// failure shows what telegraf did receive.
func (tg *Telegraf) WaitFor(t testing.TB, timeout time.Duration, cond func(*TelegrafMetrics) bool) *TelegrafMetrics {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := tg.Read(t)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("peertest: condition not met within %v; latest telegraf points in %s:\n%s", timeout, tg.OutPath, m.dump())
		}
		time.Sleep(pollInterval)
	}
}

// Log returns telegraf's log so far (its standard output and error, the last 256 KiB). Its parse
// errors, such as `Splitting '|', unable to parse metric: x:1:2|d`, are evidence of what it
// rejected.
func (tg *Telegraf) Log() string { return tg.proc.out.String() }

// stop ends telegraf and, if the test failed, logs its output for the post-mortem.
func (tg *Telegraf) stop(t testing.TB) {
	early := tg.proc.exited()
	tg.proc.stop()
	if !t.Failed() {
		return
	}
	if early {
		t.Logf("peertest: telegraf %s had exited during the test: %v", tg.UDPAddr, tg.proc.err)
	}
	t.Logf("peertest: telegraf %s output:\n%s", tg.UDPAddr, tg.proc.out.String())
}
