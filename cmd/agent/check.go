package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/statsd"
)

// problem is one thing wrong with the settings, named by where it was said: a flag ("-listen"),
// an environment variable ("STATSHARD_LISTEN"), a place in the config file
// ("agent.yaml:3:5: listen[1]"), or a default ("-listen (default)").
type problem struct {
	where string // "" when no one setting is to blame
	err   error
}

func (p problem) Error() string {
	if p.where == "" {
		return p.err.Error()
	}
	return p.where + ": " + p.err.Error()
}

func (p problem) Unwrap() error { return p.err }

// problems is every problem found, in the order of the settings; as an error, one a line.
type problems []problem

func (ps problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, nil when empty.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// srcKind says who gave a setting its value: the last of file, environment and command line
// that set it wins.
type srcKind uint8

const (
	srcDefault srcKind = iota
	srcFile
	srcEnv
	srcFlag
)

// origins remembers where each setting came from, to name it in a problem.
type origins struct {
	file string
	by   map[string]srcKind // key -> who set it last
	pos  map[string][2]int  // paths in the file ("listen", "listen[1]") -> line, col
}

func newOrigins() *origins {
	return &origins{by: map[string]srcKind{}, pos: map[string][2]int{}}
}

// keyOf returns the setting a path is in: "listen" for "listen[1]", "histogram_rules" for
// "histogram_rules[0].mode".
func keyOf(path string) string {
	if i := strings.IndexAny(path, "[."); i >= 0 {
		return path[:i]
	}
	return path
}

// where names the setting at path by where it was given.
func (o *origins) where(path string) string {
	key := keyOf(path)
	name := keyFlags()[key]
	switch o.by[key] {
	case srcFlag:
		return "-" + name
	case srcEnv:
		return envName(name)
	case srcFile:
		p, ok := o.pos[path]
		if !ok {
			p = o.pos[key]
		}
		return fmt.Sprintf("%s:%d:%d: %s", o.file, p[0], p[1], path)
	}
	return "-" + name + " (default)"
}

// source describes where a setting came from, for -check-config.
func (o *origins) source(key string) string {
	switch o.by[key] {
	case srcFlag:
		return "-" + keyFlags()[key]
	case srcEnv:
		return envName(keyFlags()[key])
	case srcFile:
		p := o.pos[key]
		return fmt.Sprintf("%s:%d:%d", o.file, p[0], p[1])
	}
	return "default"
}

// flagKeys maps each setting's flag name to its key (the JSON name): the flag whose value is the
// field, found by address, so a flag added to bind needs nothing more here. The map is shared:
// do not change it.
var flagKeys = sync.OnceValue(func() map[string]string {
	var s settings
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	bind(fs, &s)
	v := reflect.ValueOf(&s).Elem()
	keys, index := jsonKeys(v.Type())
	byAddr := map[uintptr]string{}
	for _, k := range keys {
		byAddr[v.Field(index[k]).Addr().Pointer()] = k
	}
	m := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if k, ok := byAddr[reflect.ValueOf(f.Value).Pointer()]; ok {
			m[f.Name] = k
		}
	})
	return m
})

// keyFlags is flagKeys the other way round.
func keyFlags() map[string]string {
	m := map[string]string{}
	for f, k := range flagKeys() {
		m[k] = f
	}
	return m
}

// notAgentEnv are STATSHARD_* variables that statshard's own tests and CI read, not the agent:
// CI exports them to every process it starts, the agent included, so they are not typos.
var notAgentEnv = []string{"STATSHARD_REQUIRE_PEERS", "STATSHARD_ATTACK_SECONDS", "STATSHARD_SOAK_SECONDS",
	"STATSHARD_BENCH_RECEIVER", "STATSHARD_FAULT_RLIMIT_CHILD"}

