package agent

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

	descMu sync.RWMutex
	descs  map[string]Description

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}

	// Names the canonicalizer rejected; invalid values are counted by the exporter.
	invalidNames atomic.Uint64
}

// CheckConfig reports whether New would accept cfg, without starting anything.
func CheckConfig(cfg Config) error {
	rc, err := cfg.resolve()
	if err != nil {
		return err
	}
	if rc.TCP.Enabled {
		if rc.TCP.MaxClients < 0 {
			return fmt.Errorf("agent: negative TCP.MaxClients %d", rc.TCP.MaxClients)
		}
		if rc.TCP.WriteTimeout < 0 || rc.TCP.CloseTimeout < 0 {
			return fmt.Errorf("agent: negative TCP timeout")
		}
	}
	return nil
}

// New returns a running Recorder. Its flush goroutine exports every cfg.Interval until Close.
// It fails only for an invalid configuration; an unreachable DogStatsD server is not an error
// (the exporter counts what it cannot send and keeps trying).
func New(cfg Config) (*Recorder, error) {
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		cfg:   rc,
		descs: map[string]Description{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	r.reg = shard.New(shard.Config{
		MaxSeries:  rc.MaxSeries,
		Expiry:     rc.Expiry,
		MaxSetSize: rc.MaxSetSize,
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

// seriesExt is what the recorder attaches to each series at creation.
type seriesExt struct {
	tags   string     // canonical tags joined with ',' for the wire
	labels []pb.Label // the same tags as TCP stream labels, sorted by key
	plan   *histPlan  // histogram/distribution export, nil for other kinds
	// Updated by the flusher, read by new TCP clients' snapshots.
	total    atomic.Uint64 // float64 bits of the counter total flushed so far; the flusher writes it
	gaugeSet atomic.Bool   // gauge set at least once
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
	for _, t := range tags {
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
	ext := &seriesExt{tags: string(statsd.AppendTags(nil, ct)), labels: labelsOf(ct)}
	spec := shard.Spec{Name: r.cfg.Prefix + clean, Tags: ct, Ext: ext}
	switch kind {
	case shard.KindHistogram, shard.KindDistribution:
		p := r.cfg.matcher.plan(clean)
		if kind == shard.KindDistribution {
			p = &histPlan{mode: Distribution}
		}
		ext.plan = p
		switch {
		case p.mode == Summary:
			spec.Sketch = true
		case p.mode == Buckets:
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

// Description is what Describe records about a metric.
type Description struct {
	Kind        Kind
	Unit        string
	Description string
}

// Describe records a metric's kind, unit (e.g. "seconds", "bytes"; empty for none) and
// description. They are sent to TCP stream clients as metadata, to those connected now and to
// every client that connects later, and returned by Described.
func (r *Recorder) Describe(name string, kind Kind, unit, description string) {
	r.descMu.Lock()
	r.descs[name] = Description{Kind: kind, Unit: unit, Description: description}
	r.descMu.Unlock()
	if r.stream != nil {
		clean, _, err := statsd.SanitizeName(name)
		if err != nil {
			r.invalidNames.Add(1)
			return
		}
		r.stream.describe(pb.Metadata{
			Name:           r.cfg.Prefix + clean,
			Type:           pbType(kind),
			Unit:           unit,
			HasUnit:        unit != "",
			Description:    description,
			HasDescription: description != "",
		})
	}
}

// Described returns what Describe recorded for name.
func (r *Recorder) Described(name string) (Description, bool) {
	r.descMu.RLock()
	d, ok := r.descs[name]
	r.descMu.RUnlock()
	return d, ok
}

// String describes the recorder for logs.
func (r *Recorder) String() string {
	return fmt.Sprintf("statshard recorder (interval %v, %d series)", r.cfg.Interval, r.reg.Len())
}
