package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("STATSHARD_INTERVAL", "3s")
	o, err := parseFlags([]string{"-upstream", "udp://127.0.0.1:9"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.interval != 3*time.Second || o.upstream != "udp://127.0.0.1:9" {
		t.Errorf("got %+v, want interval 3s from the environment and the flag's upstream", o)
	}
	o, err = parseFlags([]string{"-interval", "1s"}, &bytes.Buffer{})
	if err != nil || o.interval != time.Second {
		t.Errorf("flag should win over the environment: %+v %v", o, err)
	}
	for _, bad := range [][]string{{"-interval", "0s"}, {"-nope"}, {"extra"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", bad)
		}
	}
	t.Setenv("STATSHARD_INTERVAL", "soon")
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "STATSHARD_INTERVAL") {
		t.Errorf("bad environment value: err %v, want it named", err)
	}
}

// TestRunPrintsFlushes runs the agent on its defaults (stdout) until cancelled: the final flush
// prints its own metrics.
func TestRunPrintsFlushes(t *testing.T) {
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := run([]string{"-interval", "100ms", "-tcp", "127.0.0.1:0"}, &out, &errs, ctx); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	if !strings.Contains(errs.String(), "tcp=127.0.0.1:") {
		t.Errorf("log does not say where the TCP stream listens:\n%s", errs.String())
	}
	for _, want := range []string{"statshard.agent.goroutines:", "|g", "statshard.series:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
