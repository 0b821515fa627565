package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/statshard/statshard/agent"
)

// settings is everything the agent can be told, by flag, environment or config file.
type settings struct {
	Listen          []string        `json:"listen"`
	Upstream        string          `json:"upstream"`
	TCP             string          `json:"tcp"`
	TCPSnapshot     bool            `json:"tcp_snapshot"`
	TCPMaxClients   int             `json:"tcp_max_clients"`
	TCPBuffer       int             `json:"tcp_buffer"`
	Interval        duration        `json:"interval"`
	HTTP            string          `json:"http"`
	Pprof           bool            `json:"pprof"`
	LogLevel        string          `json:"log_level"`
	Prefix          string          `json:"prefix"`
	Tags            []string        `json:"tags"`
	MaxSeries       int             `json:"max_series"`
	Expiry          int             `json:"expiry"`
	HistogramMode   string          `json:"histogram_mode"`
	Quantiles       []float64       `json:"quantiles"`
	Buckets         []float64       `json:"buckets"`
	HistogramRules  []histogramRule `json:"histogram_rules"`
	SketchDist      bool            `json:"sketch_distributions"`
	Readers         int             `json:"readers"`
	RecvBuffer      int             `json:"recv_buffer"`
	RelativeGauges  bool            `json:"relative_gauges"`
	MaxPacketSize   int             `json:"max_packet_size"`
	ShutdownTimeout duration        `json:"shutdown_timeout"`
	Telemetry       bool            `json:"telemetry"`
	SocketMode      string          `json:"socket_mode"`
	HistogramNaming string          `json:"histogram_naming"`
}

// histogramRule is one "match=mode[:bounds]" rule.
type histogramRule struct {
	Match     string    `json:"match"`
	Mode      string    `json:"mode"`
	Bounds    []float64 `json:"bounds,omitempty"`
	Quantiles []float64 `json:"quantiles,omitempty"`
}

func defaults() settings {
	return settings{
		Listen:          []string{agent.DefaultListen},
		TCP:             agent.DefaultTCPAddress,
		Interval:        duration(agent.DefaultInterval),
		HTTP:            "127.0.0.1:8127",
		LogLevel:        "info",
		HistogramMode:   "summary",
		Quantiles:       agent.DefaultQuantiles(),
		Buckets:         agent.DefaultBounds(),
		ShutdownTimeout: duration(5 * time.Second),
		SocketMode:      "0660",
		HistogramNaming: "statshard",
	}
}

// duration is a time.Duration that reads "10s" from JSON.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = duration(v)
	return err
}

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// load builds the settings: defaults, then the config file (-config), then STATSHARD_<FLAG>
// environment variables, then flags given on the command line.
func load(args []string, stderr io.Writer) (s settings, configPath string, actions actions, err error) {
	s = defaults()
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bind(fs, &s)
	fs.StringVar(&configPath, "config", "", "read settings from this JSON `file` (see the README); flags and environment win over it")
	fs.BoolVar(&actions.checkConfig, "check-config", false, "validate the settings, print them and exit")
	fs.BoolVar(&actions.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: agent [flags]\n\nstatshard agent: receives DogStatsD, aggregates, forwards upstream and serves the live TCP stream.\nEvery flag can also be set with STATSHARD_<FLAG> (e.g. STATSHARD_UPSTREAM, STATSHARD_MAX_SERIES).\n\n")
		fs.PrintDefaults()
	}
	// First pass: find -config (flag or environment) before anything else.
	if err = fs.Parse(args); err != nil {
		return s, "", actions, err
	}
	if fs.NArg() > 0 {
		return s, "", actions, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["config"] {
		configPath = os.Getenv("STATSHARD_CONFIG")
	}
	s = defaults()
	if configPath != "" {
		if s, err = readConfigFile(configPath, s); err != nil {
			return s, configPath, actions, err
		}
	}
	// Second pass: environment, then the command line again on top.
	fs = flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bind(fs, &s)
	var ignored string
	var ignoredBool bool
	fs.StringVar(&ignored, "config", "", "")
	fs.BoolVar(&ignoredBool, "check-config", false, "")
	fs.BoolVar(&ignoredBool, "version", false, "")
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || set[f.Name] {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	})
	if envErr != nil {
		return s, configPath, actions, envErr
	}
	if err = fs.Parse(args); err != nil {
		return s, configPath, actions, err
	}
	return s, configPath, actions, s.validate()
}

type actions struct{ checkConfig, version bool }