// envProblems reports STATSHARD_* variables that set nothing: a typo would otherwise be
// ignored silently, as a JSON typo is not.
func envProblems(environ []string) problems {
	var known []string
	for f := range flagKeys() {
		known = append(known, envName(f))
	}
	known = append(known, "STATSHARD_CONFIG")
	var ps problems
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "STATSHARD_") || containsString(known, name) || containsString(notAgentEnv, name) {
			continue
		}
		msg := "not a setting of the agent"
		switch f := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "STATSHARD_"), "_", "-")); f {
		case "check-config", "version":
			msg = fmt.Sprintf("-%s is a command-line flag only", f)
		default:
			if c := closest(name, known); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
		}
		ps = append(ps, problem{where: name, err: errors.New(msg)})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].where < ps[j].where })
	return ps
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// check returns every problem of s that would stop a start, without binding anything, each
// named by where it was set (from). Each setting is checked alone, on the library's defaults
// for the others, so that one mistake is reported once, at its own name.
func (s settings) check(from *origins) problems {
	var ps problems
	add := func(path string, err error) {
		if err != nil {
			ps = append(ps, problem{where: from.where(path), err: trimPrefixes(err)})
		}
	}
	lib := func(c agent.Config) error { return agent.CheckConfig(c) }
	console := agent.StatsdConfig{Writer: io.Discard}

	if len(s.Listen) == 0 {
		add("listen", errors.New("no intake address"))
	}
	for i, a := range s.Listen {
		err := agent.CheckIntake(agent.Config{Statsd: console}, agent.IntakeConfig{Listen: []string{a}})
		add(fmt.Sprintf("listen[%d]", i), quoted(a, err))
	}
	upOK := true
	if s.Upstream != "" {
		err := lib(agent.Config{Statsd: agent.StatsdConfig{Address: s.Upstream}})
		add("upstream", quoted(s.Upstream, err))
		upOK = err == nil
	}
	if upOK {
		sc := agent.StatsdConfig{Address: s.Upstream, MaxPacketSize: s.MaxPacketSize}
		if s.Upstream == "" {
			sc = agent.StatsdConfig{Writer: io.Discard, MaxPacketSize: s.MaxPacketSize}
		}
		add("max_packet_size", lib(agent.Config{Statsd: sc}))
	}
	if s.TCP != "off" {
		add("tcp", quoted(s.TCP, checkHostPort(s.TCP)))
		tc := func(t agent.TCPConfig) agent.Config { t.Enabled = true; return agent.Config{TCP: t, Statsd: console} }
		add("tcp_max_clients", lib(tc(agent.TCPConfig{MaxClients: s.TCPMaxClients})))
		add("tcp_buffer", lib(tc(agent.TCPConfig{BufferSize: s.TCPBuffer})))
	}
	if time.Duration(s.Interval) <= 0 {
		add("interval", fmt.Errorf("must be positive, got %v", time.Duration(s.Interval)))
	}
	if s.HTTP != "off" {
		add("http", quoted(s.HTTP, checkHostPort(s.HTTP)))
	}
	if _, err := parseLevel(s.LogLevel); err != nil {
		add("log_level", errors.New(strings.TrimPrefix(err.Error(), "log-level ")))
	}
	add("prefix", lib(agent.Config{Prefix: s.Prefix, Statsd: console}))
	for i, t := range s.Tags {
		add(fmt.Sprintf("tags[%d]", i), lib(agent.Config{Tags: []string{t}, Statsd: console}))
	}
	mode, err := agent.ParseHistogramMode(s.HistogramMode)
	add("histogram_mode", err)
	add("quantiles", lib(agent.Config{Histograms: agent.HistogramConfig{Quantiles: s.Quantiles}, Statsd: console}))
	if err == nil {
		add("buckets", lib(agent.Config{Histograms: agent.HistogramConfig{Mode: mode, Bounds: s.Buckets}, Statsd: console}))
	}
	for i, r := range s.HistogramRules {
		path := fmt.Sprintf("histogram_rules[%d]", i)
		m, err := agent.ParseHistogramMode(r.Mode)
		if err != nil {
			add(path+".mode", err)
			continue
		}
		rule := agent.HistogramRule{Match: r.Match, Mode: m, Bounds: r.Bounds, Quantiles: r.Quantiles}
		add(path, lib(agent.Config{Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{rule}}, Statsd: console}))
	}
	if s.Readers < 0 {
		add("readers", fmt.Errorf("negative, got %d (0 means GOMAXPROCS)", s.Readers))
	}
	if time.Duration(s.ShutdownTimeout) <= 0 {
		add("shutdown_timeout", fmt.Errorf("must be positive, got %v", time.Duration(s.ShutdownTimeout)))
	}
	if len(ps) > 0 {
		return ps
	}
	// The settings together: an intake that receives the agent's own flushes loops forever.
	c, ic, err := s.agentConfigs(nil, nil)
	if err == nil {
		err = agent.CheckIntake(c, ic)
	}
	if err != nil {
		where := ""
		if errors.Is(err, agent.ErrLoop) {
			where = from.where("upstream")
		}
		ps = append(ps, problem{where: where, err: trimPrefixes(err)})
	}
	return ps
}

