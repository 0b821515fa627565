// Command agent is the standalone statshard agent; it calls itself statshard (build it as
// such with go build -o statshard ./cmd/agent). It receives DogStatsD datagrams from services
// written in any language, aggregates them in the same lock-free shards as the library, forwards
// the aggregates upstream in sendmmsg batches, and serves every ingested sample live on a TCP
// stream of length-delimited protobuf that metrics-rs's metrics-observer can read.
//
// With no arguments it listens for DogStatsD on udp://127.0.0.1:8125, prints each flush (every
// 10 s) to stdout as a table, serves the stream on 127.0.0.1:5000 and its own metrics on
// http://127.0.0.1:8127/metrics:
//
//	go run ./cmd/agent
//	echo "page.views:1|c|#env:dev" | nc -u -w0 127.0.0.1 8125
//
// Run `statshard -h` for every flag. Each flag can also be set with an environment variable
// STATSHARD_<FLAG> (e.g. STATSHARD_UPSTREAM=udp://datadog:8125), or in a JSON or YAML file given
// with -config whose keys are the flag names with '_' for '-' (see the README). Command-line flags
// win over the environment, which wins over the file. -check-config reports every problem a start
// would meet, each by its flag, variable or file:line:column, and exits 1 if there is one.
//
// Under systemd (Type=notify, deploy/statshard.service) the agent sends READY=1, RELOADING=1 and
// STOPPING=1 to $NOTIFY_SOCKET itself.
//
// Signals: SIGTERM or SIGINT stops the intake (reading what its sockets still hold), flushes what
// is pending upstream, closes stream clients and exits within -shutdown-timeout. SIGHUP reloads
// the -config file without a gap in the intake: the new pipeline takes the sockets over, then the
// old one sends its final flush; a file that does not parse or validate, or a setting that cannot
// be applied (an -http address that cannot be bound), keeps the running configuration and logs
// why. SIGHUPs that arrive during a reload are coalesced into one more reload, which reads the file
// as it is then; a SIGTERM is never lost among them and wins over a pending reload.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() {
	// Terminating signals and reloads wait in channels of their own, so that reloads, however
	// many, can never fill the one a SIGTERM waits in (os/signal drops a signal whose channel is
	// full). One pending of each is all that matters: a second SIGHUP before the reload it asked
	// for reads the same file, and a second SIGTERM stops the same agent.
	term := make(chan os.Signal, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	signal.Notify(hup, syscall.SIGHUP)
	err := run(os.Args[1:], os.Stdout, os.Stderr, signals{term: term, hup: hup})
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errReported):
		os.Exit(1)
	case err != nil:
		printError(os.Stderr, err)
		os.Exit(1)
	}
}

// errReported is returned by run when it has printed why it fails already.
var errReported = errors.New("reported")

// printError prints err, one line each problem, each line naming the program.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "statshard:", line)
	}
}

// signals are the channels run waits on: term for SIGTERM and SIGINT, hup for SIGHUP.
type signals struct {
	term, hup <-chan os.Signal
}

// buildVersion, when set by the linker (-ldflags "-X main.buildVersion=v1.2.3", as the
// Dockerfile does), is the version; otherwise it is the module version go install stamps.
var buildVersion string

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// reloadApplies says how a SIGHUP applies each setting (the JSON key): a reload applies every
// setting or, if one cannot be applied, none. TestReloadCoversEverySetting keeps it complete.
var reloadApplies = map[string]string{
	"http":             "the telemetry server moves: the new address is bound before the reload commits (a failure rejects the reload), the old one then shuts down; off stops it",
	"pprof":            "/debug/pprof is switched on or off on the running server",
	"log_level":        "the level of the running logger changes",
	"shutdown_timeout": "read when a SIGTERM comes",
	"socket_mode":      "a unix socket file kept across the reload is given the new mode (netio.Reader.Handover); a new one is created with it",
}

// pipelineSettings are applied by the new pipeline (agentConfigs); the intake keeps its sockets
// where the address stays, the stream its listener.
var pipelineSettings = []string{"listen", "upstream", "tcp", "tcp_snapshot", "tcp_max_clients", "tcp_buffer",
	"interval", "prefix", "tags", "max_series", "expiry", "histogram_mode", "quantiles", "buckets",
	"histogram_rules", "sketch_distributions", "readers", "recv_buffer", "relative_gauges", "max_packet_size", "telemetry", "histogram_naming", "console_telemetry"}

