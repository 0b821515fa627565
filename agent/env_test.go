package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// fakeEnv is an environment with the given variables and container ID.
func fakeEnv(container string, vars ...string) *environment {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return &environment{
		lookup:    func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		container: func() string { return container },
	}
}

func TestAddressFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		address string
		noEnv   bool
		vars    []string
		want    string // the resolved address, netio.Addr's String form
		maxPkt  int
		wantErr string
	}{
		{name: "nothing set", want: "udp://127.0.0.1:8125", maxPkt: 1432},
		{name: "url unix is datagram", vars: []string{"DD_DOGSTATSD_URL", "unix:///var/run/datadog/dsd.socket"},
			want: "unixgram:///var/run/datadog/dsd.socket", maxPkt: 8192},
		{name: "url unixgram", vars: []string{"DD_DOGSTATSD_URL", "unixgram:///run/dsd.socket"}, want: "unixgram:///run/dsd.socket", maxPkt: 8192},
		{name: "url unixstream", vars: []string{"DD_DOGSTATSD_URL", "unixstream:///run/dsd.socket"}, want: "unixstream:///run/dsd.socket", maxPkt: 8192},
		{name: "url udp", vars: []string{"DD_DOGSTATSD_URL", "udp://dd-agent:9125"}, want: "udp://dd-agent:9125", maxPkt: 1432},
		{name: "url udp default port", vars: []string{"DD_DOGSTATSD_URL", "udp://dd-agent"}, want: "udp://dd-agent:8125"},
		{name: "url udp ipv6", vars: []string{"DD_DOGSTATSD_URL", "udp://[fd00::7]:8125"}, want: "udp://[fd00::7]:8125"},
		{name: "url wins over host", vars: []string{"DD_DOGSTATSD_URL", "udp://a:1", "DD_AGENT_HOST", "b"}, want: "udp://a:1"},
		{name: "host", vars: []string{"DD_AGENT_HOST", "dd-agent"}, want: "udp://dd-agent:8125"},
		{name: "host and port", vars: []string{"DD_AGENT_HOST", "10.0.0.7", "DD_DOGSTATSD_PORT", "9125"}, want: "udp://10.0.0.7:9125"},
		{name: "host with its own port", vars: []string{"DD_AGENT_HOST", "dd-agent:7000", "DD_DOGSTATSD_PORT", "9125"}, want: "udp://dd-agent:7000"},
		{name: "host ipv6 unbracketed", vars: []string{"DD_AGENT_HOST", "fd00::7"}, want: "udp://[fd00::7]:8125"},
		{name: "host ipv6 bracketed with port", vars: []string{"DD_AGENT_HOST", "[fd00::7]:9000"}, want: "udp://[fd00::7]:9000"},
		{name: "host as a url", vars: []string{"DD_AGENT_HOST", "unix:///run/dsd.socket"}, want: "unixgram:///run/dsd.socket"},
		{name: "port alone", vars: []string{"DD_DOGSTATSD_PORT", "9125"}, want: "udp://127.0.0.1:9125"},
		{name: "empty values are unset", vars: []string{"DD_DOGSTATSD_URL", "", "DD_AGENT_HOST", "  "}, want: "udp://127.0.0.1:8125"},
		{name: "spaces trimmed", vars: []string{"DD_AGENT_HOST", " dd-agent\n"}, want: "udp://dd-agent:8125"},
		{name: "explicit address wins", address: "udp://127.0.0.1:9999", vars: []string{"DD_AGENT_HOST", "dd-agent"}, want: "udp://127.0.0.1:9999"},
		{name: "NoEnv", noEnv: true, vars: []string{"DD_AGENT_HOST", "dd-agent"}, want: "udp://127.0.0.1:8125"},
		{name: "bad url", vars: []string{"DD_DOGSTATSD_URL", "tcp://dd-agent:8125"},
			wantErr: `agent: DD_DOGSTATSD_URL="tcp://dd-agent:8125": netio: address "tcp://dd-agent:8125": unknown scheme "tcp" (want udp://host[:port], host[:port], [ipv6]:port, unix:///path, unixgram:///path or unixstream:///path)`},
		{name: "bad port", vars: []string{"DD_AGENT_HOST", "dd-agent", "DD_DOGSTATSD_PORT", "statsd"},
			wantErr: `agent: DD_AGENT_HOST="dd-agent" DD_DOGSTATSD_PORT="statsd": netio: udp address "dd-agent:statsd": port "statsd" is not a number from 1 to 65535`},
		{name: "bad url ignored with an address", address: "udp://127.0.0.1:1", vars: []string{"DD_DOGSTATSD_URL", "tcp://x"}, want: "udp://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Config{NoEnv: tt.noEnv, Statsd: StatsdConfig{Address: tt.address}, env: fakeEnv("", tt.vars...)}.resolve()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("resolve: error %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if got := r.addr.String(); got != tt.want {
				t.Errorf("address %s, want %s", got, tt.want)
			}
			if tt.maxPkt != 0 && r.maxPkt != tt.maxPkt {
				t.Errorf("MaxPacketSize %d, want %d", r.maxPkt, tt.maxPkt)
			}
		})
	}
	// A Writer takes every payload: the environment's address is not even parsed.
	if _, err := (Config{Statsd: StatsdConfig{Writer: &sink{}}, env: fakeEnv("", "DD_DOGSTATSD_URL", "tcp://x")}).resolve(); err != nil {
		t.Errorf("with a Writer, a bad DD_DOGSTATSD_URL: %v, want it ignored", err)
	}
}

