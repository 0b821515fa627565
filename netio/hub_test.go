package netio

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestHubDelivery(t *testing.T) {
	greet, greetEnds := []byte("metaAmetaBB"), []int{5, 11}
	h := hubStart(t, HubConfig{Greeting: func() ([]byte, []int) { return greet, greetEnds }})

	var early []*net.TCPConn
	for range 3 {
		early = append(early, hubDial(t, h))
	}
	hubWaitClients(t, h, 3)

	// Batches of different sizes, one with bytes after its last end that must not be sent, and
	// two cut from one buffer so that they sit next to each other.
	var want []byte // what the early clients must receive after the greeting
	seq := 0
	broadcast := func(frames []byte, ends []int) {
		want = append(want, frames[:ends[len(ends)-1]]...)
		seq += len(ends)
		h.Broadcast(frames, ends)
	}
	for _, n := range []int{1, 64, 300, 7} {
		broadcast(hubBatch(seq, n, hubVaried))
	}
	tail, tailEnds := hubBatch(seq, 5, hubVaried)
	broadcast(append(tail, "not a frame"...), tailEnds)
	shared, sharedEnds := hubBatch(seq, 40, hubVaried)
	split := sharedEnds[19]
	firstEnds := sharedEnds[:20]
	secondEnds := make([]int, 20)
	for i, e := range sharedEnds[20:] {
		secondEnds[i] = e - split
	}
	broadcast(shared[:split], firstEnds)
	broadcast(shared[split:], secondEnds)

	late := hubDial(t, h)
	hubWaitClients(t, h, 4)
	var lateWant []byte
	for _, n := range []int{3, 200} {
		frames, ends := hubBatch(seq, n, hubVaried)
		lateWant = append(lateWant, frames...)
		broadcast(frames, ends)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i, c := range early {
		got := hubReadAll(t, c)
		if wantAll := append(bytes.Clone(greet), want...); !bytes.Equal(got, wantAll) {
			t.Errorf("client %d: got %d bytes, want %d (greeting + every frame)", i, len(got), len(wantAll))
		}
	}
	if got, wantAll := hubReadAll(t, late), append(bytes.Clone(greet), lateWant...); !bytes.Equal(got, wantAll) {
		t.Errorf("late client: got %d bytes, want %d (greeting + frames broadcast after it joined)", len(got), len(wantAll))
	}

	st := h.Stats()
	wantFrames := uint64(3*(len(greetEnds)+seq) + len(greetEnds) + 203)
	wantBytes := uint64(3*(len(greet)+len(want)) + len(greet) + len(lateWant))
	if st.Frames != wantFrames || st.Bytes != wantBytes {
		t.Errorf("Frames, Bytes: got %d, %d; want %d, %d", st.Frames, st.Bytes, wantFrames, wantBytes)
	}
	if st.DroppedSlow != 0 || st.DroppedGone != 0 {
		t.Errorf("DroppedSlow, DroppedGone: got %d, %d; want 0, 0", st.DroppedSlow, st.DroppedGone)
	}
	if st.Accepted != 4 || st.Disconnected != 4 || st.Clients != 0 || st.TimedOut != 0 {
		t.Errorf("Accepted, Disconnected, Clients, TimedOut: got %d, %d, %d, %d; want 4, 4, 0, 0",
			st.Accepted, st.Disconnected, st.Clients, st.TimedOut)
	}
	if st.Writes == 0 || st.Writes > st.Frames {
		t.Errorf("Writes: got %d, want between 1 and Frames (%d)", st.Writes, st.Frames)
	}
}

// TestHubSlowClient runs a fast and a stuck client side by side: the stuck one must cost the
// broadcaster and the fast client nothing, lose its oldest frames, and be cut off by WriteTimeout.
func TestHubSlowClient(t *testing.T) {
	const (
		total  = 200_000
		batch  = 64
		window = 512 // frames the broadcaster may run ahead of the fast reader: half the queue
		// minSpread is the least time the broadcast takes: longer than WriteTimeout, so the slow
		// client's writer keeps getting frames until one of its writes blocks past it.
		minSpread = 500 * time.Millisecond
	)
	h := hubStart(t, HubConfig{ClientQueue: 1024, WriteTimeout: 200 * time.Millisecond})
	fast := hubDial(t, h)
	slow := hubDialSmall(t, h, 4096)
	hubWaitClients(t, h, 2)

	var fastGot atomic.Int64
	fastDone := make(chan error, 1)
	go func() { fastDone <- hubReadFrames(fast, total, &fastGot) }()

	all, _ := hubBatch(0, total, hubFixed)
	ends := make([]int, batch)
	for i := range ends {
		ends[i] = (i + 1) * hubFrameSize
	}
	start := time.Now()
	for sent := 0; sent < total; sent += batch {
		// Pace on the fast client only, so that it loses nothing; the slow one must not matter.
		for int64(sent)-fastGot.Load() > window {
			if time.Since(start) > 5*time.Second {
				var ferr error
				select {
				case ferr = <-fastDone:
				default:
				}
				t.Fatalf("broadcast stalled after %d frames: the fast client has %d (%v); stats %+v", sent, fastGot.Load(), ferr, h.Stats())
			}
			// Sleep rather than runtime.Gosched: a P that never idles polls the network only
			// every 10ms (sysmon), which would pace the loop rather than the client.
			time.Sleep(20 * time.Microsecond)
		}
		h.Broadcast(all[sent*hubFrameSize:(sent+batch)*hubFrameSize], ends)
		// Spread the broadcast over at least minSpread: a loop that ends in a few milliseconds
		// (seen under GOARCH=386) leaves the slow client's writer only its last queue of frames,
		// which can fit in the socket buffers, so that no write ever blocks and times out.
		if ahead := time.Duration(sent+batch) * minSpread / total; time.Since(start) < ahead {
			time.Sleep(ahead - time.Since(start))
		}
	}
	elapsed := time.Since(start)
	// Zero here means the slow client was still registered for every batch (shutdown counts it
	// before Broadcast can see it closed), so all of them were offered to it.
	goneEarly := h.Stats().Disconnected
	t.Logf("broadcast %d frames in %v; slow client disconnected during the loop: %v", total, elapsed, goneEarly != 0)
	if elapsed > 5*time.Second {
		t.Errorf("broadcast took %v, want < 5s", elapsed)
	}
	if err := <-fastDone; err != nil {
		t.Fatalf("fast client: %v", err)
	}

	hubWaitFor(t, "the slow client to time out", func() bool {
		st := h.Stats()
		return st.TimedOut == 1 && st.Disconnected == 1 && st.Clients == 1
	})
	// What the hub wrote before giving up is still in the sockets' buffers, then EOF.
	seqs, partial := hubParseFrames(t, hubReadAll(t, slow))
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := h.Stats()
	t.Logf("stats %+v; slow client read %d frames + %d bytes", st, len(seqs), partial)

	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("slow client: frame %d after frame %d: want increasing", seqs[i], seqs[i-1])
		}
	}
	slowDelivered := st.Frames - total
	if uint64(len(seqs)) != slowDelivered {
		t.Errorf("slow client read %d whole frames, want Frames - fast client's = %d", len(seqs), slowDelivered)
	}
	if st.DroppedSlow == 0 {
		t.Errorf("DroppedSlow: got 0, want > 0")
	}
	offered := slowDelivered + st.DroppedSlow + st.DroppedGone
	switch {
	case goneEarly == 0 && offered != total:
		t.Errorf("slow client delivered + DroppedSlow + DroppedGone: got %d, want %d", offered, total)
	case offered > total || (len(seqs) > 0 && offered <= seqs[len(seqs)-1]):
		t.Errorf("slow client delivered + DroppedSlow + DroppedGone: got %d, want <= %d and > last frame read", offered, total)
	}
	if st.TimedOut != 1 || st.Disconnected != 2 {
		t.Errorf("TimedOut, Disconnected: got %d, %d; want 1, 2", st.TimedOut, st.Disconnected)
	}
}

