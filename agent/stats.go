package agent

import (
	"time"

	"github.com/statshard/statshard/wire/statsd"
)

// Stats is the recorder's self-telemetry: what it holds, what it sent, and every drop by reason.
// Counters are totals since New.
type Stats struct {
	// Series.
	Series       int    // live series
	Created      uint64 // series created
	Expired      uint64 // series removed after Config.Expiry idle intervals
	Folds        uint64 // recordings of new keys folded into an overflow series past MaxSeries
	InvalidNames uint64 // recordings dropped because the name had no valid character

	// Flushes and what they sent.
	Flushes       uint64
	FlushDuration time.Duration // of the last flush
	Lines         uint64        // DogStatsD lines packed
	Packets       uint64        // datagrams sent
	Bytes         uint64        // payload bytes sent
	Syscalls      uint64        // send syscalls (sendmmsg batches many datagrams into one)

	// Drops by reason.
	DroppedCardinality uint64 // recordings dropped: even the overflow series cap was reached
	DroppedTooLong     uint64 // lines longer than MaxPacketSize (never split or sent oversize)
	DroppedSetValues   uint64 // set members past MaxSetSize in one interval
	InvalidValues      uint64 // NaN or ±Inf values, which DogStatsD cannot carry
	DroppedRefused     uint64 // datagrams refused (ECONNREFUSED: nothing listening)
	DroppedWouldBlock  uint64 // datagrams dropped on a full socket buffer past WriteTimeout
	DroppedNoDest      uint64 // datagrams with no destination (missing unix socket, DNS failure)
	DroppedOther       uint64 // datagrams dropped for other send errors (see logs)
	WriteErrors        uint64 // failed writes to Statsd.Writer
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() Stats {
	rs := r.reg.Stats()
	e := r.exp
	st := Stats{
		Series:             rs.Series,
		Created:            rs.Created,
		Expired:            rs.Expired,
		Folds:              rs.Folds,
		InvalidNames:       r.invalidNames.Load(),
		Flushes:            e.flushes.Load(),
		FlushDuration:      time.Duration(e.lastFlushNs.Load()),
		Lines:              e.lines.Load(),
		DroppedCardinality: rs.CapDropped,
		DroppedTooLong:     e.tooLong.Load(),
		DroppedSetValues:   e.setDrops.Load(),
		InvalidValues:      e.invalidValues.Load(),
		WriteErrors:        e.writeErrs.Load(),
	}
	if e.writer != nil {
		ws := e.writer.Stats()
		st.Packets = ws.Datagrams
		st.Bytes = ws.Bytes
		st.Syscalls = ws.Syscalls
		st.DroppedRefused = ws.Refused
		st.DroppedWouldBlock = ws.WouldBlock
		st.DroppedNoDest = ws.NoDestination
		st.DroppedOther = ws.Other + ws.TooLarge
	}
	return st
}

// telemetry lists the Stats counters sent as "statshard.*" DogStatsD counters, with their reason tag.
var telemetry = []struct {
	name, tag string
	get       func(*Stats) uint64
}{
	{"statshard.series.created", "", func(s *Stats) uint64 { return s.Created }},
	{"statshard.series.expired", "", func(s *Stats) uint64 { return s.Expired }},
	{"statshard.series.folds", "", func(s *Stats) uint64 { return s.Folds }},
	{"statshard.lines", "", func(s *Stats) uint64 { return s.Lines }},
	{"statshard.packets", "", func(s *Stats) uint64 { return s.Packets }},
	{"statshard.bytes", "", func(s *Stats) uint64 { return s.Bytes }},
	{"statshard.syscalls", "", func(s *Stats) uint64 { return s.Syscalls }},
	{"statshard.dropped", "reason:invalid_name", func(s *Stats) uint64 { return s.InvalidNames }},
	{"statshard.dropped", "reason:cardinality", func(s *Stats) uint64 { return s.DroppedCardinality }},
	{"statshard.dropped", "reason:too_long", func(s *Stats) uint64 { return s.DroppedTooLong }},
	{"statshard.dropped", "reason:set_size", func(s *Stats) uint64 { return s.DroppedSetValues }},
	{"statshard.dropped", "reason:invalid_value", func(s *Stats) uint64 { return s.InvalidValues }},
	{"statshard.dropped", "reason:refused", func(s *Stats) uint64 { return s.DroppedRefused }},
	{"statshard.dropped", "reason:would_block", func(s *Stats) uint64 { return s.DroppedWouldBlock }},
	{"statshard.dropped", "reason:no_destination", func(s *Stats) uint64 { return s.DroppedNoDest }},
	{"statshard.dropped", "reason:other", func(s *Stats) uint64 { return s.DroppedOther }},
}

// emitTelemetry appends the recorder's own counters (deltas since the last flush) and its series
// gauge. Global tags apply; the prefix does not, so every service's telemetry shares one name.
// Packets and bytes lag one flush: this flush's own sends are counted after they happen.
func (e *exporter) emitTelemetry(r *Recorder) {
	st := r.Stats()
	st.Lines += uint64(e.packer.Lines())
	tags := string(statsd.AppendTags(nil, r.cfg.global))
	l := &e.line
	for _, t := range telemetry {
		d := t.get(&st) - t.get(&e.prevTel)
		if d == 0 {
			continue
		}
		*l = statsd.Line{Name: t.name, Type: statsd.Counter, Tags: tags, ExtraTag: t.tag, Container: r.cfg.Statsd.ContainerID}
		e.putInt(l, int64(d))
	}
	*l = statsd.Line{Name: "statshard.series", Type: statsd.Gauge, Tags: tags, Container: r.cfg.Statsd.ContainerID}
	e.putInt(l, int64(st.Series))
	e.prevTel = st
}
