package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
)

// TestDefaultsBindLoopback: every listener the agent opens on its defaults is on loopback.
func TestDefaultsBindLoopback(t *testing.T) {
	s, _, _, err := load(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for name, addr := range map[string]string{
		"listen":                 strings.Join(s.Listen, ","),
		"tcp":                    s.TCP,
		"http":                   s.HTTP,
		"library TCP default":    agent.DefaultTCPAddress,
		"library intake default": agent.DefaultListen,
	} {
		host := strings.TrimPrefix(addr, "udp://")
		host, _, err := net.SplitHostPort(host)
		if err != nil {
			t.Fatalf("%s default %q: %v", name, addr, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s defaults to %q, want a loopback address", name, addr)
		}
	}
}

// TestHTTPLimits: the telemetry server has timeouts and keeps at most maxHTTPConns connections
// open. Idle connections (raw ones that never send a request, keep-alive ones between requests)
// do not lock /healthz out: the idlest is closed for a newcomer. Only maxHTTPConns requests in
// their handlers at once make a newcomer wait.
func TestHTTPLimits(t *testing.T) {
	web, err := serveHTTP("127.0.0.1:0", false, &agentState{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.close(t.Context())
	if web.srv.ReadHeaderTimeout == 0 || web.srv.ReadTimeout == 0 || web.srv.WriteTimeout == 0 || web.srv.IdleTimeout == 0 {
		t.Errorf("HTTP server without timeouts: %+v", web.srv)
	}
	url := "http://" + web.addr() + "/healthz"
	// maxHTTPConns raw connections that send nothing, then as many keep-alive ones left idle
	// after a request: twice the limit.
	for i := 0; i < maxHTTPConns; i++ {
		c, err := net.Dial("tcp", web.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for i := 0; i < maxHTTPConns; i++ {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			t.Fatalf("keep-alive client %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close() // the connection goes back to tr's idle pool, open
	}
	for i := 0; i < 5; i++ {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
		if err != nil {
			t.Fatalf("/healthz probe %d with %d idle connections held: %v", i, 2*maxHTTPConns, err)
		}
		resp.Body.Close()
	}
	if web.ln.evicted.Load() == 0 {
		t.Error("no idle connection was closed, yet more than the limit were opened")
	}
}

// TestHTTPLimitsBusy: with maxHTTPConns requests in their handlers, a newcomer waits (it takes no
// goroutine meanwhile) and is served once one ends.
func TestHTTPLimitsBusy(t *testing.T) {
	h := &httpServer{}
	hold := make(chan struct{})
	var inHandler sync.WaitGroup
	inHandler.Add(maxHTTPConns)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		inHandler.Done()
		<-hold
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	if err := h.listen("127.0.0.1:0", mux, nil); err != nil {
		t.Fatal(err)
	}
	defer h.close(t.Context())
	var wg sync.WaitGroup
	for i := 0; i < maxHTTPConns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + h.addr() + "/slow"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	inHandler.Wait()
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Get("http://" + h.addr() + "/healthz"); err == nil {
		t.Error("a request past the limit was served while every slot was in a handler")
	}
	close(hold)
	wg.Wait()
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + h.addr() + "/healthz")
	if err != nil {
		t.Fatalf("after the slow requests ended: %v", err)
	}
	resp.Body.Close()
}
