// Package peertest runs real DogStatsD receivers for integration tests and reads back what they
// received: prometheus/statsd_exporter through its /metrics page ([Start]), and telegraf's statsd
// input through a JSON lines file ([StartTelegraf]).
//
// It is imported only by _test.go files and uses the standard library only, so it adds nothing to
// go.mod. Every receiver it starts listens on loopback (and, for the exporter, optionally a unix
// socket in a temporary directory) and is stopped when the test ends.
//
// Usage:
//
//	func TestSend(t *testing.T) {
//		e := peertest.Start(t, peertest.Options{})
//		c, err := net.Dial("udp", e.UDPAddr)
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer c.Close()
//		c.Write([]byte("req.count:3|c|#env:prod"))
//		e.WaitFor(t, 5*time.Second, func(m peertest.Metrics) bool {
//			v, _ := m.Get("req_count", "env", "prod")
//			return v == 3
//		})
//	}
//
// The exporter binary comes from $STATSD_EXPORTER or $PATH (see [Binary]), telegraf from $TELEGRAF
// or $PATH (see [TelegrafBinary]); tests skip when one is missing unless STATSHARD_REQUIRE_PEERS=1,
// as in CI, makes them fail instead.
//
// statsd_exporter turns '.' in names into '_', DogStatsD tags into labels, counters into
// cumulative Prometheus counters (it rejects negative increments), gauges into gauges, and
// timers, histograms and distributions into summaries unless [Options.MappingConfig] asks for
// histograms. Timer values in ms are exported in seconds. A leading '+' or '-' makes a gauge
// relative. A sampled timer, histogram or distribution value is recorded int(1/rate) times, so a
// rate whose inverse falls just below an integer (1/93 parsed back is 92.99...) loses one. It has no
// sets: a set line is a sample error (statsd_exporter_sample_errors_total reason "malformed_value"
// for a non-numeric member, "illegal_event" for a numeric one) and nothing is exported. It reads
// DogStatsD 1.1 multi-value lines ("name:1:2|d"), drops "|T" timestamps, and makes "|c:<id>" a
// container_id label.
//
// Each [StatsdExporter] exposes the probe gauges used to detect readiness
// (peertest_probe_<pid>_<n>{transport="udp"|"unixgram"}); assertions should name the series they
// expect rather than count all series.
//
// [Telegraf] documents how telegraf maps DogStatsD (integer counters, relative signed gauges,
// distributions one point per value with the rate ignored, no unix datagram socket) and the
// cumulative configuration that makes its latest point of a series that series' total:
//
//	tg := peertest.StartTelegraf(t, peertest.TelegrafOptions{})
//	// ... send "req.count:3|c|#env:prod" to tg.UDPAddr ...
//	tg.WaitFor(t, 5*time.Second, func(m *peertest.TelegrafMetrics) bool {
//		p, _ := m.Last("req_count", "env", "prod")
//		v, _ := p.Int("value")
//		return v == 3
//	})
//
// The functions that take a testing.TB call t.Fatal and t.Skip, so call them from the test's
// own goroutine. Metrics values are plain maps and are not safe for concurrent writes; a
// TelegrafMetrics is an immutable snapshot, and one Telegraf may serve parallel subtests.
package peertest
