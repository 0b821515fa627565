package agent

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/statshard/statshard/netio"
	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
	"github.com/statshard/statshard/wire/statsd"
)

// Defaults for IntakeConfig's zero fields.
const (
	DefaultListen     = "udp://127.0.0.1:8125"
	DefaultMaxForward = 4 << 20
)

// IntakeConfig configures a DogStatsD intake: the agent's server side, which receives datagrams
// from services in any language and records them into the recorder like its own calls.
type IntakeConfig struct {
	// Listen lists the addresses to receive on: "udp://host:port" ("udp://host" means port
	// 8125), "unixgram:///path" or "unix:///path" (a Unix datagram socket), or
	// "unixstream:///path" (a Unix stream socket, each payload prefixed by its length as a
	// 4-byte little-endian integer, as datadog-go's unixstream:// sends). Socket files are created
	// with SocketMode and removed on Close. Empty means DefaultListen.
	Listen []string
	// Readers is the number of reader goroutines per address (on Linux, for UDP, as many sockets
	// sharing the port with SO_REUSEPORT). Zero means GOMAXPROCS.
	Readers int
	// RecvBuffer is the SO_RCVBUF asked for, in bytes; the kernel may grant less (Stats reports
	// what it granted). Zero means netio.DefaultRecvBuffer.
	RecvBuffer int
	// MaxForward bounds, in bytes, the lines forwarded upstream unaggregated (events, service
	// checks and lines with a "|T" timestamp) held until the next flush; past it they are dropped
	// and counted. Zero means DefaultMaxForward.
	MaxForward int
	// RelativeGauges reads a gauge value with a leading '+' or '-' as a change, as etsy statsd,
	// statsd_exporter and telegraf do ("-3|g" subtracts 3). The default, false, follows
	// DogStatsD and the Datadog Agent: every gauge value sets the gauge ("-3|g" sets -3).
	RelativeGauges bool
	// Takeover, if set, is a running intake (of this or another recorder) that the new one
	// replaces without a gap, as when a configuration is reloaded. Each address the new intake
	// shares with Takeover takes over its sockets (see netio.Reader.Handover): a unixgram socket
	// and its file are kept as they are, UDP sockets are kept and more join the port if Readers
	// grew. Until Listen returns both intakes receive, each datagram reaching one of the two
	// recorders. Once every address is bound, Listen closes Takeover, which reads what its
	// sockets no longer shared still hold (addresses dropped from Listen, or sockets past a
	// smaller Readers) into its recorder, so close that recorder after Listen returns to flush
	// them. If Listen fails, Takeover keeps running unchanged.
	Takeover *Intake
	// SocketMode is the permission of the Unix socket files; senders need write permission.
	// Zero means 0660: the owner and its group may send. (The Datadog Agent makes its socket
	// 0722, world-writable, so that containers running as any user can send; on a shared host
	// that lets any local user inject metrics, events and series into the pipeline, which is why
	// statshard leaves it to the operator to open it up, with a group or with this mode.)
	SocketMode os.FileMode
	// MaxStreamConns caps the connections a "unixstream://" address serves at once; past it a
	// connection is closed at once and counted. Zero means DefaultStreamMaxConns (256).
	MaxStreamConns int
}

// Intake receives DogStatsD datagrams and records them. Create it with Recorder.Listen; Close
// stops it. A malformed line is counted by reason and skipped; the rest of its datagram is used.
//
// What each line becomes: counters add value/rate (exactly: fractions are carried, see Counter);
// gauges set their value, signed or not, as in the Datadog Agent ("-3|g" sets -3), or with
// IntakeConfig.RelativeGauges add a signed value as statsd does; "ms" and "h" are histograms
// exported as Config.Histograms says; "d" stays a distribution; "s" counts distinct members per
// interval. A sample rate weighs a value (1/rate values) and never makes a series of its own. A
// line's origin — container ID ("|c:"), external data ("|e:") and cardinality ("|card:") — keeps
// its series apart and is sent upstream with it. Lines with a "|T" timestamp whose values are
// valid, events ("_e{...}") and service checks ("_sc|...") are forwarded upstream unchanged at
// the next flush. Every other
// ingested sample also goes to the TCP stream (counter increments, set_gauge or
// increment/decrement_gauge, record_histogram); sets, events, service checks and timestamped
// lines do not: the stream has no such types, and a timestamped sample is not aggregated here.
type Intake struct {
	r        *Recorder
	readers  []*netio.Reader
	streams  []*netio.StreamReader // "unixstream://" addresses (see listenStream)
	max      int
	relative bool

	datagrams  atomic.Uint64
	lines      atomic.Uint64
	parseErrs  sync.Map // reason -> *atomic.Uint64
	errCount   atomic.Uint64
	forwarded  atomic.Uint64
	fwdDropped atomic.Uint64

	closeOnce sync.Once
}

