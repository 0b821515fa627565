package agent

import (
	"fmt"
	"math"
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
	sendq    chan [][]byte
	sentq    chan [][]byte
	sendDone chan struct{}
	free     [][][]byte // batches not in flight
	inflight int
	handed   int // payloads of the current flush handed to the sender

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
	samples  []float64
	setVals  []string
	line     statsd.Line
	now      int64
	prevTel  Stats // telemetry counters as last sent
	failing  bool  // upstream state, for logging once per change

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
		e.sendq = make(chan [][]byte, depth)
		e.sentq = make(chan [][]byte, depth)
		e.sendDone = make(chan struct{})
		for range depth {
			e.free = append(e.free, make([][]byte, 0, handoffBatch))
		}
		go e.sender()
	}
	return e, nil
}

// handoffBatch is how many packed payloads go to the sender at a time: one sendmmsg call's worth.
const handoffBatch = 64

// sender sends the batches the flush hands off and gives them back for reuse.
func (e *exporter) sender() {
	defer close(e.sendDone)
	for b := range e.sendq {
		e.writer.Write(b)
		clear(b) // do not keep the flush buffer reachable
		e.sentq <- b[:0]
	}
}

func (e *exporter) close() error {
	e.mu.Lock()
	e.closed = true // a Flush after Close sends nothing
	e.mu.Unlock()
	if e.writer != nil {
		close(e.sendq)
		<-e.sendDone
		return e.writer.Close()
	}
	return nil
}

// handoff gives the sender every full batch of payloads packed so far. Called between series.
func (e *exporter) handoff() {
	for e.packer.NumClosed()-e.handed >= handoffBatch {
		var b [][]byte
		if n := len(e.free); n > 0 {
			b, e.free = e.free[n-1], e.free[:n-1]
		} else {
			b = <-e.sentq // all batches in flight: wait for one, which paces encoding to sending
			e.inflight--
		}
		b, e.handed = e.packer.Closed(b, e.handed)
		e.inflight++
		e.sendq <- b
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
			if e.sendq != nil {
				e.handoff()
			}
			return active
		}
	}
	r.reg.Flush(e.visit)
	e.emitForwarded()
	if e.cfg.Telemetry {
		e.emitTelemetry(r)
	}
	e.lines.Add(uint64(e.packer.Lines()))
	e.tooLong.Add(uint64(e.packer.Dropped()))
	e.payloads = e.packer.Payloads(e.payloads[:0])
	e.send(e.payloads[e.handed:], before)
	clear(e.payloads)
	e.keepBuf(e.packer.Bytes())
	e.packer.Reset(nil)
	e.flushes.Add(1)
	e.lastFlushNs.Store(int64(time.Since(start)))
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
		if len(payloads) == 0 {
			return
		}
		for _, p := range payloads {
			e.scratch = append(append(e.scratch[:0], p...), '\n')
			if _, err := w.Write(e.scratch); err != nil {
				e.writeErrs.Add(1)
			}
		}
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
	// took the datagrams. Either way the upstream is failing, and that is logged once per change.
	if failing := after.Dropped > before.Dropped || after.Unreachable > before.Unreachable; failing != e.failing {
		e.failing = failing
		if failing {
			e.cfg.logger.Warn("statshard: DogStatsD upstream is dropping payloads",
				"addr", e.cfg.addr.String(), "dropped", after.Dropped-before.Dropped,
				"unreachable", after.Unreachable-before.Unreachable,
				"refused", after.Refused-before.Refused, "no_destination", after.NoDestination-before.NoDestination,
				"would_block", after.WouldBlock-before.WouldBlock)
		} else {
			e.cfg.logger.Info("statshard: DogStatsD upstream recovered", "addr", e.cfg.addr.String())
		}
	}
}

