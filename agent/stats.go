package agent

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/statshard/statshard/wire/statsd"
)

// Stats is the recorder's self-telemetry: what it holds, what it sent, and every drop by reason.
// Its parts mirror Config: Statsd for the DogStatsD exporter, TCP for the stream, Intake for the
// intakes the recorder's Listen started. Counters are totals since New; the fields marked as
// levels are current values. Printed with %v it reads as "name=value" pairs (see String).
//
// Every drop has one reason name, used alike by Dropped, the Prometheus exposition
// (WritePrometheus, statshard_dropped_total{reason=...}), the telemetry sent with
// Config.Telemetry (statshard.dropped, tagged reason:...) and docs/reliability.md.
type Stats struct {
	Series       int    // live series (a level)
	Created      uint64 // series created
	Expired      uint64 // series removed after Config.Expiry idle intervals
	Folds        uint64 // recordings of new keys folded into an overflow series past MaxSeries
	InvalidNames uint64 // recordings dropped: the name had no valid character
	// InvalidValues counts values dropped because DogStatsD cannot carry them: NaN and ±Inf, counter
	// sums that would be infinite, weights past 2^32, empty set members.
	InvalidValues      uint64
	DroppedCardinality uint64 // recordings dropped: even the overflow series cap was reached
	DroppedSetValues   uint64 // set members past MaxSetSize in one interval
	// SlowLookups counts lookups of spellings refused a lookup entry because their series already
	// has shard.MaxAliases spellings or shard.MaxAliasBytes of them (hostile input: names that
	// sanitize or cut alike). Each was served by the slow path; nothing was lost.
	SlowLookups uint64

	Statsd StatsdStats
	TCP    TCPStats
	Intake IntakeStats
}

// StatsdStats are the DogStatsD exporter's counters.
type StatsdStats struct {
	Flushes       uint64
	FlushDuration time.Duration // of the last flush (a level)
	Lines         uint64        // DogStatsD lines packed
	Packets       uint64        // datagrams sent
	Bytes         uint64        // payload bytes sent
	Syscalls      uint64        // send syscalls (sendmmsg batches many datagrams into one)

	DroppedTooLong    uint64 // lines longer than MaxPacketSize (never split or sent oversize), set members longer than a payload
	DroppedRefused    uint64 // datagrams refused (ECONNREFUSED: nothing listening)
	DroppedWouldBlock uint64 // datagrams dropped on a full socket buffer past WriteTimeout
	DroppedNoDest     uint64 // datagrams with no destination (missing unix socket, DNS failure)
	DroppedOther      uint64 // datagrams dropped for other send errors (see logs)
	// Unreachable counts "port unreachable" reports from a UDP upstream: each means at least one
	// datagram already sent (counted in Packets) was not received because nothing listens. A lower
	// bound: the kernel rate-limits the reports.
	Unreachable uint64
	WriteErrors uint64 // failed writes to Statsd.Writer
	// Events counts the events and service checks (Recorder.Event, Recorder.ServiceCheck) handed
	// to the sender at a flush, each as a datagram of its own (counted in Packets once sent).
	Events uint64
	// EventsDropped counts the events and service checks refused (Config.MaxEvents waiting,
	// longer than a payload, after Close), still queued at Close, or flushed with Statsd.Address
	// "off". Invalid ones are refused with an error and not counted.
	EventsDropped uint64
}

// TCPStats are the TCP stream's counters, zero when TCP is off.
type TCPStats struct {
	Clients          uint64 // connected now (a level)
	Accepted         uint64 // connections accepted
	Events           uint64 // events encoded (each once, whatever the number of clients)
	Frames           uint64 // frames delivered, summed over clients
	Bytes            uint64 // bytes delivered, summed over clients
	Writes           uint64 // write syscalls
	Rejected         uint64 // connections closed at once: MaxClients reached
	TimedOut         uint64 // clients disconnected for missing WriteTimeout
	Evicted          uint64 // clients disconnected to let a new one in: MaxClients reached, no completed write for WriteTimeout
	SnapshotsSkipped uint64 // clients greeted without their Snapshot: it would have passed SnapshotBudget

	DroppedIntake          uint64 // events dropped because the intake was full (the newest)
	DroppedSlow            uint64 // frames dropped from a full client queue (the oldest)
	DroppedGone            uint64 // frames still queued for a client that went away
	DroppedUnrepresentable uint64 // negative counter adds (or past 2^64), which the protocol cannot carry
}

