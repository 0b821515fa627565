// Command agent is the standalone statshard agent. It receives DogStatsD datagrams from services
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
// Run `agent -h` for every flag. Each flag can also be set with an environment variable
// STATSHARD_<FLAG> (e.g. STATSHARD_UPSTREAM=udp://datadog:8125), or in a JSON file given with
// -config whose keys are the flag names with '_' for '-' (see the README). Command-line flags win
// over the environment, which wins over the file.
//
// Signals: SIGTERM or SIGINT stops the intake, flushes what is pending upstream, closes stream
// clients and exits within -shutdown-timeout. SIGHUP reloads the -config file: a file that does not
// parse or validate keeps the running configuration and logs why.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(os.Args[1:], os.Stdout, os.Stderr, sigs)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// run is the agent: it returns when a terminating signal arrives on sigs (or sigs is closed).
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) error {
	s, configPath, act, err := load(args, stderr)
	if act.version {
		fmt.Fprintln(stdout, "statshard agent", version(), runtime.Version())
		return nil
	}
	if err != nil {
		return err
	}
	if act.checkConfig {
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Fprintf(stdout, "%s\nconfiguration OK\n", b)
		return nil
	}
	level, _ := parseLevel(s.LogLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	p, err := start(s, stdout, log)
	if err != nil {
		return err
	}
	var cur pipelineRef
	cur.Store(p)
	var web *httpServer
	if s.HTTP != "off" {
		if web, err = serveHTTP(s.HTTP, s.Pprof, &cur, log); err != nil {
			p.stop(time.Duration(s.ShutdownTimeout), log)
			return err
		}
	}
	log.Info("statshard agent started", "version", version(), "listen", p.in.Addrs(), "upstream", orStdout(s.Upstream),
		"tcp", orOff(p.rec.TCPAddr()), "http", orOff(web.addr()), "interval", time.Duration(s.Interval))

	for sig := range sigs {
		if sig != syscall.SIGHUP {
			log.Info("statshard agent stopping", "signal", sig.String())
			break
		}
		if configPath == "" {
			log.Warn("SIGHUP: no -config file to reload")
			continue
		}
		ns, _, _, err := load(args, io.Discard)
		if err != nil {
			log.Error("SIGHUP: configuration rejected, keeping the running one", "err", err)
			continue
		}
		// The intake and stream sockets are rebound, so the old pipeline stops first: datagrams
		// sent in that moment are lost (the kernel refuses them) and stream clients reconnect.
		old := cur.Load()
		old.stop(time.Duration(s.ShutdownTimeout), log)
		np, err := start(ns, stdout, log)
		if err != nil {
			log.Error("SIGHUP: new configuration failed to start, restarting the old one", "err", err)
			if np, err = start(s, stdout, log); err != nil {
				return fmt.Errorf("restarting after a failed reload: %w", err)
			}
		} else {
			s = ns
			log.Info("configuration reloaded", "config", configPath)
		}
		cur.Store(np)
	}
	timeout := time.Duration(s.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cur.Load().stop(timeout, log)
		web.close(ctx)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown took longer than %v", timeout)
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
