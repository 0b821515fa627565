package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/statshard/statshard/netio"
	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/statsd"
)

// Defaults for Config's zero fields.
const (
	DefaultInterval      = 10 * time.Second
	DefaultStatsdAddress = "udp://127.0.0.1:8125"
	DefaultReservoirSize = shard.DefaultReservoirCap
)

// DefaultQuantiles returns the quantiles a summary histogram reports when none are configured:
// 0.5, 0.9, 0.95, 0.99 and 0.999 (0 and 1 would repeat .min and .max exactly). Each call returns a
// new slice.
func DefaultQuantiles() []float64 { return []float64{0.5, 0.9, 0.95, 0.99, 0.999} }

// DefaultBounds returns the bucket bounds of a buckets-mode histogram when none are configured:
// Prometheus' default latency buckets, in seconds. Each call returns a new slice.
func DefaultBounds() []float64 {
	return []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Config configures a Recorder. The zero value is valid: every zero field means the documented
// default, so Config{} exports to DogStatsD every 10 s, on udp://127.0.0.1:8125 unless the
// Datadog environment variables say otherwise (see NoEnv).
type Config struct {
	// Interval is how often aggregates are flushed. Zero means DefaultInterval.
	Interval time.Duration
	// Prefix is prepended to every metric name ("myapp." gives "myapp.requests").
	Prefix string
	// Tags are global tags added to every series, as "key:value". A metric's own tag with the same
	// key wins, so no key is sent twice.
	Tags []string

	// MaxSeries caps the live series; past it new keys fold into one overflow series per metric
	// name, tagged "overflow:true", and each fold is counted. Zero means shard.DefaultMaxSeries;
	// negative, no cap.
	MaxSeries int
	// Expiry is how many consecutive intervals a series may stay untouched before it is removed.
	// Zero means shard.DefaultExpiry; negative disables expiry. A handle keeps working after its series expires.
	Expiry int
	// MaxSetSize bounds the distinct values a set keeps per interval. Zero means
	// shard.DefaultMaxSetSize.
	MaxSetSize int
	// MaxEvents bounds the events and service checks waiting for the next flush (Recorder.Event,
	// Recorder.ServiceCheck); past it they are refused and counted. Each is at most one payload,
	// so they hold at most MaxEvents × MaxPacketSize bytes. Zero means DefaultMaxEvents.
	MaxEvents int

	// Histograms chooses how histograms and distributions are exported.
	Histograms HistogramConfig
	// Statsd configures the DogStatsD exporter.
	Statsd StatsdConfig
	// TCP configures the TCP exporter, the live event stream. It is off unless TCP.Enabled.
	TCP TCPConfig

	// Telemetry, when true, also sends the recorder's own counters (Stats) as DogStatsD metrics
	// named "statshard.*" on every flush. It is off by default because to Datadog these are custom
	// metrics like any other, billed as such: about 30 names (fewer in practice, as only counters
	// that moved are sent), each once per distinct set of global tags and origin, so some 30
	// custom metrics per host or container that enables it. Stats gives the same counters for
	// free in the process.
	Telemetry bool
	// RuntimeMetrics, when true, also sends Go runtime metrics (heap, GC, goroutines, scheduler
	// latency, CPU classes, cgo calls; read from runtime/metrics) on every flush, under the
	// runtime.go.* names Datadog's tracer uses: see docs/runtime-metrics.md. Off, it costs nothing.
	RuntimeMetrics bool
	// NoEnv turns off everything the recorder reads from its environment, as datadog-go v5.9
	// reads it (see the README's "Configuration from the environment"): the destination from
	// DD_DOGSTATSD_URL, or DD_AGENT_HOST and DD_DOGSTATSD_PORT, when Statsd.Address is empty; the
	// global tags env:, service:, version: and dd.internal.entity_id: from DD_ENV, DD_SERVICE,
	// DD_VERSION and DD_ENTITY_ID (a tag in Tags with the same key wins); DD_ORIGIN_DETECTION_ENABLED,
	// DD_EXTERNAL_ENV, and DD_CARDINALITY or DATADOG_CARDINALITY. With NoEnv, origin detection
	// follows Statsd.OriginDetection alone (OriginDetectionAuto then means off).
	NoEnv bool
	// Logger receives rare events (an upstream that fails or recovers, rejected metric names, the
	// cardinality caps starting to act).
	// Nil means slog.Default(). Nothing is logged per recorded value.
	Logger *slog.Logger

	// env replaces the process environment in tests; nil means processEnv.
	env *environment
}

// StatsdConfig configures the DogStatsD exporter.
type StatsdConfig struct {
	// Address is where payloads go, in the forms of DD_DOGSTATSD_URL (netio.ParseAddr):
	// "udp://host:port", "host:port", "udp://host" or "host" (port 8125), "[::1]:8125"; a DNS name
	// is re-resolved every ResolveInterval (datadog-go resolves it once). "unix:///path" and
	// "unixgram:///path" are Unix datagram sockets; "unixstream:///path" is a Unix stream socket,
	// each payload prefixed by its length as a 4-byte little-endian integer, as the Datadog
	// Agent's stream socket expects. Empty means the environment (DD_DOGSTATSD_URL, else
	// DD_AGENT_HOST and DD_DOGSTATSD_PORT; see Config.NoEnv), else DefaultStatsdAddress; "off"
	// disables the exporter (values are still aggregated and flushed, e.g. for Writer).
	Address string
	// Writer, when non-nil, receives every payload instead of a socket, each followed by '\n'
	// (for a console or tests), and if it has a Flush() error method (like bufio.Writer), Flush is
	// called at the end of each flush. Address is then ignored.
	Writer io.Writer
	// MaxPacketSize is the largest payload in bytes. Zero means statsd.DefaultMaxUDP for UDP (safe
	// for a 1500-byte MTU) and statsd.DefaultMaxUnix for Unix datagram sockets and Writer.
	MaxPacketSize int
	// ContainerID, when set, is sent with every line as "|c:<id>" (DogStatsD 1.2), whatever
	// OriginDetection says. Empty means the ID origin detection finds, if it is on.
	ContainerID string
	// Timestamps adds "|T<unix seconds>" of the flush to counter and gauge lines (DogStatsD 1.3).
	Timestamps bool
	// MultiValue packs raw distribution samples as "name:v1:v2:...|d" (DogStatsD 1.1) instead of
	// one line per sample.
	MultiValue bool
	// ResendGauges keeps sending a gauge's last value on every flush, not only in intervals it was
	// set in, until the series expires.
	ResendGauges bool
	// ResolveInterval is how often a DNS name in Address is re-resolved. Zero means
	// netio.DefaultResolveInterval.
	ResolveInterval time.Duration
	// WriteTimeout bounds how long one flush waits for a full socket buffer. Zero means
	// netio.DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OriginDetection chooses whether the container ID of the process, as datadog-go v5.9 finds it
	// (/proc/self/cgroup, cgroup v1 or v2; else /proc/self/mountinfo; else the cgroup node's inode
	// as "in-<inode>"), is sent with every line as "|c:<id>", and DD_EXTERNAL_ENV as "|e:<data>",
	// so that the Datadog Agent tags the metrics with their container and pod. The zero value,
	// OriginDetectionAuto, turns it on when any Datadog variable is set and
	// DD_ORIGIN_DETECTION_ENABLED is not false; a program configured in code alone sends exactly
	// what it sent before. Nothing is sent when no ID is found.
	OriginDetection OriginDetection
	// Cardinality is the tag cardinality the Datadog Agent should give every line's origin
	// tags, sent as "|card:<c>": "none", "low", "orchestrator" or "high". Empty means
	// DD_CARDINALITY, else DATADOG_CARDINALITY, else nothing sent. A series can ask for its own
	// with a cardinality option among its tags (CardinalityHigh, ...).
	Cardinality string
}

// HistogramMode is how a histogram series is exported.
type HistogramMode uint8

// The histogram modes.
const (
	// HistogramSummary sends name.count (counter), name.sum, name.avg, name.min, name.max and one
	// gauge per quantile (name.median, name.p95, name.p99, name.p999, ...), computed from a sketch
	// with at most 1% relative error; count, sum, min and max are exact.
	HistogramSummary HistogramMode = iota
	// HistogramBuckets sends cumulative bucket counts as counters name.bucket tagged "le:<bound>"
	// (the last "le:inf"), plus name.sum (gauge) and name.count (counter). Counts are exact.
	HistogramBuckets
	// HistogramDistribution sends the values as DogStatsD distributions ("|d") so the receiver
	// computes percentiles across hosts.
	HistogramDistribution
)

var modeNames = [...]string{"summary", "buckets", "distribution"}

// String returns "summary", "buckets" or "distribution".
func (m HistogramMode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// ParseHistogramMode parses the names String returns.
func ParseHistogramMode(s string) (HistogramMode, error) {
	for i, n := range modeNames {
		if s == n {
			return HistogramMode(i), nil
		}
	}
	return 0, fmt.Errorf("agent: unknown histogram mode %q (want summary, buckets or distribution)", s)
}

// HistogramConfig chooses how histograms are exported, per metric.
type HistogramConfig struct {
	// Mode applies to histograms no rule matches. The zero value is Summary.
	Mode HistogramMode
	// Quantiles for Summary mode, each in [0, 1]. Nil means DefaultQuantiles(), or 0.5 and 0.95
	// with NamingDatadog.
	Quantiles []float64
	// Bounds for Buckets mode, strictly ascending and finite. Nil means DefaultBounds().
	Bounds []float64
	// Rules override Mode, Quantiles and Bounds for matching names (matched on the name
	// sanitized, before Prefix). Precedence: an exact rule, then the longest matching prefix rule,
	// then the longest matching suffix rule, then the defaults above.
	Rules []HistogramRule
	// ReservoirSize bounds the raw samples a distribution keeps per interval. Past it, a uniform
	// sample of that size is kept and each value is sent weighted (with a rate r, int(1/r) being
	// its weight) so that the weights add up to the interval's exact count: receivers that honour
	// rates on distributions (statsd_exporter, the Datadog Agent) read the count exactly and the
	// distribution from the sample; telegraf ignores rates on distributions. Zero means
	// DefaultReservoirSize. A distribution's memory grows with the values of an interval, up to
	// two buffers of ReservoirSize values (12 bytes each: 24 KiB at the default).
	ReservoirSize int
	// SketchDistributions sends a distribution as its sketch's bins, one weighted
	// "value|d|@rate" line per bin (values within 1%, int(1/rate) the bin's count), instead of raw
	// samples: lines per interval stay bounded however many values were recorded. Timings
	// (Recorder.Timing) are sent the same way, as "ms" lines.
	SketchDistributions bool
	// Naming chooses the names of a summary's lines: NamingStatshard (the zero value) or
	// NamingDatadog, the names the Datadog Agent gives a histogram.
	Naming HistogramNaming
}

// HistogramNaming is how a summary histogram names its lines (HistogramConfig.Naming).
type HistogramNaming uint8

// The summary namings.
const (
	// NamingStatshard sends name.count (counter), name.sum, name.avg, name.min, name.max and one
	// gauge per quantile: name.median, name.p90, name.p95, name.p99, name.p999 (see
	// HistogramSummary).
	NamingStatshard HistogramNaming = iota
	// NamingDatadog sends what the Datadog Agent sends for a DogStatsD histogram with its default
	// histogram_aggregates and histogram_percentiles: name.avg, name.count (counter),
	// name.median, name.95percentile and name.max, so that dashboards and monitors built on
	// Agent-side histograms keep working. Quantiles nil then means 0.5 and 0.95; another quantile q
	// is name.<digits of q>percentile (0.99 is .99percentile, 0.9 .90percentile, 0.999
	// .999percentile, where the Agent would truncate it to .99percentile). No .sum nor .min is
	// sent: to Datadog each name is one more custom metric per tag set.
	NamingDatadog
)

// datadogQuantiles are the Datadog Agent's default histogram_percentiles, with the median.
func datadogQuantiles() []float64 { return []float64{0.5, 0.95} }

// HistogramRule sets the export of the histograms whose name matches.
type HistogramRule struct {
	// Match is an exact name ("http.latency"), a prefix ending in '*' ("http.*") or a suffix
	// starting with '*' ("*.latency").
	Match     string
	Mode      HistogramMode
	Quantiles []float64 // Summary; nil means HistogramConfig.Quantiles
	Bounds    []float64 // Buckets; nil means HistogramConfig.Bounds
}

// histPlan is the resolved export of one histogram series.
type histPlan struct {
	mode      HistogramMode
	datadog   bool // summary names and lines of NamingDatadog
	quantiles []quantile
	bounds    []float64
	leTags    []string // "le:<bound>" per bound, then "le:inf"
	// samples is the type of the lines that carry values (mode HistogramDistribution): "d", or
	// "ms" for timings. Zero means "d".
	samples statsd.Type
}

// distributionPlan is the plan of every distribution series.
var distributionPlan = &histPlan{mode: HistogramDistribution}

// timingPlan is the plan of every timing series: its values in milliseconds, sent as they are,
// as "ms" samples, so that the receiver aggregates them as timings (the Datadog Agent as a
// histogram, statsd_exporter as seconds).
var timingPlan = &histPlan{mode: HistogramDistribution, samples: statsd.Timing}

// sampleType is the type of the lines that carry a distribution plan's values.
func (p *histPlan) sampleType() statsd.Type {
	if p.samples == 0 {
		return statsd.Distribution
	}
	return p.samples
}

// maxSuffix returns the length of the longest suffix the plan's lines add to a series name; 0 for
// a nil plan (counters, gauges, sets) and for distributions.
func (p *histPlan) maxSuffix() int {
	if p == nil {
		return 0
	}
	n := 0
	switch p.mode {
	case HistogramSummary:
		for _, s := range summaryAggregates(p.datadog) {
			n = max(n, len(s))
		}
		for _, q := range p.quantiles {
			n = max(n, len(q.suffix))
		}
	case HistogramBuckets:
		for _, s := range [...]string{".bucket", ".count", ".sum"} {
			n = max(n, len(s))
		}
	}
	return n
}

type quantile struct {
	q      float64
	suffix string
}

// matcher resolves histogram rules with the documented precedence.
type matcher struct {
	exact    map[string]*histPlan
	prefixes []ruleEntry // longest first
	suffixes []ruleEntry // longest first
	def      *histPlan
}

type ruleEntry struct {
	s    string
	plan *histPlan
}

func (m *matcher) plan(name string) *histPlan {
	if p, ok := m.exact[name]; ok {
		return p
	}
	for _, e := range m.prefixes {
		if strings.HasPrefix(name, e.s) {
			return e.plan
		}
	}
	for _, e := range m.suffixes {
		if strings.HasSuffix(name, e.s) {
			return e.plan
		}
	}
	return m.def
}

func newMatcher(c HistogramConfig) (*matcher, error) {
	if c.Naming > NamingDatadog {
		return nil, fmt.Errorf("agent: Histograms: unknown naming %d", c.Naming)
	}
	dd := c.Naming == NamingDatadog
	qs := c.Quantiles
	if qs == nil {
		qs = DefaultQuantiles()
		if dd {
			qs = datadogQuantiles()
		}
	}
	bs := c.Bounds
	if bs == nil {
		bs = DefaultBounds()
	}
	def, err := newPlan(c.Mode, qs, bs, dd)
	if err != nil {
		return nil, fmt.Errorf("agent: Histograms: %w", err)
	}
	m := &matcher{exact: map[string]*histPlan{}, def: def}
	for _, r := range c.Rules {
		rq, rb := r.Quantiles, r.Bounds
		if rq == nil {
			rq = qs
		}
		if rb == nil {
			rb = bs
		}
		p, err := newPlan(r.Mode, rq, rb, dd)
		if err != nil {
			return nil, fmt.Errorf("agent: histogram rule %q: %w", r.Match, err)
		}
		switch {
		case r.Match == "" || r.Match == "*":
			return nil, fmt.Errorf("agent: histogram rule %q: empty pattern (set HistogramConfig.Mode for a default)", r.Match)
		case strings.HasSuffix(r.Match, "*"):
			m.prefixes = append(m.prefixes, ruleEntry{strings.TrimSuffix(r.Match, "*"), p})
		case strings.HasPrefix(r.Match, "*"):
			m.suffixes = append(m.suffixes, ruleEntry{strings.TrimPrefix(r.Match, "*"), p})
		default:
			m.exact[r.Match] = p
		}
	}
	byLen := func(es []ruleEntry) {
		// Longest first; stable so that equal lengths keep configuration order.
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && len(es[j].s) > len(es[j-1].s); j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
	}
	byLen(m.prefixes)
	byLen(m.suffixes)
	return m, nil
}

func newPlan(mode HistogramMode, qs, bounds []float64, datadog bool) (*histPlan, error) {
	if mode > HistogramDistribution {
		return nil, fmt.Errorf("unknown histogram mode %d", mode)
	}
	p := &histPlan{mode: mode, datadog: datadog}
	seen := map[string]bool{}
	for _, q := range qs {
		if !(q >= 0 && q <= 1) {
			return nil, fmt.Errorf("quantile %v outside [0, 1]", q)
		}
		s := quantileSuffix(q)
		if datadog {
			s = datadogSuffix(q)
		}
		if seen[s] {
			return nil, fmt.Errorf("quantile %v given twice", q)
		}
		seen[s] = true
		p.quantiles = append(p.quantiles, quantile{q, s})
	}
	for i, b := range bounds {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("bucket bound %v is not finite", b)
		}
		if i > 0 && b <= bounds[i-1] {
			return nil, errors.New("bucket bounds must be strictly ascending")
		}
		p.leTags = append(p.leTags, "le:"+string(statsd.AppendNumber(nil, b)))
	}
	if mode == HistogramBuckets && len(bounds) == 0 {
		return nil, errors.New("buckets mode needs at least one bound")
	}
	p.bounds = append([]float64(nil), bounds...)
	p.leTags = append(p.leTags, "le:inf")
	return p, nil
}

// summaryAggregates are the suffixes of a summary's lines besides its quantiles: .count is a
// counter, the others gauges.
func summaryAggregates(datadog bool) []string {
	if datadog {
		return []string{".count", ".avg", ".max"}
	}
	return []string{".count", ".sum", ".avg", ".min", ".max"}
}

// datadogSuffix names a quantile's gauge as the Datadog Agent names a histogram percentile:
// 0.5 is ".median", 0.95 ".95percentile", 0.9 ".90percentile", 0.05 ".5percentile" (the Agent
// writes the integer percent), 0.999 ".999percentile", 0 ".0percentile" and 1 ".100percentile".
func datadogSuffix(q float64) string {
	switch q {
	case 0:
		return ".0percentile"
	case 0.5:
		return ".median"
	case 1:
		return ".100percentile"
	}
	d := strings.TrimPrefix(string(statsd.AppendNumber(nil, q)), "0.")
	switch {
	case len(d) == 1:
		d += "0"
	case len(d) == 2 && d[0] == '0':
		d = d[1:]
	}
	return "." + d + "percentile"
}

// quantileSuffix names a quantile's gauge: 0.5 is ".median", 0.9 is ".p90", 0.99 is ".p99",
// 0.999 is ".p999", 0.05 is ".p05", 0 is ".p0" and 1 is ".p100". The digits are those of q after
// "0.", padded to two, so no floating-point multiplication can turn 0.07 into "p7000000000000001".
func quantileSuffix(q float64) string {
	switch q {
	case 0:
		return ".p0"
	case 0.5:
		return ".median"
	case 1:
		return ".p100"
	}
	d := strings.TrimPrefix(string(statsd.AppendNumber(nil, q)), "0.")
	if len(d) == 1 {
		d += "0"
	}
	return ".p" + d
}

// resolved is a Config with defaults applied and derived state built.
type resolved struct {
	Config
	addr     netio.Addr
	maxPkt   int
	global   []string // sanitized global tags
	matcher  *matcher
	resSize  int
	logger   *slog.Logger
	envTags  []string     // global tags from the environment, unsanitized
	external string       // "|e:" of every line: DD_EXTERNAL_ENV with origin detection on
	card     string       // "|card:" of every line without a cardinality option
	warnings []envWarning // environment values ignored, logged by New
}

func (c Config) resolve() (*resolved, error) {
	r := &resolved{Config: c}
	if id := r.Statsd.ContainerID; id != "" && !validOrigin(id) {
		return nil, fmt.Errorf("agent: Statsd.ContainerID %q: want only ASCII letters, digits and \"-_.:/\" (it is written into every line as \"|c:<id>\")", id)
	}
	env := processEnv
	if r.env != nil {
		env = *r.env
	}
	if err := r.applyEnv(env); err != nil {
		return nil, err
	}
	if r.Interval == 0 {
		r.Interval = DefaultInterval
	}
	if r.Interval < 0 {
		return nil, fmt.Errorf("agent: negative Interval %v", r.Interval)
	}
	if r.Prefix != "" && !statsd.ValidName(r.Prefix+"x") {
		return nil, fmt.Errorf("agent: Prefix %q is not a valid metric name start", r.Prefix)
	}
	for _, t := range r.Tags {
		ct, _, err := statsd.SanitizeTag(t)
		if err != nil {
			return nil, fmt.Errorf("agent: global tag %q: %w", t, err)
		}
		r.global = append(r.global, ct)
	}
	for _, t := range r.envTags {
		ct, _, err := statsd.SanitizeTag(t)
		if err != nil {
			continue // a value with no valid character adds nothing
		}
		k := statsd.TagKey(ct)
		if !slices.ContainsFunc(r.global, func(g string) bool { return statsd.TagKey(g) == k }) {
			r.global = append(r.global, ct)
		}
	}
	m, err := newMatcher(r.Histograms)
	if err != nil {
		return nil, err
	}
	r.matcher = m
	r.resSize = r.Histograms.ReservoirSize
	if r.resSize <= 0 {
		r.resSize = DefaultReservoirSize
	}
	r.logger = r.Logger
	if r.logger == nil {
		r.logger = slog.Default()
	}
	r.maxPkt = r.Statsd.MaxPacketSize
	switch {
	case r.Statsd.Writer != nil:
		if r.maxPkt == 0 {
			r.maxPkt = statsd.DefaultMaxUnix
		}
	case r.Statsd.Address == "off":
	default:
		if r.addr.Network == "" { // not from the environment
			s := r.Statsd.Address
			if s == "" {
				s = DefaultStatsdAddress
			}
			a, err := netio.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("agent: Statsd.Address: %w", err)
			}
			r.addr = a
		}
		if r.maxPkt == 0 {
			r.maxPkt = statsd.DefaultMaxUDP
			if r.addr.Network == "unixgram" || r.addr.Network == "unixstream" {
				r.maxPkt = statsd.DefaultMaxUnix
			}
		}
	}
	if r.maxPkt < 0 {
		return nil, fmt.Errorf("agent: negative Statsd.MaxPacketSize %d", r.maxPkt)
	}
	if r.TCP.Enabled {
		if err := r.TCP.resolve(); err != nil {
			return nil, err
		}
	}
	if id := r.Statsd.ContainerID; id != "" && !validOrigin(id) {
		// A detected ID passes the detection's patterns; only a bug could bring one here.
		return nil, fmt.Errorf("agent: container ID %q: want only ASCII letters, digits and \"-_.:/\"", id)
	}
	return r, nil
}

// validOrigin reports whether s can be written as a DogStatsD origin field ("|c:", "|e:",
// "|card:") without changing the line: container IDs are hex digests or "ci-"/"in-" forms, and
// nothing that could end the field ('|'), split the line ('\n') or start a new field may pass.
func validOrigin(s string) bool {
	if len(s) > statsd.MaxTagLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/':
		default:
			return false
		}
	}
	return true
}

// resolve applies TCPConfig's defaults and checks it. It is Config.resolve's, so that a
// configuration is validated once, in one place.
func (c *TCPConfig) resolve() error {
	switch {
	case c.MaxClients < 0:
		return fmt.Errorf("agent: negative TCP.MaxClients %d", c.MaxClients)
	case c.WriteTimeout < 0:
		return fmt.Errorf("agent: negative TCP.WriteTimeout %v", c.WriteTimeout)
	case c.CloseTimeout < 0:
		return fmt.Errorf("agent: negative TCP.CloseTimeout %v", c.CloseTimeout)
	}
	if c.Address == "" {
		c.Address = DefaultTCPAddress
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultTCPMaxClients
	}
	if c.SnapshotBudget == 0 {
		c.SnapshotBudget = DefaultTCPSnapshotBudget
	}
	return nil
}