// hubReadFrames reads n fixed-size frames, checking every byte and the order, and counts them in
// got as they arrive.
func hubReadFrames(c net.Conn, n int, got *atomic.Int64) error {
	c.SetReadDeadline(time.Now().Add(hubWait))
	buf := make([]byte, 64<<10)
	var want []byte
	have, seq := 0, 0
	for seq < n {
		m, err := c.Read(buf[have:])
		if err != nil {
			return err
		}
		have += m
		p := buf[:have]
		for len(p) >= hubFrameSize {
			want = hubAppendFrame(want[:0], uint64(seq), hubFrameSize)
			if !bytes.Equal(p[:hubFrameSize], want) {
				return fmt.Errorf("frame %d: got %x, want %x", seq, p[:hubFrameSize], want)
			}
			p = p[hubFrameSize:]
			seq++
		}
		have = copy(buf, p)
		got.Store(int64(seq))
	}
	return nil
}

// TestHubSlowClientKeepsNewest checks drop-oldest exactly: a client that stops reading while
// frames pour in must, once it reads again, get the newest ClientQueue frames, and every frame
// must be delivered or counted as dropped.
func TestHubSlowClientKeepsNewest(t *testing.T) {
	const (
		total = 200_000
		batch = 64
		queue = 1024
	)
	h := hubStart(t, HubConfig{ClientQueue: queue, WriteTimeout: time.Minute})
	slow := hubDialSmall(t, h, 4096)
	hubWaitClients(t, h, 1)
	for sent := 0; sent < total; sent += batch {
		h.Broadcast(hubBatch(sent, batch, hubFixed))
	}

	// Read until the last frame arrives: the writer wakes up for whatever it dropped least.
	var data []byte
	buf := make([]byte, 64<<10)
	lastFrame := hubAppendFrame(nil, total-1, hubFrameSize)
	slow.SetReadDeadline(time.Now().Add(hubWait))
	for !bytes.HasSuffix(data, lastFrame) {
		n, err := slow.Read(buf)
		if err != nil {
			t.Fatalf("slow client after %d bytes: %v", len(data), err)
		}
		data = append(data, buf[:n]...)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	data = append(data, hubReadAll(t, slow)...)
	seqs, partial := hubParseFrames(t, data)
	if partial != 0 {
		t.Fatalf("slow client: trailing %d bytes of a partial frame", partial)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("frame %d after frame %d: want increasing", seqs[i], seqs[i-1])
		}
	}
	if len(seqs) < queue {
		t.Fatalf("got %d frames, want at least the newest %d", len(seqs), queue)
	}
	for i, seq := range seqs[len(seqs)-queue:] {
		if want := uint64(total - queue + i); seq != want {
			t.Fatalf("newest frames: got frame %d at position %d, want %d", seq, i, want)
		}
	}

	st := h.Stats()
	if st.Frames != uint64(len(seqs)) {
		t.Errorf("Frames: got %d, want %d (what the client read)", st.Frames, len(seqs))
	}
	if st.DroppedSlow == 0 || st.DroppedGone != 0 || st.Frames+st.DroppedSlow != total {
		t.Errorf("Frames + DroppedSlow, DroppedGone: got %d + %d, %d; want %d in all, DroppedSlow > 0, 0 gone",
			st.Frames, st.DroppedSlow, st.DroppedGone, total)
	}
}

