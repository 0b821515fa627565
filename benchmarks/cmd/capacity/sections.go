package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/statshard/statshard/agent"
)

// The add* functions turn measurements into the report's tables, bars and answers.

const (
	groupAtomic = "vs raw atomic.AddUint64 on one goroutine (hardware)"
	groupSend   = "vs raw sendmmsg loop (kernel; bar ≥ 80 %)"
	groupRecv   = "vs raw recvmmsg loop (kernel)"
	groupTCP    = "vs raw TCP write loop, same clients (kernel)"
)

func addCeilings(r *report, c ceilings) {
	s := r.add(section{
		Title: "Kernel ceilings",
		Intro: fmt.Sprintf("Raw loops with nothing but the syscalls, on 1432-byte datagrams of tagged counter lines "+
			"(%.1f lines each), one sender goroutine (netio.Writer, sendmmsg batches of 64) and one receiver goroutine "+
			"(netio.Reader, recvmmsg batches of 64, a handler that only counts); median of %d runs. Every other figure "+
			"is shown as a fraction of one of these.", c.Send.LinesPer, c.Runs),
		Columns: []string{"loop", "datagrams/s", "lines/s", "MiB/s", "datagrams/syscall", "receiver got"},
	})
	s.Rows = append(s.Rows, []string{"sendmmsg (send rate; receiver buffer 64 MiB)",
		si(c.Send.SendRate()), si(c.Send.SendRate() * c.Send.LinesPer),
		sig3(float64(c.Send.Sent.Datagrams) * maxUDPPayload / (1 << 20) / c.Send.Sent.Wall.Seconds()),
		sig3(float64(c.Send.Sent.Datagrams) / float64(max(c.Send.Syscalls, 1))),
		pct(float64(c.Send.Received) / float64(max(c.Send.Sent.Datagrams, 1)))})
	s.Rows = append(s.Rows, []string{"recvmmsg (receive rate; 8 MiB buffer, 1 reader)",
		si(c.Recv.RecvRate()), si(c.Recv.RecvRate() * c.Recv.LinesPer),
		sig3(c.Recv.RecvRate() * maxUDPPayload / (1 << 20)), "",
		pct(float64(c.Recv.Received) / float64(max(c.Recv.Sent.Datagrams, 1)))})
	if c.Recv.Received >= uint64(c.Recv.Sent.Datagrams)*999/1000 {
		s.Notes = append(s.Notes, "The recvmmsg receiver took everything the sender could send: on this machine the sending "+
			"core, not the receiver, set the receive ceiling, so it is a lower bound of what one receiving core can take.")
	}
	s.Notes = append(s.Notes, "On loopback the sender's syscall also runs the receive path up to the receiver's socket "+
		"queue, so part of what a receiver costs is charged to the sender's core.")
}

func addRecording(r *report, ops []opRate) {
	s := r.add(section{
		Title: "Recording on one goroutine",
		Intro: "Each operation in a tight loop on one goroutine for a fixed time, through a Recorder with no " +
			"exporter and no flush meanwhile. Per CPU-second is operations over the whole process's CPU time " +
			"(getrusage): what one core sustains.",
		Columns: []string{"operation", "ops/s", "ops per CPU-second", "CPU-ns/op", "vs raw atomic add", "allocs/op"},
	})
	base := ops[0].PerCPUSecond()
	for i, o := range ops {
		vs := "1 (ceiling)"
		if i > 0 {
			vs = fmt.Sprintf("%.2f×", base/max(o.PerCPUSecond(), 1))
			r.Bars = append(r.Bars, bar{Group: groupAtomic, Label: o.Name, Value: o.PerCPUSecond(), Ceiling: base, Unit: "ops/CPU-s"})
		}
		s.Rows = append(s.Rows, []string{o.Name, si(o.PerSecond()), si(o.PerCPUSecond()),
			sig3(1e9 / max(o.PerCPUSecond(), 1)), vs, allocsPerOp(o)})
	}
	s.Notes = append(s.Notes, "\"vs raw atomic add\" is how many times slower than the ceiling; allocs/op counts every "+
		"goroutine's allocations over the loop, so a non-zero value would also catch the recorder's own goroutines.")
	if len(ops) == 4 {
		r.Headline = append(r.Headline, fmt.Sprintf("Recording, one core: %s counter adds/s through a handle, %s by-name "+
			"counts/s with 3 tags, %s histogram observations/s (per CPU-second).",
			si(ops[1].PerCPUSecond()), si(ops[2].PerCPUSecond()), si(ops[3].PerCPUSecond())))
	}
}