// begin prepares the shared line template for a series.
func (e *exporter) begin(s *shard.Series, ext *seriesExt, typ statsd.Type, suffix string) *statsd.Line {
	l := &e.line
	*l = statsd.Line{
		Name:      s.Name(),
		Suffix:    suffix,
		Type:      typ,
		Rate:      s.Rate(),
		Tags:      ext.tags,
		Container: e.cfg.Statsd.ContainerID,
	}
	if ns := s.Namespace(); ns != "" {
		l.Container = ns // the container ID a DogStatsD client sent with the line
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
	ext := s.Ext().(*seriesExt)
	switch s.Kind() {
	case shard.KindCounter:
		d, f := s.Counter.Swap(), s.Counter.SwapFloat()
		if d == 0 && f == 0 {
			return false
		}
		ext.total.Store(math.Float64bits(math.Float64frombits(ext.total.Load()) + float64(d) + f))
		if f == 0 {
			e.putInt(e.begin(s, ext, statsd.Counter, ""), d)
		} else {
			// Fractional counts come from the agent's intake ("1|c|@0.3" counts 3.33).
			e.putFloat(e.begin(s, ext, statsd.Counter, ""), float64(d)+f)
		}
		return true
	case shard.KindGauge:
		v, touched := s.Gauge.Swap()
		if touched && !ext.gaugeSet.Load() {
			ext.gaugeSet.Store(true)
		}
		if touched || (e.cfg.Statsd.ResendGauges && ext.gaugeSet.Load()) {
			l := e.begin(s, ext, statsd.Gauge, "")
			l.Rate = 0
			e.putFloat(l, v)
		}
		return touched
	case shard.KindSet:
		var dropped uint64
		e.setVals, dropped = s.Set.Swap(e.setVals[:0])
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
	switch {
	case s.Buckets != nil:
		s.Buckets.Swap(&e.bsnap)
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
			e.putInt(l, int64(c))
		}
		e.putSumCount(s, ext, e.bsnap.Sum, e.bsnap.Count)
		return true
	case s.Reservoir != nil:
		var count, invalid uint64
		e.samples, count, invalid = s.Reservoir.Swap(e.samples[:0])
		e.invalidValues.Add(invalid)
		if count == 0 {
			return invalid > 0
		}
		l := e.begin(s, ext, statsd.Distribution, "")
		if len(e.samples) < int(count) {
			// A uniform sample of the interval's values: each stands for count/len of them.
			l.Rate = rateOrOne(s.Rate()) * float64(len(e.samples)) / float64(count)
		}
		e.putSamples(l)
		return true
	case s.Histogram != nil:
		s.Histogram.Swap(&e.hsnap)
		e.invalidValues.Add(e.hsnap.Invalid)
		if e.hsnap.Count == 0 {
			return e.hsnap.Invalid > 0
		}
		if p.mode != Summary {
			// A sketched distribution: one weighted line per bin.
			base := rateOrOne(s.Rate())
			e.hsnap.Bins(func(v float64, n uint64) {
				l := e.begin(s, ext, statsd.Distribution, "")
				l.Rate = base / float64(n)
				if n == 1 && s.Rate() == 0 {
					l.Rate = 0
				}
				e.putFloat(l, v)
			})
			return true
		}
		h := &e.hsnap
		e.putSumCount(s, ext, h.Sum, h.Count)
		for _, g := range [...]struct {
			suffix string
			v      float64
		}{{".avg", h.Sum / float64(h.Count)}, {".min", h.Min}, {".max", h.Max}} {
			l := e.begin(s, ext, statsd.Gauge, g.suffix)
			l.Rate = 0
			e.putFloat(l, g.v)
		}
		for _, q := range p.quantiles {
			l := e.begin(s, ext, statsd.Gauge, q.suffix)
			l.Rate = 0
			e.putFloat(l, h.Quantile(q.q))
		}
		return true
	}
	return false
}

// putSumCount sends name.count as a counter (with the series' rate, so receivers scale it) and
// name.sum as a gauge already scaled by 1/rate, since receivers ignore rates on gauges.
func (e *exporter) putSumCount(s *shard.Series, ext *seriesExt, sum float64, count uint64) {
	l := e.begin(s, ext, statsd.Counter, ".count")
	e.putInt(l, int64(count))
	l = e.begin(s, ext, statsd.Gauge, ".sum")
	l.Rate = 0
	e.putFloat(l, sum/rateOrOne(s.Rate()))
}

// putSamples sends raw distribution samples, several per line when MultiValue is on.
func (e *exporter) putSamples(l *statsd.Line) {
	if !e.cfg.Statsd.MultiValue {
		for _, v := range e.samples {
			e.putFloat(l, v)
		}
		return
	}
	// Keep only valid values (the reservoir never keeps NaN/Inf, but be safe), then pack as many
	// per line as surely fit: 24 bytes is the longest value AppendNumber writes.
	overhead := len(l.Name) + len(l.Suffix) + len(l.Tags) + len(l.Container) + 40
	per := (e.cfg.maxPkt - overhead) / 25
	if per < 1 {
		per = 1
	}
	vs := e.samples
	for len(vs) > 0 {
		n := min(per, len(vs))
		e.packer.End(statsd.AppendFloats(e.packer.Begin(), l, vs[:n]))
		vs = vs[n:]
	}
}

func rateOrOne(r float64) float64 {
	if r > 0 && r < 1 {
		return r
	}
	return 1
}