// A statDef is one counter of Stats: where it lives, what it is called and what it means. stats
// is the one table that Dropped, Add, String, WritePrometheus, the telemetry and the docs test
// read, so a counter is named in one place.
type statDef struct {
	field  func(*Stats) *uint64
	reason string // a drop's reason; "" for a counter that counts no drop
	prom   string // the Prometheus name of a counter that is not a drop (drops share statshard_dropped_total)
	tel    string // the telemetry metric of a counter that is not a drop; "" for none
	help   string
	tag    string // "reason:<reason>", the telemetry tag of a drop (set by init)
}

func init() {
	for i := range stats {
		if stats[i].reason != "" {
			stats[i].tag = "reason:" + stats[i].reason
		}
	}
}

var stats = []statDef{
	{field: func(s *Stats) *uint64 { return &s.Created }, prom: "statshard_series_created_total", tel: "statshard.series.created", help: "Series created."},
	{field: func(s *Stats) *uint64 { return &s.Expired }, prom: "statshard_series_expired_total", tel: "statshard.series.expired", help: "Series removed after idle intervals."},
	{field: func(s *Stats) *uint64 { return &s.Folds }, prom: "statshard_series_folded_total", tel: "statshard.series.folds", help: "Recordings folded into an overflow series past the cardinality cap."},
	{field: func(s *Stats) *uint64 { return &s.SlowLookups }, prom: "statshard_slow_lookups_total", help: "Lookups of spellings refused a lookup entry by the per-series alias bounds."},
	{field: func(s *Stats) *uint64 { return &s.InvalidNames }, reason: "invalid_name", help: "a recording whose name has no valid character"},
	{field: func(s *Stats) *uint64 { return &s.InvalidValues }, reason: "invalid_value", help: "a value DogStatsD cannot carry: NaN, ±Inf, an infinite counter sum, a weight past 2^32, an empty set member"},
	{field: func(s *Stats) *uint64 { return &s.DroppedCardinality }, reason: "cardinality", help: "a new key past MaxSeries when MaxOverflow overflow series exist too"},
	{field: func(s *Stats) *uint64 { return &s.DroppedSetValues }, reason: "set_size", help: "a set member past MaxSetSize in one interval"},

	{field: func(s *Stats) *uint64 { return &s.Statsd.Flushes }, prom: "statshard_flushes_total", help: "Flushes."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Lines }, prom: "statshard_upstream_lines_total", tel: "statshard.lines", help: "DogStatsD lines sent upstream."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Packets }, prom: "statshard_upstream_datagrams_total", tel: "statshard.packets", help: "Datagrams sent upstream."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Bytes }, prom: "statshard_upstream_bytes_total", tel: "statshard.bytes", help: "Payload bytes sent upstream."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Syscalls }, prom: "statshard_upstream_syscalls_total", tel: "statshard.syscalls", help: "Send syscalls (sendmmsg); datagrams per call is datagrams_total / syscalls_total."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Unreachable }, prom: "statshard_upstream_unreachable_total", tel: "statshard.upstream.unreachable", help: "Port-unreachable reports from a UDP upstream: sent datagrams nobody received (a lower bound)."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.WriteErrors }, prom: "statshard_writer_errors_total", help: "Failed writes to Statsd.Writer."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.DroppedTooLong }, reason: "line_too_long", help: "a line longer than MaxPacketSize, or a set member longer than a payload"},
	{field: func(s *Stats) *uint64 { return &s.Statsd.DroppedRefused }, reason: "upstream_refused", help: "a datagram refused: nothing listens upstream (ECONNREFUSED)"},
	{field: func(s *Stats) *uint64 { return &s.Statsd.DroppedWouldBlock }, reason: "upstream_would_block", help: "a datagram dropped on a full socket buffer past WriteTimeout"},
	{field: func(s *Stats) *uint64 { return &s.Statsd.DroppedNoDest }, reason: "upstream_no_destination", help: "a datagram with no destination: a missing unix socket, a DNS failure"},
	{field: func(s *Stats) *uint64 { return &s.Statsd.DroppedOther }, reason: "upstream_other", help: "a datagram dropped for another send error (logged)"},
	{field: func(s *Stats) *uint64 { return &s.Statsd.Events }, prom: "statshard_events_sent_total", tel: "statshard.events", help: "Events and service checks handed to the sender, one datagram each."},
	{field: func(s *Stats) *uint64 { return &s.Statsd.EventsDropped }, reason: "event", help: "an event or service check refused (MaxEvents waiting, longer than a payload, after Close), still queued at Close, or flushed with Statsd.Address off"},

	{field: func(s *Stats) *uint64 { return &s.TCP.Accepted }, prom: "statshard_tcp_accepted_total", help: "Stream connections accepted."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Events }, prom: "statshard_tcp_events_total", tel: "statshard.tcp.events", help: "Events encoded for the stream."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Frames }, prom: "statshard_tcp_frames_sent_total", tel: "statshard.tcp.frames", help: "Frames delivered, summed over clients."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Bytes }, prom: "statshard_tcp_bytes_sent_total", help: "Bytes delivered, summed over clients."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Writes }, prom: "statshard_tcp_writes_total", help: "Stream write syscalls."},
	{field: func(s *Stats) *uint64 { return &s.TCP.TimedOut }, prom: "statshard_tcp_timed_out_total", help: "Stream clients disconnected for missing the write timeout."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Evicted }, prom: "statshard_tcp_evicted_total", tel: "statshard.tcp.evicted", help: "Stream clients evicted to let a new one in (no completed write for the write timeout)."},
	{field: func(s *Stats) *uint64 { return &s.TCP.SnapshotsSkipped }, prom: "statshard_tcp_snapshots_skipped_total", tel: "statshard.tcp.snapshots_skipped", help: "Stream clients greeted without their snapshot: over TCP.SnapshotBudget."},
	{field: func(s *Stats) *uint64 { return &s.TCP.Rejected }, reason: "tcp_too_many_clients", help: "a stream connection closed at once: MaxClients connected"},
	{field: func(s *Stats) *uint64 { return &s.TCP.DroppedIntake }, reason: "tcp_intake_full", help: "a stream event dropped on a full intake (the newest)"},
	{field: func(s *Stats) *uint64 { return &s.TCP.DroppedSlow }, reason: "tcp_client_slow", help: "a frame dropped from a slow client's full queue (the oldest)"},
	{field: func(s *Stats) *uint64 { return &s.TCP.DroppedGone }, reason: "tcp_client_gone", help: "a frame still queued for a client that went away"},
	{field: func(s *Stats) *uint64 { return &s.TCP.DroppedUnrepresentable }, reason: "tcp_unrepresentable", help: "a counter add the stream protocol cannot carry (negative, or past 2^64)"},

	{field: func(s *Stats) *uint64 { return &s.Intake.Datagrams }, prom: "statshard_datagrams_received_total", help: "DogStatsD datagrams received."},
	{field: func(s *Stats) *uint64 { return &s.Intake.Lines }, prom: "statshard_lines_received_total", help: "Non-empty DogStatsD lines received (statshard_upstream_lines_total counts the lines sent)."},
	{field: func(s *Stats) *uint64 { return &s.Intake.Forwarded }, prom: "statshard_forwarded_lines_total", help: "Events, service checks and timestamped lines forwarded unaggregated."},
	{field: func(s *Stats) *uint64 { return &s.Intake.Syscalls }, prom: "statshard_receive_syscalls_total", help: "Receive syscalls (recvmmsg reads many datagrams each)."},
	{field: func(s *Stats) *uint64 { return &s.Intake.ReaderPanics }, prom: "statshard_reader_panics_total", help: "Recovered panics in intake readers."},
	{field: func(s *Stats) *uint64 { return &s.Intake.Drained }, prom: "statshard_datagrams_drained_total", help: "Datagrams read from intake sockets after they stopped taking more, at a reload or shutdown (included in datagrams_received_total)."},
	{field: func(s *Stats) *uint64 { return &s.Intake.ParseErrors }, help: "Malformed lines skipped, all reasons (statshard_parse_errors_total has them by reason)."},
	{field: func(s *Stats) *uint64 { return &s.Intake.KernelDrops }, reason: "kernel_receive_buffer", help: "a datagram the kernel dropped on a full receive buffer"},
	{field: func(s *Stats) *uint64 { return &s.Intake.Truncated }, reason: "datagram_truncated", help: "a datagram longer than the receive buffer"},
	{field: func(s *Stats) *uint64 { return &s.Intake.StreamRejected }, reason: "stream_too_many_conns", help: "a unixstream intake connection closed at once: MaxStreamConns were being served"},
	{field: func(s *Stats) *uint64 { return &s.Intake.StreamTruncated }, reason: "stream_frame_too_long", help: "a unixstream frame longer than 64 KiB, skipped unread"},
	{field: func(s *Stats) *uint64 { return &s.Intake.StreamCut }, reason: "stream_frame_cut", help: "a unixstream frame whose connection ended inside it"},
	{field: func(s *Stats) *uint64 { return &s.Intake.ForwardDropped }, reason: "forward_queue_full", help: "an event, service check or timestamped line past MaxForward bytes waiting for a flush"},
}

