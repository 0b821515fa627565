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
		// The forms of DD_DOGSTATSD_URL and DD_AGENT_HOST, as datadog-go reads them.
		{name: "unix is datagram", in: "unix:///var/run/datadog/dsd.socket", want: Addr{"unixgram", "/var/run/datadog/dsd.socket"}},
		{name: "unixstream", in: "unixstream:///var/run/datadog/dsd.socket", want: Addr{"unixstream", "/var/run/datadog/dsd.socket"}},
		{name: "udp default port", in: "udp://localhost", want: Addr{"udp", "localhost:8125"}},
		{name: "bare host default port", in: "datadog-agent", want: Addr{"udp", "datadog-agent:8125"}},
		{name: "bare ipv4 default port", in: "10.0.0.7", want: Addr{"udp", "10.0.0.7:8125"}},
		{name: "bracketed ipv6 default port", in: "udp://[::1]", want: Addr{"udp", "[::1]:8125"}},
		{name: "bare bracketed ipv6 default port", in: "[fd00::7]", want: Addr{"udp", "[fd00::7]:8125"}},
		{name: "udp6 default port", in: "udp6://[::1]", want: Addr{"udp6", "[::1]:8125"}},

		{name: "empty", in: "", wantErr: "netio: empty address"},
		{name: "unknown scheme", in: "tcp://localhost:8125", wantErr: `unknown scheme "tcp"`},
		{name: "unknown scheme names the forms", in: "http://localhost:8125", wantErr: "want udp://host[:port], host[:port], [ipv6]:port, unix:///path, unixgram:///path or unixstream:///path"},
		{name: "windows pipe", in: `\\.\pipe\dsd`, wantErr: "named pipes are not supported"},
		{name: "unix path typo", in: "unix:/var/run/dsd.socket", wantErr: "is not a number"},
		{name: "path as host", in: "udp://run/dsd:8125", wantErr: "neither an IP address nor a DNS name"},
		{name: "space in host", in: "udp://my host:8125", wantErr: "neither an IP address nor a DNS name"},
		{name: "empty port", in: "udp://localhost:", wantErr: "missing port"},
		{name: "missing host", in: "udp://:8125", wantErr: "missing host"},
		{name: "empty udp", in: "udp://", wantErr: "empty host:port"},
		{name: "port zero", in: "udp://localhost:0", wantErr: "port \"0\""},
		{name: "port too big", in: "udp://localhost:65536", wantErr: "from 1 to 65535"},
		{name: "port negative", in: "udp://localhost:-1", wantErr: "from 1 to 65535"},
		{name: "port name", in: "udp://localhost:statsd", wantErr: "is not a number"},
		{name: "unbracketed ipv6", in: "udp://::1:8125", wantErr: "needs brackets, as in [::1]:8125"},
		{name: "bare unbracketed ipv6", in: "::1", wantErr: "needs brackets"},
		{name: "unclosed bracket", in: "[::1", wantErr: "missing ']'"},
		{name: "udp4 with ipv6", in: "udp4://[::1]:8125", wantErr: "wrong family"},
		{name: "udp6 with ipv4", in: "udp6://127.0.0.1:8125", wantErr: "wrong family"},
		{name: "unixgram relative", in: "unixgram://run/dsd.socket", wantErr: "must be absolute"},
		{name: "unixgram empty", in: "unixgram://", wantErr: "empty socket path"},
		{name: "unix relative", in: "unix://dsd.socket", wantErr: "must be absolute"},
		{name: "unixstream relative", in: "unixstream://dsd.socket", wantErr: "unixstream address \"dsd.socket\": socket path must be absolute (unixstream:///path)"},
		{name: "unixstream empty", in: "unixstream://", wantErr: "unixstream address: empty socket path"},
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
		{Addr{"unixstream", "/run/dsd.socket"}, "unixstream:///run/dsd.socket"},
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
		"unixstream:///s", "host", "udp://[::1]", "[::1", "::1",
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
		{"unix:///tmp/x.sock", "unixgram:///tmp/x.sock", ""},
		{"unixstream:///tmp/x.sock", "unixstream:///tmp/x.sock", ""},
		{"udp://127.0.0.1", "udp://127.0.0.1:8125", ""},
		{"udp://127.0.0.1:70000", "", "0 to 65535"},
		{"udp://127.0.0.1:", "", "0 to 65535"},
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
