package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
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
	ConsoleTel      bool            `json:"console_telemetry"`
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
	v, err := parseDuration(s)
	*d = duration(v)
	return err
}

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// load builds the settings: defaults, then the config file (-config), then STATSHARD_<FLAG>
// environment variables, then flags given on the command line. Its error lists every problem
// (problems), each named by its flag, variable or place in the file.
func load(args []string, stderr io.Writer) (s settings, configPath string, actions actions, err error) {
	l := loadAll(args, stderr, os.Environ())
	return l.s, l.configPath, l.act, l.err()
}

// loaded is what loadAll read: the settings, where each came from, and what is wrong.
type loaded struct {
	s          settings
	configPath string
	act        actions
	from       *origins
	probs      problems
	fatal      error // flag.ErrHelp, or a config file that could not be read at all
}

func (l *loaded) err() error {
	if l.fatal != nil {
		return l.fatal
	}
	return l.probs.err()
}

func loadAll(args []string, stderr io.Writer, environ []string) *loaded {
	l := &loaded{from: newOrigins()}
	s := defaults()
	fs := newFlagSet(&s, &l.configPath, &l.act)
	// First pass: the command line, for -config and the actions, and its own problems.
	set, rest, probs, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.Usage()
		l.fatal = err
		return l
	}
	l.probs = append(l.probs, probs...)
	if len(rest) > 0 {
		l.probs = append(l.probs, problem{err: fmt.Errorf("unexpected arguments %q (every setting is a -flag)", rest)})
	}
	if !set["config"] {
		l.configPath = lookupEnv(environ, "STATSHARD_CONFIG")
	}
	s = defaults()
	if l.configPath != "" {
		l.from.file = l.configPath
		fileProbs, err := readConfigFile(l.configPath, &s, l.from)
		if err != nil {
			l.fatal = err
			return l
		}
		l.probs = append(l.probs, fileProbs...)
	}
	// Second pass: the environment, then the command line again on top.
	var ignoredPath string
	var ignoredAct actions
	fs = newFlagSet(&s, &ignoredPath, &ignoredAct)
	l.probs = append(l.probs, envProblems(environ)...)
	keys := flagKeys()
	fs.VisitAll(func(f *flag.Flag) {
		key, ok := keys[f.Name]
		if !ok || set[f.Name] {
			return
		}
		env := envName(f.Name)
		if v, ok := lookupEnvOK(environ, env); ok {
			l.from.by[key] = srcEnv
			if err := f.Value.Set(v); err != nil {
				l.probs = append(l.probs, problem{where: env, err: quoted(v, err)})
			}
		}
	})
	parseArgs(fs, args)
	for name := range set {
		if key, ok := keys[name]; ok {
			l.from.by[key] = srcFlag
		}
	}
	l.s = s
	// A value that could not be read keeps its default, which check may find wrong too: the
	// problem is reported once, where the value was given.
	seen := map[string]bool{}
	for _, p := range l.probs {
		seen[p.where] = true
	}
	for _, p := range s.check(l.from) {
		if !seen[p.where] {
			l.probs = append(l.probs, p)
		}
	}
	return l
}

func newFlagSet(s *settings, configPath *string, act *actions) *flag.FlagSet {
	fs := flag.NewFlagSet("statshard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bind(fs, s)
	fs.StringVar(configPath, "config", "", "read settings from this JSON or YAML (.yaml, .yml) `file` (see the README); flags and environment win over it")
	fs.BoolVar(&act.checkConfig, "check-config", false, "check the settings as a start would (every listener bound for an instant), print every problem and the values in effect, and exit: 0 if a start would succeed")
	fs.BoolVar(&act.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: statshard [flags]\n\nstatshard agent: receives DogStatsD, aggregates, forwards upstream and serves the live TCP stream.\nEvery flag can also be set with STATSHARD_<FLAG> (e.g. STATSHARD_UPSTREAM, STATSHARD_MAX_SERIES).\n\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs applies the command line to fs flag by flag, as flag.FlagSet.Parse does, but goes on
// past a bad value so that every problem is reported. It returns the flags set and the
// arguments after the flags; the error is flag.ErrHelp for -h or -help.
func parseArgs(fs *flag.FlagSet, args []string) (set map[string]bool, rest []string, ps problems, err error) {
	set = map[string]bool{}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "-"+f.Name) })
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return set, args[i+1:], ps, nil
		}
		if len(a) < 2 || a[0] != '-' {
			return set, args[i:], ps, nil
		}
		name := strings.TrimPrefix(a[1:], "-")
		name, value, hasValue := strings.Cut(name, "=")
		if name == "h" || name == "help" {
			return set, nil, ps, flag.ErrHelp
		}
		f := fs.Lookup(name)
		if f == nil {
			msg := "not a flag"
			if c := closest("-"+name, names); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			ps = append(ps, problem{where: "-" + name, err: errors.New(msg)})
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++ // most likely its value, not the first argument
			}
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 == len(args) {
				ps = append(ps, problem{where: "-" + name, err: errors.New("needs a value")})
				continue
			}
			i++
			value = args[i]
		}
		set[name] = true
		if err := f.Value.Set(value); err != nil {
			ps = append(ps, problem{where: "-" + name, err: quoted(value, err)})
		}
	}
	return set, nil, ps, nil
}

func lookupEnv(environ []string, name string) string {
	v, _ := lookupEnvOK(environ, name)
	return v
}

func lookupEnvOK(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(environ[i], "="); k == name {
			return v, true
		}
	}
	return "", false
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
	fs.BoolVar(&s.ConsoleTel, "console-telemetry", s.ConsoleTel, "without -upstream, also show the agent's own statshard.* series in the console table (turns -telemetry on for the table)")
}

// readConfigFile reads the JSON or YAML (by its extension: .yaml or .yml) config file at path
// over s, recording where each setting was given in from. Each value it cannot take is a problem
// at its line and column; the error is for a file that cannot be read or parsed at all.
func readConfigFile(path string, s *settings, from *origins) (problems, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	parse, format := parseJSON, "JSON"
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		parse, format = parseYAML, "YAML"
	}
	root, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%w (the file is read as %s)", path, err, format)
	}
	d := &decoder{file: path, pos: from.pos}
	if root.kind != mapNode {
		return nil, fmt.Errorf("%s:%d:%d: want a mapping of settings (key: value), got %s", path, root.line, root.col, root.describe())
	}
	d.decodeMap(root, reflect.ValueOf(s).Elem(), "")
	_, index := jsonKeys(reflect.TypeFor[settings]())
	for _, k := range root.keys {
		if _, ok := index[k.text]; ok {
			from.by[k.text] = srcFile
		}
	}
	return d.probs, nil
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
		// -console-telemetry shows the agent's own series in the table: telemetry with no
		// upstream to bill.
		Telemetry: s.Telemetry || (s.ConsoleTel && s.Upstream == ""),
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
		// The console shows each histogram as one row, whatever the histogram settings say
		// of the upstream (they are checked all the same): summaries the table folds.
		c.Statsd.Writer = newTable(stdout, s.ConsoleTel)
		c.Histograms = agent.HistogramConfig{Quantiles: consoleQuantiles(), SketchDistributions: s.SketchDist}
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
	x, err := parseDuration(v)
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