// Drop is one reason values are dropped for, and how many were.
type Drop struct {
	Reason  string // e.g. "line_too_long"; the same name on /metrics, in telemetry and in the docs
	Meaning string // what is dropped, and when
	Count   uint64
}

// Dropped returns every drop reason with its count, zero counts included, in a fixed order.
// Malformed lines the intake skipped are counted apart, by parser reason, in
// Intake.ParseErrorsBy.
func (s Stats) Dropped() []Drop {
	var ds []Drop
	for i := range stats {
		if d := &stats[i]; d.reason != "" {
			ds = append(ds, Drop{Reason: d.reason, Meaning: d.help, Count: *d.field(&s)})
		}
	}
	return ds
}

// Add adds o's counters to s, leaving s's levels (Series, Statsd.FlushDuration, TCP.Clients,
// Intake.RecvBuffer) as they are: for a total over recorders that replaced one another, like the
// agent's pipelines across reloads.
func (s *Stats) Add(o Stats) {
	for i := range stats {
		*stats[i].field(s) += *stats[i].field(&o)
	}
	if len(o.Intake.ParseErrorsBy) > 0 {
		m := maps.Clone(s.Intake.ParseErrorsBy)
		if m == nil {
			m = map[string]uint64{}
		}
		for k, v := range o.Intake.ParseErrorsBy {
			m[k] += v
		}
		s.Intake.ParseErrorsBy = m
	}
}

