package agent

import (
	"maps"
	"math"
	"net"
	"strings"
	"testing"
)

// TestStreamConformance is the stream check: what an observer folding the stream shows equals
// what was recorded. Values go in as DogStatsD lines over real UDP loopback (the agent's intake:
// integral, fractional and sampled counters, set, relative and negative gauges, histograms and
// distributions) and through the library API; two clients decode every frame with the official
// protobuf library (protodelim into eventpb.Event) and fold it as metrics-observer does. One is
// connected from the start; the other joins late with Snapshot and must reach the same counters
// and gauges from its greeting plus the live events after it.
func TestStreamConformance(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{Snapshot: true})
	// statsd's relative gauges, so that "+1.5|g" and "-0.5|g" are adds the stream must carry.
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1, RelativeGauges: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	conn, err := net.Dial("udp", strings.TrimPrefix(in.Addrs()[0], "udp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The model of what was recorded, kept by the test from what it sends.
	counters := map[string]float64{}
	gauges := map[string]float64{}
	hists := map[string]int{}
	sent := uint64(0)
	send := func(key, line string, n int, apply func()) {
		t.Helper()
		for i := 0; i < n; i++ {
			if _, err := conn.Write([]byte(line)); err != nil {
				t.Fatalf("send %q: %v", line, err)
			}
			sent++
			apply()
		}
	}
	count := func(key, line string, n int, v float64) {
		send(key, line, n, func() { counters[key] += v })
	}
	gaugeSet := func(key, line string, v float64) { send(key, line, 1, func() { gauges[key] = v }) }
	gaugeAdd := func(key, line string, d float64) { send(key, line, 1, func() { gauges[key] += d }) }
	observe := func(key, line string, n, values int) { send(key, line, n, func() { hists[key] += values }) }
	settle := func(sentinel string) {
		t.Helper()
		waitFor(t, "the intake to read every line", func() bool { return in.Stats().Lines == sent })
		if st := in.Stats(); st.ParseErrors != 0 {
			t.Fatalf("intake parse errors: %d", st.ParseErrors)
		}
		r.Count(sentinel, 1)
	}
	want := func(hists map[string]int) *observer {
		o := newObserver()
		for k, v := range counters {
			o.counters[k] = setCount(v)
		}
		maps.Copy(o.gauges, gauges)
		maps.Copy(o.hists, hists)
		return o
	}
	check := func(who string, got, want *observer, sentinels ...string) {
		t.Helper()
		for _, s := range sentinels {
			delete(got.counters, s)
		}
		if !maps.Equal(got.counters, want.counters) {
			t.Errorf("%s: counters\ngot  %v\nwant %v", who, got.counters, want.counters)
		}
		if !maps.EqualFunc(got.gauges, want.gauges, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
			t.Errorf("%s: gauges\ngot  %v\nwant %v", who, got.gauges, want.gauges)
		}
		if !maps.Equal(got.hists, want.hists) {
			t.Errorf("%s: histogram counts\ngot  %v\nwant %v", who, got.hists, want.hists)
		}
	}

	r.Describe("req", Description{Kind: KindCounter, Text: "requests"})
	// Recorded with no client connected: nothing streams, the greeting's snapshot carries them.
	r.GaugeSet("preset", 10)
	gauges["preset"] = 10
	r.Count("before", 2)
	counters["before"] = 2
	early := dialStream(t, r, nil)
	first := newObserver()

	count("req{route=/a}", "req:1|c|#route:/a", 5, 1)
	count("req{route=/b}", "req:2|c|#route:/b", 1, 2)
	count("half", "half:0.5|c", 11, 0.5)           // 5.5: shows 5
	count("sampled", "sampled:1|c|@0.3", 4, 1/0.3) // 13.33: shows 13
	count("mixed", "mixed:1|c", 1, 1)
	count("mixed", "mixed:0.25|c", 5, 0.25) // 2.25: shows 2
	count("multi", "multi:1:2:3|c", 1, 6)
	r.Count("lib", 3) // the library path, integral adds
	r.Counter("lib").Inc()
	counters["lib"] += 4
	gaugeSet("temp", "temp:20|g", 20)
	gaugeAdd("temp", "temp:+1.5|g", 1.5)
	gaugeAdd("temp", "temp:-0.5|g", -0.5)
	gaugeSet("level", "level:0|g", 0)
	gaugeAdd("level", "level:-3|g", -3) // a negative value, as every receiver reads it
	gaugeAdd("conns", "conns:+4|g", 4)  // never set: its first event must carry 4
	r.GaugeAdd("pool", -2)
	gauges["pool"] = -2
	gaugeAdd("preset", "preset:+1|g", 1) // its first streamed event: must carry 11, not +1
	observe("lat", "lat:10|ms", 3, 1)
	observe("size", "size:1:2:3|h", 1, 3)
	observe("dist", "dist:5|d|@0.5", 2, 1) // the stream carries the observations kept, not 1/rate
	settle("end1")
	first.readUntil(t, early, "end1")
	check("early client", first, want(hists), "end1")

	// A late joiner: no event is in flight now, so its snapshot holds everything so far.
	late := dialStream(t, r, nil)
	second := newObserver()
	// The snapshot is encoded in one pass on the client's writer some time after the client is
	// registered for live events; what is recorded in between reaches it both ways (TCPConfig's
	// doc says so). Its first frames mean the encoding is done: read up to the sentinel's
	// set_counter before recording more, so the late joiner's expected state is exact.
	second.readUntil(t, late, "end1")
	lateHists := map[string]int{}
	observeBoth := func(key, line string, n, values int) {
		send(key, line, n, func() { hists[key] += values; lateHists[key] += values })
	}
	count("half", "half:0.5|c", 3, 0.5) // 7: the carried fraction completes on both clients
	count("sampled", "sampled:1|c|@0.3", 2, 1/0.3)
	count("req{route=/a}", "req:1|c|#route:/a", 1, 1)
	gaugeAdd("temp", "temp:+1|g", 1)
	gaugeAdd("level", "level:-1|g", -1)
	observeBoth("lat", "lat:10|ms", 2, 1)
	settle("end2")
	first.readUntil(t, early, "end2")
	second.readUntil(t, late, "end2")
	check("early client", first, want(hists), "end1", "end2")
	// The late joiner's histograms are the observations since it joined: a snapshot has none.
	check("late joiner", second, want(lateHists), "end1", "end2")
	if got := second.meta["req"]; got != first.meta["req"] || len(second.meta) != 1 {
		t.Errorf("late joiner metadata %v, want %v", second.meta, first.meta)
	}
	if st := r.Stats(); st.TCP.DroppedIntake+st.TCP.DroppedSlow+st.TCP.DroppedGone+st.TCP.DroppedUnrepresentable != 0 {
		t.Errorf("stream drops: %+v, want none", st)
	}
}
