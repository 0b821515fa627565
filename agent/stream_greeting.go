package agent

import (
	"strconv"
	"sync"
	"time"

	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
)

// DefaultTCPSnapshotBudget is the default TCPConfig.SnapshotBudget: room for about nine
// snapshots of 100,000 series (~7 MB each) held at once.
const DefaultTCPSnapshotBudget = 64 << 20

// greeter makes the greetings new clients receive, sharing each encoding among clients and
// bounding what the snapshots pin while clients write them. The zero value is not usable; the
// stream sets it up in newStream.
//
// Without Snapshot the greeting is the metadata, encoded once per change of it and shared by every
// client. With Snapshot it also holds every counter and gauge value, so it must be read after the
// client was registered for broadcasts (see netio.HubConfig.Greeting): a client waits for the
// next build that has not started yet, and every client that arrives while a build runs shares
// the next one (group commit). At most one build runs at a time, and connection storms cost a
// few encodings, not one per client.
//
// Each snapshot encoding stays held until the last client it was handed to has written it or
// gone (netio.HubConfig.GreetingDone); clients that never read hold it until WriteTimeout. The
// bytes held, counted by capacity, never exceed budget: a build that would pass it is abandoned
// and its clients get the metadata alone, counted in Stats.TCP.SnapshotsSkipped.
type greeter struct {
	st     *stream
	budget int // bytes; negative: no limit

	mu       sync.Mutex
	cond     sync.Cond // signalled when a build ends
	building bool
	next     *greetBuild            // the build clients join: not started yet
	held     map[*int]*greetEncoded // snapshot encodings handed out and not done, by &ends[0]
	used     int                    // their sizes
	// lastSize is the size of the last snapshot built, or how far an abandoned one got: while
	// other snapshots are held, a build that it says cannot fit is not even tried.
	lastSize int

	meta    *greetEncoded // the metadata alone, for metaVer
	metaVer uint64
}

// greetBuild is one snapshot encoding in the making and the clients waiting for it.
type greetBuild struct {
	started bool
	clients int
	enc     *greetEncoded // set when the build ends
}

// greetEncoded is an immutable greeting, shared by the clients it is handed to.
type greetEncoded struct {
	frames   []byte
	ends     []int
	size     int  // bytes held, by capacity
	snapshot bool // false: the metadata alone
	refs     int  // clients still writing it (snapshots only)
}

func (g *greeter) init(st *stream, budget int) {
	g.st, g.budget = st, budget
	g.cond.L = &g.mu
	g.held = map[*int]*greetEncoded{}
}

// greeting is the hub's Greeting: what a newly registered client receives first.
func (g *greeter) greeting() ([]byte, []int) {
	if !g.st.cfg.Snapshot {
		e := g.metadata()
		return e.frames, e.ends
	}
	g.mu.Lock()
	b := g.next
	if b == nil {
		b = &greetBuild{}
		g.next = b
	}
	b.clients++
	for b.enc == nil {
		if b.started || g.building {
			g.cond.Wait()
			continue
		}
		// Nobody is building: this client builds for everyone who joined b meanwhile, and those
		// who come while it builds join the next one.
		b.started, g.building, g.next = true, true, nil
		limit := -1
		if g.budget >= 0 {
			limit = g.budget - g.used // only builds add to used, and one runs at a time
		}
		var e *greetEncoded
		if limit >= 0 && g.used > 0 && g.lastSize > limit {
			g.mu.Unlock()
			e = g.metadata()
			g.mu.Lock()
		} else {
			g.mu.Unlock()
			var size int
			e, size = g.build(limit)
			g.mu.Lock()
			g.lastSize = size
			g.st.snapBuilds.Add(1)
		}
		g.building = false
		if e.snapshot {
			if len(e.ends) > 0 {
				// Held from now for all of b's clients, before any later build reads used.
				e.refs = b.clients
				g.held[&e.ends[0]] = e
				g.used += e.size
			}
			g.st.snapServed.Add(uint64(b.clients))
		} else {
			g.st.snapSkipped.Add(uint64(b.clients))
		}
		b.enc = e
		g.cond.Broadcast()
	}
	e := b.enc
	g.mu.Unlock()
	return e.frames, e.ends
}

// greetingDone is the hub's GreetingDone: a client no longer reads its greeting.
func (g *greeter) greetingDone(_ []byte, ends []int) {
	if len(ends) == 0 {
		return
	}
	g.mu.Lock()
	k := &ends[0]
	if e := g.held[k]; e != nil {
		if e.refs--; e.refs == 0 {
			delete(g.held, k)
			g.used -= e.size
		}
	}
	g.mu.Unlock()
}

// metadata returns the shared encoding of every described metric, re-encoded only after
// Describe changed them.
func (g *greeter) metadata() *greetEncoded {
	st := g.st
	st.metaMu.Lock()
	defer st.metaMu.Unlock()
	if g.meta == nil || g.metaVer != st.metaVer {
		e := &greetEncoded{}
		e.frames, e.ends = st.appendMetadata(nil, nil)
		g.meta, g.metaVer = e, st.metaVer
	}
	return g.meta
}

// build encodes the metadata and a snapshot of every counter and gauge into one greeting, or
// returns the metadata alone if the encoding would take more than limit bytes (limit < 0: no
// limit). size is the snapshot's size, or how far it got when abandoned.
func (g *greeter) build(limit int) (e *greetEncoded, size int) {
	st := g.st
	st.metaMu.Lock()
	frames, ends := st.appendMetadata(nil, nil)
	st.metaMu.Unlock()
	now := time.Now().UnixNano()
	fits := true
	st.r.reg.Range(func(s *shard.Series) bool {
		ext := extOf(s)
		m := pb.Metric{Name: s.Name(), Seconds: now / 1e9, Nanos: int32(now % 1e9), Labels: ext.labels(s), ValidUTF8: true}
		switch s.Kind() {
		case shard.KindCounter:
			m.Op, m.Uint = pb.SetCounter, setCount(counterTotal(s, ext))
		case shard.KindGauge:
			if !s.Gauge().EverSet() {
				return true
			}
			m.Op, m.Float = pb.SetGauge, s.Gauge().Load()
		default:
			return true
		}
		frames = pb.AppendMetricFrame(frames, &m)
		ends = append(ends, len(frames))
		fits = limit < 0 || encodedSize(frames, ends) <= limit
		return fits
	})
	size = encodedSize(frames, ends)
	if !fits {
		return g.metadata(), size
	}
	return &greetEncoded{frames: frames, ends: ends, size: size, snapshot: true}, size
}

// encodedSize is the memory a greeting's slices take, by capacity.
func encodedSize(frames []byte, ends []int) int {
	return cap(frames) + cap(ends)*(strconv.IntSize/8)
}
