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
	// SlowLookups counts lookups of spellings refused a lookup entry because their series already
	// has shard.MaxAliases spellings or shard.MaxAliasBytes of them (hostile input: names that
	// sanitize or cut alike). Each was served by the slow path; nothing was lost.
	SlowLookups uint64

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
	// UpstreamUnreachable counts "port unreachable" reports from a UDP upstream: each means at
	// least one datagram already sent (counted in Packets) was not received because nothing
	// listens. A lower bound: the kernel rate-limits the reports.
	UpstreamUnreachable uint64
	WriteErrors         uint64 // failed writes to Statsd.Writer

	// The TCP stream (zero when TCP is off).
	TCPClients                uint64 // connected now
	TCPAccepted               uint64 // connections accepted
	TCPEvents                 uint64 // events encoded (each once, whatever the number of clients)
	TCPFrames                 uint64 // frames delivered, summed over clients
	TCPBytes                  uint64 // bytes delivered, summed over clients
	TCPWrites                 uint64 // write syscalls (one writev per client wake-up)
	TCPRejected               uint64 // connections closed at once: MaxClients reached
	TCPTimedOut               uint64 // clients disconnected for missing WriteTimeout
	TCPDroppedIntake          uint64 // events dropped because the intake was full (the newest)
	TCPDroppedSlow            uint64 // frames dropped from a full client queue (the oldest)
	TCPDroppedGone            uint64 // frames still queued for a client that went away
	TCPDroppedUnrepresentable uint64 // negative counter adds (or past 2^64), which the protocol cannot carry
	TCPEvicted                uint64 // clients disconnected to let a new one in: MaxClients reached, no completed write for WriteTimeout
	TCPSnapshotsSkipped       uint64 // clients greeted without their Snapshot: it would have passed SnapshotBudget

	// Events counts the events and service checks (Recorder.Event, Recorder.ServiceCheck) handed
	// to the sender at a flush, each as a datagram of its own (counted in Packets once sent).
	Events uint64
	// EventsDropped counts the events and service checks refused (Config.MaxEvents waiting,
	// longer than a payload, after Close), still queued at Close, or flushed with Statsd.Address
	// "off". Invalid ones are refused with an error and not counted.
	EventsDropped uint64
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
		SlowLookups:        rs.Uncached,
		Flushes:            e.flushes.Load(),
		FlushDuration:      time.Duration(e.lastFlushNs.Load()),
		Lines:              e.lines.Load(),
		DroppedCardinality: rs.CapDropped,
		DroppedTooLong:     e.tooLong.Load(),
		DroppedSetValues:   e.setDrops.Load(),
		InvalidValues:      e.invalidValues.Load(),
		WriteErrors:        e.writeErrs.Load(),
		Events:             e.events.sent.Load(),
		EventsDropped:      e.events.dropped.Load(),
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
		st.UpstreamUnreachable = ws.Unreachable
	}
	if sm := r.stream; sm != nil {
		hs := sm.hub.Stats()
		st.TCPClients = hs.Clients
		st.TCPAccepted = hs.Accepted
		st.TCPEvents = sm.events.Load()
		st.TCPFrames = hs.Frames
		st.TCPBytes = hs.Bytes
		st.TCPWrites = hs.Writes
		st.TCPRejected = hs.Rejected
		st.TCPTimedOut = hs.TimedOut
		st.TCPDroppedIntake = sm.intakeDrops.Load()
		st.TCPDroppedSlow = hs.DroppedSlow
		st.TCPDroppedGone = hs.DroppedGone
		st.TCPDroppedUnrepresentable = sm.unrepr.Load()
		st.TCPEvicted = hs.Evicted
		st.TCPSnapshotsSkipped = sm.snapSkipped.Load()
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
	{"statshard.upstream.unreachable", "", func(s *Stats) uint64 { return s.UpstreamUnreachable }},
	{"statshard.tcp.events", "", func(s *Stats) uint64 { return s.TCPEvents }},
	{"statshard.tcp.frames", "", func(s *Stats) uint64 { return s.TCPFrames }},
	{"statshard.tcp.rejected", "", func(s *Stats) uint64 { return s.TCPRejected }},
	{"statshard.tcp.evicted", "", func(s *Stats) uint64 { return s.TCPEvicted }},
	{"statshard.tcp.snapshots_skipped", "", func(s *Stats) uint64 { return s.TCPSnapshotsSkipped }},
	{"statshard.tcp.dropped", "reason:intake_full", func(s *Stats) uint64 { return s.TCPDroppedIntake }},
	{"statshard.tcp.dropped", "reason:client_slow", func(s *Stats) uint64 { return s.TCPDroppedSlow }},
	{"statshard.tcp.dropped", "reason:client_gone", func(s *Stats) uint64 { return s.TCPDroppedGone }},
	{"statshard.tcp.dropped", "reason:unrepresentable", func(s *Stats) uint64 { return s.TCPDroppedUnrepresentable }},
	{"statshard.events", "", func(s *Stats) uint64 { return s.Events }},
	{"statshard.dropped", "reason:event", func(s *Stats) uint64 { return s.EventsDropped }},
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
		*l = statsd.Line{Name: t.name, Type: statsd.Counter, Tags: tags, ExtraTag: t.tag,
			Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: r.cfg.card}
		e.putInt(l, int64(d))
	}
	*l = statsd.Line{Name: "statshard.series", Type: statsd.Gauge, Tags: tags,
		Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: r.cfg.card}
	e.putInt(l, int64(st.Series))
	e.prevTel = st
}
