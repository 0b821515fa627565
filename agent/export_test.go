package agent

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/statshard/statshard/wire/statsd"
)

// lineValue returns the value of the one line starting with prefix.
func lineValue(t *testing.T, lines []string, prefix string) float64 {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			v, _, _ := strings.Cut(strings.TrimPrefix(l, prefix), "|")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no line starts with %q in %q", prefix, lines)
	return 0
}

func TestFlushEncodesEveryKind(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{Quantiles: []float64{0.5, 0.99}}})
	q := r.Histogram("q")
	for i := 1; i <= 1000; i++ {
		q.Observe(float64(i))
	}
	r.Count("req", 2, "env:prod", "az:b")
	r.Count("req", 3, "az:b", "env:prod") // another tag order: same series
	r.GaugeSet("temp", 0)                 // zero is a real value
	r.GaugeSet("level", 1.5, "x:y")
	r.GaugeAdd("level", 1, "x:y")
	r.SetAdd("users", "alice")
	r.SetAdd("users", "bob")
	r.SetAdd("users", "alice")
	for _, v := range []float64{1, 2, 3, 4} {
		r.Observe("lat", v)
	}
	r.ObserveDistribution("size", 7, "k:v")
	r.Flush()
	lines := s.take()
	// Quantiles come from the sketch: within 1% of the exact rank value.
	for _, want := range []struct {
		prefix string
		v      float64
	}{{"lat.median:", 2}, {"lat.p99:", 3}, {"q.median:", 500}, {"q.p99:", 990}} {
		v := lineValue(t, lines, want.prefix)
		if math.Abs(v-want.v) > 0.01*want.v {
			t.Errorf("%s%v, want %v within 1%%", want.prefix, v, want.v)
		}
	}
	lines = slices.DeleteFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "q.") || strings.HasPrefix(l, "lat.median") || strings.HasPrefix(l, "lat.p99")
	})
	assertLines(t, lines, []string{
		"req:5|c|#az:b,env:prod",
		"temp:0|g",
		"level:2.5|g|#x:y",
		"users:alice|s",
		"users:bob|s",
		"lat.count:4|c",
		"lat.sum:10|g",
		"lat.avg:2.5|g",
		"lat.min:1|g",
		"lat.max:4|g",
		"size:7|d|#k:v",
	})

	// Nothing recorded: counters with zero deltas, untouched gauges and empty histograms are skipped.
	r.Flush()
	assertLines(t, s.take(), nil)
}

func TestResendGauges(t *testing.T) {
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{ResendGauges: true}})
	r.Gauge("never.set") // a handle alone sends nothing
	r.GaugeSet("g", 3)
	r.Flush()
	assertLines(t, s.take(), []string{"g:3|g"})
	r.Flush()
	assertLines(t, s.take(), []string{"g:3|g"})
}

func TestGlobalTagsOwnTagWins(t *testing.T) {
	r, s := newTestRecorder(t, Config{Tags: []string{"env:staging", "region:eu"}, Prefix: "app."})
	r.Count("hits", 1, "env:prod")
	r.Count("misses", 1)
	r.Flush()
	assertLines(t, s.take(), []string{
		"app.hits:1|c|#env:prod,region:eu",
		"app.misses:1|c|#env:staging,region:eu",
	})
}

func TestSanitizing(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	r.Count("http request|count", 1, "Path:/Home Page", "bad|tag:x")
	r.Count("!!!", 1) // no valid character: dropped and counted
	r.SetAdd("ids", "a|b:c\nd")
	r.Flush()
	assertLines(t, s.take(), []string{
		"http_request_count:1|c|#bad_tag:x,path:/home_page",
		"ids:a_b_c_d|s",
	})
	if got := r.Stats().InvalidNames; got != 1 {
		t.Errorf("InvalidNames = %d, want 1", got)
	}
}

func TestOptions(t *testing.T) {
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{ContainerID: "abc", Timestamps: true, MultiValue: true}})
	r.Count("c", 1)
	r.GaugeSet("g", 2)
	d := r.Distribution("d")
	d.Observe(1)
	d.Observe(2)
	r.Flush()
	lines := s.take()
	if len(lines) != 3 {
		t.Fatalf("got %q, want 3 lines", lines)
	}
	// Sorted: c, d, g. Counters and gauges carry the flush time; distributions do not.
	for _, l := range []string{lines[0], lines[2]} {
		if want := "|c:abc|T"; !strings.Contains(l, want) {
			t.Errorf("line %q lacks %q", l, want)
		}
	}
	if got := lines[1]; got != "d:1:2|d|c:abc" && got != "d:2:1|d|c:abc" {
		t.Errorf("distribution line = %q, want d:1:2|d|c:abc (any order)", got)
	}
}

// TestBeginSetsEveryField: begin assigns the line template field by field (see begin), so a field
// it forgets would carry the last series' value into the next line. Every field of a template
// left full of another line's values must come out as a fresh literal would have it.
func TestBeginSetsEveryField(t *testing.T) {
	r, _ := newTestRecorder(t, Config{})
	c := r.Counter("c", "k:v")
	e := r.exp
	l := &e.line
	v := reflect.ValueOf(l).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("stale")
		case reflect.Float64:
			f.SetFloat(0.5)
		case reflect.Int64:
			f.SetInt(42)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
			if f.CanInt() {
				f.SetInt(3)
			} else {
				f.SetUint(3)
			}
		default:
			t.Fatalf("statsd.Line.%s is a %s: teach this test (and begin) about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	got := *e.begin(c.s, extOf(c.s), statsd.Counter, "")
	tags, _ := extOf(c.s).wire(c.s)
	want := statsd.Line{Name: "c", Type: statsd.Counter, Tags: tags}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("begin over a stale template: got %+v, want %+v", got, want)
	}
}
