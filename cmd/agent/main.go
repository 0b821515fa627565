// Command agent runs statshard as a standalone process.
//
// This first version records the agent's own runtime metrics (goroutines, heap, GC, uptime) and
// the recorder's self-telemetry, and flushes them every interval to a DogStatsD server given by
// -upstream, or prints each flush's DogStatsD lines to stdout when -upstream is empty. It serves
// every recorded event live on -tcp (loopback by default) as length-delimited protobuf, readable
// by metrics-rs's metrics-observer. DogStatsD intake from other services comes next (see the
// project's issues).
//
// Usage:
//
//	agent [-upstream udp://127.0.0.1:8125] [-interval 10s] [-tcp 127.0.0.1:5000|off]
//
// Each flag can also be set with an environment variable STATSHARD_<FLAG> (e.g.
// STATSHARD_UPSTREAM); a flag on the command line wins.
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

	"github.com/statshard/statshard/agent"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, signalContext()); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(2)
	}
}

func signalContext() context.Context {
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return ctx
}

type options struct {
	upstream string
	tcp      string
	interval time.Duration
	version  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.upstream, "upstream", "", "where aggregates go: udp://host:port or unixgram:///path; empty prints each flush to stdout")
	fs.StringVar(&o.tcp, "tcp", agent.DefaultTCPAddress, "TCP event stream listen address (length-delimited protobuf, metrics-observer compatible); off disables it")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "flush interval")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	// Environment variables STATSHARD_<FLAG> set defaults; flags given on the command line win.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "STATSHARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	})
	if envErr != nil {
		return o, envErr
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.interval <= 0 {
		return o, fmt.Errorf("-interval must be positive, got %v", o.interval)
	}
	return o, nil
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func run(args []string, stdout, stderr io.Writer, ctx context.Context) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "statshard agent", version(), runtime.Version())
		return nil
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := agent.Config{Interval: o.interval, Telemetry: true, Logger: log}
	dest := o.upstream
	if o.upstream == "" {
		cfg.Statsd.Writer = stdout
		dest = "stdout"
	} else {
		cfg.Statsd.Address = o.upstream
	}
	if o.tcp != "off" {
		cfg.TCP = agent.TCPConfig{Enabled: true, Address: o.tcp}
	}
	rec, err := agent.New(cfg)
	if err != nil {
		return err
	}
	log.Info("statshard agent started", "version", version(), "upstream", dest, "interval", o.interval, "tcp", orOff(rec.TCPAddr()))

	start := time.Now()
	goroutines := rec.Gauge("statshard.agent.goroutines")
	heap := rec.Gauge("statshard.agent.heap_bytes")
	gcs := rec.Counter("statshard.agent.gc")
	uptime := rec.Gauge("statshard.agent.uptime_seconds")
	var lastGC uint32
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		goroutines.Set(float64(runtime.NumGoroutine()))
		heap.Set(float64(ms.HeapAlloc))
		gcs.Add(int64(ms.NumGC - lastGC))
		lastGC = ms.NumGC
		uptime.Set(time.Since(start).Seconds())
	}
	sample()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			sample()
		case <-ctx.Done():
			sample()
			err := rec.Close() // final flush
			log.Info("statshard agent stopped", "stats", fmt.Sprintf("%+v", rec.Stats()))
			return err
		}
	}
}
