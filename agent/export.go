package agent

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/netio"
	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/statsd"
)

// exporter turns a flush into DogStatsD payloads and sends them. Its state is owned by the flush,
// which mu serializes.
type exporter struct {
	cfg    *resolved
	writer *netio.Writer // nil when Statsd.Writer is used or Address is "off"

	// Pipelining: while the flush encodes, a sender goroutine sends the payloads already packed,
	// so encoding and the send syscalls overlap on two cores (see handoff). nil without a socket.
	sendq    chan *batch
	sentq    chan *batch
	sendDone chan struct{}
	free     []*batch // batches not in flight
	inflight int
	handed   int    // payloads of the packer's current chunk handed off
	spare    []byte // with Statsd.Writer or Address "off": the chunk packed before the current one

	mu       sync.Mutex
	closed   bool
	buf      []byte // the flush buffer, kept between flushes (see releaseBuf)
	used     [4]int // bytes the last flushes used, to decide when to release buf
	packer   statsd.Packer
	visit    func(*shard.Series) bool
	scratch  []byte
	payloads [][]byte
	hsnap    shard.HistogramSnapshot
	bsnap    shard.BucketsSnapshot
	rsnap    shard.ReservoirSnapshot
	weighted []weightedValue // a distribution's sample being sent
	groups   valueGroups
	vals     []float64 // the values of one multi-value line
	setVals  []string
	line     statsd.Line
	now      int64
	prevTel  Stats  // telemetry counters as last sent
	failing  bool   // upstream state, for logging once per change
	reason   string // why it is failing (upstreamReason), while failing
	// The registry's fold and cap-drop counts at the last flush, and whether that interval had
	// any, for logging when the cardinality caps start to act (see logCaps).
	folds, capDrops   uint64
	folding, dropping bool

	rt *runtimeStats // Config.RuntimeMetrics state (runtime.go), made by the first flush that needs it
	// events are the events and service checks waiting for the next flush (see Recorder.Event).
	events eventQueue

	fwdMu    sync.Mutex
	fwd      []byte // forwarded lines, each followed by '\n', waiting for the next flush
	fwdSpare []byte
	fwdMax   int

	flushes       atomic.Uint64
	lines         atomic.Uint64
	tooLong       atomic.Uint64
	setDrops      atomic.Uint64
	invalidValues atomic.Uint64
	writeErrs     atomic.Uint64
	lastFlushNs   atomic.Int64
}

