package agent

import (
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/netio"
	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
)

// Defaults for TCPConfig's zero fields.
const (
	DefaultTCPAddress    = "127.0.0.1:5000"
	DefaultTCPMaxClients = 64
	DefaultTCPBuffer     = 1024
	// ClockResolution is how often the stream's coarse clock ticks: an event's timestamp is the
	// time of recording rounded down to it (reading time.Now per event would cost ~50 ns).
	ClockResolution = time.Millisecond
	// unlimitedBuffer is the intake size used when TCPConfig.BufferSize is negative.
	unlimitedBuffer = 1 << 20
)

// TCPConfig configures the TCP exporter, which streams every recorded value as it happens to
// every connected client, as length-delimited protobuf Events (wire/pb) that metrics-rs's
// metrics-observer and any protobuf client can read.
//
// Counters stream as increment_counter (negative or fractional adds cannot be expressed and are
// counted in Stats.TCPDroppedUnrepresentable), gauges as set_gauge, increment_gauge or decrement_gauge, histograms
// and distributions as record_histogram. Sets are not streamed: the protocol has no set type.
// Sampled calls stream only the calls they keep.
type TCPConfig struct {
	// Enabled turns the TCP exporter on.
	Enabled bool
	// Address is the listen address. Empty means DefaultTCPAddress, loopback: a metrics stream is
	// not for the whole network unless you say so.
	Address string
	// MaxClients caps connected clients; further connections are closed at once and counted.
	// Zero means DefaultTCPMaxClients.
	MaxClients int
	// BufferSize bounds, in events, both the intake between recorders and the stream (full: the
	// newest event is dropped) and each client's queue (full: its oldest events are dropped).
	// Every drop is counted. Zero means DefaultTCPBuffer. Negative means "no limit": a 1 Mi-event
	// intake and unbounded client queues, where a client that stops reading holds memory until
	// its WriteTimeout disconnects it — only for trusted, fast clients.
	BufferSize int
	// WriteTimeout is the deadline of every write to a client; a client that misses it is
	// disconnected. Zero means 5s.
	WriteTimeout time.Duration
	// CloseTimeout bounds how long Close lets clients receive what is queued. Zero means 2s.
	CloseTimeout time.Duration
	// Listener, if set, is served instead of listening on Address, and closed by the
	// recorder's Close: for a listener the caller keeps across recorders (a reload), so that
	// clients connecting meanwhile wait in its accept queue rather than find the port closed.
	Listener net.Listener
	// Snapshot, when true, sends a new client the current value of every counter (set_counter,
	// the total since the recorder started) and gauge (set_gauge) right after the metadata, so a
	// late joiner sees totals at once.
	Snapshot bool
}

// Kind is the kind of a metric, for Describe: the registry's own kinds.
type Kind = shard.Kind

// The kinds of metrics.
const (
	KindCounter      = shard.KindCounter
	KindGauge        = shard.KindGauge
	KindHistogram    = shard.KindHistogram
	KindDistribution = shard.KindDistribution
	KindSet          = shard.KindSet
)

// stream is the TCP exporter: an intake ring filled by recorders, a drain goroutine that encodes
// events once into shared batches, and the netio hub that fans them out.
type stream struct {
	r     *Recorder
	cfg   TCPConfig
	hub   *netio.Hub
	ring  *ring
	clock atomic.Int64

	intakeDrops atomic.Uint64
	unrepr      atomic.Uint64
	events      atomic.Uint64

	metaMu  sync.Mutex
	meta    []pb.Metadata // every described metric, for new clients
	pending []pb.Metadata // described since the drain goroutine last looked
	hasPend atomic.Bool

	wake chan struct{} // a recorder's nudge when the intake fills faster than the clock ticks
	stop chan struct{}
	done chan struct{}
}

