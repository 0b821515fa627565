package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// target is a DogStatsD server running as a child process: the statshard agent or a peer.
type target struct {
	Name        string
	Bin         string
	UDPPort     int
	MetricsURL  string
	LinesMetric string // its counter of lines received
	DropsMetric string // its own counter of kernel receive drops, when it has one
	cmd         *exec.Cmd
	done        chan struct{} // closed when the process has exited
	out         *tailBuffer
	http        *http.Client
}

// startTarget runs bin with args(udpPort, httpPort) and waits until its /metrics answers with
// the lines counter and its UDP port is bound.
func startTarget(name, bin, linesMetric, dropsMetric string, args func(udp, web int) []string) (*target, error) {
	udp, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	web, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	t := &target{
		Name: name, Bin: bin, UDPPort: udp,
		MetricsURL:  fmt.Sprintf("http://127.0.0.1:%d/metrics", web),
		LinesMetric: linesMetric, DropsMetric: dropsMetric,
		cmd:  exec.Command(bin, args(udp, web)...),
		done: make(chan struct{}),
		out:  &tailBuffer{max: 8 << 10},
		http: &http.Client{Timeout: 2 * time.Second},
	}
	t.cmd.Stdout, t.cmd.Stderr = t.out, t.out
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("capacity: start %s: %w", name, err)
	}
	go func() {
		t.cmd.Wait()
		close(t.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, errLines := t.scrape(linesMetric)
		socks, _, errUDP := udpSockets(udp)
		if errLines == nil && errUDP == nil && socks > 0 {
			return t, nil
		}
		select {
		case <-t.done:
			return nil, fmt.Errorf("capacity: %s exited at start: %s", name, t.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.stop()
			return nil, fmt.Errorf("capacity: %s not ready after 15s (lines metric: %v, udp port %d bound: %v): %s",
				name, errLines, udp, socks > 0, t.out.String())
		}
	}
}

// Pid returns the process ID.
func (t *target) Pid() int { return t.cmd.Process.Pid }

// stop sends SIGTERM, waits up to 5 s, then kills the process.
func (t *target) stop() {
	t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-t.done
	}
}

// exited reports whether the process has ended.
func (t *target) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// scrape returns the value of one series of the target's Prometheus text /metrics.
func (t *target) scrape(series string) (float64, error) {
	resp, err := t.http.Get(t.MetricsURL)
	if err != nil {
		return 0, fmt.Errorf("capacity: scrape %s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("capacity: scrape %s: %s", t.Name, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("capacity: scrape %s: %w", t.Name, err)
	}
	v, ok := promValue(b, series)
	if !ok {
		return 0, fmt.Errorf("capacity: scrape %s: no %s", t.Name, series)
	}
	return v, nil
}

// promValue finds series (a metric name, with its labels in braces exactly as the exposition
// writes them, if any) in the Prometheus text format and returns its value.
func promValue(text []byte, series string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, series)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// freePort returns a loopback port the kernel just handed out and took back. Another process
// could take it meanwhile; on a test machine that is rare, and the start then fails loudly.
func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("capacity: free udp port: %w", err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("capacity: free tcp port: %w", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// startAgent runs the statshard agent binary on one reader, forwarding to upstream.
func startAgent(bin, upstream string) (*target, error) {
	return startTarget("statshard agent", bin, "statshard_lines_received_total",
		`statshard_dropped_total{reason="kernel_receive_buffer"}`, func(udp, web int) []string {
			return []string{
				"-listen", fmt.Sprintf("udp://127.0.0.1:%d", udp),
				"-upstream", upstream,
				"-http", fmt.Sprintf("127.0.0.1:%d", web),
				"-tcp", "off",
				"-readers", "1",
				"-log-level", "warn",
			}
		})
}

// startExporter runs prometheus/statsd_exporter with UDP intake only. It asks for the same 8 MiB
// receive buffer as the agent's default, so neither side wins by its buffer; the kernel caps
// statsd_exporter's request at net.core.rmem_max, since it does not use SO_RCVBUFFORCE.
func startExporter(bin string) (*target, error) {
	return startTarget("statsd_exporter", bin, "statsd_exporter_lines_total", "", func(udp, web int) []string {
		return []string{
			fmt.Sprintf("--statsd.listen-udp=127.0.0.1:%d", udp),
			"--statsd.listen-tcp=",
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", web),
			"--statsd.read-buffer=8388608",
			"--log.level=warn",
		}
	})
}

// findExporter looks for the statsd_exporter binary: $STATSD_EXPORTER, then PATH, then the Go
// install directories. It returns "" when there is none.
func findExporter() string {
	if p := os.Getenv("STATSD_EXPORTER"); p != "" && isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("statsd_exporter"); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "bin", "statsd_exporter"); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// buildAgent builds cmd/agent into dir with the go command, from moduleDir (either of the
// project's modules resolves the package: the benchmarks module through its replace directive).
func buildAgent(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "statshard-agent")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/statshard/statshard/cmd/agent")
	cmd.Dir = moduleDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("capacity: go build cmd/agent in %s: %w: %s", moduleDir, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// tailBuffer keeps the last max bytes written to it, for a child's output in error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no output)"
	}
	return s
}
