package netio

import (
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Addr
		wantErr string // substring of the error; empty means success
	}{
		{name: "udp name", in: "udp://localhost:8125", want: Addr{"udp", "localhost:8125"}},
		{name: "udp ipv4", in: "udp://127.0.0.1:8125", want: Addr{"udp", "127.0.0.1:8125"}},
		{name: "udp ipv6", in: "udp://[::1]:8125", want: Addr{"udp", "[::1]:8125"}},
		{name: "udp ipv6 zone", in: "udp://[fe80::1%eth0]:8125", want: Addr{"udp", "[fe80::1%eth0]:8125"}},
		{name: "udp4", in: "udp4://statsd.internal:8125", want: Addr{"udp4", "statsd.internal:8125"}},
		{name: "udp6", in: "udp6://[::1]:9", want: Addr{"udp6", "[::1]:9"}},
		{name: "scheme case", in: "UDP://localhost:8125", want: Addr{"udp", "localhost:8125"}},
		{name: "bare host port", in: "statsd:8125", want: Addr{"udp", "statsd:8125"}},
		{name: "bare ipv6", in: "[::1]:8125", want: Addr{"udp", "[::1]:8125"}},
		{name: "highest port", in: "localhost:65535", want: Addr{"udp", "localhost:65535"}},
		{name: "unixgram", in: "unixgram:///var/run/datadog/dsd.socket", want: Addr{"unixgram", "/var/run/datadog/dsd.socket"}},

		{name: "empty", in: "", wantErr: "netio: empty address"},
		{name: "unknown scheme", in: "tcp://localhost:8125", wantErr: `unknown scheme "tcp"`},
		{name: "unix stream", in: "unix:///var/run/dsd.socket", wantErr: "use unixgram://"},
		{name: "missing port", in: "udp://localhost", wantErr: "missing port"},
		{name: "empty port", in: "udp://localhost:", wantErr: "missing port"},
		{name: "bare missing port", in: "localhost", wantErr: "missing port"},
		{name: "missing host", in: "udp://:8125", wantErr: "missing host"},
		{name: "empty udp", in: "udp://", wantErr: "empty host:port"},
		{name: "port zero", in: "udp://localhost:0", wantErr: "port \"0\""},
		{name: "port too big", in: "udp://localhost:65536", wantErr: "from 1 to 65535"},
		{name: "port negative", in: "udp://localhost:-1", wantErr: "from 1 to 65535"},
		{name: "port name", in: "udp://localhost:statsd", wantErr: "is not a number"},
		{name: "unbracketed ipv6", in: "udp://::1:8125", wantErr: "too many colons"},
		{name: "udp4 with ipv6", in: "udp4://[::1]:8125", wantErr: "wrong family"},
		{name: "udp6 with ipv4", in: "udp6://127.0.0.1:8125", wantErr: "wrong family"},
		{name: "unixgram relative", in: "unixgram://run/dsd.socket", wantErr: "must be absolute"},
		{name: "unixgram empty", in: "unixgram://", wantErr: "empty socket path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddr(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseAddr(%q) = %+v, nil; want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "netio: ") {
					t.Fatalf("ParseAddr(%q) error = %q; want \"netio: \" prefix and %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddr(%q) error = %v; want %+v", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("ParseAddr(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddrString(t *testing.T) {
	tests := []struct {
		in   Addr
		want string
	}{
		{Addr{"udp", "localhost:8125"}, "udp://localhost:8125"},
		{Addr{"udp6", "[::1]:8125"}, "udp6://[::1]:8125"},
		{Addr{"unixgram", "/run/dsd.socket"}, "unixgram:///run/dsd.socket"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseAddr checks that whatever ParseAddr accepts, it accepts again from its String form and
// gets the same Addr back, and that NewWriter agrees with ParseAddr on validity.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{
		"udp://localhost:8125", "udp6://[::1]:9", "[::1]:8125", "unixgram:///a/b", "statsd:8125",
		"unix:///x", "udp://:1", "udp4://[::ffff:1.2.3.4]:5", "UDP://h:1", "a://b://c:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "netio: ") {
				t.Fatalf("ParseAddr(%q) error %q lacks the netio: prefix", s, err)
			}
			return
		}
		b, err := ParseAddr(a.String())
		if err != nil {
			t.Fatalf("ParseAddr(%q) = %+v, but ParseAddr(%q) fails: %v", s, a, a.String(), err)
		}
		if b != a {
			t.Fatalf("ParseAddr(%q) = %+v; round trip through %q gives %+v", s, a, a.String(), b)
		}
		if err := a.check(); err != nil {
			t.Fatalf("ParseAddr(%q) = %+v accepted, but check says %v", s, a, err)
		}
	})
}

func TestParseListenAddr(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"udp://127.0.0.1:0", "udp://127.0.0.1:0", ""},
		{"udp://:8125", "udp://:8125", ""},
		{"127.0.0.1:8125", "udp://127.0.0.1:8125", ""},
		{"unixgram:///tmp/x.sock", "unixgram:///tmp/x.sock", ""},
		{"udp://127.0.0.1:70000", "", "0 to 65535"},
		{"udp://127.0.0.1", "", "missing port"},
		{"unixgram://rel", "", "absolute"},
		{"tcp://x:1", "", "unknown scheme"},
		{"", "", "empty"},
	}
	for _, tt := range tests {
		a, err := ParseListenAddr(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseListenAddr(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("ParseListenAddr(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
}
