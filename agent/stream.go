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
	DefaultTCPAddress    = netio.DefaultHubAddr
	DefaultTCPMaxClients = netio.DefaultHubMaxClients
	DefaultTCPBuffer     = netio.DefaultHubQueue
	// clockResolution is how often the stream's coarse clock ticks: an event's timestamp is the
	// time of recording rounded down to it (reading time.Now per event would cost ~50 ns).
	clockResolution = time.Millisecond
	// unlimitedBuffer is the intake size used when TCPConfig.BufferSize is negative.
	unlimitedBuffer = 1 << 20
)

// TCPConfig configures the TCP exporter, which streams every recorded value as it happens to
// every connected client, as length-delimited protobuf Events (wire/pb) that metrics-rs's
// metrics-observer and any protobuf client can read.
//
// Counters stream as increment_counter. Fractional adds (the intake's "0.5|c", or "1|c|@0.3",
// which counts 3.33) are carried per series and streamed as whole increments when the running
// total crosses an integer, so an observer shows the total recorded rounded down (the fraction
// is carried from the first add streamed: fractional adds made while no client was connected can
// leave a late joiner's snapshot plus increments one below the total until the next crossing);
// negative adds cannot be expressed and are counted in Stats.TCP.DroppedUnrepresentable. Gauges stream as
// set_gauge, increment_gauge or decrement_gauge; a series' first streamed event is always
// set_gauge of its value, so an observer does not add increments to a value the agent no longer
// holds (a series re-created after idle expiry restarts from 0). Histograms and distributions
// stream as record_histogram. Sets are not streamed: the protocol has no set type. Sampled calls
// stream only the calls they keep.
//
// Events are encoded in passes of at most one intake's worth (BufferSize, at most 16 Ki), each
// handed to the clients at once, so recorders running flat out cannot starve clients or hold
// Close: what a pass leaves waits for the next, and a full intake drops the newest, counted.
type TCPConfig struct {
	// Enabled turns the TCP exporter on.
	Enabled bool
	// Address is the listen address. Empty means DefaultTCPAddress, loopback: a metrics stream is
	// not for the whole network unless you say so.
	Address string
	// MaxClients caps connected clients. When MaxClients are connected, a new connection evicts
	// the client that has gone longest without a completed write, if that is longer than
	// WriteTimeout (Stats.TCP.Evicted): otherwise clients that never read would hold every slot
	// forever whenever no metric flows, as nothing written means no write deadline. A client
	// idle for lack of traffic can be evicted the same way, but only to let another in. With no
	// such client the new connection is closed at once and counted (Stats.TCP.Rejected). Zero
	// means DefaultTCPMaxClients.
	MaxClients int
	// BufferSize bounds, in events, both the intake between recorders and the stream (full: the
	// newest event is dropped) and each client's queue (full: its oldest events are dropped).
	// Every drop is counted. Zero means DefaultTCPBuffer. Negative means "no limit": a 1 Mi-event
	// intake and unbounded client queues, where a client that stops reading holds memory until
	// its WriteTimeout disconnects it — only for trusted, fast clients.
	BufferSize int
	// WriteTimeout is the deadline of every write to a client; a client that misses it is
	// disconnected. Zero means netio.DefaultHubWriteTimeout.
	WriteTimeout time.Duration
	// CloseTimeout bounds how long Close lets clients receive what is queued. Zero means
	// netio.DefaultHubCloseTimeout.
	CloseTimeout time.Duration
	// Listener, if set, is served instead of listening on Address, and closed by the
	// recorder's Close: for a listener the caller keeps across recorders (a reload), so that
	// clients connecting meanwhile wait in its accept queue rather than find the port closed.
	Listener net.Listener
	// Snapshot, when true, sends a new client the current value of every counter (set_counter,
	// the total since the recorder started, flushed or not, fractional adds included, rounded
	// down and clamped to [0, MaxUint64]) and gauge (set_gauge) right after the metadata, so a
	// late joiner sees totals at once.
	//
	// A snapshot is encoded once for all the clients that connect while the previous one is
	// being encoded, and shared; it is held until the last of them has written it or gone, which
	// for a client that never reads is WriteTimeout. The snapshots held at once take at most
	// SnapshotBudget bytes, whatever the number of clients: a client whose snapshot would pass
	// it gets the metadata and the live stream without one, counted in
	// Stats.TCP.SnapshotsSkipped. Metadata is encoded once per Describe change, outside the
	// budget. A late joiner's snapshot may include an event that it also receives live, which a
	// counter then counts twice.
	Snapshot bool
	// SnapshotBudget bounds, in bytes, the snapshot greetings held at once across all clients (a
	// snapshot takes, per counter and gauge, its name and labels plus about 30 bytes). Zero
	// means DefaultTCPSnapshotBudget (64 MiB); negative means no limit.
	SnapshotBudget int
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
	KindTiming       = shard.KindTiming
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
	snapServed  atomic.Uint64 // snapshot greetings handed to clients
	snapSkipped atomic.Uint64 // clients greeted without a snapshot: over SnapshotBudget
	snapBuilds  atomic.Uint64 // greeting encodings built with Snapshot

	metaMu  sync.Mutex
	meta    []pb.Metadata // every described metric, for new clients
	metaVer uint64        // incremented on every change of meta
	pending []pb.Metadata // described since the drain goroutine last looked
	hasPend atomic.Bool

	greet greeter

	wake chan struct{} // a recorder's nudge when the intake fills faster than the clock ticks
	stop chan struct{}
	done chan struct{}
}