func newExporter(c *resolved) (*exporter, error) {
	e := &exporter{cfg: c}
	e.packer.Max = c.maxPkt
	e.events.max = c.MaxEvents
	if e.events.max <= 0 {
		e.events.max = DefaultMaxEvents
	}
	if c.Statsd.Writer == nil && c.addr.Network != "" {
		w, err := netio.NewWriter(c.addr, netio.WriterConfig{
			ResolveInterval: c.Statsd.ResolveInterval,
			WriteTimeout:    c.Statsd.WriteTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("agent: statsd exporter: %w", err)
		}
		e.writer = w
		const depth = 4
		e.sendq = make(chan *batch, depth)
		e.sentq = make(chan *batch, depth)
		e.sendDone = make(chan struct{})
		for range depth {
			e.free = append(e.free, &batch{payloads: make([][]byte, 0, handoffBatch)})
		}
		go e.sender()
	}
	return e, nil
}

// handoffBatch is how many packed payloads go to the sender at a time: one sendmmsg call's worth.
const handoffBatch = 64

// chunkSlack is what a packing chunk holds beyond a batch of full payloads: what the series packed
// last adds past the batch before the next handoff, up to a full reservoir's lines (~70 KiB).
const chunkSlack = 128 << 10

// batch is payloads handed to the sender and the chunk of the flush buffer they are slices of.
// The flush packs into one chunk at a time and rotates to another after each batch (see
// statsd.Packer.Rotate), so a flush's memory is the chunks in flight, not every line it sends: a
// single buffer grown to hold 3.6 M distribution lines (250 MB) spent more time in growslice's
// copies than in encoding.
type batch struct {
	payloads [][]byte
	chunk    []byte
}

// sender sends the batches the flush hands off and gives them back for reuse.
func (e *exporter) sender() {
	defer close(e.sendDone)
	for b := range e.sendq {
		e.writer.Write(b.payloads)
		clear(b.payloads)
		b.payloads = b.payloads[:0]
		e.sentq <- b
	}
}

func (e *exporter) close() error {
	e.mu.Lock()
	e.closed = true // a Flush after Close sends nothing
	e.mu.Unlock()
	e.events.close()
	if e.writer != nil {
		close(e.sendq)
		<-e.sendDone
		return e.writer.Close()
	}
	return nil
}

// handoff gives the sender the payloads packed so far once they make a batch, and packing goes on
// in the chunk of a batch already sent. Without a socket, the payloads go to Statsd.Writer now, or
// nowhere with Address "off". Called between series.
func (e *exporter) handoff() {
	if e.packer.NumClosed()-e.handed < handoffBatch {
		return
	}
	if e.sendq == nil {
		closed, _ := e.packer.Closed(e.payloads[:0], e.handed)
		e.writePayloads(closed)
		clear(closed)
		e.handed = 0
		e.spare = e.packer.Rotate(e.chunkFor(e.spare))
		return
	}
	var b *batch
	if n := len(e.free); n > 0 {
		b, e.free = e.free[n-1], e.free[:n-1]
	} else {
		b = <-e.sentq // all batches in flight: wait for one, which paces encoding to sending
		e.inflight--
	}
	b.payloads, _ = e.packer.Closed(b.payloads, e.handed)
	e.handed = 0
	b.chunk = e.packer.Rotate(e.chunkFor(b.chunk))
	e.inflight++
	e.sendq <- b
}

// chunkFor returns a chunk to pack into: c emptied, or a new one the size of a batch of payloads
// and chunkSlack.
func (e *exporter) chunkFor(c []byte) []byte {
	if cap(c) == 0 {
		return make([]byte, 0, handoffBatch*e.cfg.maxPkt+chunkSlack)
	}
	return c[:0]
}

// writePayloads writes payloads to Statsd.Writer, each with a final '\n'; it does nothing without
// one (Address "off").
func (e *exporter) writePayloads(payloads [][]byte) {
	w := e.cfg.Statsd.Writer
	if w == nil {
		return
	}
	for _, p := range payloads {
		e.scratch = append(append(e.scratch[:0], p...), '\n')
		if _, err := w.Write(e.scratch); err != nil {
			e.writeErrs.Add(1)
		}
	}
}

// settle waits until the sender has sent every batch handed off.
func (e *exporter) settle() {
	for e.inflight > 0 {
		e.free = append(e.free, <-e.sentq)
		e.inflight--
	}
}

// flush walks the registry, encodes every series that has something to say, packs the lines into
// payloads and sends them with as few syscalls as the writer can manage.
func (e *exporter) flush(r *Recorder) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	start := time.Now()
	e.now = start.Unix()

	// One buffer holds every line of the flush; the packer slices payloads straight out of it and
	// the writer hands those slices to sendmmsg, so nothing is copied after encoding.
	e.packer.Reset(e.buf[:0])
	e.handed = 0
	var before netio.WriterStats
	if e.writer != nil {
		before = e.writer.Stats()
	}
	if e.visit == nil {
		e.visit = func(s *shard.Series) bool {
			active := e.emit(s)
			e.handoff()
			return active
		}
	}
	r.reg.Flush(e.visit)
	e.emitForwarded()
	if e.cfg.Telemetry {
		e.emitTelemetry(r)
	}
	if e.cfg.RuntimeMetrics {
		e.emitRuntime()
	}
	e.lines.Add(uint64(e.packer.Lines()))
	e.tooLong.Add(uint64(e.packer.Dropped()))
	e.payloads = e.packer.Payloads(e.payloads[:0])
	// Events and service checks go last, each in a datagram of its own: a receiver that does not
	// take them (statsd_exporter) loses no metric line with them. With Address "off" there is
	// nowhere to send them: they are counted as dropped, not as sent.
	if e.writer != nil || e.cfg.Statsd.Writer != nil {
		e.payloads = e.events.take(e.payloads)
	} else {
		e.events.discard()
	}
	e.send(e.payloads[e.handed:], before)
	e.logCaps(r)
	clear(e.payloads)
	e.keepBuf(e.packer.Bytes())
	e.packer.Reset(nil)
	e.flushes.Add(1)
	e.lastFlushNs.Store(int64(time.Since(start)))
}

