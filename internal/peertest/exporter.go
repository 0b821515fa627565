package peertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	startTimeout  = 15 * time.Second // whole Start, all attempts
	maxAttempts   = 3                // launches tried when a picked port was taken meanwhile
	pollInterval  = 20 * time.Millisecond
	scrapeTimeout = 5 * time.Second
	maxScrape     = 64 << 20
	// maxSocketPath keeps the socket path under sun_path's 108 bytes with room for the NUL.
	maxSocketPath = 100
)

// probeSeq numbers readiness probes; with the pid in the name no other exporter run by a
// parallel test binary can show the same probe.
var probeSeq atomic.Uint64

// Options configures [Start]. The zero value listens on UDP only, with no mapping config.
type Options struct {
	// Unixgram also makes the exporter listen on a unix datagram socket in a temporary
	// directory; its path is StatsdExporter.UnixPath.
	Unixgram bool
	// MappingConfig is statsd_exporter mapping YAML, written to a temporary file and passed with
	// --statsd.mapping-config. "" means none: the exporter's default mapping.
	MappingConfig string
}

// StatsdExporter is a running statsd_exporter bound to loopback only, started by [Start] and
// stopped by the test's cleanup (SIGTERM, SIGKILL after 2 s, then waiting for the exit). Its
// output is logged only when the test failed. The zero value is not usable.
//
// The exporter flushes its event queue every 10 ms, so a datagram shows up in a scrape within
// tens of milliseconds; use [StatsdExporter.WaitFor] rather than sleeping.
type StatsdExporter struct {
	// UDPAddr is where the exporter receives DogStatsD over UDP: "127.0.0.1:port".
	UDPAddr string
	// UnixPath is the unixgram socket path when Options.Unixgram was set, else "".
	UnixPath string
	// HTTPAddr serves /metrics: "127.0.0.1:port".
	HTTPAddr string

	proc   *process
	client *http.Client
}

