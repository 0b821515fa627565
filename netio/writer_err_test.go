//go:build unix

package netio

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWriterErr: the Writer says why it could not send, for each way an upstream fails.
func TestWriterErr(t *testing.T) {
	t.Run("no such host", func(t *testing.T) {
		lookup := func(context.Context, string, string) ([]netip.Addr, error) {
			return nil, &net.DNSError{Err: "no such host", Name: "nowhere.test", IsNotFound: true}
		}
		w, err := newWriter(Addr{Network: "udp", Address: "nowhere.test:8125"}, WriterConfig{}, lookup)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if w.Err() != nil {
			t.Errorf("Err before any Write = %v, want nil", w.Err())
		}
		w.Write(payloads(1, 10))
		var dns *net.DNSError
		if err := w.Err(); !errors.As(err, &dns) || !dns.IsNotFound {
			t.Errorf("Err = %v, want a not-found *net.DNSError", err)
		}
	})
	t.Run("socket missing", func(t *testing.T) {
		w, err := NewWriter(Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "missing.sock")}, WriterConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.Write(payloads(1, 10))
		if err := w.Err(); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("Err = %v, want ENOENT", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		c := listenUDP(t, "udp", "127.0.0.1:0")
		addr := c.LocalAddr().String()
		c.Close() // nobody listens there now
		w, err := NewWriter(Addr{Network: "udp", Address: addr}, WriterConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		deadline := time.Now().Add(2 * time.Second)
		for w.Stats().Unreachable == 0 && w.Stats().Refused == 0 {
			if time.Now().After(deadline) {
				t.Skipf("no port-unreachable report within 2s (the port was taken?): %+v", w.Stats())
			}
			w.Write(payloads(1, 10))
			time.Sleep(5 * time.Millisecond)
		}
		if err := w.Err(); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Err = %v, want ECONNREFUSED", err)
		}
	})
}