func TestHubChurn(t *testing.T) {
	const (
		conns  = 64
		cycles = 16 // per connection: 1024 connect/close cycles in all
	)
	// Warm up the network poller, whose descriptors would otherwise count as leaked.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	baseFDs := hubCountFDs(t)
	baseG := runtime.NumGoroutine()

	h, err := ListenHub(HubConfig{Addr: "127.0.0.1:0", ClientQueue: 256})
	if err != nil {
		t.Fatalf("ListenHub: %v", err)
	}
	defer h.Close()

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		frames, ends := hubBatch(0, 64, hubFixed)
		for i := 0; i < 1_000_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.Broadcast(frames, ends)
			time.Sleep(50 * time.Microsecond)
		}
	})
	var dials atomic.Uint64
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for j := range cycles {
				c, err := net.DialTimeout("tcp", h.Addr().String(), hubWait)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				dials.Add(1)
				if (i+j)%2 == 0 { // half read a little first, half leave at once
					c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
					c.Read(buf)
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()

	hubWaitFor(t, "every connection to be served and gone", func() bool {
		st := h.Stats()
		return st.Clients == 0 && st.Accepted+st.Rejected == dials.Load() && st.Disconnected == st.Accepted
	})
	st := h.Stats()
	t.Logf("stats %+v", st)
	if h.Active() {
		t.Errorf("Active: got true with no client, want false")
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	hubCheckGoroutines(t, baseG)
	hubWaitFor(t, "file descriptors to close", func() bool { return hubCountFDs(t) <= baseFDs })
}

func TestHubMaxClients(t *testing.T) {
	h := hubStart(t, HubConfig{MaxClients: 2})
	a, b := hubDial(t, h), hubDial(t, h)
	hubWaitClients(t, h, 2)
	c := hubDial(t, h)
	hubExpectClosed(t, c)
	if st := h.Stats(); st.Rejected != 1 || st.Accepted != 2 || st.Clients != 2 {
		t.Errorf("Rejected, Accepted, Clients: got %d, %d, %d; want 1, 2, 2", st.Rejected, st.Accepted, st.Clients)
	}
	frames, ends := hubBatch(0, 3, hubFixed)
	h.Broadcast(frames, ends)
	for i, conn := range []net.Conn{a, b} {
		if got := hubReadN(t, conn, len(frames)); !bytes.Equal(got, frames) {
			t.Errorf("client %d: got %x, want %x", i, got, frames)
		}
	}
}

func TestHubJunk(t *testing.T) {
	h := hubStart(t, HubConfig{})
	c := hubDial(t, h)
	hubWaitClients(t, h, 1)
	junk := bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 125) // 2000 bytes, more than one read
	if _, err := c.Write(junk); err != nil {
		t.Fatalf("write junk: %v", err)
	}
	hubWaitFor(t, "the junk to be read", func() bool { return h.Stats().JunkBytes >= uint64(len(junk)) })
	if got := h.Stats().JunkBytes; got != uint64(len(junk)) {
		t.Errorf("JunkBytes: got %d, want %d", got, len(junk))
	}
	frames, ends := hubBatch(0, 10, hubVaried)
	h.Broadcast(frames, ends)
	if got := hubReadN(t, c, len(frames)); !bytes.Equal(got, frames) {
		t.Errorf("after junk: got %x, want %x", got, frames)
	}
	if st := h.Stats(); st.Clients != 1 || st.Disconnected != 0 {
		t.Errorf("Clients, Disconnected: got %d, %d; want 1, 0", st.Clients, st.Disconnected)
	}
}

func TestHubClientLeavesAtOnce(t *testing.T) {
	h := hubStart(t, HubConfig{})
	c, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	hubWaitFor(t, "the client to be gone", func() bool {
		st := h.Stats()
		return st.Accepted == 1 && st.Disconnected == 1 && st.Clients == 0
	})
	if h.Active() {
		t.Errorf("Active: got true, want false")
	}
	h.Broadcast(hubBatch(0, 5, hubFixed)) // to nobody: must not fail or count

	// The hub goes on serving.
	d := hubDial(t, h)
	hubWaitClients(t, h, 1)
	if !h.Active() {
		t.Errorf("Active: got false with a client, want true")
	}
	frames, ends := hubBatch(5, 5, hubFixed)
	h.Broadcast(frames, ends)
	if got := hubReadN(t, d, len(frames)); !bytes.Equal(got, frames) {
		t.Errorf("got %x, want %x", got, frames)
	}
	if st := h.Stats(); st.DroppedGone != 0 || st.DroppedSlow != 0 {
		t.Errorf("DroppedGone, DroppedSlow: got %d, %d; want 0, 0", st.DroppedGone, st.DroppedSlow)
	}
}

// hubFlakyListener fails Accept with the errors in script before accepting for real, and
// records when each Accept was called.
type hubFlakyListener struct {
	net.Listener
	mu     sync.Mutex
	script []error
	calls  []time.Time
}

func (l *hubFlakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	var err error
	if len(l.script) > 0 {
		err, l.script = l.script[0], l.script[1:]
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return l.Listener.Accept()
}

func TestHubAcceptBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	acceptErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "accept", Net: "tcp", Addr: ln.Addr(), Err: os.NewSyscallError("accept4", errno)}
	}
	flaky := &hubFlakyListener{
		Listener: ln,
		script:   []error{acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE), acceptErr(syscall.ECONNABORTED)},
	}
	h := hubStart(t, HubConfig{Listener: flaky})
	c := hubDial(t, h)
	hubWaitClients(t, h, 1)
	frames, ends := hubBatch(0, 4, hubFixed)
	h.Broadcast(frames, ends)
	if got := hubReadN(t, c, len(frames)); !bytes.Equal(got, frames) {
		t.Errorf("got %x, want %x", got, frames)
	}
	if st := h.Stats(); st.AcceptErrors != 3 || st.Accepted != 1 {
		t.Errorf("AcceptErrors, Accepted: got %d, %d; want 3, 1", st.AcceptErrors, st.Accepted)
	}
	flaky.mu.Lock()
	calls := flaky.calls
	flaky.mu.Unlock()
	for i, want := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		if got := calls[i+1].Sub(calls[i]); got < want {
			t.Errorf("pause after accept error %d: got %v, want >= %v", i+1, got, want)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on the Listener after Close: got %v, want net.ErrClosed (the hub owns it)", err)
	}
}

func TestHubNextBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct{ prev, want time.Duration }{
		{0, 5 * ms}, // first error, or first after a success
		{5 * ms, 10 * ms},
		{10 * ms, 20 * ms},
		{320 * ms, 640 * ms},
		{640 * ms, time.Second},
		{time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := hubNextBackoff(tt.prev); got != tt.want {
			t.Errorf("hubNextBackoff(%v): got %v, want %v", tt.prev, got, tt.want)
		}
	}
}

func TestHubCloseDrains(t *testing.T) {
	const closeTimeout = time.Second
	// The stuck client must still be connected at Close: with the default 5s WriteTimeout, a
	// machine slow enough to take that long over the broadcasts below cut it off before (Close then
	// returned early, and frames broadcast after it left were counted nowhere).
	h := hubStart(t, HubConfig{ClientQueue: -1, CloseTimeout: closeTimeout, WriteTimeout: time.Minute})
	reader := hubDial(t, h)
	hubDialSmall(t, h, 4096) // never reads
	hubWaitClients(t, h, 2)
	got := make(chan []byte, 1)
	go func() {
		reader.SetReadDeadline(time.Now().Add(hubWait))
		var buf bytes.Buffer
		buf.ReadFrom(reader)
		got <- buf.Bytes()
	}()

	// 8 MB: more than twice what the stuck client's socket buffers were seen to hold.
	const total = 160_000
	var want []byte
	for sent := 0; sent < total; sent += 64 {
		frames, ends := hubBatch(sent, 64, hubFixed)
		want = append(want, frames...)
		h.Broadcast(frames, ends)
	}
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	took := time.Since(start)
	if took < closeTimeout-10*time.Millisecond || took > closeTimeout+2*time.Second {
		t.Errorf("Close with a stuck client took %v, want about CloseTimeout (%v)", took, closeTimeout)
	}
	if data := <-got; !bytes.Equal(data, want) {
		t.Errorf("reading client: got %d bytes, want all %d broadcast before Close", len(data), len(want))
	}
	st := h.Stats()
	if st.DroppedGone == 0 || st.Clients != 0 || st.Disconnected != 2 {
		t.Errorf("DroppedGone, Clients, Disconnected: got %d, %d, %d; want > 0, 0, 2", st.DroppedGone, st.Clients, st.Disconnected)
	}
	if st.Frames+st.DroppedGone != 2*total {
		t.Errorf("Frames + DroppedGone: got %d + %d, want %d", st.Frames, st.DroppedGone, 2*total)
	}

	// Broadcast after Close does nothing, and a second Close is harmless.
	h.Broadcast(hubBatch(0, 1, hubFixed))
	if again := h.Stats(); again != st {
		t.Errorf("Broadcast after Close changed Stats: got %+v, want %+v", again, st)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestHubCloseIdle(t *testing.T) {
	// A CloseTimeout far above any scheduling delay, so that a Close that waited for it stands out
	// from one a loaded machine merely slowed down.
	const closeTimeout = hubWait
	h := hubStart(t, HubConfig{CloseTimeout: closeTimeout})
	c := hubDial(t, h)
	hubWaitClients(t, h, 1)
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > closeTimeout/2 {
		t.Errorf("Close with an idle client took %v, want well under CloseTimeout (%v)", took, closeTimeout)
	}
	hubExpectClosed(t, c)
	if _, err := net.Dial("tcp", h.Addr().String()); err == nil {
		t.Errorf("dial after Close: got a connection, want refused")
	}
}

func TestListenHubErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		cfg  HubConfig
		want string
	}{
		{"address in use", HubConfig{Addr: busy.Addr().String()}, "netio: listen tcp " + busy.Addr().String() + ": "},
		{"bad address", HubConfig{Addr: "127.0.0.1:notaport"}, "netio: listen tcp"},
		{"negative MaxClients", HubConfig{MaxClients: -1}, "netio: HubConfig.MaxClients"},
		{"negative WriteTimeout", HubConfig{WriteTimeout: -time.Second}, "netio: HubConfig.WriteTimeout"},
		{"negative CloseTimeout", HubConfig{CloseTimeout: -time.Second}, "netio: HubConfig.CloseTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ListenHub(tt.cfg)
			if err == nil {
				h.Close()
				t.Fatalf("got no error, want %q...", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q, want prefix %q", err, tt.want)
			}
		})
	}
	_, err = ListenHub(HubConfig{Addr: busy.Addr().String()})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("errors.Is(%v, EADDRINUSE): got false, want true (wrapped)", err)
	}
}

