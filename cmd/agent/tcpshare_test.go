package main

import (
	"net"
	"testing"
	"time"
)

// TestSharedListener: connections go to the newest open view; closing it gives them back to the
// one before; a connection made while no view is open waits for the next; the last release closes
// the port.
func TestSharedListener(t *testing.T) {
	s, err := listenShared("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := s.ln.Addr().String()
	accept := func(v *listenerView) chan net.Conn {
		ch := make(chan net.Conn, 1)
		go func() {
			c, err := v.Accept()
			if err != nil {
				close(ch)
				return
			}
			ch <- c
		}()
		return ch
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	got := func(ch chan net.Conn, who string) {
		t.Helper()
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("%s: Accept failed", who)
			}
			c.Close()
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no connection", who)
		}
	}
	idle := func(ch chan net.Conn, who string) {
		t.Helper()
		select {
		case c, ok := <-ch:
			if ok {
				c.Close()
				t.Fatalf("%s got a connection meant for a newer view", who)
			}
		case <-time.After(50 * time.Millisecond):
		}
	}

	old := s.view()
	oldCh := accept(old)
	dial()
	got(oldCh, "the only view")

	oldCh = accept(old)
	next := s.view() // a reload's new pipeline
	nextCh := accept(next)
	dial()
	got(nextCh, "the newest view")
	idle(oldCh, "the old view")

	next.Close() // the reload failed: back to the old view
	dial()
	got(oldCh, "the old view, after the newer one closed")

	old.Close()
	dial() // no view: waits in the shared listener
	again := s.acquire().view()
	got(accept(again), "a view opened after the connection came")
	again.Close()
	s.release()
	s.release()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts after the last release")
	}
}
