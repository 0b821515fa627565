package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
)

func TestDatadogFlags(t *testing.T) {
	// The agent reads no DD_* variable: they describe its own process, not its senders.
	t.Setenv("DD_AGENT_HOST", "dd-agent.invalid")
	t.Setenv("DD_ENV", "prod")
	t.Setenv("DD_ORIGIN_DETECTION_ENABLED", "true")
	s, _, _, err := load(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c, ic, err := s.agentConfigs(io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !c.NoEnv || c.Telemetry || ic.SocketMode != 0o660 || c.Histograms.Naming != agent.NamingStatshard {
		t.Errorf("defaults: NoEnv %v, Telemetry %v, SocketMode %o, Naming %v; want true, false (billable upstream), 0660, statshard",
			c.NoEnv, c.Telemetry, ic.SocketMode, c.Histograms.Naming)
	}

	// With an upstream: the console table (no -upstream) shows histograms its own way.
	s, _, _, err = load([]string{"-socket-mode", "0722", "-histogram-naming", "datadog", "-upstream", "udp://127.0.0.1:9"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c, ic, _ = s.agentConfigs(io.Discard, nil)
	if ic.SocketMode != 0o722 || c.Histograms.Naming != agent.NamingDatadog {
		t.Errorf("SocketMode %o, Naming %v; want 0722, datadog", ic.SocketMode, c.Histograms.Naming)
	}

	for _, up := range []string{"dd-agent", "udp://dd-agent", "dd-agent:8125", "[::1]:8125", "unix:///var/run/datadog/dsd.socket",
		"unixgram:///var/run/datadog/dsd.socket", "unixstream:///var/run/datadog/dsd.socket"} {
		if _, _, _, err := load([]string{"-upstream", up}, &bytes.Buffer{}); err != nil {
			t.Errorf("-upstream %s: %v", up, err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-upstream", "tcp://dd-agent:8125"}, "want udp://host[:port], host[:port], [ipv6]:port, unix:///path, unixgram:///path or unixstream:///path"},
		{[]string{"-socket-mode", "rw-rw----"}, `socket-mode "rw-rw----": want an octal permission`},
		{[]string{"-socket-mode", "1777"}, "want an octal permission"},
		{[]string{"-histogram-naming", "prometheus"}, `histogram-naming "prometheus": want statshard or datadog`},
	} {
		if _, _, _, err := load(tt.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestListenUnixForms runs the agent's pipeline on a unixstream:// and a unix:// intake with
// -socket-mode, and reads what arrives on both in the flush table.
func TestListenUnixForms(t *testing.T) {
	dir := shortTemp(t)
	stream, dgram := filepath.Join(dir, "dsd.stream"), filepath.Join(dir, "dsd.socket")
	s, _, _, err := load([]string{"-listen", "unixstream://" + stream + ",unix://" + dgram, "-socket-mode", "0600",
		"-tcp", "off", "-http", "off", "-interval", "1h"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	a := &agentState{log: slog.New(slog.DiscardHandler), stdout: &out}
	p, err := a.start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{stream, dgram} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", path, fi.Mode(), err)
		}
	}
	c, err := net.Dial("unix", stream)
	if err != nil {
		t.Fatal(err)
	}
	payload := "stream.hits:2|c"
	c.Write(append(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))), payload...))
	c.Close()
	send(t, "unixgram", dgram, "dgram.hits:3|c")
	for deadline := time.Now().Add(5 * time.Second); p.in.Stats().Datagrams < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("intake %+v: want 2 payloads", p.in.Stats())
		}
	}
	p.stop(a.log) // the final flush prints the table
	for _, want := range []string{"stream.hits", "dgram.hits"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %s:\n%s", want, out.String())
		}
	}
	if _, err := os.Lstat(stream); !os.IsNotExist(err) {
		t.Errorf("stream socket left behind: %v", err)
	}
}
