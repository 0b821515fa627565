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
	"sync/atomic"
	"time"
)

// httpServer serves the agent's self-telemetry on a loopback listener by default.
type httpServer struct {
	srv   *http.Server
	ln    *connLimiter
	pprof atomic.Bool // /debug/pprof answers; a reload may turn it on or off
}

// maxHTTPConns bounds the self-telemetry server's open connections, so that clients cannot cost
// the agent a goroutine and a buffer each without limit.
//
// A connection that is not in a request handler (idle between keep-alive requests, or not done
// sending its request) does not keep a slot from a newcomer: when all are taken, the one idle the
// longest is closed (HTTP clients retry on a closed idle connection). So /healthz answers however
// many connections sit idle; it waits only while maxHTTPConns requests are being served at once.
const maxHTTPConns = 16

// serveHTTP serves /metrics, /healthz and, while pprof is on, /debug/pprof on addr.
func serveHTTP(addr string, withPprof bool, a *agentState, log *slog.Logger) (*httpServer, error) {
	h := &httpServer{}
	h.pprof.Store(withPprof)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, a, h)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	gated := func(f http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !h.pprof.Load() {
				http.NotFound(w, r)
				return
			}
			f(w, r)
		}
	}
	mux.HandleFunc("/debug/pprof/", gated(pprof.Index))
	mux.HandleFunc("/debug/pprof/cmdline", gated(pprof.Cmdline))
	mux.HandleFunc("/debug/pprof/profile", gated(pprof.Profile))
	mux.HandleFunc("/debug/pprof/symbol", gated(pprof.Symbol))
	mux.HandleFunc("/debug/pprof/trace", gated(pprof.Trace))
	return h, h.listen(addr, mux, log)
}

