package agent

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

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
	// Listen lists the addresses to receive on: "udp://host:port" or "unixgram:///path" (the socket
	// file is created with mode 0660 and removed on Close). Empty means DefaultListen.
	Listen []string
	// Readers is the number of reader goroutines per address (on Linux, for UDP, as many sockets
	// sharing the port with SO_REUSEPORT). Zero means GOMAXPROCS.
	Readers int
	// RecvBuffer is the SO_RCVBUF asked for, in bytes; the kernel may grant less (Stats reports
	// what it granted). Zero means 8 MiB.
	RecvBuffer int
	// MaxForward bounds, in bytes, the lines forwarded upstream unaggregated (events, service
	// checks and lines with a "|T" timestamp) held until the next flush; past it they are dropped
	// and counted. Zero means DefaultMaxForward.
	MaxForward int
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
}

// Intake receives DogStatsD datagrams and records them. Create it with Recorder.Listen; Close
// stops it. A malformed line is counted by reason and skipped; the rest of its datagram is used.
//
// What each line becomes: counters add value/rate; gauges set their value, or add to it when the
// value has a leading '+' or '-' (statsd's relative gauges: "-3|g" subtracts 3; to set a negative
// value, set 0 first — the Datadog Agent instead reads "-3|g" as a set); "ms" and "h" are histograms exported as Config.Histograms says; "d" stays a
// distribution; "s" counts distinct members per interval. A line's container ID ("|c:") keeps its
// series apart and is sent upstream with it. Lines with a "|T" timestamp, events ("_e{...}") and
// service checks ("_sc|...") are forwarded upstream unchanged at the next flush. Every other
// ingested sample also goes to the TCP stream (counter increments, set_gauge or
// increment/decrement_gauge, record_histogram); sets, events, service checks and timestamped
// lines do not: the stream has no such types, and a timestamped sample is not aggregated here.
type Intake struct {
	r       *Recorder
	readers []*netio.Reader
	max     int

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
	in := &Intake{r: r, max: cfg.MaxForward}
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
		var parsers []*statsd.Parser
		parser := func(i int) *statsd.Parser {
			// One parser per reader goroutine, made on first use: Parser is not safe for
			// concurrent use, and readers never share one.
			mu.Lock()
			defer mu.Unlock()
			for len(parsers) <= i {
				parsers = append(parsers, new(statsd.Parser))
			}
			return parsers[i]
		}
		var from *netio.Reader
		if i := takeover(prev, taken, a); i >= 0 {
			from, taken[i] = prev[i], true
		}
		rd, err := listenReader(from, a, netio.ReaderConfig{Readers: cfg.Readers, RecvBuffer: cfg.RecvBuffer},
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
	})
	return err
}

// handle runs on a reader goroutine for each batch of datagrams.
func (in *Intake) handle(p *statsd.Parser, dgs [][]byte) {
	var lines uint64
	for _, d := range dgs {
		for len(d) > 0 {
			var line []byte
			if i := bytes.IndexByte(d, '\n'); i >= 0 {
				line, d = d[:i], d[i+1:]
			} else {
				line, d = d, nil
			}
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if len(line) == 0 {
				continue
			}
			lines++
			in.line(p, line)
		}
	}
	in.datagrams.Add(uint64(len(dgs)))
	in.lines.Add(lines)
}

func (in *Intake) line(p *statsd.Parser, line []byte) {
	kind, smp, err := p.Parse(line)
	if err != nil {
		in.parseError(err)
		return
	}
	if kind != statsd.KindMetric || smp.Timestamp > 0 {
		// Events, service checks and samples the client timestamped go upstream as they came.
		in.forward(line)
		return
	}
	r := in.r
	tags := smp.Tags
	switch smp.Type {
	case statsd.Counter:
		s := r.reg.LookupIn(smp.Container, shard.KindCounter, smp.Name, 0, tags)
		if s == nil {
			return
		}
		rate := rateOrOne(smp.Rate)
		err = smp.Values(func(v float64, _ bool) {
			v /= rate
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				s.Counter.AddShared(int64(v))
			} else {
				s.Counter.AddFloat(v)
			}
			if st := r.live(); st != nil {
				st.counterFloat(s, v)
			}
		})
		r.after(s)
	case statsd.Gauge:
		s := r.reg.LookupIn(smp.Container, shard.KindGauge, smp.Name, 0, tags)
		if s == nil {
			return
		}
		err = smp.Values(func(v float64, relative bool) {
			st := r.live()
			if relative {
				now := s.Gauge.Add(v)
				if st != nil {
					st.gaugeAdd(s, v, now)
				}
				return
			}
			s.Gauge.Set(v)
			if st != nil {
				st.publish(s, pb.SetGauge, math.Float64bits(v))
			}
		})
		r.after(s)
	case statsd.Timing, statsd.Histogram, statsd.Distribution:
		k := shard.KindHistogram
		if smp.Type == statsd.Distribution {
			k = shard.KindDistribution
		}
		s := r.reg.LookupIn(smp.Container, k, smp.Name, normRate(smp.Rate), tags)
		if s == nil {
			return
		}
		err = smp.Values(func(v float64, _ bool) { r.observe(s, v) })
	case statsd.Set:
		s := r.reg.LookupIn(smp.Container, shard.KindSet, smp.Name, 0, tags)
		if s == nil {
			return
		}
		s.Set.Add(smp.SetValue())
		r.after(s)
	}
	if err != nil {
		in.parseError(err)
	}
}

// normRate keeps a rate in (0, 1) and makes every other value "unsampled".
func normRate(r float64) float64 {
	if r > 0 && r < 1 {
		return r
	}
	return 0
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
	RecvBuffer     int               // SO_RCVBUF granted by the kernel (smallest over sockets)
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
		if st.RecvBuffer == 0 || rs.RecvBuffer < st.RecvBuffer {
			st.RecvBuffer = rs.RecvBuffer
		}
	}
	return st
}