// Listen starts an intake on every address in cfg.Listen. It fails, closing what it opened, when an
// address is invalid or cannot be bound, or would receive the recorder's own flushes (ErrLoop,
// see CheckIntake), as the defaults would: DefaultListen is DefaultStatsdAddress.
func (r *Recorder) Listen(cfg IntakeConfig) (*Intake, error) {
	addrs, err := parseListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if err := checkLoop(r.cfg, addrs); err != nil {
		return nil, err
	}
	in := &Intake{r: r, max: cfg.MaxForward, relative: cfg.RelativeGauges}
	if in.max <= 0 {
		in.max = DefaultMaxForward
	}
	var prev []*netio.Reader
	if cfg.Takeover != nil {
		prev = cfg.Takeover.readers
	}
	taken := make([]bool, len(prev))
	for _, a := range addrs {
		var mu sync.Mutex
		var parsers []*lineParser
		parser := func(i int) *lineParser {
			// One parser per reader goroutine, made on first use: Parser is not safe for
			// concurrent use, and readers never share one.
			mu.Lock()
			defer mu.Unlock()
			for len(parsers) <= i {
				parsers = append(parsers, new(lineParser))
			}
			return parsers[i]
		}
		if a.Network == "unixstream" {
			if err := in.listenStream(a, cfg, parser); err != nil {
				in.Close()
				return nil, err
			}
			continue
		}
		var from *netio.Reader
		if i := takeover(prev, taken, a); i >= 0 {
			from, taken[i] = prev[i], true
		}
		rd, err := listenReader(from, a, netio.ReaderConfig{Readers: cfg.Readers, RecvBuffer: cfg.RecvBuffer, SocketMode: cfg.SocketMode},
			func(i int, dgs [][]byte) { in.handle(parser(i), dgs) })
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("agent: intake: %w", err)
		}
		in.readers = append(in.readers, rd)
	}
	if err := r.boundLoop(in); err != nil {
		in.Close()
		return nil, err
	}
	r.exp.setForwardLimit(in.max)
	r.intakesMu.Lock()
	r.intakes = append(r.intakes, in)
	r.intakesMu.Unlock()
	if cfg.Takeover != nil {
		if err := cfg.Takeover.Close(); err != nil {
			r.cfg.logger.Warn("statshard: closing the intake taken over", "err", err)
		}
	}
	return in, nil
}

// Addrs returns the addresses the intake listens on, with the ports the kernel chose.
func (in *Intake) Addrs() []string {
	var out []string
	for _, rd := range in.readers {
		out = append(out, rd.Addr().String())
	}
	for _, sr := range in.streams {
		out = append(out, sr.Addr().String())
	}
	return out
}

// Close stops receiving without losing what the kernel holds: each socket is first sealed (a UDP
// socket takes no more datagrams, which the kernel refuses or gives to a successor; a unixgram
// socket file is removed and senders get EPIPE), then what it still holds is read and recorded
// (Drained counts it), and the kernel's final drop count is read into Stats. Close waits for the
// reader goroutines. What was received is recorded; the recorder's next flush (or its Close) sends
// it. Sockets a successor took over (IntakeConfig.Takeover) are left to it.
func (in *Intake) Close() error {
	var err error
	in.closeOnce.Do(func() {
		for _, rd := range in.readers {
			err = errors.Join(err, rd.Close())
		}
		for _, sr := range in.streams {
			err = errors.Join(err, sr.Close())
		}
	})
	return err
}

// lineBatch is how many metric lines a reader parses before it records them, looking their series
// up together (see shard.Registry.Warm): at 100,000 series each lookup misses the caches three
// times in turn, and a batch has all its lines' misses of each step in flight at once.
const lineBatch = 16

// lineParser is one reader goroutine's parsing state: the metric lines parsed and not yet recorded.
type lineParser struct {
	n      int
	lines  [lineBatch]parsedLine
	hashes [lineBatch]uint64 // shard.HashKey of each line's key
}

// parsedLine is a metric line parsed, waiting in its batch to be recorded. Its Sample lives in its
// Parser and its strings in the datagram, so the batch is recorded before handle returns.
type parsedLine struct {
	statsd.Parser
	smp    *statsd.Sample
	ns     string // namespace of the line's origin (see Intake.origin)
	kind   shard.Kind
	origin []byte // scratch for origin keys
}