func newStream(r *Recorder, c TCPConfig) (*stream, error) {
	if c.Address == "" {
		c.Address = DefaultTCPAddress
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultTCPMaxClients
	}
	if c.MaxClients < 0 {
		return nil, fmt.Errorf("agent: negative TCP.MaxClients %d", c.MaxClients)
	}
	intake, queue := c.BufferSize, c.BufferSize
	switch {
	case c.BufferSize == 0:
		intake, queue = DefaultTCPBuffer, DefaultTCPBuffer
	case c.BufferSize < 0:
		intake, queue = unlimitedBuffer, -1
	}
	st := &stream{r: r, cfg: c, ring: newRing(intake), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	st.clock.Store(time.Now().UnixNano())
	hub, err := netio.ListenHub(netio.HubConfig{
		Addr:         c.Address,
		MaxClients:   c.MaxClients,
		ClientQueue:  queue,
		WriteTimeout: c.WriteTimeout,
		CloseTimeout: c.CloseTimeout,
		Greeting:     st.greeting,
		Listener:     c.Listener,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: TCP exporter: %w", err)
	}
	st.hub = hub
	go st.run()
	return st, nil
}

// Addr returns the address the stream listens on.
func (st *stream) addr() string { return st.hub.Addr().String() }

func (st *stream) close() error {
	close(st.stop)
	<-st.done
	return st.hub.Close()
}

// publish queues one event. The caller checked st.hub.Active(): with no client connected the
// whole stream costs recorders that one atomic load.
func (st *stream) publish(s *shard.Series, op pb.Op, bits uint64) {
	pos, ok := st.ring.push(event{s: s, op: op, bits: bits, ts: st.clock.Load()})
	if !ok {
		st.intakeDrops.Add(1)
		return
	}
	if pos&(st.ring.mask>>1) == 0 {
		// Every half ring, wake the drain rather than wait for the clock's tick: the stream then
		// keeps up with bursts faster than intake size per ClockResolution.
		select {
		case st.wake <- struct{}{}:
		default:
		}
	}
}

func (st *stream) counter(s *shard.Series, n int64) {
	if n < 0 {
		st.unrepr.Add(1)
		return
	}
	st.publish(s, pb.IncrementCounter, uint64(n))
}

// counterFloat streams a counter add that may be fractional: one received by the intake, or a
// sampled call's value scaled by 1/rate.
func (st *stream) counterFloat(s *shard.Series, v float64) {
	if v < 0 || v != math.Trunc(v) || v >= 1<<64 {
		st.unrepr.Add(1)
		return
	}
	st.publish(s, pb.IncrementCounter, uint64(v))
}

// gaugeAdd streams an add of d to a gauge, whose value after the add is now.
func (st *stream) gaugeAdd(s *shard.Series, d, now float64) {
	if d < 0 {
		st.publish(s, pb.DecrementGauge, math.Float64bits(-d))
		return
	}
	st.publish(s, pb.IncrementGauge, math.Float64bits(d))
}

// run ticks the coarse clock and, on every tick, drains the intake into one batch for the hub.
func (st *stream) run() {
	defer close(st.done)
	t := time.NewTicker(ClockResolution)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			st.drainBusy()
		case <-st.wake:
			st.drainBusy()
		case <-st.stop:
			st.drain()
			return
		}
	}
}

// drainBusy drains what is queued, then takes one more look if that pass was small, so the tail of
// a burst recorded meanwhile goes out now rather than a tick later. It never loops on a full
// intake: under a flood, the next batch waits for the next wake-up (a tick, or recorders reaching
// half the intake), which leaves CPU to the client writers instead of encoding events faster than
// they can be written, only for their queues to drop them.
func (st *stream) drainBusy() {
	st.clock.Store(time.Now().UnixNano()) // a wake-up between ticks also refreshes the clock
	if n := st.drain(); n > 0 && n < 64 {
		st.drain()
	}
}

