package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sort"
	"sync"
	"time"
)

// httpServer serves the agent's self-telemetry on a loopback listener by default.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// maxHTTPConns bounds the self-telemetry server's concurrent connections: more wait in the kernel's
// accept queue instead of costing the agent a goroutine and a buffer each.
const maxHTTPConns = 16

func serveHTTP(addr string, withPprof bool, cur *pipelineRef, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	ln = &limitListener{Listener: ln, sem: make(chan struct{}, maxHTTPConns)}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, cur.Load())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	h := &httpServer{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // a CPU profile takes 30 s by default
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}}
	go func() {
		if err := h.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("http server stopped", "err", err)
		}
	}()
	return h, nil
}

func (h *httpServer) addr() string {
	if h == nil {
		return ""
	}
	return h.ln.Addr().String()
}

func (h *httpServer) close(ctx context.Context) {
	if h != nil {
		h.srv.Shutdown(ctx)
	}
}

// writeMetrics writes the agent's counters in the Prometheus text format.
func writeMetrics(w io.Writer, p *pipeline) {
	rs := p.rec.Stats()
	is := p.in.Stats()
	metric := func(name, typ, help string, samples ...sample) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range samples {
			if s.label != "" {
				fmt.Fprintf(w, "%s{%s} %v\n", name, s.label, s.v)
			} else {
				fmt.Fprintf(w, "%s %v\n", name, s.v)
			}
		}
	}
	one := func(v any) sample { return sample{v: v} }
	metric("statshard_datagrams_received_total", "counter", "DogStatsD datagrams received.", one(is.Datagrams))
	metric("statshard_lines_received_total", "counter", "Non-empty DogStatsD lines received.", one(is.Lines))
	var pe []sample
	reasons := make([]string, 0, len(is.ParseErrorsBy))
	for r := range is.ParseErrorsBy {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		pe = append(pe, sample{fmt.Sprintf("reason=%q", r), is.ParseErrorsBy[r]})
	}
	metric("statshard_parse_errors_total", "counter", "Malformed lines skipped, by reason.", pe...)
	metric("statshard_receive_syscalls_total", "counter", "Receive syscalls (recvmmsg reads many datagrams each).", one(is.Syscalls))
	metric("statshard_recv_buffer_bytes", "gauge", "SO_RCVBUF granted by the kernel (smallest over intake sockets).", one(is.RecvBuffer))
	metric("statshard_dropped_total", "counter", "Values, lines, datagrams or frames dropped, by reason.",
		sample{`reason="kernel_receive_buffer"`, is.KernelDrops},
		sample{`reason="datagram_truncated"`, is.Truncated},
		sample{`reason="forward_queue_full"`, is.ForwardDropped},
		sample{`reason="invalid_name"`, rs.InvalidNames},
		sample{`reason="invalid_value"`, rs.InvalidValues},
		sample{`reason="cardinality"`, rs.DroppedCardinality},
		sample{`reason="set_size"`, rs.DroppedSetValues},
		sample{`reason="line_too_long"`, rs.Statsd.DroppedTooLong},
		sample{`reason="upstream_refused"`, rs.Statsd.DroppedRefused},
		sample{`reason="upstream_would_block"`, rs.Statsd.DroppedWouldBlock},
		sample{`reason="upstream_no_destination"`, rs.Statsd.DroppedNoDest},
		sample{`reason="upstream_other"`, rs.Statsd.DroppedOther},
		sample{`reason="tcp_intake_full"`, rs.TCP.DroppedIntake},
		sample{`reason="tcp_client_slow"`, rs.TCP.DroppedSlow},
		sample{`reason="tcp_client_gone"`, rs.TCP.DroppedGone},
		sample{`reason="tcp_unrepresentable"`, rs.TCP.DroppedUnrepresentable},
		sample{`reason="tcp_too_many_clients"`, rs.TCP.Rejected},
	)
	metric("statshard_reader_panics_total", "counter", "Recovered panics in intake readers.", one(is.ReaderPanics))
	metric("statshard_forwarded_lines_total", "counter", "Events, service checks and timestamped lines forwarded unaggregated.", one(is.Forwarded))
	metric("statshard_series", "gauge", "Live series.", one(rs.Series))
	metric("statshard_series_folded_total", "counter", "Recordings folded into an overflow series past the cardinality cap.", one(rs.Folds))
	metric("statshard_series_expired_total", "counter", "Series removed after idle intervals.", one(rs.Expired))
	metric("statshard_flushes_total", "counter", "Flushes.", one(rs.Statsd.Flushes))
	metric("statshard_flush_duration_seconds", "gauge", "Duration of the last flush.", one(rs.Statsd.FlushDuration.Seconds()))
	metric("statshard_upstream_lines_total", "counter", "DogStatsD lines sent upstream.", one(rs.Statsd.Lines))
	metric("statshard_upstream_datagrams_total", "counter", "Datagrams sent upstream.", one(rs.Statsd.Packets))
	metric("statshard_upstream_bytes_total", "counter", "Payload bytes sent upstream.", one(rs.Statsd.Bytes))
	metric("statshard_upstream_unreachable_total", "counter", "Port-unreachable reports from a UDP upstream: sent datagrams nobody received (a lower bound).", one(rs.Statsd.Unreachable))
	metric("statshard_upstream_syscalls_total", "counter", "Send syscalls (sendmmsg); datagrams per call is datagrams_total / syscalls_total.", one(rs.Statsd.Syscalls))
	metric("statshard_tcp_clients", "gauge", "Connected stream clients.", one(rs.TCP.Clients))
	metric("statshard_tcp_events_total", "counter", "Events encoded for the stream.", one(rs.TCP.Events))
	metric("statshard_tcp_frames_sent_total", "counter", "Frames delivered, summed over clients.", one(rs.TCP.Frames))
	metric("statshard_goroutines", "gauge", "Goroutines in the agent process.", one(runtime.NumGoroutine()))
}

// limitListener accepts a connection only while fewer than cap(sem) are open.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

type sample struct {
	label string
	v     any
}
