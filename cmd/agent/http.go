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
	"sync"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/agent"
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

// writeMetrics writes the agent's counters in the Prometheus text format: agent.WritePrometheus of
// the totals since the agent started, carried over reloads, with the current pipeline's levels;
// then the families only the agent has.
func writeMetrics(w io.Writer, a *agentState, h *httpServer) {
	agent.WritePrometheus(w, a.snapshot())
	family := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("statshard_goroutines", "gauge", "Goroutines in the agent process.")
	fmt.Fprintf(w, "statshard_goroutines %d\n", runtime.NumGoroutine())
	family("statshard_reloads_total", "counter", "SIGHUP reloads, by result.")
	fmt.Fprintf(w, "statshard_reloads_total{result=\"applied\"} %d\nstatshard_reloads_total{result=\"rejected\"} %d\n", a.reloads.Load(), a.rejected.Load())
	family("statshard_http_connections_evicted_total", "counter", "Idle telemetry connections closed to make room for a new one.")
	fmt.Fprintf(w, "statshard_http_connections_evicted_total %d\n", h.ln.evicted.Load())
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