func envName(flagName string) string {
	return "STATSHARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// bind declares every setting's flag on fs, writing into s.
func bind(fs *flag.FlagSet, s *settings) {
	fs.Var((*listValue)(&s.Listen), "listen", "comma-separated intake `addresses`: udp://host:port, unix:///path or unixgram:///path (datagrams), unixstream:///path (length-prefixed stream); socket files get -socket-mode and are removed on exit")
	fs.StringVar(&s.Upstream, "upstream", s.Upstream, "where aggregates go, in DD_DOGSTATSD_URL's forms: udp://host[:port], host[:port], unix:///path or unixgram:///path, unixstream:///path; empty prints each flush to stdout as a table")
	fs.StringVar(&s.SocketMode, "socket-mode", s.SocketMode, "octal permission `mode` of intake unix socket files; senders need write permission (the Datadog Agent uses 0722, writable by every local user)")
	fs.StringVar(&s.TCP, "tcp", s.TCP, "TCP event stream `address` (length-delimited protobuf, metrics-observer compatible); off disables it")
	fs.BoolVar(&s.TCPSnapshot, "tcp-snapshot", s.TCPSnapshot, "send a new stream client the current counter totals and gauge values first")
	fs.IntVar(&s.TCPMaxClients, "tcp-max-clients", s.TCPMaxClients, "maximum stream clients (0: 64)")
	fs.IntVar(&s.TCPBuffer, "tcp-buffer", s.TCPBuffer, "stream buffers in events, intake and per client (0: 1024; -1: no limit, dangerous)")
	fs.Var((*durationValue)(&s.Interval), "interval", "flush `interval`")
	fs.StringVar(&s.HTTP, "http", s.HTTP, "self-telemetry `address` serving /metrics (Prometheus text) and /healthz; off disables it")
	fs.BoolVar(&s.Pprof, "pprof", s.Pprof, "also serve /debug/pprof on the -http listener")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error")
	fs.StringVar(&s.Prefix, "prefix", s.Prefix, "prepended to every metric name")
	fs.Var((*listValue)(&s.Tags), "tags", "comma-separated global `tags` (key:value) added to every series; a metric's own tag wins")
	fs.IntVar(&s.MaxSeries, "max-series", s.MaxSeries, "cardinality cap; past it new keys fold into one overflow:true series per name (0: 100000, -1: none)")
	fs.IntVar(&s.Expiry, "expiry", s.Expiry, "intervals a series may stay idle before it is removed (0: 6, -1: never)")
	fs.StringVar(&s.HistogramMode, "histogram-mode", s.HistogramMode, "ms/h export: summary, buckets or distribution")
	fs.StringVar(&s.HistogramNaming, "histogram-naming", s.HistogramNaming, "summary line names: statshard (.count .sum .avg .min .max .median .p95 ...) or datadog (.avg .count .median .95percentile .max, as the Datadog Agent)")
	fs.Var((*floatsValue)(&s.Quantiles), "quantiles", "comma-separated summary `quantiles`")
	fs.Var((*floatsValue)(&s.Buckets), "buckets", "comma-separated bucket `bounds` for buckets mode")
	fs.Var((*rulesValue)(&s.HistogramRules), "histogram-rule", "per-metric histogram export, repeatable: `match=mode[:bound,bound...]`, match exact, prefix* or *suffix (environment: ';'-separated)")
	fs.BoolVar(&s.SketchDist, "sketch-distributions", s.SketchDist, "send distributions as weighted sketch bins instead of raw samples")
	fs.IntVar(&s.Readers, "readers", s.Readers, "intake reader goroutines per address (0: GOMAXPROCS)")
	fs.IntVar(&s.RecvBuffer, "recv-buffer", s.RecvBuffer, "SO_RCVBUF `bytes` per intake socket (0: 8 MiB)")
	fs.BoolVar(&s.RelativeGauges, "relative-gauges", s.RelativeGauges, "read a signed gauge value (\"-3|g\") as a change, as statsd does, instead of setting it as DogStatsD does")
	fs.IntVar(&s.MaxPacketSize, "max-packet-size", s.MaxPacketSize, "largest upstream payload in bytes (0: 1432 udp, 8192 unixgram)")
	fs.Var((*durationValue)(&s.ShutdownTimeout), "shutdown-timeout", "how long SIGTERM may take: final flush, closing stream clients")
	fs.BoolVar(&s.Telemetry, "telemetry", s.Telemetry, "also send the agent's own counters upstream as statshard.* metrics (to Datadog: about 30 billable custom metrics per agent; /metrics serves them for free)")
}

func readConfigFile(path string, s settings) (settings, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("config %s: %w", path, err)
	}
	return s, nil
}

