package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/agent"
)

// pipeline is one running configuration: the recorder (aggregation, upstream, stream) and the
// intake feeding it.
type pipeline struct {
	rec *agent.Recorder
	in  *agent.Intake
}

type pipelineRef struct{ atomic.Pointer[pipeline] }

func start(s settings, stdout io.Writer, log *slog.Logger) (*pipeline, error) {
	cfg, icfg, err := s.agentConfigs(stdout, log)
	if err != nil {
		return nil, err
	}
	rec, err := agent.New(cfg)
	if err != nil {
		return nil, err
	}
	in, err := rec.Listen(icfg)
	if err != nil {
		rec.Close()
		return nil, err
	}
	if st := in.Stats(); st.RecvBuffer > 0 && st.RecvBuffer < s.recvBufferWanted() {
		log.Warn("the kernel granted a smaller receive buffer than asked (raise net.core.rmem_max)",
			"asked", s.recvBufferWanted(), "granted", st.RecvBuffer)
	}
	return &pipeline{rec: rec, in: in}, nil
}

func (s settings) recvBufferWanted() int {
	if s.RecvBuffer > 0 {
		return s.RecvBuffer
	}
	return 8 << 20
}

// stop stops the intake first, so the final flush has everything that arrived.
func (p *pipeline) stop(timeout time.Duration, log *slog.Logger) {
	if err := p.in.Close(); err != nil {
		log.Warn("closing intake", "err", err)
	}
	if err := p.rec.Close(); err != nil {
		log.Warn("closing recorder", "err", fmt.Sprint(err))
	}
}
