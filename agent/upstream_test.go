//go:build unix

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// reasonLog records the upstream state changes the recorder logs, with their reason.
type reasonLog struct {
	mu     sync.Mutex
	events []string // "dropping: <reason>" or "recovered"
}

func (l *reasonLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *reasonLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *reasonLog) WithGroup(string) slog.Handler            { return l }
func (l *reasonLog) Handle(_ context.Context, r slog.Record) error {
	ev := ""
	switch {
	case strings.Contains(r.Message, "dropping"):
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				ev = "dropping: " + a.Value.String()
			}
			return true
		})
	case strings.Contains(r.Message, "recovered"):
		ev = "recovered"
	default:
		return nil
	}
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	return nil
}

func (l *reasonLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// TestUpstreamFailureSaysWhy: a failing upstream is logged once per change of state, with why;
// "recovered" only once datagrams went out again, never for a flush that had nothing to send.
func TestUpstreamFailureSaysWhy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "up.sock")
	log := &reasonLog{}
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "unixgram://" + path, WriteTimeout: 50 * time.Millisecond}, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	flush := func(n int) {
		for i := range n {
			r.Count(fmt.Sprintf("up.c%d", i), 1)
		}
		r.Flush()
	}
	flush(1)
	time.Sleep(120 * time.Millisecond) // past the redial pacing
	flush(1)
	flush(0) // nothing to send: not a recovery
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !slices.Contains(log.got(), "recovered") {
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %q", log.got())
		}
		time.Sleep(20 * time.Millisecond)
		flush(1)
	}
	l.Close()
	os.Remove(path)
	time.Sleep(120 * time.Millisecond)
	flush(1)
	want := []string{"dropping: socket missing", "recovered"}
	got := log.got()
	if len(got) < 3 || !slices.Equal(got[:2], want) || !strings.HasPrefix(got[2], "dropping: ") {
		t.Errorf("logged %q, want %q then dropping again", got, want)
	}
}

func TestUpstreamReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "no such host"},
		{&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, "DNS lookup failed"},
		{fmt.Errorf("netio: send: %w", syscall.ECONNREFUSED), "connection refused (nothing listens there)"},
		{&net.OpError{Op: "dial", Net: "unixgram", Err: os.NewSyscallError("connect", syscall.ENOENT)}, "socket missing"},
		{&net.OpError{Op: "dial", Net: "unixgram", Err: os.NewSyscallError("connect", syscall.EACCES)}, "permission denied"},
		{syscall.EAGAIN, "receiver too slow (its socket buffer stayed full)"},
	} {
		if got := upstreamReason(tt.err); got != tt.want {
			t.Errorf("upstreamReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
