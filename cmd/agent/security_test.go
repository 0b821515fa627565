package main

import (
	"bytes"
	"net"
	"net/http"
	"strings"
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

// TestHTTPLimits: the telemetry server has timeouts and serves at most maxHTTPConns connections at
// once; a client that opens more waits, it does not take the agent's resources.
func TestHTTPLimits(t *testing.T) {
	var cur pipelineRef
	web, err := serveHTTP("127.0.0.1:0", false, &cur, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.close(t.Context())
	if web.srv.ReadHeaderTimeout == 0 || web.srv.ReadTimeout == 0 || web.srv.WriteTimeout == 0 || web.srv.IdleTimeout == 0 {
		t.Errorf("HTTP server without timeouts: %+v", web.srv)
	}
	// Hold maxHTTPConns idle connections open: the next request must wait for one to close.
	var held []net.Conn
	for i := 0; i < maxHTTPConns; i++ {
		c, err := net.Dial("tcp", web.addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Get("http://" + web.addr() + "/healthz"); err == nil {
		t.Error("a request past the connection limit was served at once")
	}
	for _, c := range held {
		c.Close()
	}
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + web.addr() + "/healthz")
	if err != nil {
		t.Fatalf("after the held connections closed: %v", err)
	}
	resp.Body.Close()
}