// logCaps logs the first interval in which new keys fold into overflow series past MaxSeries,
// and the first in which keys are dropped because the overflow series themselves are at their cap
// (their values lost): once per stretch of intervals in which it goes on, so that a flood logs
// once, not at every flush. Stats counts every fold and drop.
func (e *exporter) logCaps(r *Recorder) {
	st := r.reg.Stats()
	folds, drops := st.Folds-e.folds, st.CapDropped-e.capDrops
	e.folds, e.capDrops = st.Folds, st.CapDropped
	if folds > 0 && !e.folding {
		maxSeries := cmp.Or(e.cfg.MaxSeries, shard.DefaultMaxSeries)
		e.cfg.logger.Warn("statshard: the cardinality cap is reached: new series fold into their name's "+
			shard.OverflowTag+" series", "max_series", maxSeries, "folded", folds, "series", st.Series)
	}
	if drops > 0 && !e.dropping {
		e.cfg.logger.Warn("statshard: the overflow series are at their cap: recordings of new series are dropped",
			"max_overflow", shard.DefaultMaxOverflow, "dropped", drops)
	}
	e.folding, e.dropping = folds > 0, drops > 0
}

// setForwardLimit sets how many bytes of forwarded lines may wait for a flush.
func (e *exporter) setForwardLimit(n int) {
	e.fwdMu.Lock()
	e.fwdMax = n
	e.fwdMu.Unlock()
}

// forward queues a line to go upstream unchanged at the next flush; false when the queue is full.
func (e *exporter) forward(line []byte) bool {
	e.fwdMu.Lock()
	defer e.fwdMu.Unlock()
	if len(e.fwd)+len(line)+1 > e.fwdMax {
		return false
	}
	e.fwd = append(append(e.fwd, line...), '\n')
	return true
}

// emitForwarded packs the forwarded lines. Two buffers alternate so intake goes on while they are
// packed.
func (e *exporter) emitForwarded() {
	e.fwdMu.Lock()
	buf := e.fwd
	e.fwd = e.fwdSpare[:0]
	e.fwdMu.Unlock()
	for lines := buf; len(lines) > 0; {
		i := 0
		for i < len(lines) && lines[i] != '\n' {
			i++
		}
		e.packer.End(append(e.packer.Begin(), lines[:i]...))
		lines = lines[min(i+1, len(lines)):]
	}
	e.fwdMu.Lock()
	e.fwdSpare = buf[:0]
	e.fwdMu.Unlock()
}

// keepBuf keeps the flush buffer for the next flush: a steady flush allocates nothing. It is not a
// sync.Pool: the GC empties those between two flushes 10 s apart, and the buffer would be grown
// again every time. To keep a burst (a one-off flush of many series) from pinning memory forever,
// a buffer over 1 MiB that is more than 4x what the last 4 flushes used is let go.
func (e *exporter) keepBuf(b []byte) {
	copy(e.used[1:], e.used[:len(e.used)-1])
	e.used[0] = len(b)
	peak := 0
	for _, u := range e.used {
		peak = max(peak, u)
	}
	if cap(b) > 1<<20 && cap(b) > 4*peak {
		b = nil
	}
	e.buf = b[:0]
}

// send sends the payloads not handed off yet, waits for the sender, and logs a change of the
// upstream's state since before.
func (e *exporter) send(payloads [][]byte, before netio.WriterStats) {
	if w := e.cfg.Statsd.Writer; w != nil {
		e.writePayloads(payloads)
		if f, ok := w.(interface{ Flush() error }); ok {
			if err := f.Flush(); err != nil {
				e.writeErrs.Add(1)
			}
		}
		return
	}
	if e.writer == nil {
		return
	}
	e.settle()
	if len(payloads) > 0 {
		e.writer.Write(payloads)
	}
	after := e.writer.Stats()
	// A UDP upstream that is not listening shows as "unreachable" reports, not drops: the kernel
	// took the datagrams. Either way the upstream is failing, and that is logged once per change
	// of state, a change of reason included; it has recovered only when a flush sent datagrams
	// and none failed (a flush with nothing to send says nothing).
	dropped := after.Dropped > before.Dropped || after.Unreachable > before.Unreachable
	switch {
	case dropped:
		err := e.writer.Err()
		if reason := upstreamReason(err); !e.failing || reason != e.reason {
			e.failing, e.reason = true, reason
			e.cfg.logger.Warn("statshard: DogStatsD upstream is dropping payloads",
				"addr", e.cfg.addr.String(), "reason", reason, "err", fmt.Sprint(err),
				"dropped", after.Dropped-before.Dropped, "unreachable", after.Unreachable-before.Unreachable,
				"refused", after.Refused-before.Refused, "no_destination", after.NoDestination-before.NoDestination,
				"would_block", after.WouldBlock-before.WouldBlock)
		}
	case e.failing && after.Datagrams > before.Datagrams:
		e.failing, e.reason = false, ""
		e.cfg.logger.Info("statshard: DogStatsD upstream recovered", "addr", e.cfg.addr.String(),
			"sent", after.Datagrams-before.Datagrams)
	}
}