func TestTagsFromEnv(t *testing.T) {
	vars := []string{"DD_ENV", "Prod", "DD_SERVICE", "checkout", "DD_VERSION", "1.4.2", "DD_ENTITY_ID", "8f3c2a1e-7d4b-4e8a-9f1c-2b3d4e5f6a7b"}
	tests := []struct {
		name  string
		cfg   Config
		tags  []string
		want  string
		noEnv bool
	}{
		{name: "all four", want: "jobs:1|c|#dd.internal.entity_id:8f3c2a1e-7d4b-4e8a-9f1c-2b3d4e5f6a7b,env:prod,service:checkout,version:1.4.2"},
		{name: "config tag wins", cfg: Config{Tags: []string{"env:staging", "team:pay"}},
			want: "jobs:1|c|#dd.internal.entity_id:8f3c2a1e-7d4b-4e8a-9f1c-2b3d4e5f6a7b,env:staging,service:checkout,team:pay,version:1.4.2"},
		{name: "own tag wins", tags: []string{"service:batch"},
			want: "jobs:1|c|#dd.internal.entity_id:8f3c2a1e-7d4b-4e8a-9f1c-2b3d4e5f6a7b,env:prod,service:batch,version:1.4.2"},
		{name: "NoEnv", cfg: Config{NoEnv: true}, want: "jobs:1|c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.env = fakeEnv("", vars...)
			r, s := newTestRecorder(t, cfg)
			r.Count("jobs", 1, tt.tags...)
			r.Flush()
			assertLines(t, s.take(), []string{tt.want})
		})
	}
}

func TestOriginDetection(t *testing.T) {
	const id = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"
	tests := []struct {
		name      string
		mode      OriginDetection
		noEnv     bool
		container string // StatsdConfig.ContainerID
		vars      []string
		want      string
		warn      string
	}{
		{name: "auto, configured in code only", want: "x:1|c"},
		{name: "auto, a Datadog variable set", vars: []string{"DD_ENV", "prod"}, want: "x:1|c|#env:prod|c:" + id},
		{name: "auto, disabled by the variable", vars: []string{"DD_AGENT_HOST", "localhost", "DD_ORIGIN_DETECTION_ENABLED", "false"}, want: "x:1|c"},
		{name: "auto, enabled by the variable alone", vars: []string{"DD_ORIGIN_DETECTION_ENABLED", "true"}, want: "x:1|c|c:" + id},
		{name: "auto, not a boolean", vars: []string{"DD_ORIGIN_DETECTION_ENABLED", "yes please"}, want: "x:1|c|c:" + id,
			warn: `name=DD_ORIGIN_DETECTION_ENABLED value="yes please" want="true or false"`},
		{name: "auto with NoEnv", noEnv: true, vars: []string{"DD_ENV", "prod"}, want: "x:1|c"},
		{name: "on", mode: OriginDetectionOn, want: "x:1|c|c:" + id},
		{name: "on over the variable", mode: OriginDetectionOn, vars: []string{"DD_ORIGIN_DETECTION_ENABLED", "false"}, want: "x:1|c|c:" + id},
		{name: "on with NoEnv", mode: OriginDetectionOn, noEnv: true, want: "x:1|c|c:" + id},
		{name: "off", mode: OriginDetectionOff, vars: []string{"DD_ENV", "prod"}, want: "x:1|c|#env:prod"},
		{name: "explicit ID whatever the mode", mode: OriginDetectionOff, container: "ci-1234", want: "x:1|c|c:ci-1234"},
		{name: "explicit ID wins over the detected one", mode: OriginDetectionOn, container: "ci-1234", want: "x:1|c|c:ci-1234"},
		{name: "external data with detection", vars: []string{"DD_EXTERNAL_ENV", "it-false,cn-app,pu-75a2|x\n"},
			want: "x:1|c|c:" + id + "|e:it-false,cn-app,pu-75a2x"},
		{name: "external data without detection", vars: []string{"DD_EXTERNAL_ENV", "it-false", "DD_ORIGIN_DETECTION_ENABLED", "0"}, want: "x:1|c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			r, s := newTestRecorder(t, Config{
				NoEnv:  tt.noEnv,
				Statsd: StatsdConfig{OriginDetection: tt.mode, ContainerID: tt.container},
				Logger: slog.New(slog.NewTextHandler(&log, nil)),
				env:    fakeEnv(id, tt.vars...),
			})
			r.Count("x", 1)
			r.Flush()
			assertLines(t, s.take(), []string{tt.want})
			if tt.warn != "" && !strings.Contains(log.String(), tt.warn) {
				t.Errorf("log %q, want a warning %q", log.String(), tt.warn)
			}
		})
	}
	// No container found: nothing sent, whatever the mode.
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{OriginDetection: OriginDetectionOn}, env: fakeEnv("")})
	r.Count("x", 1)
	r.Flush()
	assertLines(t, s.take(), []string{"x:1|c"})
}