func TestHubConfigDefaults(t *testing.T) {
	got, err := HubConfig{}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	want := HubConfig{Addr: "127.0.0.1:5000", MaxClients: 64, ClientQueue: 1024,
		WriteTimeout: 5 * time.Second, CloseTimeout: 2 * time.Second}
	if got.Addr != want.Addr || got.MaxClients != want.MaxClients || got.ClientQueue != want.ClientQueue ||
		got.WriteTimeout != want.WriteTimeout || got.CloseTimeout != want.CloseTimeout {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.EvictAfter != got.WriteTimeout {
		t.Errorf("EvictAfter: got %v, want WriteTimeout %v", got.EvictAfter, got.WriteTimeout)
	}
	if got, _ := (HubConfig{WriteTimeout: time.Second}).withDefaults(); got.EvictAfter != time.Second {
		t.Errorf("EvictAfter with WriteTimeout 1s: got %v, want 1s", got.EvictAfter)
	}
	if got, _ := (HubConfig{ClientQueue: -1}).withDefaults(); got.ClientQueue != -1 {
		t.Errorf("ClientQueue -1: got %d, want -1 (no limit)", got.ClientQueue)
	}
}

func TestHubBroadcastPanicsOnBadEnds(t *testing.T) {
	h := hubStart(t, HubConfig{})
	tests := []struct {
		name   string
		frames []byte
		ends   []int
	}{
		{"decreasing", make([]byte, 10), []int{5, 3}},
		{"negative", make([]byte, 10), []int{-1, 3}},
		{"past the end", make([]byte, 10), []int{5, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Broadcast(%d bytes, %v): got no panic, want one", len(tt.frames), tt.ends)
				}
			}()
			h.Broadcast(tt.frames, tt.ends)
		})
	}
}