// run is the agent: it returns when a terminating signal arrives on sig.term (or it is closed).
func run(args []string, stdout, stderr io.Writer, sig signals) error {
	l := loadAll(args, stderr, os.Environ())
	if l.act.version {
		fmt.Fprintln(stdout, "statshard", version(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
		return nil
	}
	if errors.Is(l.fatal, flag.ErrHelp) {
		return l.fatal
	}
	if l.act.checkConfig {
		return checkConfig(l, stdout, stderr)
	}
	if err := l.err(); err != nil {
		return err
	}
	// Every listener is bound for an instant before anything starts: a start that cannot bind
	// one fails here, naming each, before anything is printed.
	if ps := l.s.bindProblems(l.from); len(ps) > 0 {
		return ps
	}
	s, configPath := l.s, l.configPath
	var level slog.LevelVar
	lv, _ := parseLevel(s.LogLevel)
	level.Set(lv)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &level}))

	a := &agentState{log: log, stdout: stdout, notify: newNotifier(os.Environ())}
	p, err := a.start(s, nil)
	if err != nil {
		return err
	}
	a.cur = p
	var web *httpServer
	if s.HTTP != "off" {
		if web, err = serveHTTP(s.HTTP, s.Pprof, a, log); err != nil {
			p.stop(log)
			return err
		}
	}
	log.Info("statshard agent started", "version", version(), "listen", p.in.Addrs(), "upstream", orStdout(s.Upstream),
		"tcp", orOff(p.rec.TCPAddr()), "http", orOff(web.addr()), "interval", time.Duration(s.Interval))
	a.notifyReady("receiving on " + strings.Join(p.in.Addrs(), ", ") + ", forwarding to " + orStdout(s.Upstream))

	for {
		// A SIGTERM wins over a reload that is pending too.
		select {
		case sg, ok := <-sig.term:
			return a.shutdown(sg, ok, s, web)
		default:
		}
		select {
		case sg, ok := <-sig.term:
			return a.shutdown(sg, ok, s, web)
		case <-sig.hup:
		}
		if configPath == "" {
			log.Warn("SIGHUP: no -config file to reload")
			continue
		}
		if err := a.notify.reloading(); err != nil {
			log.Warn("systemd notify", "err", err)
		}
		// One pipeline at a time sends its final flush: wait for the last one retired, unless
		// a SIGTERM comes meanwhile.
		if r := a.lastRetiring(); r != nil {
			select {
			case <-r.stopped:
			case sg, ok := <-sig.term:
				return a.shutdown(sg, ok, s, web)
			}
		}
		ns, _, _, err := load(args, io.Discard)
		if err == nil {
			web, err = a.reload(s, ns, web)
		}
		if err != nil {
			a.rejected.Add(1)
			log.Error("SIGHUP: configuration rejected, keeping the running one", "err", err)
			a.notifyReady("reload rejected, running the previous configuration: " + strings.ReplaceAll(err.Error(), "\n", "; "))
			continue
		}
		s = ns
		l, _ := parseLevel(s.LogLevel)
		level.Set(l)
		a.reloads.Add(1)
		log.Info("configuration reloaded", "config", configPath, "listen", a.cur.in.Addrs(), "http", orOff(web.addr()))
		a.notifyReady("reloaded; receiving on " + strings.Join(a.cur.in.Addrs(), ", ") + ", forwarding to " + orStdout(s.Upstream))
	}
}

// reload applies ns over s: the HTTP address is bound first, then the new pipeline takes the
// intake over; only then does anything of the old configuration stop. It returns the telemetry
// server now serving (web, a new one, or nil for off). On error nothing has changed.
func (a *agentState) reload(s, ns settings, web *httpServer) (*httpServer, error) {
	nweb := web
	if ns.HTTP != s.HTTP {
		nweb = nil
		if ns.HTTP != "off" {
			var err error
			if nweb, err = serveHTTP(ns.HTTP, ns.Pprof, a, a.log); err != nil {
				return web, fmt.Errorf("-http %s cannot be applied: %w", ns.HTTP, err)
			}
		}
	}
	np, err := a.start(ns, a.cur)
	if err != nil {
		if nweb != web {
			nweb.close(context.Background())
		}
		return web, err
	}
	a.replace(np)
	if nweb != web {
		// Requests in progress on the old address may finish, for a moment.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		web.close(ctx)
		cancel()
	} else if web != nil {
		web.pprof.Store(ns.Pprof)
	}
	return nweb, nil
}

// shutdown stops the agent on sg (ok false: the channel was closed) within s.ShutdownTimeout:
// the intake reads what its sockets hold, the recorders send their final flushes, and the
// telemetry server, still answering meanwhile, closes last.
func (a *agentState) shutdown(sg os.Signal, ok bool, s settings, web *httpServer) error {
	name := "closed"
	if ok {
		name = sg.String()
	}
	a.log.Info("statshard agent stopping", "signal", name)
	if err := a.notify.stopping(); err != nil {
		a.log.Warn("systemd notify", "err", err)
	}
	timeout := time.Duration(s.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.stopAll()
		web.close(ctx)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("shutdown took longer than %v", timeout)
	}
	t := a.snapshot()
	a.log.Info("statshard agent stopped", "datagrams", t.Intake.Datagrams, "drained", t.Intake.Drained,
		"kernel_drops", t.Intake.KernelDrops, "truncated", t.Intake.Truncated, "lines_received", t.Intake.Lines,
		"lines_sent", t.Statsd.Lines, "reloads", a.reloads.Load())
	return nil
}

// notifyReady tells systemd the agent is ready (at start, and after a reload, applied or not).
func (a *agentState) notifyReady(status string) {
	if err := a.notify.ready(status); err != nil {
		a.log.Warn("systemd notify", "err", err)
	}
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func orStdout(s string) string {
	if s == "" {
		return "stdout (table)"
	}
	return s
}