// String prints the counters that are not zero as "name=value" pairs, drops by their reason.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "series=%d", s.Series)
	for i := range stats {
		d := &stats[i]
		if v := *d.field(&s); v != 0 {
			name := d.reason
			if name == "" {
				name = d.prom
				if name == "" {
					name = "statshard_parse_errors_total"
				}
				name = strings.TrimSuffix(strings.TrimPrefix(name, "statshard_"), "_total")
			} else {
				name = "dropped." + name
			}
			fmt.Fprintf(&b, " %s=%d", name, v)
		}
	}
	if s.TCP.Clients != 0 {
		fmt.Fprintf(&b, " tcp_clients=%d", s.TCP.Clients)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Intake.ParseErrorsBy)) {
		fmt.Fprintf(&b, " parse_error.%s=%d", k, s.Intake.ParseErrorsBy[k])
	}
	return b.String()
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
		DroppedCardinality: rs.CapDropped,
		DroppedSetValues:   e.setDrops.Load(),
		InvalidValues:      e.invalidValues.Load(),
		Statsd: StatsdStats{
			Flushes:        e.flushes.Load(),
			FlushDuration:  time.Duration(e.lastFlushNs.Load()),
			Lines:          e.lines.Load(),
			DroppedTooLong: e.tooLong.Load(),
			WriteErrors:    e.writeErrs.Load(),
			Events:         e.events.sent.Load(),
			EventsDropped:  e.events.dropped.Load(),
		},
		Intake: r.intakeStats(),
	}
	if e.writer != nil {
		ws := e.writer.Stats()
		st.Statsd.Packets = ws.Datagrams
		st.Statsd.Bytes = ws.Bytes
		st.Statsd.Syscalls = ws.Syscalls
		st.Statsd.DroppedRefused = ws.Refused
		st.Statsd.DroppedWouldBlock = ws.WouldBlock
		st.Statsd.DroppedNoDest = ws.NoDestination
		st.Statsd.DroppedOther = ws.Other + ws.TooLarge
		st.Statsd.Unreachable = ws.Unreachable
	}
	if sm := r.stream; sm != nil {
		hs := sm.hub.Stats()
		st.TCP = TCPStats{
			Clients:                hs.Clients,
			Accepted:               hs.Accepted,
			Events:                 sm.events.Load(),
			Frames:                 hs.Frames,
			Bytes:                  hs.Bytes,
			Writes:                 hs.Writes,
			Rejected:               hs.Rejected,
			TimedOut:               hs.TimedOut,
			Evicted:                hs.Evicted,
			SnapshotsSkipped:       sm.snapSkipped.Load(),
			DroppedIntake:          sm.intakeDrops.Load(),
			DroppedSlow:            hs.DroppedSlow,
			DroppedGone:            hs.DroppedGone,
			DroppedUnrepresentable: sm.unrepr.Load(),
		}
	}
	return st
}

