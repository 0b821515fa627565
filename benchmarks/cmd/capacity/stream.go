package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/proto/eventpb"
	"github.com/statshard/statshard/wire/pb"
)

const (
	// lagEvery is how often a client decodes a whole event to take its lag: decoding every one
	// would make the client, not the stream, what is measured.
	lagEvery = 64
	// maxLagSamples bounds each client's samples (and their memory).
	maxLagSamples = 1 << 16
)

// A paced recorder records streamChunk events at a time and waits while more than streamInFlight
// are ahead of the slowest client.
const streamChunk, streamInFlight = 64, agent.DefaultTCPBuffer * 3 / 4

// streamClient reads a TCP event stream as a metrics-observer would: it splits frames by their
// uvarint length, and decodes one frame in lagEvery with protodelim into eventpb types to measure
// the lag from the event's timestamp to now.
type streamClient struct {
	conn   net.Conn
	frames atomic.Int64
	lags   []time.Duration // written by read only; read after it returned
	err    error
}

func (c *streamClient) read() {
	br := bufio.NewReaderSize(c.conn, 256<<10)
	opts := protodelim.UnmarshalOptions{MaxSize: pb.DefaultMaxFrame}
	for n := int64(0); ; n++ {
		if n%lagEvery == 0 && len(c.lags) < maxLagSamples {
			var ev eventpb.Event
			if err := opts.UnmarshalFrom(br, &ev); err != nil {
				c.setErr(err)
				return
			}
			if ts := ev.GetMetric().GetTimestamp(); ts != nil {
				c.lags = append(c.lags, time.Since(ts.AsTime()))
			}
		} else {
			l, err := binary.ReadUvarint(br)
			if err == nil {
				_, err = br.Discard(int(l))
			}
			if err != nil {
				c.setErr(err)
				return
			}
		}
		c.frames.Add(1)
	}
}

// setErr keeps errors other than the end of the stream, which is how every run ends.
func (c *streamClient) setErr(err error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.err = err
	}
}

// clients is a set of connected streamClients.
type clients struct {
	cs []*streamClient
	wg sync.WaitGroup
}

func dialClients(addr string, n int) (*clients, error) {
	cl := &clients{}
	for range n {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			cl.close()
			return nil, fmt.Errorf("capacity: stream client: %w", err)
		}
		c := &streamClient{conn: conn}
		cl.cs = append(cl.cs, c)
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			c.read()
		}()
	}
	return cl, nil
}

// close disconnects every client and waits for their readers.
func (cl *clients) close() {
	for _, c := range cl.cs {
		c.conn.Close()
	}
	cl.wg.Wait()
}

// slowest returns the frames the slowest client has read.
func (cl *clients) slowest() int64 {
	m := cl.cs[0].frames.Load()
	for _, c := range cl.cs[1:] {
		m = min(m, c.frames.Load())
	}
	return m
}

// total returns the frames all clients have read.
func (cl *clients) total() int64 {
	var t int64
	for _, c := range cl.cs {
		t += c.frames.Load()
	}
	return t
}

// streamResult is the live TCP stream's delivery to n clients reading as fast as they can.
type streamResult struct {
	Clients                                 int
	Paced                                   bool
	Recorded                                int64 // events recorded
	Delivered                               int64 // frames delivered, summed over clients
	Slowest                                 int64 // frames the slowest client got
	Wall, CPU                               time.Duration
	Lags                                    []time.Duration // sorted
	DroppedIntake, DroppedSlow, DroppedGone uint64
	Ceiling                                 float64 // raw TCP loop, frames/s per client
	Err                                     error   // a client's read error, if any
}

// PerClient is the mean delivered events/s per client.
func (s streamResult) PerClient() float64 {
	return float64(s.Delivered) / float64(s.Clients) / s.Wall.Seconds()
}

// Lag returns quantile q of the sampled lags.
func (s streamResult) Lag(q float64) time.Duration { return quantile(s.Lags, q) }