// begin prepares the shared line template for a series.
func (e *exporter) begin(s *shard.Series, ext *seriesExt, typ statsd.Type, suffix string) *statsd.Line {
	l := &e.line
	tags, card := ext.wire(s)
	// Field by field, not `*l = statsd.Line{...}`: the compiler clears a composite literal with
	// wide vector stores before it writes the fields, and the encoder's loads of the fields left
	// zero (Rate, External) right after could not be forwarded from those stores, a stall on
	// each of them: 17 % of a 10k-series flush's CPU in a profile.
	l.Name, l.Suffix, l.Type, l.Tags = s.Name(), suffix, typ, tags
	l.Rate, l.ExtraTag, l.Timestamp = 0, "", 0
	l.Container, l.External, l.Cardinality = e.cfg.Statsd.ContainerID, e.cfg.external, e.cfg.card
	if card != "" {
		l.Cardinality = card
	}
	if ns := s.Namespace(); ns != "" {
		// The origin a DogStatsD client sent with the line (see originKey).
		l.Container, l.External, l.Cardinality = splitOrigin(ns)
	}
	if e.cfg.Statsd.Timestamps && (typ == statsd.Counter || typ == statsd.Gauge) {
		l.Timestamp = e.now
	}
	return l
}

func (e *exporter) putInt(l *statsd.Line, v int64) {
	e.packer.End(statsd.AppendInt(e.packer.Begin(), l, v))
}

func (e *exporter) putFloat(l *statsd.Line, v float64) {
	if !statsd.Valid(v) {
		e.invalidValues.Add(1)
		return
	}
	e.packer.End(statsd.AppendFloat(e.packer.Begin(), l, v))
}

// emit is the registry's flush visitor: it snapshots one series and encodes what it has.
func (e *exporter) emit(s *shard.Series) bool {
	ext := extOf(s)
	switch s.Kind() {
	case shard.KindCounter:
		d, f := s.Counter.Swap(), s.Counter.SwapFloat()
		if d == 0 && f == 0 {
			return false
		}
		if e.cfg.TCP.Enabled {
			// The running total is for the TCP stream's snapshots alone (counterTotal); its
			// store is a locked instruction per counter per flush.
			t := &ext.more().total
			t.Store(math.Float64bits(math.Float64frombits(t.Load()) + float64(d) + f))
		}
		rare := ext.rare.Load()
		if f == 0 && (rare == nil || rare.carry == 0) {
			e.putInt(e.begin(s, ext, statsd.Counter, ""), d)
			return true
		}
		// Fractional counts (a sampled call weighs n/rate; the intake receives "0.5|c") are sent
		// as whole numbers, the fraction carried to the next flush: receivers that keep counters
		// as integers (telegraf) then read the same totals as the others, exact to within 1.
		if rare == nil {
			rare = ext.more()
		}
		x := float64(d) + f + rare.carry
		n := math.Trunc(x)
		rare.carry = x - n
		if n != 0 {
			e.putFloat(e.begin(s, ext, statsd.Counter, ""), n)
		}
		return true
	case shard.KindGauge:
		v, touched := s.Gauge().Swap()
		if touched || (e.cfg.Statsd.ResendGauges && s.Gauge().EverSet()) {
			e.putFloat(e.begin(s, ext, statsd.Gauge, ""), v)
		}
		return touched
	case shard.KindSet:
		var dropped uint64
		e.setVals, dropped = s.Set().Swap(e.setVals[:0])
		e.setDrops.Add(dropped)
		for _, v := range e.setVals {
			e.packer.End(statsd.AppendSetValue(e.packer.Begin(), e.begin(s, ext, statsd.Set, ""), v))
		}
		active := len(e.setVals) > 0 || dropped > 0
		clear(e.setVals)
		return active
	default:
		return e.emitHistogram(s, ext)
	}
}

