package agent

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink collects the payloads a recorder writes to Statsd.Writer.
type sink struct {
	mu       sync.Mutex
	payloads []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.payloads = append(s.payloads, string(bytes.TrimSuffix(p, []byte("\n"))))
	s.mu.Unlock()
	return len(p), nil
}

// take returns the lines received since the last take, sorted.
func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for _, p := range s.payloads {
		lines = append(lines, strings.Split(p, "\n")...)
	}
	s.payloads = nil
	slices.Sort(lines)
	return lines
}

// newTestRecorder returns a recorder that writes to a sink and never flushes on its own.
func newTestRecorder(t *testing.T, cfg Config) (*Recorder, *sink) {
	t.Helper()
	s := &sink{}
	cfg.Statsd.Writer = s
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, s
}

func assertLines(t *testing.T, got, want []string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("lines:\ngot  %q\nwant %q", got, want)
	}
}