// drain encodes everything queued into one contiguous batch, each event once, and hands it to
// the hub, which writes the same bytes to every client. It returns the number of events.
func (st *stream) drain() int {
	var frames []byte
	var ends []int
	if st.hasPend.Load() {
		st.metaMu.Lock()
		for i := range st.pending {
			frames = pb.AppendMetadataFrame(frames, &st.pending[i])
			ends = append(ends, len(frames))
		}
		st.pending = st.pending[:0]
		st.hasPend.Store(false)
		st.metaMu.Unlock()
	}
	var m pb.Metric
	for {
		e, ok := st.ring.pop()
		if !ok {
			break
		}
		if frames == nil {
			// The hub keeps the batch until every client wrote it: a new buffer per batch, sized
			// for a typical event, rather than a pool whose release the hub cannot signal.
			frames = make([]byte, 0, 96*64)
			ends = make([]int, 0, 64)
		}
		ext := e.s.Ext().(*seriesExt)
		m = pb.Metric{
			Name:      e.s.Name(),
			Seconds:   e.ts / 1e9,
			Nanos:     int32(e.ts % 1e9),
			Labels:    ext.labels,
			Op:        e.op,
			ValidUTF8: true, // names and tags are sanitized to ASCII
		}
		if e.op == pb.IncrementCounter || e.op == pb.SetCounter {
			m.Uint = e.bits
		} else {
			m.Float = math.Float64frombits(e.bits)
		}
		frames = pb.AppendMetricFrame(frames, &m)
		ends = append(ends, len(frames))
	}
	n := 0
	if len(ends) > 0 {
		n = len(ends)
		st.events.Add(uint64(n))
		st.hub.Broadcast(frames, ends)
	}
	return n
}

// describe records metadata for new clients and queues it for connected ones.
func (st *stream) describe(md pb.Metadata) {
	st.metaMu.Lock()
	replaced := false
	for i := range st.meta {
		if st.meta[i].Name == md.Name {
			st.meta[i] = md
			replaced = true
		}
	}
	if !replaced {
		st.meta = append(st.meta, md)
	}
	if st.hub.Active() {
		// Clients connected now get it through the drain; later ones through the greeting. A client
		// connecting at this very moment may get it both ways, which is harmless.
		st.pending = append(st.pending, md)
		st.hasPend.Store(true)
	}
	st.metaMu.Unlock()
}

// greeting is what every new client receives first: metadata for every described metric, then,
// with Snapshot, the current value of every counter and gauge.
func (st *stream) greeting() ([]byte, []int) {
	var frames []byte
	var ends []int
	st.metaMu.Lock()
	for i := range st.meta {
		frames = pb.AppendMetadataFrame(frames, &st.meta[i])
		ends = append(ends, len(frames))
	}
	st.metaMu.Unlock()
	if !st.cfg.Snapshot {
		return frames, ends
	}
	now := time.Now().UnixNano()
	st.r.reg.Range(func(s *shard.Series) bool {
		ext := s.Ext().(*seriesExt)
		m := pb.Metric{Name: s.Name(), Seconds: now / 1e9, Nanos: int32(now % 1e9), Labels: ext.labels, ValidUTF8: true}
		switch s.Kind() {
		case shard.KindCounter:
			total := int64(math.Float64frombits(ext.total.Load())) + s.Counter.Load()
			if total < 0 {
				return true
			}
			m.Op, m.Uint = pb.SetCounter, uint64(total)
		case shard.KindGauge:
			if !ext.gaugeSet.Load() && !s.Gauge.Touched() {
				return true
			}
			m.Op, m.Float = pb.SetGauge, s.Gauge.Load()
		default:
			return true
		}
		frames = pb.AppendMetricFrame(frames, &m)
		ends = append(ends, len(frames))
		return true
	})
	return frames, ends
}

// labelsOf turns canonical "key:value" tags into sorted protobuf labels. A tag without ':' is a
// key with an empty value; tags sharing a key (a DogStatsD tag set allows "role:a","role:b")
// become one label whose values are joined with ',', since the protobuf map holds one value per
// key.
func labelsOf(tags []string) []pb.Label {
	ls := make([]pb.Label, 0, len(tags))
	for _, t := range tags {
		k, v, _ := strings.Cut(t, ":")
		if n := len(ls); n > 0 && ls[n-1].Key == k {
			ls[n-1].Value += "," + v
			continue
		}
		ls = append(ls, pb.Label{Key: k, Value: v})
	}
	pb.SortLabels(ls)
	return ls
}

func pbType(k Kind) pb.MetricType {
	switch k {
	case KindGauge:
		return pb.Gauge
	case KindHistogram, KindDistribution:
		return pb.Histogram
	}
	return pb.Counter
}