// intakeStats sums the stats of every intake the recorder's Listen started, closed ones included:
// their counters through the stats table (Stats.Add), so a counter added to IntakeStats and the
// table is summed too; the levels here.
func (r *Recorder) intakeStats() IntakeStats {
	r.intakesMu.Lock()
	ins := r.intakes
	r.intakesMu.Unlock()
	var sum Stats
	for _, in := range ins {
		st := in.Stats()
		sum.Add(Stats{Intake: st})
		sum.Intake.StreamConns += st.StreamConns
		if st.RecvBuffer > 0 && (sum.Intake.RecvBuffer == 0 || st.RecvBuffer < sum.Intake.RecvBuffer) {
			sum.Intake.RecvBuffer = st.RecvBuffer
		}
	}
	if sum.Intake.ParseErrorsBy == nil {
		sum.Intake.ParseErrorsBy = map[string]uint64{}
	}
	return sum.Intake
}

// emitTelemetry appends the recorder's own counters (deltas since the last flush) and its series
// gauge. Global tags apply; the prefix does not, so every service's telemetry shares one name.
// Packets and bytes lag one flush: this flush's own sends are counted after they happen.
func (e *exporter) emitTelemetry(r *Recorder) {
	st := r.Stats()
	st.Statsd.Lines += uint64(e.packer.Lines())
	tags := string(statsd.AppendTags(nil, r.cfg.global))
	l := &e.line
	for i := range stats {
		d := &stats[i]
		name, tag := d.tel, d.tag
		if d.reason != "" {
			name = "statshard.dropped"
		}
		if name == "" {
			continue
		}
		n := *d.field(&st) - *d.field(&e.prevTel)
		if n == 0 {
			continue
		}
		*l = statsd.Line{Name: name, Type: statsd.Counter, Tags: tags, ExtraTag: tag,
			Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: r.cfg.card}
		e.putInt(l, int64(n))
	}
	*l = statsd.Line{Name: "statshard.series", Type: statsd.Gauge, Tags: tags,
		Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: r.cfg.card}
	e.putInt(l, int64(st.Series))
	e.prevTel = st
}
