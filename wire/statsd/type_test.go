package statsd

import "testing"

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{0, "unknown"},
		{Counter, "c"},
		{Gauge, "g"},
		{Timing, "ms"},
		{Histogram, "h"},
		{Distribution, "d"},
		{Set, "s"},
		{Set + 1, "unknown"},
		{255, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tt.typ), got, tt.want)
		}
	}
}