// handle runs on a reader goroutine for each batch of datagrams. Lines are recorded in the order
// they came; those that are not aggregated (events, service checks, timestamped samples, errors)
// are forwarded or counted as they are parsed, ahead of the metric lines parsed before them that
// wait in the batch, which changes nothing a receiver can tell: forwarded lines wait for the next
// flush anyway.
func (in *Intake) handle(p *lineParser, dgs [][]byte) {
	p.n = 0 // what a panic left (the reader recovers it) points into datagrams gone
	var lines uint64
	for _, d := range dgs {
		statsd.SplitLines(d, func(line []byte) {
			lines++
			in.parse(p, line)
		})
	}
	in.record(p)
	in.datagrams.Add(uint64(len(dgs)))
	in.lines.Add(lines)
}

// parse parses a line: a metric line to aggregate joins the batch, which is recorded when full;
// anything else is dealt with at once.
func (in *Intake) parse(p *lineParser, line []byte) {
	pl := &p.lines[p.n]
	kind, smp, err := pl.Parse(line)
	if err != nil {
		in.parseError(err)
		return
	}
	if kind != statsd.KindMetric {
		// Events and service checks go upstream as they came.
		in.forward(line)
		return
	}
	if smp.Timestamp > 0 {
		// A sample the client timestamped goes upstream as it came, once its values are known
		// good: upstream must not receive what this agent would reject.
		if err := checkValues(smp); err != nil {
			in.parseError(err)
			return
		}
		in.forward(line)
		return
	}
	pl.smp, pl.ns, pl.kind = smp, in.origin(pl, smp), seriesKind(smp.Type)
	p.hashes[p.n] = shard.HashKey(pl.ns, pl.kind, smp.Name, smp.Tags)
	if p.n++; p.n == lineBatch {
		in.record(p)
	}
}

// seriesKind returns the kind of series a metric type records into.
func seriesKind(t statsd.Type) shard.Kind {
	switch t {
	case statsd.Counter:
		return shard.KindCounter
	case statsd.Gauge:
		return shard.KindGauge
	case statsd.Distribution:
		return shard.KindDistribution
	case statsd.Set:
		return shard.KindSet
	}
	return shard.KindHistogram // statsd.Timing, statsd.Histogram
}

// record records the batch's lines, in order, and empties it.
func (in *Intake) record(p *lineParser) {
	in.r.reg.Warm(p.hashes[:p.n])
	for i := range p.n {
		in.sample(&p.lines[i], p.hashes[i])
	}
	p.n = 0
}

// sample records one parsed line into its series; h is its key's hash.
func (in *Intake) sample(pl *parsedLine, h uint64) {
	r, smp := in.r, pl.smp
	s := r.reg.LookupHashed(h, pl.ns, pl.kind, smp.Name, smp.Tags)
	if s == nil {
		return
	}
	var err error
	switch smp.Type {
	case statsd.Counter:
		rate := smp.Rate
		if rate >= 1 {
			rate = 0
		}
		err = smp.Values(func(v float64, _ bool) {
			if rate != 0 {
				v /= rate
			}
			r.countFloat(s, v)
		})
	case statsd.Gauge:
		err = smp.Values(func(v float64, relative bool) {
			st := r.live()
			if relative && in.relative {
				now := s.Gauge().Add(v)
				if st != nil {
					st.gaugeAdd(s, v, now)
				}
				return
			}
			s.Gauge().Set(v)
			if st != nil {
				st.publish(s, pb.SetGauge, math.Float64bits(v))
			}
		})
		r.after(s)
	case statsd.Timing, statsd.Histogram, statsd.Distribution:
		rate := smp.Rate
		if rate >= 1 {
			rate = 0
		}
		err = smp.Values(func(v float64, _ bool) { r.observeWeighted(s, v, rate) })
	case statsd.Set:
		r.setAdd(s, smp.SetValue())
	}
	if err != nil {
		in.parseError(err)
	}
}

// checkValues reports whether every value of a sample is one this agent would record.
func checkValues(smp *statsd.Sample) error {
	if smp.Type == statsd.Set {
		if smp.SetValue() == "" {
			return statsd.ErrNoValue
		}
		return nil
	}
	return smp.Values(func(float64, bool) {})
}

// origin returns the namespace that keeps a sample's series apart by origin: its container ID,
// and with origin detection's external data or cardinality, all three (see originKey). It builds
// the key in the parser's scratch space, so it does not allocate; the registry copies what it
// keeps.
func (in *Intake) origin(p *parsedLine, smp *statsd.Sample) string {
	if smp.External == "" && smp.Cardinality == "" {
		return smp.Container
	}
	p.origin = appendOrigin(p.origin[:0], smp.Container, smp.External, smp.Cardinality)
	return unsafe.String(unsafe.SliceData(p.origin), len(p.origin))
}

