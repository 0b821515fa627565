package main

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/statshard/statshard/agent"
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

	mu       sync.Mutex
	cur      *pipeline
	retiring []*pipeline
	carried  totals // of the pipelines that have stopped
	retirers sync.WaitGroup

	reloads, rejected atomic.Uint64
}

// totals are a pipeline's counters.
type totals struct {
	in      agent.IntakeStats
	rec     agent.Stats
	drained uint64
}

func (p *pipeline) totals() totals {
	return totals{in: p.in.Stats(), rec: p.rec.Stats(), drained: p.in.Drained()}
}

// gaugeFields are the uint64 fields of agent.Stats and agent.IntakeStats that are levels, not
// totals: only the current pipeline's value counts. (Fields of other types, such as Series,
// FlushDuration and RecvBuffer, are levels too and are never summed.)
var gaugeFields = map[string]bool{"TCPClients": true}

// add adds o's counters (every uint64 field but gaugeFields, and every map of them) to t.
func (t *totals) add(o totals) {
	addCounters(reflect.ValueOf(&t.in).Elem(), reflect.ValueOf(o.in))
	addCounters(reflect.ValueOf(&t.rec).Elem(), reflect.ValueOf(o.rec))
	t.drained += o.drained
}

func addCounters(dst, src reflect.Value) {
	for i := range dst.NumField() {
		f, name := dst.Field(i), dst.Type().Field(i).Name
		switch {
		case gaugeFields[name]:
		case f.Kind() == reflect.Uint64:
			f.SetUint(f.Uint() + src.Field(i).Uint())
		case f.Kind() == reflect.Map && f.Type().Elem().Kind() == reflect.Uint64:
			m := map[string]uint64{}
			maps.Copy(m, f.Interface().(map[string]uint64))
			for k, v := range src.Field(i).Interface().(map[string]uint64) {
				m[k] += v
			}
			f.Set(reflect.ValueOf(m))
		}
	}
}

// snapshot returns the agent's counters since it started, and the current pipeline's levels.
func (a *agentState) snapshot() (t totals, cur totals) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t = a.carried
	t.in.ParseErrorsBy = maps.Clone(t.in.ParseErrorsBy)
	for _, p := range a.retiring {
		t.add(p.totals())
	}
	cur = a.cur.totals()
	t.add(cur)
	return t, cur
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
	fail := func(err error) (*pipeline, error) {
		if view != nil {
			view.Close() // gives new connections back to prev's hub
		}
		p.tcp.release()
		return nil, err
	}
	if p.rec, err = agent.New(cfg); err != nil {
		return fail(err)
	}
	if prev != nil {
		icfg.Takeover = prev.in
	}
	if p.in, err = p.rec.Listen(icfg); err != nil {
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
	return 8 << 20
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
			a.carried.add(p.totals())
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
