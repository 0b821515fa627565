package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/netio"
)

// pipeline is one running configuration: the recorder (aggregation, upstream, stream) and the
// intake feeding it.
type pipeline struct {
	s   settings
	rec *agent.Recorder
	in  *agent.Intake
	tcp *sharedListener // nil when -tcp is off

	stopOnce sync.Once
	stopped  chan struct{} // closed once stop has returned
}

// agentState is the running agent: the current pipeline, the ones a reload replaced that are still
// sending their final flush, and the totals of those that have stopped, so that every counter on
// /metrics is a total since the agent started, never going back at a reload.
type agentState struct {
	log    *slog.Logger
	stdout io.Writer
	notify *notifier // systemd's, when $NOTIFY_SOCKET is set

	mu       sync.Mutex
	cur      *pipeline
	retiring []*pipeline
	carried  agent.Stats // counters of the pipelines that have stopped
	retirers sync.WaitGroup

	reloads, rejected atomic.Uint64
}

// snapshot returns the agent's counters since it started (agent.Stats.Add carries those of the
// pipelines a reload replaced), with the current pipeline's levels.
func (a *agentState) snapshot() agent.Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.cur.rec.Stats()
	t.Add(a.carried)
	for _, p := range a.retiring {
		t.Add(p.rec.Stats())
	}
	return t
}

// start starts a pipeline for s. With prev, the running one, the new intake takes prev's over
// (agent.IntakeConfig.Takeover) and the stream keeps prev's listener when the -tcp address is the
// same; prev's intake is then closed, and its recorder is left for the caller to retire.
func (a *agentState) start(s settings, prev *pipeline) (*pipeline, error) {
	cfg, icfg, err := s.agentConfigs(a.stdout, a.log)
	if err != nil {
		return nil, err
	}
	p := &pipeline{s: s, stopped: make(chan struct{})}
	var view *listenerView
	if cfg.TCP.Enabled {
		if prev != nil && prev.tcp != nil && prev.s.TCP == s.TCP {
			p.tcp = prev.tcp.acquire()
		} else if p.tcp, err = listenShared(s.TCP); err != nil {
			return nil, fmt.Errorf("tcp: %w", err)
		}
		view = p.tcp.view()
		cfg.TCP.Listener = view
	}
	tbl, _ := cfg.Statsd.Writer.(*table)
	fail := func(err error) (*pipeline, error) {
		if tbl != nil {
			tbl.mute() // the failed recorder's final flush must not look like a start
		}
		if view != nil {
			view.Close() // gives new connections back to prev's hub
		}
		p.tcp.release()
		return nil, err
	}
	if p.rec, err = agent.New(cfg); err != nil {
		return fail(err)
	}
	if tbl != nil {
		tbl.setStats(p.rec.Stats)
	}
	if prev != nil {
		icfg.Takeover = prev.in
	}
	if p.in, err = p.rec.Listen(icfg); err != nil {
		if tbl != nil {
			tbl.mute()
		}
		p.rec.Close()
		return fail(err)
	}
	if st := p.in.Stats(); st.RecvBuffer > 0 && st.RecvBuffer < s.recvBufferWanted() {
		a.log.Warn("the kernel granted a smaller receive buffer than asked (raise net.core.rmem_max)",
			"asked", s.recvBufferWanted(), "granted", st.RecvBuffer)
	}
	return p, nil
}

func (s settings) recvBufferWanted() int {
	if s.RecvBuffer > 0 {
		return s.RecvBuffer
	}
	return netio.DefaultRecvBuffer
}

// stop stops the intake first (it reads what its sockets hold), so the final flush has
// everything that arrived. Stopping twice is stopping once.
func (p *pipeline) stop(log *slog.Logger) {
	p.stopOnce.Do(func() {
		if err := p.in.Close(); err != nil {
			log.Warn("closing intake", "err", err)
		}
		if err := p.rec.Close(); err != nil {
			log.Warn("closing recorder", "err", fmt.Sprint(err))
		}
		p.tcp.release()
		close(p.stopped)
	})
}

// replace makes np the current pipeline and retires the old one: its intake was taken over
// already, its recorder sends its final flush in the background. The returned pipeline is the
// one retiring.
func (a *agentState) replace(np *pipeline) *pipeline {
	a.mu.Lock()
	old := a.cur
	a.cur = np
	a.retiring = append(a.retiring, old)
	a.mu.Unlock()
	a.retirers.Add(1)
	go func() {
		defer a.retirers.Done()
		a.retire(old)
	}()
	return old
}

// retire stops p and moves its final counters into the carried totals, in one step under the
// lock, so that a scrape sees them once: live, then carried.
func (a *agentState) retire(p *pipeline) {
	p.stop(a.log)
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, r := range a.retiring {
		if r == p {
			a.retiring = append(a.retiring[:i], a.retiring[i+1:]...)
			a.carried.Add(p.rec.Stats())
			break
		}
	}
}

// stopAll stops the current pipeline and waits for the retiring ones.
func (a *agentState) stopAll() {
	a.mu.Lock()
	cur := a.cur
	a.mu.Unlock()
	cur.stop(a.log)
	a.retirers.Wait()
}

// lastRetiring returns the most recently retired pipeline still stopping, or nil.
func (a *agentState) lastRetiring() *pipeline {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.retiring); n > 0 {
		return a.retiring[n-1]
	}
	return nil
}