// trimPrefixes drops the package prefixes ("agent: intake: netio: ") from a library error: the
// problem's name says where it is.
func trimPrefixes(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, p := range []string{"agent: ", "intake: ", "netio: ", "Statsd.Address: ", "Histograms: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if msg == err.Error() {
		return err
	}
	return wrapped{msg, err}
}

// wrapped is an error with a message of its own that still unwraps to the original.
type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.err }

// quoted puts the value a problem is about in front of its error, unless the error quotes it.
func quoted(value string, err error) error {
	if err == nil {
		return nil
	}
	err = trimPrefixes(err)
	if strings.Contains(err.Error(), value) {
		return err
	}
	return wrapped{strconv.Quote(value) + ": " + err.Error(), err}
}

// checkHostPort checks a TCP listen address (host may be empty, port may be 0).
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// bindProblems binds every listener of s for an instant, as a start would, and reports each
// that cannot be bound, with what to do about it. A start runs it before anything else, so that
// a failed start says so first and prints nothing that looks like a running agent.
func (s settings) bindProblems(from *origins) problems {
	var ps problems
	add := func(path, addr string, err error) {
		if err != nil {
			ps = append(ps, problem{where: from.where(path), err: withHint(keyOf(path), addr, trimPrefixes(err))})
		}
	}
	if s.HTTP != "off" {
		add("http", s.HTTP, listenTCP(s.HTTP))
	}
	if s.TCP != "off" {
		add("tcp", s.TCP, listenTCP(s.TCP))
	}
	for i, a := range s.Listen {
		add(fmt.Sprintf("listen[%d]", i), a, agent.CheckListen(a))
	}
	return ps
}

func listenTCP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// withHint adds to a bind error what an operator can do about it.
func withHint(key, addr string, err error) error {
	flagName := "-" + keyFlags()[key]
	port := ""
	if _, p, e := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(addr, "udp://"), "udp4://"), "udp6://")); e == nil {
		port = p
	}
	var hint string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		switch key {
		case "listen":
			hint = fmt.Sprintf("another DogStatsD server (a Datadog Agent, statsd_exporter, another statshard) may hold port %s: stop it, or receive elsewhere with %s", port, flagName)
		case "tcp":
			hint = fmt.Sprintf("port %s is taken: choose another address with -tcp, or -tcp off to run without the event stream", port)
		case "http":
			hint = fmt.Sprintf("port %s is taken: choose another address with -http, or -http off to run without /metrics and /healthz", port)
		}
	case errors.Is(err, syscall.EACCES) && port != "":
		if n, _ := strconv.Atoi(port); n > 0 && n < 1024 {
			hint = "ports below 1024 need root or CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE)"
		}
	case errors.Is(err, syscall.EACCES):
		hint = "this user may not create the socket there: run as a user who may, or choose another directory"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		hint = "no interface of this host has that address"
	case errors.Is(err, fs.ErrNotExist):
		hint = "create the directory first (systemd: RuntimeDirectory=; Kubernetes: a hostPath volume)"
	case strings.Contains(err.Error(), "in use"):
		hint = fmt.Sprintf("another process receives on this socket: stop it, or choose another path with %s", flagName)
	}
	if hint == "" {
		return err
	}
	return wrapped{err.Error() + "; " + hint, err}
}