// Start runs statsd_exporter for the test, waits until it serves /metrics and has received a
// probe datagram on each of its sockets, and returns it. It skips the test when the binary is
// missing (see [Binary]) and fails it, with the exporter's output, when the exporter does not
// become ready within 15 s. A launch that loses a picked port to another process is retried, up
// to 3 launches in all.
func Start(t testing.TB, opts Options) *StatsdExporter {
	t.Helper()
	bin := Binary(t)
	dir := socketDir(t)
	var mapping string
	if opts.MappingConfig != "" {
		mapping = filepath.Join(dir, "mapping.yml")
		if err := os.WriteFile(mapping, []byte(opts.MappingConfig), 0o600); err != nil {
			t.Fatalf("peertest: write mapping config: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		httpAddr, udpAddr, err := freeAddrs()
		if err != nil {
			t.Fatal(err)
		}
		unixPath := ""
		if opts.Unixgram {
			// A fresh name per attempt: a killed attempt may leave its socket file behind.
			unixPath = filepath.Join(dir, fmt.Sprintf("statsd-%d.sock", attempt))
		}
		e, err := launch(ctx, bin, launchConfig{httpAddr, udpAddr, unixPath, mapping})
		if err == nil {
			t.Cleanup(func() { e.stop(t) })
			return e
		}
		var le *launchError
		if !errors.As(err, &le) || !le.portClash || attempt == maxAttempts {
			t.Fatalf("%v\n(statsd_exporter launch %d of at most %d)", err, attempt, maxAttempts)
		}
		t.Logf("peertest: retrying statsd_exporter start: %v", err)
	}
}

// socketDir returns a temporary directory, removed after the test, short enough for a unix
// socket path: t.TempDir embeds the test name, which can be long for subtests.
func socketDir(t testing.TB) string {
	dir := t.TempDir()
	if len(dir)+len("/statsd-3.sock") <= maxSocketPath {
		return dir
	}
	dir, err := os.MkdirTemp("", "peertest")
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// freeAddrs picks a free loopback TCP port for HTTP and UDP port for statsd by binding port 0
// and closing. Another process may take a port before the exporter binds it; Start retries then.
func freeAddrs() (httpAddr, udpAddr string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("peertest: pick a TCP port: %w", err)
	}
	httpAddr = l.Addr().String()
	l.Close()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("peertest: pick a UDP port: %w", err)
	}
	udpAddr = c.LocalAddr().String()
	c.Close()
	return httpAddr, udpAddr, nil
}

type launchConfig struct {
	httpAddr, udpAddr, unixPath, mapping string
}

// launchError is a failed launch with the peer's output, which usually says why.
type launchError struct {
	err       error
	peer      string // the command: "statsd_exporter", "telegraf"
	output    string
	portClash bool // a listener could not bind: another process took a picked port meanwhile
}

func (e *launchError) Error() string {
	return e.err.Error() + "\n" + e.peer + " output:\n" + e.output
}
func (e *launchError) Unwrap() error { return e.err }

// launch starts one exporter and waits for it to be ready. On error the process is stopped and
// the error is a *launchError.
func launch(ctx context.Context, bin string, c launchConfig) (*StatsdExporter, error) {
	args := []string{
		"--web.listen-address=" + c.httpAddr,
		"--statsd.listen-udp=" + c.udpAddr,
		"--statsd.listen-tcp=", // its default :9125 would listen on all interfaces
		"--statsd.event-flush-interval=10ms",
		"--log.level=info",
	}
	if c.unixPath != "" {
		args = append(args, "--statsd.listen-unixgram="+c.unixPath, "--statsd.unixsocket-mode=600")
	}
	if c.mapping != "" {
		args = append(args, "--statsd.mapping-config="+c.mapping)
	}
	p, err := startProcess(bin, args)
	if err != nil {
		return nil, err
	}
	e := &StatsdExporter{
		UDPAddr:  c.udpAddr,
		UnixPath: c.unixPath,
		HTTPAddr: c.httpAddr,
		proc:     p,
		// No keep-alive: no idle connection or goroutine outlives the exporter, and no proxy:
		// traffic stays on loopback whatever the environment says.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	if err := e.awaitReady(ctx); err != nil {
		p.stop()
		out := p.out.String()
		return nil, &launchError{err: err, peer: exporterPeer.command, output: out, portClash: isPortClash(out)}
	}
	return e, nil
}

// awaitReady polls until /metrics shows a probe gauge sent on each socket. Probes are resent on
// every poll because datagrams sent before the exporter binds are lost.
func (e *StatsdExporter) awaitReady(ctx context.Context) error {
	start := time.Now()
	probe := nextProbe()
	// A scrape must not outlive the exporter: when it died of a port clash, whoever holds the
	// HTTP port may accept the connection and never answer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.proc.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	udp, err := net.Dial("udp", e.UDPAddr)
	if err != nil {
		return fmt.Errorf("peertest: dial probe socket: %w", err)
	}
	defer udp.Close()
	var unix net.Conn
	defer func() {
		if unix != nil {
			unix.Close()
		}
	}()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastErr := errors.New("probe not seen yet")
	for {
		// Send errors are expected until the exporter listens (ECONNREFUSED, ENOENT); the
		// probe not showing up is what reports them.
		udp.Write([]byte(probe + ":1|g|#transport:udp"))
		if e.UnixPath != "" {
			if unix == nil {
				unix, _ = net.Dial("unixgram", e.UnixPath)
			}
			if unix != nil {
				unix.Write([]byte(probe + ":1|g|#transport:unixgram"))
			}
		}
		m, err := e.scrape(ctx)
		switch {
		case err != nil:
			lastErr = err
		case !m.has(probe, "udp"):
			lastErr = fmt.Errorf("UDP probe %s not in /metrics yet", probe)
		case e.UnixPath != "" && !m.has(probe, "unixgram"):
			lastErr = fmt.Errorf("unixgram probe %s not in /metrics yet", probe)
		case e.proc.exited():
			// Probes seen but the exporter has exited since: not ready, reported below.
		default:
			return nil
		}
		select {
		case <-tick.C:
			continue
		case <-e.proc.done:
		case <-ctx.Done():
		}
		// Checked after the select because the exit also cancels ctx.
		if e.proc.exited() {
			return fmt.Errorf("peertest: statsd_exporter exited before it was ready: %v", e.proc.err)
		}
		return fmt.Errorf("peertest: statsd_exporter not ready after %v: %v", time.Since(start).Round(time.Millisecond), lastErr)
	}
}

// isPortClash reports whether a peer's output says a listener could not bind its address.
func isPortClash(output string) bool { return strings.Contains(output, "address already in use") }

// nextProbe returns a probe metric name no other peer started by this or a parallel test binary
// can show: the pid and a sequence number are in it.
func nextProbe() string { return fmt.Sprintf("peertest_probe_%d_%d", os.Getpid(), probeSeq.Add(1)) }

func (m Metrics) has(probe, transport string) bool {
	_, ok := m.Get(probe, "transport", transport)
	return ok
}

// Scrape fetches and parses /metrics, failing the test on any error. A scrape gives up after 5 s.
func (e *StatsdExporter) Scrape(t testing.TB) Metrics {
	t.Helper()
	// Not t.Context: that is canceled before cleanups run, and a cleanup may want a last scrape.
	m, err := e.scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *StatsdExporter) scrape(ctx context.Context) (Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	url := "http://" + e.HTTPAddr + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("peertest: scrape: %w", err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("peertest: scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peertest: scrape %s: status %s", url, resp.Status)
	}
	return ParseText(io.LimitReader(resp.Body, maxScrape))
}

// WaitFor scrapes every 20 ms until cond returns true and returns that scrape. When timeout
// passes first it fails the test with the last scrape (runtime series left out), so the failure
// shows what the exporter did receive.
func (e *StatsdExporter) WaitFor(t testing.TB, timeout time.Duration, cond func(Metrics) bool) Metrics {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := e.Scrape(t)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("peertest: condition not met within %v; last scrape of %s:\n%s", timeout, e.HTTPAddr, dump(m))
		}
		time.Sleep(pollInterval)
	}
}

// stop ends the exporter and, if the test failed, logs its output for the post-mortem.
func (e *StatsdExporter) stop(t testing.TB) {
	early := e.proc.exited()
	e.proc.stop()
	e.client.CloseIdleConnections()
	if !t.Failed() {
		return
	}
	if early {
		t.Logf("peertest: statsd_exporter %s had exited during the test: %v", e.HTTPAddr, e.proc.err)
	}
	t.Logf("peertest: statsd_exporter %s output:\n%s", e.HTTPAddr, e.proc.out.String())
}
