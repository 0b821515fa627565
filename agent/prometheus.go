package agent

import (
	"bufio"
	"io"
	"maps"
	"slices"
	"strconv"
)

// WritePrometheus writes s in the Prometheus text exposition format (version 0.0.4): one counter
// family per counter of Stats, statshard_dropped_total with one sample per drop reason (the
// reasons of Stats.Dropped), statshard_parse_errors_total by parser reason, and gauges for the
// levels (statshard_series, statshard_flush_duration_seconds, statshard_tcp_clients,
// statshard_recv_buffer_bytes). A process serving it may append families of its own after it.
// The agent's /metrics is this; a library user running an Intake can serve the same.
func WritePrometheus(w io.Writer, s Stats) error {
	b := bufio.NewWriter(w)
	family := func(name, typ, help string) {
		b.WriteString("# HELP ")
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(help)
		b.WriteString("\n# TYPE ")
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(typ)
		b.WriteByte('\n')
	}
	sample := func(name, label, value string, v float64) {
		b.WriteString(name)
		if label != "" {
			b.WriteByte('{')
			b.WriteString(label)
			b.WriteString(`="`)
			b.WriteString(value) // reasons are [a-z_]: nothing to escape
			b.WriteString(`"}`)
		}
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte('\n')
	}
	gauge := func(name, help string, v float64) {
		family(name, "gauge", help)
		sample(name, "", "", v)
	}

	gauge("statshard_series", "Live series.", float64(s.Series))
	gauge("statshard_flush_duration_seconds", "Duration of the last flush.", s.Statsd.FlushDuration.Seconds())
	gauge("statshard_tcp_clients", "Connected stream clients.", float64(s.TCP.Clients))
	gauge("statshard_recv_buffer_bytes", "SO_RCVBUF granted by the kernel (smallest over intake sockets).", float64(s.Intake.RecvBuffer))
	for i := range stats {
		if d := &stats[i]; d.prom != "" {
			family(d.prom, "counter", d.help)
			sample(d.prom, "", "", float64(*d.field(&s)))
		}
	}
	family("statshard_dropped_total", "counter", "Values, lines, datagrams, frames or connections dropped, by reason (docs/reliability.md says what each is).")
	for _, d := range s.Dropped() {
		sample("statshard_dropped_total", "reason", d.Reason, float64(d.Count))
	}
	family("statshard_parse_errors_total", "counter", "Malformed lines the intake skipped, by reason.")
	for _, r := range slices.Sorted(maps.Keys(s.Intake.ParseErrorsBy)) {
		sample("statshard_parse_errors_total", "reason", r, float64(s.Intake.ParseErrorsBy[r]))
	}
	return b.Flush()
}
