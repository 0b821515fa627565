package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The operator tests run the built binary as an operator would in the first hour: checks that
// tell the truth, failures that say why.

// runAgent runs the agent binary to its exit (10 s at most) with args and extra environment
// variables, and returns its stdout, its stderr and its exit code.
func runAgent(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(agentBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("agent %q still running after 10 s:\nstdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// readmeJSON returns the config file example of the README.
func readmeJSON(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no ```json example in the README")
	}
	return string(m[1])
}

// TestCheckConfigCatchesStartFailures: what once printed "configuration OK" and then failed at
// start is reported, each problem by its name, with exit status 1; a configuration that starts
// is OK with its defaults resolved.
func TestCheckConfigCatchesStartFailures(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := shortTemp(t)
	readme := filepath.Join(dir, "readme.json")
	// The README's example, with its UDP port made free: what is left is its socket directory,
	// which a test machine does not have.
	cfg := strings.Replace(readmeJSON(t), "udp://127.0.0.1:8125", "udp://127.0.0.1:0", 1)
	sock := regexp.MustCompile(`unixgram://(/[^"]+)`).FindStringSubmatch(cfg)
	if sock == nil {
		t.Fatal("the README's example has no unixgram address")
	}
	_, dirErr := os.Stat(filepath.Dir(sock[1]))
	if err := os.WriteFile(readme, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	free := []string{"-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0"}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"unknown scheme", nil, append([]string{"-listen", "bogus://x"}, free...), []string{`-listen: address "bogus://x": unknown scheme "bogus"`}},
		// "udp://127.0.0.1" is port 8125 (DD_DOGSTATSD_URL's form), which a start binds: not a failure.
		{"bad port", nil, append([]string{"-listen", "udp://127.0.0.1:99999"}, free...), []string{`-listen:`, `port "99999" is not a number from 0 to 65535`}},
		{"empty port", nil, append([]string{"-listen", "udp://127.0.0.1:"}, free...), []string{`-listen:`, `port "" is not a number`}},
		{"tcp", nil, []string{"-listen", "udp://127.0.0.1:0", "-tcp", "bogus", "-http", "127.0.0.1:0"}, []string{"-tcp: want host:port"}},
		{"http", nil, []string{"-listen", "udp://127.0.0.1:0", "-tcp", "127.0.0.1:0", "-http", "bogus"}, []string{"-http: want host:port"}},
		{"the README's example", nil, append([]string{"-config", readme}, free...), []string{
			readme + `:2:35: listen[1]: listen unixgram://` + sock[1] + `: the socket's directory ` + filepath.Dir(sock[1]) + ` does not exist`,
			"create the directory first"}},
		{"port in use", nil, append([]string{"-listen", "udp://" + busy.LocalAddr().String()}, free...), []string{
			"-listen: listen udp://" + busy.LocalAddr().String(), "address already in use", "another DogStatsD server"}},
		{"environment typo", []string{"STATSHARD_INTERVALL=5s"}, append([]string{"-listen", "udp://127.0.0.1:0"}, free...), []string{
			"STATSHARD_INTERVALL: not a setting of the agent (did you mean STATSHARD_INTERVAL?)"}},
		{"upstream", []string{"STATSHARD_UPSTREAM=tcp://x:1"}, append([]string{"-listen", "udp://127.0.0.1:0"}, free...), []string{
			`STATSHARD_UPSTREAM: address "tcp://x:1": unknown scheme "tcp"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "the README's example" && dirErr == nil {
				t.Skipf("%s exists on this machine", filepath.Dir(sock[1]))
			}
			stdout, stderr, code := runAgent(t, tt.env, append([]string{"-check-config"}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stdout, "configuration OK") || !strings.Contains(stderr, "the agent would not start") {
				t.Errorf("a failing configuration reported as OK:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
	t.Run("OK, with the values in effect", func(t *testing.T) {
		stdout, stderr, code := runAgent(t, []string{"STATSHARD_PREFIX=env."}, append([]string{"-check-config", "-listen", "udp://127.0.0.1:0"}, free...)...)
		if code != 0 {
			t.Fatalf("exit status %d:\n%s", code, stderr)
		}
		for _, w := range []string{`"expiry": 6`, `"max_series": 100000`, `"tcp_max_clients": 64`, `"prefix": "env."`,
			"listen from -listen", "prefix from STATSHARD_PREFIX", "configuration OK"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks %q:\n%s", w, stdout)
			}
		}
	})
}

// TestStartFailureSaysWhy: an agent that cannot bind a listener prints nothing on stdout (no
// flush table, which once came before the bind error), names the flag, the address and what to
// do, reports every address that fails at once, and exits 1; so does a mistyped variable.
func TestStartFailureSaysWhy(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	busyUDP, busyTCP := udp.LocalAddr().String(), tcp.Addr().String()
	_, busyPort, _ := net.SplitHostPort(busyUDP)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"intake port in use", []string{"-listen", "udp://" + busyUDP, "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0"}, []string{
			"statshard: -listen: listen udp://" + busyUDP + ": bind: address already in use; another DogStatsD server (a Datadog Agent, statsd_exporter, another statshard) may hold port " + busyPort + ": stop it, or receive elsewhere with -listen"}},
		{"stream port in use", []string{"-listen", "udp://127.0.0.1:0", "-tcp", busyTCP, "-http", "127.0.0.1:0"}, []string{
			"statshard: -tcp: listen tcp " + busyTCP + ": bind: address already in use", "or -tcp off to run without the event stream"}},
		{"all of them", []string{"-listen", "udp://" + busyUDP, "-tcp", busyTCP, "-http", busyTCP}, []string{
			"statshard: -listen: ", "statshard: -tcp: ", "statshard: -http: ", "or -http off"}},
		{"a mistyped variable", []string{"-listen", "udp://127.0.0.1:0", "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0"}, []string{
			"statshard: STATSHARD_INTERVALL: not a setting of the agent (did you mean STATSHARD_INTERVAL?)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.name == "a mistyped variable" {
				env = []string{"STATSHARD_INTERVALL=5s"}
			}
			stdout, stderr, code := runAgent(t, env, tt.args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("a failed start printed on stdout:\n%s", stdout)
			}
			if strings.Contains(stderr, "started") {
				t.Errorf("a failed start logged as started:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestUpstreamFailureLogged: an upstream that cannot be reached is logged with why, once over
// many flushes, and never as recovered while it stays unreachable.
func TestUpstreamFailureLogged(t *testing.T) {
	sock := filepath.Join(shortTemp(t), "missing.sock")
	for _, tt := range []struct{ upstream, reason string }{
		{"udp://nonexistent.invalid:8125", `reason="(no such host|DNS lookup failed)"`},
		{"unixgram://" + sock, `reason="socket missing"`},
	} {
		t.Run(tt.upstream, func(t *testing.T) {
			a := startAgent(t, tt.upstream, "-interval", "50ms")
			// About 20 flushes with something to send.
			for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				send(t, "udp", a.udp, "up.fail:1|c")
			}
			logs := a.logs()
			if n := strings.Count(logs, "upstream is dropping payloads"); n != 1 {
				t.Errorf("logged %d times over ~20 flushes, want once:\n%s", n, logs)
			}
			if !regexp.MustCompile(tt.reason).MatchString(logs) {
				t.Errorf("the log does not say why (%s):\n%s", tt.reason, logs)
			}
			if strings.Contains(logs, "recovered") {
				t.Errorf("logged as recovered while unreachable:\n%s", logs)
			}
		})
	}
}

// TestReadmeCheckConfigSample: the -check-config run the README shows is what the agent says.
func TestReadmeCheckConfigSample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```\n\\$ cat agent.yaml\n(.*?)\\$ STATSHARD_INTERVALL=5s statshard -check-config -config agent.yaml >/dev/null\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no -check-config sample in the README")
	}
	if _, err := os.Stat("/run/statshard"); err == nil {
		t.Skip("/run/statshard exists here")
	}
	dir := shortTemp(t)
	if err := os.WriteFile(filepath.Join(dir, "agent.yaml"), m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(agentBin, "-check-config", "-config", "agent.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "STATSHARD_INTERVALL=5s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("exit status 0")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(m[2])), "\n") {
		if strings.Contains(line, "problems: the agent would not start") {
			continue // one more if port 8125 is busy on this machine
		}
		if !strings.Contains(stderr.String(), line+"\n") {
			t.Errorf("the agent does not say %q; it says:\n%s", line, stderr.String())
		}
	}
}