// allocsPerOp shows allocations per operation; a handful over millions of operations (the
// runtime's own) shows as their count rather than as a number like 1e-07.
func allocsPerOp(o opRate) string {
	per := float64(o.Allocs) / float64(max(o.Ops, 1))
	if o.Allocs > 0 && per < 0.001 {
		return fmt.Sprintf("< 0.001 (%d in all)", o.Allocs)
	}
	return sig3(per)
}

func addMemory(r *report, mem []memResult) {
	s := r.add(section{
		Title: "Memory per series",
		Intro: fmt.Sprintf("Growth of the live heap (runtime.GC, then HeapAlloc) while a fresh Recorder creates %d "+
			"series of one kind, divided by their number. The registry's tables grow in steps, so the figure "+
			"depends a little on where n falls between two sizes.", mem[0].Series),
		Columns: []string{"kind", "series", "bytes per series", "per 1M series"},
	})
	for _, m := range mem {
		s.Rows = append(s.Rows, []string{m.Kind, strconv.Itoa(m.Series), sig3(m.Bytes), mib(m.Bytes * 1e6)})
	}
	s.Notes = append(s.Notes, fmt.Sprintf("An empty Recorder holds %s of heap before its first series.", mib(float64(mem[0].Recorder))))
	r.Headline = append(r.Headline, fmt.Sprintf("Memory: a counter series costs %s bytes, a histogram %s, a set %s "+
		"(1M counters: %s).", sig3(mem[0].Bytes), sig3(mem[2].Bytes), sig3(mem[3].Bytes), mib(mem[0].Bytes*1e6)))
}

func addFlush(r *report, fs []flushResult, send udpCeiling) {
	if len(fs) == 0 {
		return
	}
	s := r.add(section{
		Title: "Flush",
		Intro: "n counter series created with handles, each touched, then rec.Flush() timed (median of up to 5 " +
			"flushes after an untimed first one) to a loopback UDP receiver that drains with a 64 MiB buffer: " +
			"snapshot and reset, DogStatsD encoding, packing into 1432-byte payloads and sendmmsg.",
		Columns: []string{"series", "created in", "flush", "series/s", "datagrams", "datagrams/syscall", "datagrams/s",
			"vs sendmmsg ceiling", "raw burst of as many", "flush vs burst", "receiver got", "heap with the series"},
	})
	s.Notes = append(s.Notes, "The bar compares each flush with the sustained raw loop (Kernel ceilings). "+
		"\"Raw burst of as many\" is the raw loop sending only as many datagrams as the flush, from the same idle "+
		"state (each right after a flush, once the receiver was quiet for 20 ms), median time and rate: a short burst "+
		"from idle pays the threads' wake-ups that the sustained loop amortizes, so \"flush vs burst\" is the share "+
		"of the kernel's own rate for a job of that size.")
	ceiling := send.SendRate()
	for _, f := range fs {
		frac := f.DatagramsPerSecond() / max(ceiling, 1)
		s.Rows = append(s.Rows, []string{
			strconv.Itoa(f.Created), dur(f.Create), fmt.Sprintf("%s (×%d)", dur(f.Median()), len(f.Times)),
			si(float64(f.Created) / f.Median().Seconds()), strconv.FormatUint(f.Datagrams, 10),
			sig3(float64(f.Datagrams) / float64(max(f.Syscalls, 1))), si(f.DatagramsPerSecond()), pct(frac),
			burstCell(f), pct(f.DatagramsPerSecond() / max(f.BurstRate(), 1)),
			pct(float64(f.Received) / float64(max(f.Sent, 1))), mib(float64(f.Heap)),
		})
		if ceiling > 0 {
			r.Bars = append(r.Bars, bar{Group: groupSend, Label: fmt.Sprintf("flush of %s series", count(f.Created)),
				Value: f.DatagramsPerSecond(), Ceiling: ceiling, Unit: "datagrams/s", Target: 0.8})
		}
		if f.Created < f.Series {
			s.Notes = append(s.Notes, fmt.Sprintf("Only %d of %d series were created within the time allowed (%s).",
				f.Created, f.Series, dur(f.Create)))
		}
	}
	big := fs[len(fs)-1]
	h := fmt.Sprintf("Flush: %s series in %s (%s series/s, %s datagrams per sendmmsg)", count(big.Created),
		dur(big.Median()), si(float64(big.Created)/big.Median().Seconds()),
		sig3(float64(big.Datagrams)/float64(max(big.Syscalls, 1))))
	if ceiling > 0 {
		frac := big.DatagramsPerSecond() / ceiling
		h += fmt.Sprintf("; its %s datagrams/s are %s of the raw sendmmsg loop (bar ≥ 80 %%: %s)",
			si(big.DatagramsPerSecond()), pct(frac), passMark(frac >= 0.8))
	}
	r.Headline = append(r.Headline, h+".")
}

