package statsd

// Payload size limits for the two datagram transports.
const (
	DefaultMaxUDP  = 1432 // safe for a 1500-byte MTU: no IP fragmentation
	DefaultMaxUnix = 8192 // the Datadog Agent's default unix socket buffer
)

// Packer packs lines into datagram payloads of at most Max bytes, each as
// full as the order of the lines allows, lines joined by '\n' with no
// trailing '\n'.
//
// All lines live contiguously in one caller-owned buffer, each followed by
// '\n'. A payload is a sub-slice of that buffer that ends at a line
// boundary and leaves out its final '\n', so every payload can go to
// sendmmsg as is: lines are encoded once and never copied.
//
// The zero value has Max DefaultMaxUDP and packs into a buffer it grows
// itself; call Reset to pack into a pooled buffer or to start again. A
// Packer must not be copied after first use, nor used by two goroutines at
// once.
type Packer struct {
	// Max is the largest payload in bytes; zero (or negative) means
	// DefaultMaxUDP. Do not change it between Reset and Payloads.
	Max int

	buf     []byte // lines, each followed by '\n'
	ends    []int  // end offset (the '\n') of every closed payload
	start   int    // offset of the open payload's first byte
	mark    int    // len(buf) at Begin: where the line being built starts
	lines   int
	dropped int
}

// Reset starts a new packing into buf[:0]. buf stays owned by the caller
// (for example it comes from a pool); Bytes returns it, possibly grown.
// Reset keeps the Packer's own bookkeeping memory, so reusing one Packer
// makes later packings allocation-free.
func (p *Packer) Reset(buf []byte) {
	p.buf = buf[:0]
	p.ends = p.ends[:0]
	p.start, p.mark = 0, 0
	p.lines, p.dropped = 0, 0
}

// Begin returns the buffer to append exactly one line to, without '\n';
// pass the result to End. The bytes before the returned length belong to
// earlier lines: append only.
func (p *Packer) Begin() []byte {
	p.mark = len(p.buf)
	return p.buf
}

// End commits the line appended to b since Begin and reports whether it
// was kept. A line longer than Max cannot be sent whole, so it is dropped,
// counted in Dropped, rolled back out of the buffer, and End returns false.
// An empty line (nothing appended) is ignored and End returns true. End
// panics if b is shorter than the buffer Begin returned.
//
// End does not allocate once the buffer and the payload index have grown
// to the size a packing needs.
func (p *Packer) End(b []byte) bool {
	n := len(b) - p.mark
	if n <= 0 {
		if n < 0 {
			panic("statsd: Packer.End given a buffer shorter than Begin returned")
		}
		return true
	}
	limit := p.Max
	if limit <= 0 {
		limit = DefaultMaxUDP
	}
	if n > limit {
		// Keep b, not p.buf: if the append grew the buffer, the larger
		// array already holds every earlier line.
		p.buf = b[:p.mark]
		p.dropped++
		return false
	}
	// mark-start is the open payload's length plus its trailing '\n', so
	// this is the payload length if the line joined it.
	if p.mark > p.start && p.mark-p.start+n > limit {
		p.ends = append(p.ends, p.mark-1)
		p.start = p.mark
	}
	p.buf = append(b, '\n')
	p.mark = len(p.buf)
	p.lines++
	return true
}

// Payloads appends the payloads packed since Reset to dst and returns it.
// Call it after the last End. The payloads alias the buffer and stay valid
// until the next Reset; each is capped at its own end, so appending to one
// cannot overwrite the next.
func (p *Packer) Payloads(dst [][]byte) [][]byte {
	s := 0
	for _, e := range p.ends {
		dst = append(dst, p.buf[s:e:e])
		s = e + 1
	}
	if n := len(p.buf); n > p.start {
		dst = append(dst, p.buf[p.start:n-1:n-1])
	}
	return dst
}

// NumClosed returns the number of payloads closed so far (see Closed).
func (p *Packer) NumClosed() int { return len(p.ends) }

// Closed appends to dst the payloads closed since the first from of them (closed payloads can no
// longer grow), and returns dst with the number closed so far. Handing closed payloads to a sender
// while packing goes on lets encoding and sending overlap: pass back the count it returned, and
// take the rest with Payloads (from that count on) at the end. The slices stay valid and unchanged
// until the next Reset, even if packing grows the buffer.
func (p *Packer) Closed(dst [][]byte, from int) ([][]byte, int) {
	s := 0
	if from > 0 && from <= len(p.ends) {
		s = p.ends[from-1] + 1
	}
	for _, e := range p.ends[min(from, len(p.ends)):] {
		dst = append(dst, p.buf[s:e:e])
		s = e + 1
	}
	return dst, len(p.ends)
}

// Rotate moves packing into buf[:0] and returns the buffer packed so far, which then holds only
// closed payloads: call it once every closed payload has been taken (Closed), and keep the returned
// buffer until they are sent. The open payload, if any, moves to buf; payload counts restart, so
// Closed and Payloads then count from 0 again, while Lines and Dropped go on adding up. Rotating
// after each batch handed to a sender bounds a packing's memory by the batches in flight, however
// many lines it packs, and no line is copied more than the open payload's.
func (p *Packer) Rotate(buf []byte) []byte {
	old, start := p.buf, p.start
	buf = append(buf[:0], old[start:]...)
	p.mark -= start
	p.buf, p.start = buf, 0
	p.ends = p.ends[:0]
	return old[:start]
}

// Bytes returns the underlying buffer, every kept line followed by '\n',
// for example to give it back to a pool once the payloads are sent.
func (p *Packer) Bytes() []byte { return p.buf }

// Lines returns the number of lines packed since Reset.
func (p *Packer) Lines() int { return p.lines }

// Dropped returns the number of lines dropped since Reset because they
// were longer than Max.
func (p *Packer) Dropped() int { return p.dropped }
