package gometrics

import (
	"encoding/binary"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/statshard/statshard/agent"
)

// Sink is a go-metrics MetricSink, PrecisionGaugeMetricSink and ShutdownSink recording into a
// statshard recorder (see the package doc for the mapping). Create one with NewSink; the zero
// value is not usable.
type Sink struct {
	rec    *agent.Recorder
	seed   maphash.Seed
	shards [numShards]shard
}

var (
	_ metrics.MetricSink               = (*Sink)(nil)
	_ metrics.PrecisionGaugeMetricSink = (*Sink)(nil)
	_ metrics.ShutdownSink             = (*Sink)(nil)
)

// NewSink returns a sink recording into rec. rec stays the caller's: Shutdown flushes it but
// does not close it.
func NewSink(rec *agent.Recorder) *Sink {
	s := &Sink{rec: rec, seed: maphash.MakeSeed()}
	for i := range s.shards {
		empty := map[string]*entry{}
		s.shards[i].m.Store(&empty)
	}
	return s
}

// SetGauge sets the gauge key to val.
func (s *Sink) SetGauge(key []string, val float32) { s.gauge(key, nil).Set(float64(val)) }

// SetGaugeWithLabels sets the gauge key with labels to val.
func (s *Sink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	s.gauge(key, labels).Set(float64(val))
}

// SetPrecisionGauge sets the gauge key to val.
func (s *Sink) SetPrecisionGauge(key []string, val float64) { s.gauge(key, nil).Set(val) }

// SetPrecisionGaugeWithLabels sets the gauge key with labels to val.
func (s *Sink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	s.gauge(key, labels).Set(val)
}

// EmitKey sets the gauge key to val (see the package doc).
func (s *Sink) EmitKey(key []string, val float32) { s.gauge(key, nil).Set(float64(val)) }

// IncrCounter adds val to the counter key.
func (s *Sink) IncrCounter(key []string, val float32) { s.IncrCounterWithLabels(key, val, nil) }

// IncrCounterWithLabels adds val to the counter key with labels.
func (s *Sink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	c := s.lookup(kindCounter, key, labels).counter
	if n := int64(val); float32(n) == val {
		c.Add(n)
	} else {
		c.AddFloat(float64(val))
	}
}

// AddSample records val in the histogram key.
func (s *Sink) AddSample(key []string, val float32) { s.AddSampleWithLabels(key, val, nil) }

// AddSampleWithLabels records val in the histogram key with labels.
func (s *Sink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	s.lookup(kindHistogram, key, labels).hist.Observe(float64(val))
}

// Shutdown flushes the recorder and returns when everything recorded so far has been handed to
// the DogStatsD socket.
func (s *Sink) Shutdown() { s.rec.Flush() }

func (s *Sink) gauge(key []string, labels []metrics.Label) agent.Gauge {
	return s.lookup(kindGauge, key, labels).gauge
}

const (
	kindCounter = iota
	kindGauge
	kindHistogram
)

// entry is a cached series: the handle of its kind.
type entry struct {
	counter agent.Counter
	gauge   agent.Gauge
	hist    agent.Histogram
}

const (
	numShards = 64
	// maxShardEntries bounds each shard's cache (65,536 series in all), so that hostile or
	// unbounded key spaces cannot grow it, nor each copy-on-write insert, without bound.
	maxShardEntries = 1024
)

// shard is a copy-on-write map with a pending side: readers load the published map with one
// atomic load and never lock. A series made since the last publication is in pending, found under
// mu; pending is published (the map copied with it) once it holds a quarter of the published
// map's size, so each series is copied a few times in all rather than once per insert.
type shard struct {
	m       atomic.Pointer[map[string]*entry]
	mu      sync.Mutex
	pending map[string]*entry // guarded by mu
	_       [64 - 24]byte     // keeps shards' hot words on cache lines of their own
}

// lookup returns the series of kind, key and labels, from the cache or made and cached.
func (s *Sink) lookup(kind byte, key []string, labels []metrics.Label) *entry {
	var buf [256]byte
	b := appendKey(buf[:0], kind, key, labels)
	sh := &s.shards[maphash.Bytes(s.seed, b)%numShards]
	if e := (*sh.m.Load())[string(b)]; e != nil {
		return e
	}
	return s.slow(sh, b, kind, key, labels)
}

// slow finds a series not published yet, or makes it.
func (s *Sink) slow(sh *shard, b []byte, kind byte, key []string, labels []metrics.Label) *entry {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	published := *sh.m.Load()
	if e := published[string(b)]; e != nil {
		return e
	}
	if e := sh.pending[string(b)]; e != nil {
		return e
	}
	e := s.create(kind, key, labels)
	if len(published)+len(sh.pending) >= maxShardEntries {
		return e // not cached: the next call makes its name and tags again
	}
	if sh.pending == nil {
		sh.pending = map[string]*entry{}
	}
	sh.pending[string(b)] = e
	if len(sh.pending) >= max(8, len(published)/4) {
		m := make(map[string]*entry, len(published)+len(sh.pending))
		for k, v := range published {
			m[k] = v
		}
		for k, v := range sh.pending {
			m[k] = v
		}
		sh.m.Store(&m)
		sh.pending = nil
	}
	return e
}

// create makes a series' handle: the key joined with '.', the labels as tags.
func (s *Sink) create(kind byte, key []string, labels []metrics.Label) *entry {
	name := strings.Join(key, ".")
	tags := make([]string, 0, len(labels))
	for _, l := range labels {
		n := strings.ReplaceAll(l.Name, ":", "_")
		if l.Value == "" {
			tags = append(tags, n)
		} else {
			tags = append(tags, n+":"+l.Value)
		}
	}
	e := &entry{}
	switch kind {
	case kindCounter:
		e.counter = s.rec.Counter(name, tags...)
	case kindGauge:
		e.gauge = s.rec.Gauge(name, tags...)
	default:
		e.hist = s.rec.Histogram(name, tags...)
	}
	return e
}

// appendKey encodes kind, key and labels so that different ones never encode alike: every string
// is prefixed with its length.
func appendKey(b []byte, kind byte, key []string, labels []metrics.Label) []byte {
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(key)))
	for _, k := range key {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	for _, l := range labels {
		b = binary.AppendUvarint(b, uint64(len(l.Name)))
		b = append(b, l.Name...)
		b = binary.AppendUvarint(b, uint64(len(l.Value)))
		b = append(b, l.Value...)
	}
	return b
}