// warnings are what -check-config notes without failing: an upstream the agent would start with
// but not reach yet (it keeps trying, and counts what it cannot send).
func (s settings) warnings() []string {
	if s.Upstream == "" || s.Upstream == "off" {
		return nil
	}
	scheme, rest, ok := strings.Cut(s.Upstream, "://")
	if !ok {
		scheme, rest = "udp", s.Upstream
	}
	switch strings.ToLower(scheme) {
	case "unixgram":
		if _, err := os.Stat(rest); err != nil {
			return []string{fmt.Sprintf("upstream %s: %v (the agent starts anyway and sends once the socket exists)", s.Upstream, trimPrefixes(err))}
		}
		if _, err := os.Stat(filepath.Dir(rest)); err != nil {
			return []string{fmt.Sprintf("upstream %s: %v", s.Upstream, err)}
		}
	default:
		host, _, err := net.SplitHostPort(rest)
		if err != nil || net.ParseIP(host) != nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return []string{fmt.Sprintf("upstream %s: %v (the agent starts anyway, counts what it cannot send and retries)", s.Upstream, err)}
		}
	}
	return nil
}

// effective returns s with each zero that means a default replaced by that default, as the
// library resolves it: what -check-config prints.
func (s settings) effective() settings {
	e := s
	e.HistogramRules = append([]histogramRule(nil), s.HistogramRules...)
	if e.TCP != "off" {
		e.TCPMaxClients = cmpOr(e.TCPMaxClients, agent.DefaultTCPMaxClients)
		e.TCPBuffer = cmpOr(e.TCPBuffer, agent.DefaultTCPBuffer)
	}
	e.MaxSeries = cmpOr(e.MaxSeries, shard.DefaultMaxSeries)
	e.Expiry = cmpOr(e.Expiry, shard.DefaultExpiry)
	e.Readers = cmpOr(e.Readers, runtime.GOMAXPROCS(0))
	e.RecvBuffer = cmpOr(e.RecvBuffer, s.recvBufferWanted())
	if e.MaxPacketSize == 0 {
		e.MaxPacketSize = statsd.DefaultMaxUnix // the console table, and unixgram
		if u := strings.ToLower(s.Upstream); u != "" && !strings.HasPrefix(u, "unixgram://") && u != "off" {
			e.MaxPacketSize = statsd.DefaultMaxUDP
		}
	}
	for i, r := range e.HistogramRules {
		if r.Quantiles == nil && r.Mode == "summary" {
			e.HistogramRules[i].Quantiles = e.Quantiles
		}
		if r.Bounds == nil && r.Mode == "buckets" {
			e.HistogramRules[i].Bounds = e.Buckets
		}
	}
	return e
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkConfig is -check-config: it prints the values in effect and where each came from on
// stdout, and every problem a start would meet (the listeners bound for an instant) on stderr.
// It returns errReported when there is one.
func checkConfig(l *loaded, stdout, stderr io.Writer) error {
	if l.fatal != nil {
		printError(stderr, l.fatal)
		return errReported
	}
	ps := l.probs
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.where] = true
	}
	for _, p := range l.s.bindProblems(l.from) {
		if !seen[p.where] {
			ps = append(ps, p)
		}
	}
	b, _ := json.MarshalIndent(l.s.effective(), "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
	var given []string
	keys, _ := jsonKeys(reflect.TypeFor[settings]())
	for _, k := range keys {
		if src := l.from.source(k); src != "default" {
			given = append(given, k+" from "+src)
		}
	}
	if len(given) == 0 {
		fmt.Fprintln(stdout, "every value is the default")
	} else {
		fmt.Fprintf(stdout, "set: %s; the rest are defaults\n", strings.Join(given, ", "))
	}
	for _, w := range l.s.warnings() {
		fmt.Fprintln(stderr, "statshard: warning:", w)
	}
	if len(ps) > 0 {
		printError(stderr, ps)
		n := "1 problem"
		if len(ps) > 1 {
			n = fmt.Sprintf("%d problems", len(ps))
		}
		fmt.Fprintf(stderr, "statshard: %s: the agent would not start\n", n)
		return errReported
	}
	fmt.Fprintln(stdout, "configuration OK")
	return nil
}