// originSep separates the parts of an origin key. DogStatsD fields cannot hold it: a parsed
// field ends at '|' and the parser keeps every other byte, but no client writes NUL, and
// a key holding one merely mis-splits its own origin.
const originSep = 0

// appendOrigin appends the namespace key of an origin: the container ID alone when that is all
// there is (the common case, and what the library's own series use), else the three parts
// joined by originSep. splitOrigin reverses it.
func appendOrigin(dst []byte, container, external, card string) []byte {
	dst = append(dst, container...)
	dst = append(dst, originSep)
	dst = append(dst, external...)
	dst = append(dst, originSep)
	return append(dst, card...)
}

// splitOrigin returns the parts of a namespace key made by appendOrigin, or the container ID.
func splitOrigin(ns string) (container, external, card string) {
	container, rest, ok := strings.Cut(ns, string(rune(originSep)))
	if !ok {
		return ns, "", ""
	}
	external, card, _ = strings.Cut(rest, string(rune(originSep)))
	return container, external, card
}

func (in *Intake) parseError(err error) {
	in.errCount.Add(1)
	reason := statsd.Reason(err)
	c, ok := in.parseErrs.Load(reason)
	if !ok {
		c, _ = in.parseErrs.LoadOrStore(reason, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// forward queues a line to be sent upstream unchanged at the next flush.
func (in *Intake) forward(line []byte) {
	if in.r.exp.forward(line) {
		in.forwarded.Add(1)
	} else {
		in.fwdDropped.Add(1)
	}
}

// IntakeStats are an intake's counters, totals since Listen.
type IntakeStats struct {
	Datagrams      uint64            // datagrams received
	Lines          uint64            // non-empty lines
	ParseErrors    uint64            // malformed lines (and values), all reasons
	ParseErrorsBy  map[string]uint64 // by reason ("bad_value", "bad_type", ...)
	Forwarded      uint64            // lines queued for upstream unaggregated
	ForwardDropped uint64            // of those, dropped: more than MaxForward bytes waiting
	Syscalls       uint64            // receive syscalls (recvmmsg reads many datagrams each)
	KernelDrops    uint64            // datagrams the kernel dropped: receive buffer full
	Truncated      uint64            // datagrams too long for the receive buffer, dropped
	ReaderPanics   uint64            // recovered panics in reader goroutines
	// Drained counts the datagrams, among Datagrams, that Close read from sockets it had already
	// stopped taking more (or, for a Takeover, that no successor shares): what a close that
	// dropped the sockets' buffers would have lost.
	Drained    uint64
	RecvBuffer int // SO_RCVBUF granted by the kernel (smallest over sockets)

	// StreamConns is the number of connections "unixstream://" addresses serve now (their
	// frames are counted in Datagrams, their read calls in Syscalls).
	StreamConns int
	// StreamRejected counts connections closed at once: MaxStreamConns were being served.
	StreamRejected uint64
	// StreamTruncated counts frames longer than 64 KiB, skipped unread.
	StreamTruncated uint64
	// StreamCut counts connections that ended inside a frame, whose start was dropped.
	StreamCut uint64
}

// Stats returns the intake's counters.
func (in *Intake) Stats() IntakeStats {
	st := IntakeStats{
		Datagrams:      in.datagrams.Load(),
		Lines:          in.lines.Load(),
		ParseErrors:    in.errCount.Load(),
		ParseErrorsBy:  map[string]uint64{},
		Forwarded:      in.forwarded.Load(),
		ForwardDropped: in.fwdDropped.Load(),
	}
	in.parseErrs.Range(func(k, v any) bool {
		st.ParseErrorsBy[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	for _, rd := range in.readers {
		rs := rd.Stats()
		st.Syscalls += rs.Syscalls
		st.KernelDrops += rs.KernelDrops
		st.Truncated += rs.Truncated
		st.ReaderPanics += rs.Panics
		st.Drained += rs.Drained
		if st.RecvBuffer == 0 || rs.RecvBuffer < st.RecvBuffer {
			st.RecvBuffer = rs.RecvBuffer
		}
	}
	for _, sr := range in.streams {
		ss := sr.Stats()
		st.Syscalls += ss.Reads
		st.ReaderPanics += ss.Panics
		st.StreamConns += ss.Conns
		st.StreamRejected += ss.Rejected
		st.StreamTruncated += ss.Truncated
		st.StreamCut += ss.Cut
	}
	return st
}