// quantile returns quantile q of sorted values (nearest rank), or 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// measureStream records counter increments on one goroutine for d while n clients read the
// stream with the TCP exporter's default buffers. Paced, the recorder keeps at most
// streamInFlight events (three quarters of the default buffer) ahead of the slowest client, so
// nothing is dropped and the rate is the sustained lossless delivery; lag is then the delay of an
// event through the intake, the encoder, the hub and the socket with that much queued ahead of it.
// Flat out, the recorder never waits: the rate is the most the stream delivers, and the drops
// show what it costs.
func measureStream(n int, d time.Duration, paced bool) (streamResult, error) {
	res := streamResult{Clients: n, Paced: paced}
	rec, err := agent.New(agent.Config{
		Interval: time.Hour,
		Statsd:   agent.StatsdConfig{Address: "off"},
		TCP:      agent.TCPConfig{Enabled: true, Address: "127.0.0.1:0", MaxClients: max(n, agent.DefaultTCPMaxClients)},
	})
	if err != nil {
		return res, err
	}
	defer rec.Close()
	cl, err := dialClients(rec.TCPAddr(), n)
	if err != nil {
		return res, err
	}
	defer cl.close()
	for deadline := time.Now().Add(5 * time.Second); rec.Stats().TCP.Clients < uint64(n); {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("capacity: stream: %d of %d clients accepted", rec.Stats().TCP.Clients, n)
		}
		time.Sleep(time.Millisecond)
	}

	c := rec.Counter("requests", "env:prod", "route:/api")
	before := rec.Stats()
	cpu0 := selfCPU()
	start := time.Now()
	end := start.Add(d)
	hardEnd := end.Add(2 * time.Second) // a stalled client must not hold the run
	var sent int64
	for time.Now().Before(end) {
		for range streamChunk {
			c.Add(1)
		}
		sent += streamChunk
		for paced && cl.slowest() < sent-streamInFlight && time.Now().Before(hardEnd) {
			runtime.Gosched()
		}
	}
	// The clients are done when what they read stops growing; the run lasted until then.
	_, done := waitStable(func() uint64 { return uint64(cl.total()) }, 50*time.Millisecond, 2*time.Second)
	res.Wall = done.Sub(start)
	res.CPU = selfCPU() - cpu0
	res.Recorded = sent
	res.Delivered = cl.total()
	res.Slowest = cl.slowest()
	after := rec.Stats()
	res.DroppedIntake = after.TCP.DroppedIntake - before.TCP.DroppedIntake
	res.DroppedSlow = after.TCP.DroppedSlow - before.TCP.DroppedSlow
	res.DroppedGone = after.TCP.DroppedGone - before.TCP.DroppedGone
	cl.close()
	for _, c := range cl.cs {
		res.Lags = append(res.Lags, c.lags...)
		if c.err != nil && res.Err == nil {
			res.Err = c.err
		}
	}
	slices.Sort(res.Lags)
	return res, nil
}

// tcpCeiling writes the same frames the stream carries, pre-encoded into one 64 KiB buffer, to n
// loopback clients that read them exactly as the stream's clients do, one writer goroutine per
// client, for d: the most frames/s per client the kernel and the client's parsing allow.
func tcpCeiling(n int, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("capacity: tcp ceiling: %w", err)
	}
	defer ln.Close()
	cl, err := dialClients(ln.Addr().String(), n)
	if err != nil {
		return 0, err
	}
	defer cl.close()
	var servers []net.Conn
	for range n {
		s, err := ln.Accept()
		if err != nil {
			return 0, fmt.Errorf("capacity: tcp ceiling: %w", err)
		}
		servers = append(servers, s)
	}
	labels := []pb.Label{{Key: "env", Value: "prod"}, {Key: "route", Value: "/api"}}
	pb.SortLabels(labels)
	now := time.Now()
	m := pb.Metric{Name: "requests", Labels: labels, Op: pb.IncrementCounter, Uint: 1,
		Seconds: now.Unix(), Nanos: int32(now.Nanosecond()), ValidUTF8: true}
	frame := pb.AppendMetricFrame(nil, &m)
	var buf []byte
	for len(buf)+len(frame) <= 64<<10 {
		buf = append(buf, frame...)
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			for time.Now().Before(end) {
				s.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := s.Write(buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	// The clients read what the kernel still holds until each sees its stream end.
	waitStable(func() uint64 { return uint64(cl.total()) }, 20*time.Millisecond, 2*time.Second)
	el := time.Since(start) - 20*time.Millisecond
	cl.close()
	return float64(cl.total()) / float64(n) / el.Seconds(), nil
}