// burstCell is the raw burst's median time and rate.
func burstCell(f flushResult) string {
	if len(f.Bursts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s, %s datagrams/s", dur(time.Duration(float64(f.Datagrams)/max(f.BurstRate(), 1)*1e9)), si(f.BurstRate()))
}

func addStream(r *report, ss []streamResult) {
	if len(ss) == 0 {
		return
	}
	s := r.add(section{
		Title: "TCP event stream",
		Intro: fmt.Sprintf("One goroutine records counter increments while n loopback clients read the stream as fast "+
			"as they can (split frames by length; every %dth decoded with protodelim into eventpb to take its lag, "+
			"now minus the event's timestamp), with the TCP exporter's default buffers (%d events). Paced: the "+
			"recorder keeps at most %d events ahead of the slowest client, so nothing is dropped — the sustained "+
			"lossless rate. Flat out: it never waits — the most the stream delivers, and what it drops meanwhile. "+
			"The ceiling is a raw loop writing the same frames, pre-encoded in 64 KiB buffers, to the same clients.",
			lagEvery, agent.DefaultTCPBuffer, streamInFlight),
		Columns: []string{"clients", "recorder", "events/s per client", "slowest client", "raw TCP ceiling per client",
			"vs ceiling", "lag p50", "lag p99", "dropped intake/slow/gone", "CPU cores (process)"},
	})
	for _, st := range ss {
		mode := "flat out"
		if st.Paced {
			mode = "paced"
		}
		dropped := fmt.Sprintf("%d/%d/%d", st.DroppedIntake, st.DroppedSlow, st.DroppedGone)
		if all := st.DroppedIntake + st.DroppedSlow + st.DroppedGone; all > 0 {
			dropped += fmt.Sprintf(" (%s of recorded)", pct(float64(st.DroppedIntake)/float64(max(st.Recorded, 1))))
		}
		row := []string{strconv.Itoa(st.Clients), mode, si(st.PerClient()), si(float64(st.Slowest) / st.Wall.Seconds()),
			si(st.Ceiling), "", dur(st.Lag(0.5)), dur(st.Lag(0.99)), dropped,
			fmt.Sprintf("%.2f", st.CPU.Seconds()/st.Wall.Seconds())}
		if st.Ceiling > 0 {
			row[5] = pct(st.PerClient() / st.Ceiling)
			r.Bars = append(r.Bars, bar{Group: groupTCP, Label: fmt.Sprintf("stream to %s, %s, per client", clientsLabel(st.Clients), mode),
				Value: st.PerClient(), Ceiling: st.Ceiling, Unit: "events/s"})
		}
		s.Rows = append(s.Rows, row)
		if st.Err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("%d clients: a client's read failed: %v", st.Clients, st.Err))
		}
	}
	s.Notes = append(s.Notes, "Event timestamps come from the agent's coarse clock (one tick a millisecond), so a lag "+
		"reads up to a tick high. The intake's drops are the newest events refused by a full intake; a slow "+
		"client's, the oldest events of its queue. CPU is the whole process's, the clients' reading included.")
	var parts []string
	for _, st := range ss {
		if st.Paced {
			parts = append(parts, fmt.Sprintf("%s events/s to each of %d (p99 lag %s)", si(st.PerClient()), st.Clients, dur(st.Lag(0.99))))
		}
	}
	r.Headline = append(r.Headline, "TCP stream, default buffers, without loss: "+joinAnd(parts)+".")
}

