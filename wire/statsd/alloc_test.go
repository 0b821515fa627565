package statsd

import "testing"

// wantNoAllocs fails if fn allocates on average.
func wantNoAllocs(t *testing.T, name string, fn func()) {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if got := testing.AllocsPerRun(100, fn); got != 0 {
		t.Errorf("%s: got %v allocs per run, want 0", name, got)
	}
}

func TestAppendAllocs(t *testing.T) {
	l := Line{
		Name: "http.server.requests", Suffix: ".count", Type: Counter, Rate: 0.5,
		Tags: "env:prod,service:api,code:200", ExtraTag: "le:0.5", Container: "abc", Timestamp: 1700000000,
	}
	vs := []float64{1.5, 2, 1e-9, 3e30}
	buf := make([]byte, 0, 512)
	tests := []struct {
		name string
		fn   func()
	}{
		{"AppendInt", func() { buf = AppendInt(buf[:0], &l, -12345) }},
		{"AppendUint", func() { buf = AppendUint(buf[:0], &l, 12345) }},
		{"AppendFloat", func() { buf = AppendFloat(buf[:0], &l, 0.123456789) }},
		{"AppendFloat huge", func() { buf = AppendFloat(buf[:0], &l, 1.5e300) }},
		{"AppendFloats", func() { buf = AppendFloats(buf[:0], &l, vs) }},
		{"AppendNumber", func() { buf = AppendNumber(buf[:0], 3.25) }},
		{"AppendTags", func() { buf = AppendTags(buf[:0], []string{"a:b", "c:d"}) }},
		{"SanitizeName valid", func() { _, _, _ = SanitizeName("http.server.requests") }},
		{"SanitizeTag valid", func() { _, _, _ = SanitizeTag("env:prod") }},
	}
	for _, tt := range tests {
		wantNoAllocs(t, tt.name, tt.fn)
	}
}

func TestPackerAllocs(t *testing.T) {
	l := Line{Name: "http.server.requests", Type: Counter, Tags: "env:prod,service:api,code:200"}
	p := Packer{Max: 200}
	buf := make([]byte, 0, 1<<16)
	dst := make([][]byte, 0, 1024)
	run := func() {
		p.Reset(buf)
		for i := range 500 {
			b := p.Begin()
			b = AppendInt(b, &l, int64(i))
			p.End(b)
		}
		// One line too long for Max: the drop path must not allocate either.
		b := p.Begin()
		b = append(b, make([]byte, 300)...)
		p.End(b)
		dst = p.Payloads(dst[:0])
	}
	run() // grow the payload index once; later packings reuse it
	if p.Lines() != 500 || p.Dropped() != 1 || len(dst) < 2 {
		t.Fatalf("Lines, Dropped, payloads = %d, %d, %d; want 500, 1, >= 2", p.Lines(), p.Dropped(), len(dst))
	}
	wantNoAllocs(t, "Packer Reset/Begin/End/Payloads", run)
}