// newStream starts the TCP exporter. c was resolved (Config.resolve): its defaults are applied and
// it is valid.
func newStream(r *Recorder, c TCPConfig) (*stream, error) {
	intake, queue := c.BufferSize, c.BufferSize
	switch {
	case c.BufferSize == 0:
		intake, queue = DefaultTCPBuffer, DefaultTCPBuffer
	case c.BufferSize < 0:
		intake, queue = unlimitedBuffer, -1
	}
	budget := c.SnapshotBudget
	st := &stream{r: r, cfg: c, ring: newRing(intake), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	st.greet.init(st, budget)
	st.clock.Store(time.Now().UnixNano())
	hub, err := netio.ListenHub(netio.HubConfig{
		Addr:         c.Address,
		MaxClients:   c.MaxClients,
		ClientQueue:  queue,
		WriteTimeout: c.WriteTimeout,
		CloseTimeout: c.CloseTimeout,
		Greeting:     st.greet.greeting,
		GreetingDone: st.greet.greetingDone,
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
	st.push(event{s: s, op: op, bits: bits})
}

// push stamps e with the coarse clock and queues it, or counts it dropped when the intake is full.
func (st *stream) push(e event) {
	e.ts = st.clock.Load()
	pos, ok := st.ring.push(e)
	if !ok {
		st.intakeDrops.Add(1)
		return
	}
	if pos&(st.ring.mask>>1) == 0 {
		// Every half ring, wake the drain rather than wait for the clock's tick: the stream then
		// keeps up with bursts faster than intake size per clockResolution.
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
// sampled call's value scaled by 1/rate. A whole add streams as it is; a fractional one is carried
// by the drain (streamState.carry) until the series' running total crosses an integer.
func (st *stream) counterFloat(s *shard.Series, v float64) {
	switch {
	case !(v >= 0) || v >= 1<<64: // negative, NaN, or more than one increment_counter holds
		st.unrepr.Add(1)
	case v == math.Trunc(v):
		st.push(event{s: s, op: pb.IncrementCounter, bits: uint64(v)})
	default:
		st.push(event{s: s, op: pb.IncrementCounter, frac: true, bits: math.Float64bits(v)})
	}
}

// carryEpsilon absorbs float64 rounding in sums of decimal fractions: ten adds of 0.1 sum to
// 0.9999999999999999, which counts as the 1 that the decimal input meant. It is far below any
// fraction a DogStatsD line or sample rate makes in practice.
const carryEpsilon = 1e-9

// streamState is the counter state the drain goroutine keeps per series (in seriesRare, beside
// gaugeSent); only it touches it.
type streamState struct {
	// frac is the part of a counter's fractional adds not yet sent as an increment, in [0, 1).
	frac float64
}

// carry adds a fractional counter add v (0 < v < 2^53) to the series' fraction and returns the
// whole increment to send now, if the running total crossed an integer.
func (ss *streamState) carry(v float64) (n uint64, ok bool) {
	ss.frac += v
	whole := math.Floor(ss.frac + carryEpsilon)
	if whole < 1 {
		return 0, false
	}
	ss.frac = max(ss.frac-whole, 0)
	return uint64(whole), true
}

// setCount is the set_counter value for a counter total t: rounded down (after carryEpsilon) and
// clamped to [0, MaxUint64], never wrapped. A negative total (Add(-n) is allowed) shows as 0.
func setCount(t float64) uint64 {
	t = math.Floor(t + carryEpsilon)
	switch {
	case !(t > 0): // also NaN
		return 0
	case t >= 1<<64:
		return math.MaxUint64
	}
	return uint64(t)
}

// flushed returns the float64 bits of the counter total the flusher has sent (kept with the TCP
// stream on; 0 before the series' first flush).
func (e *seriesExt) flushed() uint64 {
	if m := e.rare.Load(); m != nil {
		return m.total.Load()
	}
	return 0
}

// counterTotal is a counter's total since the recorder started: what the flusher has sent (a
// float64, fractional adds included) plus what is pending, whole and fractional. A flush of the
// series between the loads would count its interval twice, so the flushed total is read on both
// sides and the read retried when it moved. That leaves the flusher's own window between its swap
// of the cells and its store of the new total, a few instructions, where the interval is missed.
func counterTotal(s *shard.Series, ext *seriesExt) float64 {
	for try := 0; ; try++ {
		before := ext.flushed()
		pending := float64(s.Counter.Load()) + s.Counter.LoadFloat()
		if after := ext.flushed(); after == before || try == 3 {
			return math.Float64frombits(after) + pending
		}
	}
}

// gaugeAdd streams an add of d to a gauge, whose value after the add is now. The event carries
// both: the drain sends now (set_gauge) if it is the series' first streamed event, d otherwise.
func (st *stream) gaugeAdd(s *shard.Series, d, now float64) {
	op := pb.IncrementGauge
	if d < 0 {
		op, d = pb.DecrementGauge, -d
	}
	st.push(event{s: s, op: op, bits: math.Float64bits(d), now: math.Float64bits(now)})
}

// run ticks the coarse clock and, on every tick, drains the intake into one batch for the hub.
func (st *stream) run() {
	defer close(st.done)
	t := time.NewTicker(clockResolution)
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

// maxDrainPass bounds the events one drain pass takes, whatever the intake size: with an
// unlimited BufferSize (a 1 Mi-event intake) a pass still makes batches of at most ~1.5 MB.
const maxDrainPass = 1 << 14

// drain encodes what is queued, at most one intake's worth (and maxDrainPass) of events, into one
// contiguous batch, each event once, and hands it to the hub, which writes the same bytes to every
// client. It returns the number of events.
//
// The bound is what keeps a flood from starving clients: recorders refill the intake as fast as
// one goroutine empties it, so a pass that ran until the intake was empty would never end, its
// batch would grow without limit and never be broadcast, and stop (Close) would never be seen.
// Events a pass leaves behind wait for the next wake-up, at most clockResolution later.
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
	for budget := min(len(st.ring.slots), maxDrainPass); budget > 0; budget-- {
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
		ext := extOf(e.s)
		m = pb.Metric{
			Name:      e.s.Name(),
			Seconds:   e.ts / 1e9,
			Nanos:     int32(e.ts % 1e9),
			Labels:    ext.labels(e.s),
			Op:        e.op,
			ValidUTF8: true, // names and tags are sanitized to ASCII
		}
		switch {
		case e.frac:
			n, ok := ext.more().streamed.carry(math.Float64frombits(e.bits))
			if !ok {
				continue // below the next integer: nothing to send yet
			}
			m.Uint = n
		case e.op == pb.IncrementCounter || e.op == pb.SetCounter:
			m.Uint = e.bits
		case e.op == pb.IncrementGauge || e.op == pb.DecrementGauge:
			if rare := ext.more(); !rare.gaugeSent {
				m.Op, m.Float = pb.SetGauge, math.Float64frombits(e.now)
				rare.gaugeSent = true
			} else {
				m.Float = math.Float64frombits(e.bits)
			}
		case e.op == pb.SetGauge:
			m.Float = math.Float64frombits(e.bits)
			ext.more().gaugeSent = true
		default:
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
	st.metaVer++
	if st.hub.Active() {
		// Clients connected now get it through the drain; later ones through the greeting. A client
		// connecting at this very moment may get it both ways, which is harmless.
		st.pending = append(st.pending, md)
		st.hasPend.Store(true)
	}
	st.metaMu.Unlock()
}

// appendMetadata appends a frame for every described metric. The caller holds metaMu.
func (st *stream) appendMetadata(frames []byte, ends []int) ([]byte, []int) {
	for i := range st.meta {
		frames = pb.AppendMetadataFrame(frames, &st.meta[i])
		ends = append(ends, len(frames))
	}
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
	case KindHistogram, KindDistribution, KindTiming:
		return pb.Histogram
	}
	return pb.Counter
}