func addIntake(r *report, runs []intakeRun, lines []string, recv udpCeiling) {
	ceiling := recv.RecvRate() * recv.LinesPer
	s := r.add(section{
		Title: "Agent intake",
		Intro: fmt.Sprintf("The built agent binary (`-readers 1 -tcp off`, forwarding to a draining UDP socket) and "+
			"statsd_exporter each take paced 1432-byte datagrams of tagged counter lines over 100 series from a "+
			"netio.Writer (sendmmsg) in this process, at rates doubling from the first step while the loss stays "+
			"≤ %s, then bisected between the last pass and the first failure. Loss is lines sent minus the lines "+
			"the server's own /metrics counted (statshard_lines_received_total, statsd_exporter_lines_total); kernel "+
			"drops are the drops column of /proc/net/udp for its socket (for statshard also its own "+
			"statshard_dropped_total{reason=\"kernel_receive_buffer\"}); CPU from /proc/<pid>/stat (utime+stime, "+
			"1/100 s) from the start of the step to the end of its drain; RSS is VmRSS after the step.", pct(lossBound)),
		Columns: []string{"server", "offered lines/s", "sent lines/s", "took lines/s", "loss", "kernel drops",
			"CPU cores", "lines per CPU-s", "RSS", "≤ 0.1 % loss"},
	})
	s.Notes = append(s.Notes, lines...)
	for _, run := range runs {
		for i, st := range run.Steps {
			kd := strconv.FormatUint(st.KernelDrops, 10)
			if st.OwnDrops >= 0 {
				kd += fmt.Sprintf(" (own: %.0f)", st.OwnDrops)
			}
			ok := "no"
			if st.Pass() {
				ok = "yes"
			}
			if i == run.Best {
				ok += " ← best"
			}
			s.Rows = append(s.Rows, []string{run.Target, si(st.Offered), si(st.SentRate()), si(st.Rate()), pct(st.Loss()),
				kd, fmt.Sprintf("%.2f", st.Cores()), si(st.LinesPerCPU()), mib(float64(st.RSS)), ok})
		}
		if run.Dropped > 0 {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: the load generator's socket refused %d datagrams "+
				"(netio.Writer drops; not sent, so not counted as loss).", run.Target, run.Dropped))
		}
		if run.Note != "" {
			s.Notes = append(s.Notes, run.Target+": "+run.Note+".")
		}
		if b, ok := run.BestStep(); ok && ceiling > 0 {
			r.Bars = append(r.Bars, bar{Group: groupRecv, Label: run.Target + " intake at ≤ 0.1 % loss",
				Value: b.Rate(), Ceiling: ceiling, Unit: "lines/s"})
		} else if !ok {
			s.Notes = append(s.Notes, run.Target+": no step stayed within the loss bound.")
		}
	}
	if len(runs) == 0 {
		return
	}
	agentBest, okA := runs[0].BestStep()
	if okA {
		h := fmt.Sprintf("Agent intake (1 reader): %s lines/s at ≤ 0.1 %% loss, %.2f CPU cores, %s lines per "+
			"CPU-second", si(agentBest.Rate()), agentBest.Cores(), si(agentBest.LinesPerCPU()))
		if ceiling > 0 {
			h += fmt.Sprintf(", %s of the raw recvmmsg loop", pct(agentBest.Rate()/ceiling))
		}
		r.Headline = append(r.Headline, h+".")
	}
	if len(runs) < 2 {
		return
	}
	expBest, okE := runs[1].BestStep()
	if okA && okE {
		ratio := agentBest.LinesPerCPU() / expBest.LinesPerCPU()
		h := fmt.Sprintf("statsd_exporter: %s lines/s at ≤ 0.1 %% loss, %s lines per CPU-second. statshard's agent "+
			"takes %.1f× its lines per CPU-second, each at its best step (claim ≥ 5×: %s)", si(expBest.Rate()),
			si(expBest.LinesPerCPU()), ratio, passMark(ratio >= 5))
		if a, e, ok := commonStep(runs[0], runs[1]); ok {
			h += fmt.Sprintf("; at the highest rate both took, %s lines/s offered: %.1f×", si(a.Offered), a.LinesPerCPU()/e.LinesPerCPU())
		}
		r.Headline = append(r.Headline, h+".")
		s.Notes = append(s.Notes, fmt.Sprintf("Lines per CPU-second, statshard agent / statsd_exporter: %.1f× (the "+
			"project claims ≥ 5×).", ratio))
	}
}