func TestHubGreetingIgnoresQueueLimit(t *testing.T) {
	greet, greetEnds := hubBatch(0, 10, hubFixed)
	h := hubStart(t, HubConfig{ClientQueue: 2, Greeting: func() ([]byte, []int) { return greet, greetEnds }})
	c := hubDial(t, h)
	if got := hubReadN(t, c, len(greet)); !bytes.Equal(got, greet) {
		t.Errorf("greeting of 10 frames with ClientQueue 2: got %d bytes, want all %d", len(got), len(greet))
	}
	if st := h.Stats(); st.DroppedSlow != 0 {
		t.Errorf("DroppedSlow: got %d, want 0", st.DroppedSlow)
	}
}

// TestHubConcurrentBroadcast checks that batches broadcast from several goroutines reach a client
// whole, each goroutine's in its own order. The client reads only after Close, so Close's drain
// gets a minute rather than the default 2 s: under -race on a loaded 2-core machine the writer
// once took longer to drain the queue into the socket, and the frames left were cut off (4,264 of
// 4,800), which is CloseTimeout doing its job, not what this test is about.
func TestHubConcurrentBroadcast(t *testing.T) {
	const (
		senders = 3
		batches = 200
		batch   = 8
	)
	h := hubStart(t, HubConfig{ClientQueue: -1, CloseTimeout: time.Minute})
	c := hubDial(t, h)
	hubWaitClients(t, h, 1)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for b := range batches {
				h.Broadcast(hubBatch(g<<20+b*batch, batch, hubFixed))
			}
		})
	}
	wg.Wait()
	h.Close()
	seqs, partial := hubParseFrames(t, hubReadAll(t, c))
	if len(seqs) != senders*batches*batch || partial != 0 {
		t.Fatalf("got %d frames + %d bytes, want %d frames", len(seqs), partial, senders*batches*batch)
	}
	next := make([]uint64, senders)
	for i, seq := range seqs {
		g := seq >> 20
		if g >= senders || seq != g<<20+next[g] {
			t.Fatalf("frame %d: got seq %#x, want %#x", i, seq, g<<20+next[g])
		}
		if next[g]%batch != 0 && i > 0 && seqs[i-1] != seq-1 {
			t.Fatalf("frame %d (seq %#x): its batch was split by seq %#x", i, seq, seqs[i-1])
		}
		next[g]++
	}
}
