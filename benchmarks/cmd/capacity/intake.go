package main

import (
	"fmt"
	"math"
	"time"

	"github.com/statshard/statshard/netio"
)

// lossBound is the most loss an intake rate may have to count as sustained.
const lossBound = 0.001

// step is one offered rate held against a target for a fixed time.
type step struct {
	Offered     float64 // lines/s asked of the sender
	Sent        sent
	Received    float64       // lines the target counted
	CPU         time.Duration // the target's CPU time from the start of sending to the end of the drain
	RSS         int64         // the target's resident memory after the step
	KernelDrops uint64        // datagrams dropped at the target's socket (/proc/net/udp)
	OwnDrops    float64       // the target's own count of kernel drops, when it has one (-1: none)
}

// Loss is the share of the lines sent that the target did not count.
func (s step) Loss() float64 {
	if s.Sent.Lines == 0 {
		return 1
	}
	return max(0, float64(s.Sent.Lines)-s.Received) / float64(s.Sent.Lines)
}

// Rate is lines/s the target took: what it counted over the time they were sent in.
func (s step) Rate() float64 { return s.Received / s.Sent.Wall.Seconds() }

// SentRate is lines/s the sender achieved.
func (s step) SentRate() float64 { return float64(s.Sent.Lines) / s.Sent.Wall.Seconds() }

// LinesPerCPU is lines the target took per second of its CPU time.
func (s step) LinesPerCPU() float64 {
	if s.CPU <= 0 {
		return 0
	}
	return s.Received / s.CPU.Seconds()
}

// Cores is the target's CPU time per second of the step.
func (s step) Cores() float64 { return s.CPU.Seconds() / s.Sent.Wall.Seconds() }

// Pass reports whether the step stayed within the loss bound.
func (s step) Pass() bool { return s.Sent.Lines > 0 && s.Loss() <= lossBound }

// senderLimited reports whether the sender fell more than 10 % short of the offered rate, so a
// higher step would offer no more.
func (s step) senderLimited() bool { return s.SentRate() < 0.9*s.Offered }

// ladder says which rates to offer: start, doubling while steps pass, then refine bisections
// (geometric) between the best pass and the first failure; at most maxSteps steps.
type ladder struct {
	Start, Max float64
	Refine     int
	MaxSteps   int
	Step, Warm time.Duration
}

// intakeRun is a target's ladder: every step and the best one under the loss bound.
type intakeRun struct {
	Target  string
	Steps   []step
	Best    int // index in Steps of the highest received rate among passing steps; -1 for none
	Note    string
	Dropped int64 // datagrams the load generator could not send (not counted as sent, so not as loss)
}

// BestStep returns the best passing step, if any.
func (r intakeRun) BestStep() (step, bool) {
	if r.Best < 0 {
		return step{}, false
	}
	return r.Steps[r.Best], true
}

// runLadder offers t rising rates of l's datagrams, paced by a netio.Writer in sendmmsg batches,
// and measures each step from t's own counters and /proc.
func runLadder(t *target, l load, lad ladder, progress func(string, ...any)) (intakeRun, error) {
	run := intakeRun{Target: t.Name, Best: -1}
	w, err := netio.NewWriter(netio.Addr{Network: "udp", Address: fmt.Sprintf("127.0.0.1:%d", t.UDPPort)},
		netio.WriterConfig{SendBuffer: 4 << 20})
	if err != nil {
		return run, fmt.Errorf("capacity: load generator: %w", err)
	}
	defer w.Close()

	// Warm up: series created, buffers grown, code paged in; not measured.
	send(w, l, lad.Start, lad.Warm, nil)
	if _, err := drain(t, -1); err != nil {
		return run, err
	}

	pass, fail := 0.0, 0.0
	rate := lad.Start
	refined := 0
	for len(run.Steps) < lad.MaxSteps {
		s, err := runStep(t, w, l, rate, lad.Step)
		if err != nil {
			return run, err
		}
		run.Steps = append(run.Steps, s)
		progress("%s: offered %s lines/s, sent %s, took %s, loss %s, %.2f cores",
			t.Name, si(rate), si(s.SentRate()), si(s.Rate()), pct(s.Loss()), s.Cores())
		if s.Sent.Dropped > 0 {
			run.Dropped += s.Sent.Dropped
		}
		if s.Pass() {
			pass = max(pass, rate)
			if run.Best < 0 || s.Rate() > run.Steps[run.Best].Rate() {
				run.Best = len(run.Steps) - 1
			}
		} else if fail == 0 || rate < fail {
			fail = rate
		}
		if s.senderLimited() {
			run.Note = fmt.Sprintf("the load generator reached only %s of %s lines/s offered: the ladder stopped there, so the target's limit is at least what it took",
				si(s.SentRate()), si(rate))
			break
		}
		switch {
		case fail == 0 && rate*2 <= lad.Max:
			rate *= 2
		case fail == 0:
			run.Note = fmt.Sprintf("no loss up to the ladder's top, %s lines/s", si(rate))
			return run, nil
		case pass == 0 || refined >= lad.Refine:
			return run, nil
		default:
			rate = math.Sqrt(pass * fail)
			refined++
		}
	}
	return run, nil
}

// runStep sends l at rate lines/s to t for d and measures what t took.
func runStep(t *target, w *netio.Writer, l load, rate float64, d time.Duration) (step, error) {
	s := step{Offered: rate, OwnDrops: -1}
	lines0, err := t.scrape(t.LinesMetric)
	if err != nil {
		return s, err
	}
	var own0 float64
	if t.DropsMetric != "" {
		if own0, err = t.scrape(t.DropsMetric); err != nil {
			return s, err
		}
	}
	_, kd0, err := udpSockets(t.UDPPort)
	if err != nil {
		return s, err
	}
	cpu0, err := procCPU(t.Pid())
	if err != nil {
		return s, err
	}
	s.Sent = send(w, l, rate, d, t.done)
	lines1, err := drain(t, lines0+float64(s.Sent.Lines))
	if err != nil {
		return s, err
	}
	cpu1, err := procCPU(t.Pid())
	if err != nil {
		return s, err
	}
	s.CPU = cpu1 - cpu0
	s.Received = lines1 - lines0
	if _, kd1, err := udpSockets(t.UDPPort); err == nil {
		s.KernelDrops = kd1 - kd0
	}
	if t.DropsMetric != "" {
		if own1, err := t.scrape(t.DropsMetric); err == nil {
			s.OwnDrops = own1 - own0
		}
	}
	s.RSS, _ = procRSS(t.Pid())
	return s, nil
}

// drain waits until t has counted want lines (want < 0: until its count stops moving), or its
// count has not moved for 150 ms, at most 3 s; it returns the count.
func drain(t *target, want float64) (float64, error) {
	start := time.Now()
	last, err := t.scrape(t.LinesMetric)
	if err != nil {
		return 0, err
	}
	changed := time.Now()
	for time.Since(changed) < 150*time.Millisecond && time.Since(start) < 3*time.Second {
		if want >= 0 && last >= want {
			break
		}
		if t.exited() {
			return 0, fmt.Errorf("capacity: %s exited: %s", t.Name, t.out.String())
		}
		time.Sleep(20 * time.Millisecond)
		v, err := t.scrape(t.LinesMetric)
		if err != nil {
			return 0, err
		}
		if v != last {
			last, changed = v, time.Now()
		}
	}
	return last, nil
}