// commonStep returns both runs' steps at the highest offered rate both passed.
func commonStep(a, b intakeRun) (step, step, bool) {
	var sa, sb step
	found := false
	for _, x := range a.Steps {
		for _, y := range b.Steps {
			if x.Offered == y.Offered && x.Pass() && y.Pass() && (!found || x.Offered > sa.Offered) {
				sa, sb, found = x, y, true
			}
		}
	}
	return sa, sb, found
}

// count formats a round number of series: 1k, 100k, 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000 && n%1_000 == 0:
		return strconv.Itoa(n/1_000) + "k"
	}
	return strconv.Itoa(n)
}

func clientsLabel(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	out := ""
	for i, p := range parts {
		switch {
		case i == 0:
			out = p
		case i == len(parts)-1:
			out += " and " + p
		default:
			out += ", " + p
		}
	}
	return out
}

// curveGoal is the project's bar for statshard's cost curve: from 1k to 1M series its cost per
// recording grows at most this many times.
const curveGoal = 3.0

// addCurve adds the cost-curve section: statshard's and datadog-go's CPU-ns per by-name count
// against the number of series, and statshard's growth from 1k to 1M series. least and budget
// are the settings the points were measured with (settings.CurveOps, settings.CurveBudget).
func addCurve(r *report, points []curvePoint, least int, budget time.Duration) {
	if len(points) == 0 {
		return
	}
	s := r.add(section{
		Title: "Cost curve",
		Intro: fmt.Sprintf("CPU-ns per by-name counter recording (`%s`, 3 tags: env:prod, service:checkout, "+
			"route:/api/v1/rNNNNN) on one goroutine against the number of series, visited round-robin, each series "+
			"created and recorded %d times (then a flush) before the timed part, as in a service that has been running. CPU is the whole process's (getrusage, all "+
			"threads: the clients' own goroutines and the GC included, and the in-process recvmmsg receiver that reads "+
			"and discards the datagrams on loopback, the same for both clients) from the start of the loop until the "+
			"client has flushed and closed and the receiver is idle, over the recordings; median of %d run(s), the "+
			"clients taking turns. Both flush every %s (datadog-go's default aggregation interval). statshard: "+
			"agent.New with MaxSeries -1 (no cap: its default of 100,000 would fold the larger points into overflow "+
			"series). datadog-go v5: statsd.New with WithClientSideAggregation (agg) and with "+
			"WithExtendedClientSideAggregation (ext), each measured; the table and the chart show its faster mode at "+
			"each point, which favours datadog-go. statshard keeps its series across flushes; datadog-go's aggregator "+
			"empties its contexts at each flush and creates them again, as it does in a service. Each run makes "+
			"max(%d, 5 × series) recordings, or as many as %s allow.\n\n![cost curve](costcurve.svg)",
			curveMetric, curveWarmRounds, points[0].Runs, dur(curveInterval), least, dur(budget)),
		Columns: []string{"series", "statshard cpu-ns", "datadog-go cpu-ns", "datadog-go mode", "datadog-go / statshard",
			"recordings per run"},
	})
	for _, p := range points {
		ops := strconv.Itoa(p.Wanted)
		if p.Ops < p.Wanted {
			ops = fmt.Sprintf("%d or more (time budget; %d wanted)", p.Ops, p.Wanted)
		}
		s.Rows = append(s.Rows, []string{count(p.Series), sig3(p.Statshard), sig3(p.Datadog), p.DatadogMode,
			fmt.Sprintf("%.2f×", p.Ratio()), ops})
	}
	s.Notes = append(s.Notes, curveGrowthNote(points))
	r.Headline = append(r.Headline, "Cost curve: "+curveGrowthNote(points))
}

// curveGrowthNote states statshard's growth from 1k to 1M series against the goal, or says which
// point is missing.
func curveGrowthNote(points []curvePoint) string {
	g, ok := growth(points, 1_000, 1_000_000)
	if !ok {
		return fmt.Sprintf("statshard's growth from 1k to 1M series (goal ≤ %.0f×) was not measured: this run "+
			"lacks one of the two points (-quick stops before 1M).", curveGoal)
	}
	var a, b float64
	for _, p := range points {
		switch p.Series {
		case 1_000:
			a = p.Statshard
		case 1_000_000:
			b = p.Statshard
		}
	}
	return fmt.Sprintf("statshard's cost grows %.2f× from 1k to 1M series (%s → %s CPU-ns per recording; goal ≤ %.0f×: %s).",
		g, sig3(a), sig3(b), curveGoal, passMark(g <= curveGoal))
}