func (s settings) validate() error {
	if time.Duration(s.Interval) <= 0 {
		return fmt.Errorf("interval must be positive, got %v", time.Duration(s.Interval))
	}
	if time.Duration(s.ShutdownTimeout) <= 0 {
		return fmt.Errorf("shutdown-timeout must be positive, got %v", time.Duration(s.ShutdownTimeout))
	}
	if _, err := parseLevel(s.LogLevel); err != nil {
		return err
	}
	if len(s.Listen) == 0 {
		return errors.New("listen: no intake address")
	}
	c, ic, err := s.agentConfigs(nil, nil)
	if err != nil {
		return err
	}
	// An intake that receives the agent's own flushes (-upstream one of -listen) loops forever.
	return agent.CheckIntake(c, ic)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// agentConfigs turns the settings into the library's configs. It validates them by building a
// recorder config the way New would.
func (s settings) agentConfigs(stdout io.Writer, log *slog.Logger) (agent.Config, agent.IntakeConfig, error) {
	mode, err := agent.ParseHistogramMode(s.HistogramMode)
	if err != nil {
		return agent.Config{}, agent.IntakeConfig{}, err
	}
	naming, err := parseNaming(s.HistogramNaming)
	if err != nil {
		return agent.Config{}, agent.IntakeConfig{}, err
	}
	sockMode, err := parseSocketMode(s.SocketMode)
	if err != nil {
		return agent.Config{}, agent.IntakeConfig{}, err
	}
	c := agent.Config{
		// The agent is configured by its flags alone: a DD_* variable in its environment describes
		// the agent's process, not the services it aggregates for (their origin comes with their
		// lines), so none is read.
		NoEnv:     true,
		Interval:  time.Duration(s.Interval),
		Prefix:    s.Prefix,
		Tags:      s.Tags,
		MaxSeries: s.MaxSeries,
		Expiry:    s.Expiry,
		Telemetry: s.Telemetry,
		Logger:    log,
		Histograms: agent.HistogramConfig{
			Mode:                mode,
			Quantiles:           s.Quantiles,
			Bounds:              s.Buckets,
			SketchDistributions: s.SketchDist,
			Naming:              naming,
		},
		Statsd: agent.StatsdConfig{Address: s.Upstream, MaxPacketSize: s.MaxPacketSize},
	}
	for _, r := range s.HistogramRules {
		m, err := agent.ParseHistogramMode(r.Mode)
		if err != nil {
			return c, agent.IntakeConfig{}, fmt.Errorf("histogram rule %q: %w", r.Match, err)
		}
		c.Histograms.Rules = append(c.Histograms.Rules, agent.HistogramRule{Match: r.Match, Mode: m, Bounds: r.Bounds, Quantiles: r.Quantiles})
	}
	if s.Upstream == "" {
		c.Statsd.Writer = newTable(stdout)
	}
	if s.TCP != "off" {
		c.TCP = agent.TCPConfig{Enabled: true, Address: s.TCP, Snapshot: s.TCPSnapshot, MaxClients: s.TCPMaxClients, BufferSize: s.TCPBuffer}
	}
	if err := agent.CheckConfig(c); err != nil {
		return c, agent.IntakeConfig{}, err
	}
	ic := agent.IntakeConfig{Listen: s.Listen, Readers: s.Readers, RecvBuffer: s.RecvBuffer, RelativeGauges: s.RelativeGauges, SocketMode: sockMode}
	return c, ic, nil
}

// parseSocketMode reads an octal permission such as "0660" or "660".
func parseSocketMode(v string) (os.FileMode, error) {
	m, err := strconv.ParseUint(v, 8, 32)
	if err != nil || m == 0 || m > 0o777 {
		return 0, fmt.Errorf("socket-mode %q: want an octal permission from 0001 to 0777, such as 0660", v)
	}
	return os.FileMode(m), nil
}

func parseNaming(v string) (agent.HistogramNaming, error) {
	switch v {
	case "statshard":
		return agent.NamingStatshard, nil
	case "datadog":
		return agent.NamingDatadog, nil
	}
	return 0, fmt.Errorf("histogram-naming %q: want statshard or datadog", v)
}

type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error {
	*l = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

type floatsValue []float64

func (f *floatsValue) String() string {
	var parts []string
	for _, v := range *f {
		parts = append(parts, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

func (f *floatsValue) Set(v string) error {
	out, err := parseFloats(v)
	*f = out
	return err
}

func parseFloats(v string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out = append(out, x)
	}
	return out, nil
}

type durationValue duration

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	*d = durationValue(x)
	return err
}

// rulesValue collects -histogram-rule flags; the environment variable separates rules with ';'.
type rulesValue []histogramRule

func (r *rulesValue) String() string {
	var parts []string
	for _, x := range *r {
		s := x.Match + "=" + x.Mode
		if len(x.Bounds) > 0 {
			s += ":" + (*floatsValue)(&x.Bounds).String()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ";")
}

func (r *rulesValue) Set(v string) error {
	for _, part := range strings.Split(v, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		match, spec, ok := strings.Cut(part, "=")
		if !ok || match == "" {
			return fmt.Errorf("histogram rule %q: want match=mode[:bounds]", part)
		}
		mode, bounds, _ := strings.Cut(spec, ":")
		rule := histogramRule{Match: match, Mode: mode}
		if bounds != "" {
			b, err := parseFloats(bounds)
			if err != nil {
				return fmt.Errorf("histogram rule %q: %w", part, err)
			}
			rule.Bounds = b
		}
		*r = append(*r, rule)
	}
	return nil
}
