package agent

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
	"github.com/statshard/statshard/wire/statsd"
)

// Recorder records metrics into sharded lock-free storage and exports their aggregates on an
// interval. Create one with New; the zero value is not usable. All methods are safe for concurrent
// use. Close flushes what is pending and stops the exporter.
type Recorder struct {
	cfg *resolved
	reg *shard.Registry
	exp *exporter
	// stream is nil unless TCP.Enabled; it never changes after New, so recorders read it without
	// synchronization.
	stream *stream

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}

	// Names the canonicalizer rejected; invalid values are counted by the exporter.
	invalidNames atomic.Uint64

	// Every intake Listen started, closed ones included, for Stats.
	intakesMu sync.Mutex
	intakes   []*Intake
}

// CheckConfig reports whether New would accept cfg, without starting anything.
func CheckConfig(cfg Config) error {
	_, err := cfg.resolve()
	return err
}

// New returns a running Recorder. Its flush goroutine exports every cfg.Interval until Close.
// It fails only for an invalid configuration; an unreachable DogStatsD server is not an error
// (the exporter counts what it cannot send and keeps trying).
func New(cfg Config) (*Recorder, error) {
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	for _, w := range rc.warnings {
		rc.logger.Warn("statshard: environment variable ignored", "name", w.name, "value", w.value, "want", w.want)
	}
	r := &Recorder{
		cfg:  rc,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	r.reg = shard.New(shard.Config{
		MaxSeries:  rc.MaxSeries,
		Expiry:     rc.Expiry,
		MaxSetSize: rc.MaxSetSize,
		NewSeries:  newSeries,
	}, r.canon)
	if r.exp, err = newExporter(rc); err != nil {
		return nil, err
	}
	if rc.TCP.Enabled {
		if r.stream, err = newStream(r, rc.TCP); err != nil {
			r.exp.close()
			return nil, err
		}
	}
	go r.run()
	return r, nil
}

func (r *Recorder) run() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush()
		case <-r.stop:
			return
		}
	}
}

// Flush exports everything recorded since the previous flush now, without waiting for the
// interval. Flushes are serialized.
func (r *Recorder) Flush() { r.exp.flush(r) }

// Close stops the interval flush, flushes what is pending and closes the exporter's socket. It
// waits for the recorder's goroutines. Recording after Close is harmless but is never exported.
func (r *Recorder) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		r.Flush()
		err = r.exp.close()
		if r.stream != nil {
			if serr := r.stream.close(); err == nil {
				err = serr
			}
		}
	})
	return err
}

// TCPAddr returns the address the TCP exporter listens on, or "" when it is off. With a port of
// 0 in TCP.Address, this is where the kernel's choice shows.
func (r *Recorder) TCPAddr() string {
	if r.stream == nil {
		return ""
	}
	return r.stream.addr()
}

// series is a recorder's series: the registry's and the recorder's data about it (seriesExt), in
// one allocation. Every series of a recorder's registry is one: the registry makes each of them
// with newSeries (shard.Config.NewSeries), the overflow series included.
type series struct {
	shard.Series
	ext seriesExt
}

// extOf returns the recorder's data about s, a series of the recorder's registry.
func extOf(s *shard.Series) *seriesExt { return &(*series)(unsafe.Pointer(s)).ext }

// newSeries is the registry's shard.Config.NewSeries: a series and the recorder's data about it,
// from the Spec canon made (its Owner is the export plan, a *histPlan, nil for other kinds).
func newSeries(spec shard.Spec) *shard.Series {
	x := new(series)
	x.ext.plan, _ = spec.Owner.(*histPlan)
	if n := len(spec.Tags); n > 0 && strings.HasPrefix(spec.Tags[n-1], cardOption) {
		x.ext.rare.Store(&seriesRare{card: true}) // canon put the option last
	}
	return &x.Series
}

// seriesExt is what the recorder keeps about each series, beside it: 16 bytes, so that with the
// series it is one 144-byte object. What only some series need is in seriesRare, made on first
// use (a gauge's "ever set" is its cell's, shard.Gauge.EverSet).
type seriesExt struct {
	rare atomic.Pointer[seriesRare] // see more
	plan *histPlan                  // histogram/distribution/timing export, nil for other kinds
}

// seriesRare is the per-series state that only some series need: counters that saw a fraction,
// series with a cardinality option, and, with the TCP stream on, counters (their flushed total)
// and the series the stream has sent. Each field has one owner, as noted.
type seriesRare struct {
	// Updated by the flusher with the TCP stream on, read by new TCP clients' snapshots: float64
	// bits of the counter total flushed so far.
	total atomic.Uint64
	// card is set when the series' last canonical tag is a cardinality option (see canon); set
	// before the series is published and never changed.
	card bool
	// The series' tags as TCP stream labels, sorted by key: made on first use by the stream (see
	// labels), so that a recorder without TCP clients does not keep them for every series.
	streamLabels atomic.Pointer[[]pb.Label]
	// The flusher's own: the fraction of a fractional counter not sent yet (see exporter.emit).
	carry    float64
	streamed streamState // owned by the TCP stream's drain goroutine
	// gaugeSent, owned by the drain goroutine, is set once a gauge event of the series has been
	// streamed. Until then an add is streamed as set_gauge of the value after it: a series
	// re-created after idle expiry starts again from 0, while an observer still shows the expired
	// series' value and would add an increment to it. (A handle that outlives expiry revives its
	// own series, value and state kept.) Later adds stream as increments, which stay right
	// whatever order concurrent adds reach the intake in.
	//
	// The one race left: adds racing on a series' very first events can reach the intake in
	// another order than they updated the gauge. When an add that updated the gauge first is
	// queued after one that updated it later, the set_gauge carries a value that already includes
	// the first add, which then streams as an increment too: the observer is off by that add until
	// the gauge is next set.
	gaugeSent bool
}