func TestCardinality(t *testing.T) {
	tests := []struct {
		name    string
		field   string
		vars    []string
		tags    []string
		want    []string
		wantErr string
		warn    string
	}{
		{name: "none set", want: []string{"x:1|c"}},
		{name: "DD_CARDINALITY", vars: []string{"DD_CARDINALITY", "High"}, want: []string{"x:1|c|card:high"}},
		{name: "DATADOG_CARDINALITY", vars: []string{"DATADOG_CARDINALITY", "low"}, want: []string{"x:1|c|card:low"}},
		{name: "DD_ wins", vars: []string{"DD_CARDINALITY", "orchestrator", "DATADOG_CARDINALITY", "low"}, want: []string{"x:1|c|card:orchestrator"}},
		{name: "invalid variable ignored", vars: []string{"DD_CARDINALITY", "max"}, want: []string{"x:1|c"},
			warn: `name=DD_CARDINALITY value=max want="none, low, orchestrator or high"`},
		{name: "field wins", field: "none", vars: []string{"DD_CARDINALITY", "high"}, want: []string{"x:1|c|card:none"}},
		{name: "invalid field", field: "max", wantErr: `agent: Statsd.Cardinality "max": want none, low, orchestrator or high`},
		{name: "per series", vars: []string{"DD_CARDINALITY", "low"}, tags: []string{"q:a", CardinalityHigh},
			want: []string{"x:1|c|#q:a|card:high"}},
		{name: "unknown option ignored", tags: []string{"|card:max"}, want: []string{"x:1|c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := Config{Statsd: StatsdConfig{Cardinality: tt.field}, Logger: slog.New(slog.NewTextHandler(&log, nil)), env: fakeEnv("", tt.vars...)}
			if tt.wantErr != "" {
				if err := CheckConfig(cfg); err == nil || err.Error() != tt.wantErr {
					t.Fatalf("CheckConfig: %v, want %s", err, tt.wantErr)
				}
				return
			}
			r, s := newTestRecorder(t, cfg)
			r.Count("x", 1, tt.tags...)
			r.Flush()
			assertLines(t, s.take(), tt.want)
			if tt.warn != "" && !strings.Contains(log.String(), tt.warn) {
				t.Errorf("log %q, want a warning %q", log.String(), tt.warn)
			}
		})
	}
}

// TestCardinalityOptionSeries: a cardinality option makes a series of its own, on every path
// (handles, by-name) and never becomes a tag.
func TestCardinalityOptionSeries(t *testing.T) {
	r, s := newTestRecorder(t, Config{Tags: []string{"env:prod"}})
	r.Count("jobs", 1, "q:a")
	r.Count("jobs", 2, "q:a", CardinalityHigh)
	r.Counter("jobs", CardinalityHigh, "q:a").Add(3) // same series as the line above
	r.Timing("lat", 1500000, CardinalityOrchestrator)
	r.Flush()
	assertLines(t, s.take(), []string{
		"jobs:1|c|#env:prod,q:a",
		"jobs:5|c|#env:prod,q:a|card:high",
		"lat:1.5|ms|#env:prod|card:orchestrator",
	})
}