func (e *exporter) emitHistogram(s *shard.Series, ext *seriesExt) bool {
	p := ext.plan
	switch b, res, h := s.Buckets(), s.Reservoir(), s.Histogram(); {
	case b != nil:
		b.Swap(&e.bsnap)
		e.invalidValues.Add(e.bsnap.Invalid)
		if e.bsnap.Count == 0 {
			return e.bsnap.Invalid > 0
		}
		for i := range p.leTags {
			c := e.bsnap.Cumulative(i)
			if c == 0 {
				continue
			}
			l := e.begin(s, ext, statsd.Counter, ".bucket")
			l.ExtraTag = p.leTags[i]
			e.putUint(l, c)
		}
		e.putSumCount(s, ext, e.bsnap.Sum, e.bsnap.Count)
		return true
	case res != nil:
		r := &e.rsnap
		res.Swap(r)
		e.invalidValues.Add(r.Invalid)
		if r.Count == 0 {
			return r.Invalid > 0
		}
		e.putSamples(e.begin(s, ext, p.sampleType(), ""), r)
		return true
	case h != nil:
		h.Swap(&e.hsnap)
		e.invalidValues.Add(e.hsnap.Invalid)
		if e.hsnap.Count == 0 {
			return e.hsnap.Invalid > 0
		}
		if p.mode != HistogramSummary {
			// A sketched distribution: one line per bin, weighted by the bin's count.
			e.hsnap.Bins(func(v float64, n uint64) {
				e.putWeighted(e.begin(s, ext, p.sampleType(), ""), v, n)
			})
			return true
		}
		h := &e.hsnap
		if p.datadog {
			// The Datadog Agent's histogram lines: no .sum, no .min.
			e.putUint(e.begin(s, ext, statsd.Counter, ".count"), h.Count)
			e.putFloat(e.begin(s, ext, statsd.Gauge, ".avg"), h.Sum/float64(h.Count))
			e.putFloat(e.begin(s, ext, statsd.Gauge, ".max"), h.Max)
		} else {
			e.putSumCount(s, ext, h.Sum, h.Count)
			for _, g := range [...]struct {
				suffix string
				v      float64
			}{{".avg", h.Sum / float64(h.Count)}, {".min", h.Min}, {".max", h.Max}} {
				e.putFloat(e.begin(s, ext, statsd.Gauge, g.suffix), g.v)
			}
		}
		for _, q := range p.quantiles {
			e.putFloat(e.begin(s, ext, statsd.Gauge, q.suffix), h.Quantile(q.q))
		}
		return true
	}
	return false
}

func (e *exporter) putUint(l *statsd.Line, v uint64) {
	e.packer.End(statsd.AppendUint(e.packer.Begin(), l, v))
}

// putSumCount sends name.count as a counter and name.sum as a gauge. Both are already weighted:
// a sampled observation was recorded as the number of values it stands for.
func (e *exporter) putSumCount(s *shard.Series, ext *seriesExt, sum float64, count uint64) {
	e.putUint(e.begin(s, ext, statsd.Counter, ".count"), count)
	e.putFloat(e.begin(s, ext, statsd.Gauge, ".sum"), sum)
}

// maxWeightLines bounds the lines one weighted value may take: a weight past
// maxWeightLines·statsd.MaxWeight (2.7e11 values behind one sampled value, which only absurd
// sample rates produce) is not sent past that, and the rest is counted as invalid.
const maxWeightLines = 64

// putWeighted sends the value v standing for n values: with the rate statsd.RateFor(n), which
// every receiver that honours rates turns back into exactly n, in lines of at most
// statsd.MaxWeight each.
func (e *exporter) putWeighted(l *statsd.Line, v float64, n uint64) {
	e.eachWeight(n, func(w uint64) {
		l.Rate = statsd.RateFor(w)
		e.putFloat(l, v)
	})
}

// eachWeight splits a weight n into line weights of at most statsd.MaxWeight, and at most
// maxWeightLines of them.
func (e *exporter) eachWeight(n uint64, line func(w uint64)) {
	for i := 0; n > 0; i++ {
		if i == maxWeightLines {
			e.invalidValues.Add(1)
			return
		}
		w := min(n, statsd.MaxWeight)
		line(w)
		n -= w
	}
}

