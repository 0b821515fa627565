package main

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
)

// sharedListener is the TCP stream's listener, kept across reloads that keep the -tcp address:
// the old and the new pipeline's hubs each serve a view of it, and the accept queue stays open, so
// a client connecting during a reload waits there instead of being refused. Connections go to the
// newest open view: once a reload has started its pipeline, the old hub gets no new client.
// Clients of the old hub are disconnected when it closes, and reconnect.
//
// The zero value is not usable: listenShared makes one, with one reference; acquire adds one,
// release drops one, and the last release closes the listener.
type sharedListener struct {
	ln   net.Listener
	quit chan struct{} // closed by the last release
	done chan struct{} // closed when the accept loop has returned

	mu      sync.Mutex
	refs    int
	views   []*listenerView // open views, oldest first
	changed chan struct{}   // closed (and replaced) whenever the newest view changes
}

type accepted struct {
	c   net.Conn
	err error
}

func listenShared(addr string) (*sharedListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sharedListener{ln: ln, quit: make(chan struct{}), done: make(chan struct{}), refs: 1, changed: make(chan struct{})}
	go s.loop()
	return s, nil
}

func (s *sharedListener) acquire() *sharedListener {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
	return s
}

// release drops a reference; the last one closes the listener and waits for its accept loop.
func (s *sharedListener) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last {
		close(s.quit)
		s.ln.Close()
		<-s.done
	}
}

// view returns a listener that receives the connections until a newer view opens or it closes.
func (s *sharedListener) view() *listenerView {
	v := &listenerView{s: s, ch: make(chan accepted), closed: make(chan struct{})}
	s.mu.Lock()
	s.views = append(s.views, v)
	s.notifyLocked()
	s.mu.Unlock()
	return v
}

func (s *sharedListener) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newest returns the view that gets the next connection (nil if none is open) and a channel
// closed when that changes.
func (s *sharedListener) newest() (*listenerView, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.views) == 0 {
		return nil, s.changed
	}
	return s.views[len(s.views)-1], s.changed
}

// loop accepts connections and hands each to the newest view, waiting for one if none is open.
// An accept error (EMFILE, say) is handed over like a connection, so the hub's backoff paces it.
func (s *sharedListener) loop() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		select {
		case <-s.quit:
			if c != nil {
				c.Close()
			}
			return
		default:
		}
		for delivered := false; !delivered; {
			v, changed := s.newest()
			var ch chan accepted // nil while no view is open: that case never fires
			if v != nil {
				ch = v.ch
			}
			select {
			case ch <- accepted{c, err}:
				delivered = true
			case <-changed:
			case <-s.quit:
				if c != nil {
					c.Close()
				}
				return
			}
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// listenerView is one hub's net.Listener on a sharedListener. Closing it leaves the shared
// listener open.
type listenerView struct {
	s      *sharedListener
	ch     chan accepted
	closed chan struct{}
	once   sync.Once
}

func (v *listenerView) Accept() (net.Conn, error) {
	select {
	case <-v.closed:
		return nil, fmt.Errorf("accept: %w", net.ErrClosed)
	default:
	}
	select {
	case a := <-v.ch:
		return a.c, a.err
	case <-v.closed:
		return nil, fmt.Errorf("accept: %w", net.ErrClosed)
	}
}

func (v *listenerView) Close() error {
	v.once.Do(func() {
		s := v.s
		s.mu.Lock()
		i := slices.Index(s.views, v)
		if i >= 0 {
			s.views = slices.Delete(s.views, i, i+1)
			if i == len(s.views) {
				s.notifyLocked() // it was the newest: the previous one gets the connections again
			}
		}
		s.mu.Unlock()
		close(v.closed)
	})
	return nil
}

func (v *listenerView) Addr() net.Addr { return v.s.ln.Addr() }
