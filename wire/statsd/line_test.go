package statsd

import (
	"math"
	"testing"
)

func TestAppendLine(t *testing.T) {
	type value struct {
		kind string // "int", "uint", "float", "floats"
		i    int64
		u    uint64
		f    float64
		fs   []float64
	}
	intv := func(v int64) value { return value{kind: "int", i: v} }
	tests := []struct {
		name string
		line Line
		val  value
		want string
	}{
		{"counter", Line{Name: "page.views", Type: Counter}, intv(1), "page.views:1|c"},
		{"gauge", Line{Name: "fuel.level", Type: Gauge}, value{kind: "float", f: 0.5}, "fuel.level:0.5|g"},
		{"timing", Line{Name: "req.time", Type: Timing}, value{kind: "float", f: 12.75}, "req.time:12.75|ms"},
		{"histogram", Line{Name: "song.length", Type: Histogram}, intv(240), "song.length:240|h"},
		{"distribution", Line{Name: "lat", Type: Distribution}, value{kind: "float", f: 3}, "lat:3|d"},
		{"set", Line{Name: "users.uniques", Type: Set}, intv(1234), "users.uniques:1234|s"},
		{"unknown type", Line{Name: "x", Type: 0}, intv(1), "x:1|unknown"},
		{"negative gauge", Line{Name: "delta", Type: Gauge}, intv(-7), "delta:0|g\ndelta:-7|g"}, // absolute for relative-gauge receivers too
		{"negative counter", Line{Name: "delta", Type: Counter}, intv(-7), "delta:-7|c"},
		{"min int", Line{Name: "m", Type: Gauge}, intv(math.MinInt64), "m:0|g\nm:-9223372036854775808|g"},
		{"max uint", Line{Name: "u", Type: Counter}, value{kind: "uint", u: math.MaxUint64}, "u:18446744073709551615|c"},
		{"huge float", Line{Name: "big", Type: Gauge}, value{kind: "float", f: 2.5e30}, "big:2.5e+30|g"},
		{"tiny float", Line{Name: "small", Type: Gauge}, value{kind: "float", f: 2.5e-9}, "small:2.5e-09|g"},
		{"suffix", Line{Name: "rpc.latency", Suffix: ".p99", Type: Gauge}, value{kind: "float", f: 0.25}, "rpc.latency.p99:0.25|g"},
		{"rate", Line{Name: "song.length", Type: Histogram, Rate: 0.5}, intv(240), "song.length:240|h|@0.5"},
		{"rate tiny", Line{Name: "c", Type: Counter, Rate: 1e-7}, intv(1), "c:1|c|@1e-07"},
		{"rate one", Line{Name: "c", Type: Counter, Rate: 1}, intv(1), "c:1|c"},
		{"rate above one", Line{Name: "c", Type: Counter, Rate: 2}, intv(1), "c:1|c"},
		{"rate negative", Line{Name: "c", Type: Counter, Rate: -0.5}, intv(1), "c:1|c"},
		{"rate NaN", Line{Name: "c", Type: Counter, Rate: math.NaN()}, intv(1), "c:1|c"},
		{"tags", Line{Name: "users.online", Type: Counter, Tags: "country:china,beta"}, intv(1), "users.online:1|c|#country:china,beta"},
		{"extra tag alone", Line{Name: "h.bucket", Type: Counter, ExtraTag: "le:0.5"}, intv(3), "h.bucket:3|c|#le:0.5"},
		{"extra tag after tags", Line{Name: "h.bucket", Type: Counter, Tags: "env:prod", ExtraTag: "le:0.5"}, intv(3), "h.bucket:3|c|#env:prod,le:0.5"},
		{"container", Line{Name: "c", Type: Counter, Container: "83c0a99c0a54c0c1"}, intv(1), "c:1|c|c:83c0a99c0a54c0c1"},
		{"timestamp", Line{Name: "g", Type: Gauge, Timestamp: 1656581400}, intv(5), "g:5|g|T1656581400"},
		{"timestamp zero", Line{Name: "g", Type: Gauge, Timestamp: 0}, intv(5), "g:5|g"},
		{"timestamp negative", Line{Name: "g", Type: Gauge, Timestamp: -1}, intv(5), "g:5|g"},
		{"rate and tags", Line{Name: "users.online", Type: Counter, Rate: 0.5, Tags: "country:china"}, intv(1), "users.online:1|c|@0.5|#country:china"},
		{
			"all at once",
			Line{Name: "rpc", Suffix: ".count", Type: Counter, Rate: 0.25, Tags: "env:prod,svc:api", ExtraTag: "code:200", Container: "abc123", Timestamp: 1700000000},
			intv(42),
			"rpc.count:42|c|@0.25|#env:prod,svc:api,code:200|c:abc123|T1700000000",
		},
		{"multi value", Line{Name: "lat", Type: Distribution}, value{kind: "floats", fs: []float64{1, 2.5, -3, 1e-9}}, "lat:1:2.5:-3:1e-09|d"},
		{"multi value one", Line{Name: "lat", Type: Timing}, value{kind: "floats", fs: []float64{7}}, "lat:7|ms"},
		{"multi value none", Line{Name: "lat", Type: Distribution}, value{kind: "floats"}, ""},
		{
			"multi value all options",
			Line{Name: "lat", Suffix: ".s", Type: Histogram, Rate: 0.1, Tags: "a:b", ExtraTag: "c", Container: "id", Timestamp: 9},
			value{kind: "floats", fs: []float64{0.5, 0.75}},
			"lat.s:0.5:0.75|h|@0.1|#a:b,c|c:id|T9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A non-empty prefix proves the encoders append rather than overwrite.
			dst := []byte("prev\n")
			switch tt.val.kind {
			case "int":
				dst = AppendInt(dst, &tt.line, tt.val.i)
			case "uint":
				dst = AppendUint(dst, &tt.line, tt.val.u)
			case "float":
				dst = AppendFloat(dst, &tt.line, tt.val.f)
			case "floats":
				dst = AppendFloats(dst, &tt.line, tt.val.fs)
			default:
				t.Fatalf("bad test kind %q", tt.val.kind)
			}
			if got, want := string(dst), "prev\n"+tt.want; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestAppendKinds checks that the integer and float encoders agree for
// values all of them can represent.
func TestAppendKinds(t *testing.T) {
	l := Line{Name: "n", Suffix: ".s", Type: Gauge, Rate: 0.5, Tags: "a:b", Timestamp: 3}
	for _, v := range []int64{0, 1, 42, 1 << 40} {
		i := string(AppendInt(nil, &l, v))
		u := string(AppendUint(nil, &l, uint64(v)))
		f := string(AppendFloat(nil, &l, float64(v)))
		fs := string(AppendFloats(nil, &l, []float64{float64(v)}))
		if i != u || i != f || i != fs {
			t.Errorf("value %d: AppendInt %q, AppendUint %q, AppendFloat %q, AppendFloats %q; want all equal", v, i, u, f, fs)
		}
	}
}

func TestAppendSetValue(t *testing.T) {
	tests := []struct {
		name, v, want string
	}{
		{"plain", "alice", "users:alice|s|#env:prod"},
		{"separators", "a|b:c,d#e@f\ng\rh", "users:a_b_c_d_e_f_g_h|s|#env:prod"},
		{"empty", "", "users:|s|#env:prod"},
		{"unicode kept", "zoë", "users:zoë|s|#env:prod"},
	}
	l := &Line{Name: "users", Type: Set, Tags: "env:prod"}
	for _, tt := range tests {
		if got := string(AppendSetValue(nil, l, tt.v)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestAppendFloatsGauge: in a multi-value gauge line, each negative value follows a 0, so that a
// receiver reading a signed gauge value as a change ends at the last value too.
func TestAppendFloatsGauge(t *testing.T) {
	l := Line{Name: "g", Type: Gauge}
	if got, want := string(AppendFloats(nil, &l, []float64{-1, 2, -3.5})), "g:0:-1:2:0:-3.5|g"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	l.Type = Distribution
	if got, want := string(AppendFloats(nil, &l, []float64{-1, 2})), "g:-1:2|d"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
