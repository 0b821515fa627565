package benchmarks

import (
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"
	"github.com/statshard/statshard/agent"
)

// pusher is a DogStatsD client recorded to by name: the metric name and its tags on every call.
type pusher struct {
	name string
	// open starts the client sending to addr (host:port) over the series ss, recording kind k.
	open func(addr string, k kind, ss *seriesSet) (client, error)
}

// client is an open by-name client.
type client struct {
	// rec records the i-th call, into series j.
	rec func(j, i int)
	// flush sends what is pending now (after the warm-up), without stopping the client.
	flush func()
	// stop flushes what is pending, stops the client and returns the datagrams the client itself
	// dropped, by its own count.
	stop stopFunc
}

// stopFunc flushes and closes a client and returns its own count of the datagrams it dropped.
type stopFunc func() (drops uint64, err error)

// pushersFor returns the by-name clients measured on kind k:
//   - statshard with its defaults (statshardConfig);
//   - datadog-go's statsd.New(addr) ("datadog"), with WithClientSideAggregation ("datadog-agg")
//     and with WithExtendedClientSideAggregation ("datadog-ext"). In datadog-go v5 client-side
//     aggregation of counts, gauges and sets is on by default (defaultAggregation = true in
//     options.go), so "datadog" and "datadog-agg" are one configuration reached two ways: their
//     difference in a run is the noise;
//   - on distributions, also statshard with StatsdConfig.MultiValue ("statshard-mv"), which packs
//     a series' samples into one line as datadog-ext does;
//   - on counters, the naive fmt.Fprintf client ("fmt"): its cost is the syscall per datagram,
//     whatever the metric type, so it is measured once.
func pushersFor(k kind) []pusher {
	ps := []pusher{
		{"statshard", statshardOpener(false)},
		{"datadog", datadogOpener()},
		{"datadog-agg", datadogOpener(statsd.WithClientSideAggregation())},
		{"datadog-ext", datadogOpener(statsd.WithExtendedClientSideAggregation())},
	}
	switch k {
	case distribution:
		ps = append(ps, pusher{"statshard-mv", statshardOpener(true)})
	case counter:
		ps = append(ps, pusher{"fmt", openNaive})
	}
	return ps
}

// statshardConfig is the recorder every statshard run uses: a flush every 2 s, datadog-go's
// default aggregation interval (its client-side aggregation flushes that often), so that both
// clients send an interval's aggregates as often, and Close flushes the rest. (Until 2026-12-07
// statshard flushed every second here, twice as often as datadog-go: at 100k histogram series, 10
// summary lines per series and second for 7 to 12 observations.) Its log is discarded: the drops
// it would warn about are reported as the client-drops metric instead, and a log line in the
// middle of a benchmark's result line would hide the result from benchstat.
func statshardConfig(addr string) agent.Config {
	return agent.Config{
		Interval: 2 * time.Second,
		Statsd:   agent.StatsdConfig{Address: "udp://" + addr},
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// statshardStop closes r and returns the datagrams its exporter dropped.
func statshardStop(r *agent.Recorder) stopFunc {
	return func() (uint64, error) {
		err := r.Close()
		st := r.Stats()
		return st.Statsd.DroppedRefused + st.Statsd.DroppedWouldBlock + st.Statsd.DroppedNoDest + st.Statsd.DroppedOther, err
	}
}

// statshardOpener returns a pusher's open for statshard, with StatsdConfig.MultiValue set to mv.
func statshardOpener(mv bool) func(string, kind, *seriesSet) (client, error) {
	return func(addr string, k kind, ss *seriesSet) (client, error) {
		cfg := statshardConfig(addr)
		cfg.Statsd.MultiValue = mv
		r, err := agent.New(cfg)
		if err != nil {
			return client{}, err
		}
		return client{rec: statshardRecorder(r, k, ss), flush: r.Flush, stop: statshardStop(r)}, nil
	}
}

// statshardRecorder returns the by-name recording function of kind k over the series ss.
func statshardRecorder(r *agent.Recorder, k kind, ss *seriesSet) func(j, i int) {
	m, tags := k.metric, ss.tags
	var rec func(j, i int)
	switch k {
	case counter:
		rec = func(j, _ int) { r.Count(m, 1, tags[j]...) }
	case gauge:
		rec = func(j, i int) { r.GaugeSet(m, value(i), tags[j]...) }
	case histogram:
		rec = func(j, i int) { r.Observe(m, value(i), tags[j]...) }
	case distribution:
		rec = func(j, i int) { r.ObserveDistribution(m, value(i), tags[j]...) }
	default:
		panic("benchmarks: unknown kind " + k.name)
	}
	return rec
}

// datadogOpener returns a pusher's open for datadog-go's statsd.New with opts, each otherwise
// at its defaults (buffer flush every 100 ms, aggregation flush every 2 s, telemetry on).
func datadogOpener(opts ...statsd.Option) func(string, kind, *seriesSet) (client, error) {
	return func(addr string, k kind, ss *seriesSet) (client, error) {
		c, err := statsd.New(addr, opts...)
		if err != nil {
			return client{}, err
		}
		m, tags := k.metric, ss.tags
		var rec func(j, i int)
		// Errors are ignored as an application would: datadog-go counts its drops itself.
		switch k {
		case counter:
			rec = func(j, _ int) { _ = c.Count(m, 1, tags[j], 1) }
		case gauge:
			rec = func(j, i int) { _ = c.Gauge(m, value(i), tags[j], 1) }
		case histogram:
			rec = func(j, i int) { _ = c.Histogram(m, value(i), tags[j], 1) }
		case distribution:
			rec = func(j, i int) { _ = c.Distribution(m, value(i), tags[j], 1) }
		default:
			panic("benchmarks: unknown kind " + k.name)
		}
		stop := func() (uint64, error) {
			err := c.Close()
			return c.GetTelemetry().TotalPayloadsDropped, err
		}
		// Flush sends the aggregator's contexts and empties it, as its own 2 s flush does.
		return client{rec: rec, flush: func() { _ = c.Flush() }, stop: stop}, nil
	}
}

// openNaive is the baseline anyone can write: fmt.Fprintf of one line per call to a connected
// UDP socket, so one datagram and one write syscall per increment. It records counters only.
func openNaive(addr string, k kind, ss *seriesSet) (client, error) {
	if k != counter {
		return client{}, fmt.Errorf("benchmarks: naive client: records counters, not %ss", k.name)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return client{}, fmt.Errorf("benchmarks: naive client: %w", err)
	}
	m, joined := k.metric, ss.joined
	var errs atomic.Uint64 // a failed write is a lost datagram
	rec := func(j, _ int) {
		if _, err := fmt.Fprintf(c, "%s:%d|c|#%s", m, 1, joined[j]); err != nil {
			errs.Add(1)
		}
	}
	if ss.labels == nil {
		rec = func(int, int) {
			if _, err := fmt.Fprintf(c, "%s:%d|c", m, 1); err != nil {
				errs.Add(1)
			}
		}
	}
	stop := func() (uint64, error) { return errs.Load(), c.Close() }
	return client{rec: rec, flush: func() {}, stop: stop}, nil
}