// listen binds addr and serves handler there, with the connection limit and timeouts.
func (h *httpServer) listen(addr string, handler http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	h.ln = newConnLimiter(ln, maxHTTPConns)
	h.srv = &http.Server{
		Handler:           h.ln.track(handler),
		ConnState:         h.ln.connState,
		ConnContext:       h.ln.connContext,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // a CPU profile takes 30 s by default
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	go func() {
		if err := h.srv.Serve(h.ln); err != nil && err != http.ErrServerClosed && log != nil {
			log.Error("http server stopped", "err", err)
		}
	}()
	return nil
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

// writeMetrics writes the agent's counters in the Prometheus text format: totals since the agent
// started, carried over reloads; levels (gauges) of the current pipeline.
func writeMetrics(w io.Writer, a *agentState, h *httpServer) {
	t, cur := a.snapshot()
	rs, is := t.rec, t.in
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
	metric("statshard_datagrams_drained_total", "counter", "Datagrams read from intake sockets after they stopped taking more, at a reload or shutdown (included in datagrams_received_total).", one(t.drained))
	metric("statshard_recv_buffer_bytes", "gauge", "SO_RCVBUF granted by the kernel (smallest over intake sockets).", one(cur.in.RecvBuffer))
	metric("statshard_dropped_total", "counter", "Values, lines, datagrams or frames dropped, by reason.",
		sample{`reason="kernel_receive_buffer"`, is.KernelDrops},
		sample{`reason="datagram_truncated"`, is.Truncated},
		sample{`reason="forward_queue_full"`, is.ForwardDropped},
		sample{`reason="invalid_name"`, rs.InvalidNames},
		sample{`reason="invalid_value"`, rs.InvalidValues},
		sample{`reason="cardinality"`, rs.DroppedCardinality},
		sample{`reason="set_size"`, rs.DroppedSetValues},
		sample{`reason="line_too_long"`, rs.DroppedTooLong},
		sample{`reason="upstream_refused"`, rs.DroppedRefused},
		sample{`reason="upstream_would_block"`, rs.DroppedWouldBlock},
		sample{`reason="upstream_no_destination"`, rs.DroppedNoDest},
		sample{`reason="upstream_other"`, rs.DroppedOther},
		sample{`reason="tcp_intake_full"`, rs.TCPDroppedIntake},
		sample{`reason="tcp_client_slow"`, rs.TCPDroppedSlow},
		sample{`reason="tcp_client_gone"`, rs.TCPDroppedGone},
		sample{`reason="tcp_unrepresentable"`, rs.TCPDroppedUnrepresentable},
		sample{`reason="tcp_too_many_clients"`, rs.TCPRejected},
	)
	metric("statshard_reader_panics_total", "counter", "Recovered panics in intake readers.", one(is.ReaderPanics))
	metric("statshard_forwarded_lines_total", "counter", "Events, service checks and timestamped lines forwarded unaggregated.", one(is.Forwarded))
	metric("statshard_series", "gauge", "Live series.", one(cur.rec.Series))
	metric("statshard_series_folded_total", "counter", "Recordings folded into an overflow series past the cardinality cap.", one(rs.Folds))
	metric("statshard_series_expired_total", "counter", "Series removed after idle intervals.", one(rs.Expired))
	metric("statshard_flushes_total", "counter", "Flushes.", one(rs.Flushes))
	metric("statshard_flush_duration_seconds", "gauge", "Duration of the last flush.", one(cur.rec.FlushDuration.Seconds()))
	metric("statshard_upstream_lines_total", "counter", "DogStatsD lines sent upstream.", one(rs.Lines))
	metric("statshard_upstream_datagrams_total", "counter", "Datagrams sent upstream.", one(rs.Packets))
	metric("statshard_upstream_bytes_total", "counter", "Payload bytes sent upstream.", one(rs.Bytes))
	metric("statshard_upstream_unreachable_total", "counter", "Port-unreachable reports from a UDP upstream: sent datagrams nobody received (a lower bound).", one(rs.UpstreamUnreachable))
	metric("statshard_upstream_syscalls_total", "counter", "Send syscalls (sendmmsg); datagrams per call is datagrams_total / syscalls_total.", one(rs.Syscalls))
	metric("statshard_tcp_clients", "gauge", "Connected stream clients.", one(cur.rec.TCPClients))
	metric("statshard_tcp_events_total", "counter", "Events encoded for the stream.", one(rs.TCPEvents))
	metric("statshard_tcp_frames_sent_total", "counter", "Frames delivered, summed over clients.", one(rs.TCPFrames))
	metric("statshard_goroutines", "gauge", "Goroutines in the agent process.", one(runtime.NumGoroutine()))
	metric("statshard_reloads_total", "counter", "SIGHUP reloads, by result.",
		sample{`result="applied"`, a.reloads.Load()}, sample{`result="rejected"`, a.rejected.Load()})
	metric("statshard_http_connections_evicted_total", "counter", "Idle telemetry connections closed to make room for a new one.", one(h.ln.evicted.Load()))
}

// connLimiter is a listener that keeps at most max connections open. When a new connection
// finds them all taken, it closes the one that has been out of a request handler the longest
// (idle between keep-alive requests, or still sending its request); only when every connection is
// in a handler does the new one wait. The server's ConnState, ConnContext and handler (track)
// tell it which are in a handler.
type connLimiter struct {
	net.Listener
	max     int
	evicted atomic.Uint64

	mu      sync.Mutex
	conns   map[*limitConn]struct{}
	changed chan struct{} // a token when a connection closes or leaves a handler
	closed  chan struct{}
	once    sync.Once
}

type limitConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
	// Under l.mu:
	busy  int       // requests in a handler (one, with HTTP/1.1)
	since time.Time // when it last left a handler, or was accepted
}

type connKey struct{}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, conns: map[*limitConn]struct{}{},
		changed: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			lc := &limitConn{Conn: c, l: l, since: time.Now()}
			l.conns[lc] = struct{}{}
			l.mu.Unlock()
			return lc, nil
		}
		var victim *limitConn
		for o := range l.conns {
			if o.busy == 0 && (victim == nil || o.since.Before(victim.since)) {
				victim = o
			}
		}
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
			continue
		}
		select {
		case <-l.changed:
		case <-l.closed:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *connLimiter) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// connState notes when a connection starts reading a request or goes idle between requests.
func (l *connLimiter) connState(c net.Conn, s http.ConnState) {
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive, http.StateIdle:
		// A request begins (not yet in a handler: still evictable, but the youngest), or
		// ended and the connection waits for the next.
		l.mu.Lock()
		lc.since = time.Now()
		l.mu.Unlock()
		if s == http.StateIdle {
			l.signal()
		}
	case http.StateHijacked, http.StateClosed:
		lc.release()
	}
}

func (l *connLimiter) connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// track marks a connection as in a handler while h serves its request.
func (l *connLimiter) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ := r.Context().Value(connKey{}).(*limitConn)
		if lc != nil {
			l.mu.Lock()
			lc.busy++
			l.mu.Unlock()
			defer func() {
				l.mu.Lock()
				lc.busy--
				lc.since = time.Now()
				l.mu.Unlock()
				l.signal()
			}()
		}
		h.ServeHTTP(w, r)
	})
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// release frees the connection's slot (once).
func (c *limitConn) release() {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		c.l.signal()
	})
}

type sample struct {
	label string
	v     any
}