// more returns the series' seriesRare, made on first use. Concurrent first uses keep one.
func (e *seriesExt) more() *seriesRare {
	if m := e.rare.Load(); m != nil {
		return m
	}
	e.rare.CompareAndSwap(nil, new(seriesRare))
	return e.rare.Load()
}

// wire returns the series' tags as its lines carry them, joined by ',', and the cardinality its
// option asks for ("" for the recorder's). Both are parts of the registry's joined tags.
func (e *seriesExt) wire(s *shard.Series) (tags, card string) {
	tags = s.JoinedTags()
	if m := e.rare.Load(); m == nil || !m.card {
		return tags, ""
	}
	i := strings.LastIndexByte(tags, '|') // the option's; no tag holds a '|' (see cardOption)
	return tags[:max(i-1, 0)], tags[i+len(cardOption):]
}

// labels returns the series' tags as TCP stream labels, made on first use. Concurrent first
// uses make equal slices; one is kept.
func (e *seriesExt) labels(s *shard.Series) []pb.Label {
	m := e.more()
	if p := m.streamLabels.Load(); p != nil {
		return *p
	}
	var ls []pb.Label
	if tags, _ := e.wire(s); tags != "" {
		ls = labelsOf(strings.Split(tags, ","))
	}
	m.streamLabels.CompareAndSwap(nil, &ls)
	return *m.streamLabels.Load()
}

// canon is the registry's slow path: sanitize, prefix, merge global tags, sort, and plan the export.
func (r *Recorder) canon(kind shard.Kind, name string, tags []string) (shard.Spec, error) {
	clean, _, err := statsd.SanitizeName(name)
	if err != nil {
		r.invalidNames.Add(1)
		r.logInvalid(name, err)
		return shard.Spec{}, err
	}
	ct := make([]string, 0, len(tags)+len(r.cfg.global))
	card := ""
	for _, t := range tags {
		if c, ok := cutCardOption(t); ok {
			// A cardinality option, not a tag; an unknown value asks for nothing.
			if c != "" {
				card = c
			}
			continue
		}
		c, _, err := statsd.SanitizeTag(t)
		if err != nil {
			// A tag with no valid character is dropped, not the whole value.
			continue
		}
		ct = append(ct, c)
	}
	for _, g := range r.cfg.global {
		k := statsd.TagKey(g)
		if !slices.ContainsFunc(ct[:len(ct):len(ct)], func(t string) bool { return statsd.TagKey(t) == k }) {
			ct = append(ct, g)
		}
	}
	slices.Sort(ct)
	ct = slices.Compact(ct)
	if card != "" {
		// Part of the series' identity, not of its tags on the wire: it sorts last ('|' > 'z').
		ct = append(ct, cardOption+card)
	}
	var p *histPlan
	switch kind {
	case shard.KindHistogram:
		p = r.cfg.matcher.plan(clean)
	case shard.KindDistribution:
		p = distributionPlan
	case shard.KindTiming:
		p = timingPlan
	}
	// The name limit holds for the name on the wire: Prefix, name and the longest suffix the
	// series' lines add (".count", ".p999", ".bucket", ...) together.
	full := r.cfg.Prefix + clean
	if n := statsd.MaxNameLen - p.maxSuffix(); len(full) > n {
		full = full[:n]
	}
	spec := shard.Spec{Name: full, Tags: ct, Owner: p}
	if p != nil {
		switch {
		case p.mode == HistogramSummary:
			spec.Sketch = true
		case p.mode == HistogramBuckets:
			spec.Bounds = p.bounds
		case r.cfg.Histograms.SketchDistributions:
			spec.Sketch = true
		default:
			spec.Reservoir = r.cfg.resSize
		}
	}
	return spec, nil
}

var invalidLogged atomic.Uint64

// logInvalid logs a rejected name, at most a few times per process so hostile input cannot
// flood the log; Stats counts every rejection.
func (r *Recorder) logInvalid(name string, err error) {
	if invalidLogged.Add(1) <= 10 {
		r.cfg.logger.Warn("statshard: metric name rejected", "name", name, "err", err)
	}
}

// Description is what Describe records about a metric. Its zero value describes a counter with
// no unit and no text.
type Description struct {
	// Kind is the metric's kind; the TCP stream reports counters, gauges and histograms (a set or
	// a distribution is reported as a histogram or a counter: see pbType).
	Kind Kind
	// Unit is the unit of the values ("seconds", "bytes"); empty for none.
	Unit string
	// Text says what the metric measures.
	Text string
}

// Describe records what a metric is. It is sent to TCP stream clients as metadata, to those
// connected now and to every client that connects later. A name that has no valid character is
// counted in Stats.InvalidNames and ignored.
func (r *Recorder) Describe(name string, d Description) {
	if r.stream == nil {
		return
	}
	clean, _, err := statsd.SanitizeName(name)
	if err != nil {
		r.invalidNames.Add(1)
		return
	}
	r.stream.describe(pb.Metadata{
		Name:           r.cfg.Prefix + clean,
		Type:           pbType(d.Kind),
		Unit:           d.Unit,
		HasUnit:        d.Unit != "",
		Description:    d.Text,
		HasDescription: d.Text != "",
	})
}

// String describes the recorder for logs.
func (r *Recorder) String() string {
	return fmt.Sprintf("statshard recorder (interval %v, %d series)", r.cfg.Interval, r.reg.Len())
}