// putSamples sends a reservoir's sample, each value weighted by what it stands for, several
// values per line when MultiValue is on (values of one weight share a line).
//
// When the reservoir kept every observation, each value goes with the weight it was recorded with
// (1 unless sampled), and receivers read the interval exactly. When it kept a uniform sample,
// each kept observation stands for Observations/len of them: its recorded weight is scaled by
// Count/(the sample's total weight) and rounded to an integer by systematic rounding, so that the
// weights sent add up to Count exactly. Receivers then read the interval's count exactly and its
// distribution from a uniform sample.
func (e *exporter) putSamples(l *statsd.Line, r *shard.ReservoirSnapshot) {
	ws := e.weighted[:0]
	same := true
	if !r.Sampled() {
		for i, v := range r.Values {
			ws = append(ws, weightedValue{v, uint64(r.Weights[i])})
			same = same && r.Weights[i] == r.Weights[0]
		}
	} else {
		var kept uint64
		for _, w := range r.Weights {
			kept += uint64(w)
		}
		scale := float64(r.Count) / float64(kept)
		// Systematic rounding: weight i is floor(u + cum_i) - floor(u + cum_{i-1}) with one random
		// offset u, which sums to Count exactly (the last cumulative sum is Count) and gives each
		// value its scaled weight on average. Every scaled weight is at least 1, so none is 0.
		u, cum, prev := rand.Float64(), 0.0, uint64(0)
		for i, w := range r.Weights {
			cum += float64(w) * scale
			next := uint64(u + cum)
			if i == len(r.Weights)-1 {
				next = r.Count // no floating-point residue in the total
			}
			ws = append(ws, weightedValue{r.Values[i], next - prev})
			same = same && next-prev == ws[0].w
			prev = next
		}
	}
	if n := len(ws); n > 1 && e.cfg.Statsd.MultiValue {
		// Only with MultiValue: a receiver that takes DogStatsD 1.1 lines honours rates on |d
		// (the Datadog Agent, statsd_exporter); telegraf reads a |d line as one point whatever
		// its rate, so without MultiValue every observation keeps its own line.
		ws = e.groups.merge(ws)
		if len(ws) < n {
			same = true
			for _, x := range ws {
				same = same && x.w == ws[0].w
			}
		}
	}
	e.weighted = ws
	if !e.cfg.Statsd.MultiValue {
		for _, x := range ws {
			e.putWeighted(l, x.v, x.w)
		}
		return
	}
	if !same {
		slices.SortFunc(ws, func(a, b weightedValue) int { return cmp.Compare(a.w, b.w) })
	}
	// Pack as many values of one weight per line as surely fit: 24 bytes is the longest value
	// AppendNumber writes.
	overhead := len(l.Name) + len(l.Suffix) + len(l.Tags) + len(l.Container) + len(l.External) + len(l.Cardinality) + 64
	per := max((e.cfg.maxPkt-overhead)/25, 1)
	for len(ws) > 0 {
		k := 1
		for k < len(ws) && k < per && ws[k].w == ws[0].w {
			k++
		}
		e.vals = e.vals[:0]
		for _, x := range ws[:k] {
			e.vals = append(e.vals, x.v)
		}
		e.eachWeight(ws[0].w, func(w uint64) {
			l.Rate = statsd.RateFor(w)
			e.packer.End(statsd.AppendFloats(e.packer.Begin(), l, e.vals))
		})
		ws = ws[k:]
	}
}

// weightedValue is a distribution value and the number of values it stands for.
type weightedValue struct {
	v float64
	w uint64
}

// valueGroups merges the equal values of a distribution's sample, so that a value observed k
// times in an interval goes out once with weight k (at rate 1/k, which receivers that honour
// rates on |d read back as exactly k values) instead of k times. Nothing is approximated: the
// values and their counts are those observed. Distributions of integers (sizes, counts,
// milliseconds) repeat values often; continuous ones pay a hash probe per value. Used with
// StatsdConfig.MultiValue only (see putSamples).
type valueGroups struct {
	keys []uint64 // float64 bits + 1 of the value at each slot; 0 is free
	at   []int32  // the slot's index in the merged sample
}

// merge returns ws with its equal values merged, in first-seen order, summing their weights.
func (g *valueGroups) merge(ws []weightedValue) []weightedValue {
	size := 1 << bits.Len(uint(2*len(ws)-1))
	if cap(g.keys) < size {
		g.keys, g.at = make([]uint64, size), make([]int32, size)
	}
	keys, at := g.keys[:size], g.at[:size]
	clear(keys)
	mask := uint64(size - 1)
	out := 0
	for _, x := range ws {
		k := math.Float64bits(x.v) + 1
		i := (k * 0x9E3779B97F4A7C15) >> 32 & mask
		for keys[i] != 0 && keys[i] != k {
			i = (i + 1) & mask
		}
		if keys[i] == k {
			ws[at[i]].w += x.w
			continue
		}
		keys[i], at[i] = k, int32(out)
		ws[out] = x
		out++
	}
	return ws[:out]
}
