package statsd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pack feeds lines to p (Reset onto a fresh buffer) and returns the results
// of End and the payloads.
func pack(p *Packer, lines [][]byte) (kept []bool, payloads [][]byte) {
	p.Reset(nil)
	for _, l := range lines {
		b := p.Begin()
		b = append(b, l...)
		kept = append(kept, p.End(b))
	}
	return kept, p.Payloads(nil)
}

// checkPacking asserts every invariant of a packing of lines under limit.
func checkPacking(t *testing.T, p *Packer, limit int, lines [][]byte) {
	t.Helper()
	kept, payloads := pack(p, lines)

	var want [][]byte
	wantDropped := 0
	for i, l := range lines {
		switch {
		case len(l) > limit:
			wantDropped++
			if kept[i] {
				t.Fatalf("line %d (%d bytes > Max %d): End = true, want false", i, len(l), limit)
			}
		case len(l) == 0:
			if !kept[i] {
				t.Fatalf("empty line %d: End = false, want true", i)
			}
		default:
			want = append(want, l)
			if !kept[i] {
				t.Fatalf("line %d (%d bytes <= Max %d): End = false, want true", i, len(l), limit)
			}
		}
	}
	if got := p.Dropped(); got != wantDropped {
		t.Fatalf("Dropped() = %d, want %d", got, wantDropped)
	}
	if got := p.Lines(); got != len(want) {
		t.Fatalf("Lines() = %d, want %d", got, len(want))
	}

	// Every kept line appears exactly once, in order.
	k := 0
	for i, pl := range payloads {
		if len(pl) == 0 || len(pl) > limit {
			t.Fatalf("payload %d has %d bytes, want 1..%d", i, len(pl), limit)
		}
		for rest, more := pl, true; more; k++ {
			var line []byte
			line, rest, more = bytes.Cut(rest, []byte{'\n'})
			if k >= len(want) {
				t.Fatalf("payloads hold more than the %d kept lines", len(want))
			}
			if !bytes.Equal(line, want[k]) {
				t.Fatalf("line %d in payloads = %q, want %q", k, line, want[k])
			}
		}
	}
	if k != len(want) {
		t.Fatalf("payloads hold %d lines, want %d", k, len(want))
	}

	// Greedy: the next payload's first line did not fit in this one.
	for i := 0; i+1 < len(payloads); i++ {
		first, _, _ := bytes.Cut(payloads[i+1], []byte{'\n'})
		if len(payloads[i])+1+len(first) <= limit {
			t.Fatalf("payload %d (%d bytes) had room for the next line (%d bytes) under Max %d",
				i, len(payloads[i]), len(first), limit)
		}
	}
	if n := greedyCount(want, limit); len(payloads) != n {
		t.Fatalf("got %d payloads, want %d", len(payloads), n)
	}

	// Zero copies: the payloads are the buffer, minus the '\n' between them.
	joined := append(bytes.Join(payloads, []byte{'\n'}), '\n')
	if len(payloads) == 0 {
		joined = nil
	}
	if !bytes.Equal(joined, p.Bytes()) {
		t.Fatalf("payloads joined by '\\n' = %q, want Bytes() = %q", joined, p.Bytes())
	}
}

// greedyCount is the number of payloads greedy packing needs, computed
// from line lengths alone.
func greedyCount(lines [][]byte, limit int) int {
	n, size := 0, 0
	for _, l := range lines {
		if size > 0 && size+1+len(l) <= limit {
			size += 1 + len(l)
			continue
		}
		n++
		size = len(l)
	}
	return n
}

func lineOf(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

func TestPacker(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		lines    [][]byte
		payloads []string
	}{
		{"nothing", 10, nil, nil},
		{"one line", 10, [][]byte{[]byte("a:1|c")}, []string{"a:1|c"}},
		{"two fit exactly", 9, [][]byte{[]byte("a:1|c"), []byte("b:2")}, []string{"a:1|c\nb:2"}},
		{"one byte over", 8, [][]byte{[]byte("a:1|c"), []byte("b:2")}, []string{"a:1|c", "b:2"}},
		{"exactly Max", 5, [][]byte{lineOf(5, 'x'), lineOf(1, 'y')}, []string{"xxxxx", "y"}},
		{"Max+1 dropped", 5, [][]byte{lineOf(1, 'a'), lineOf(6, 'x'), lineOf(1, 'b')}, []string{"a\nb"}},
		{"empty lines ignored", 5, [][]byte{{}, lineOf(2, 'a'), {}, lineOf(2, 'b'), {}}, []string{"aa\nbb"}},
		{"only dropped", 3, [][]byte{lineOf(4, 'x'), lineOf(9, 'y')}, nil},
		{"greedy in order", 7, [][]byte{lineOf(3, 'a'), lineOf(5, 'b'), lineOf(1, 'c'), lineOf(3, 'd')}, []string{"aaa", "bbbbb\nc", "ddd"}},
		{"zero Max is UDP", 0, [][]byte{lineOf(1000, 'a'), lineOf(431, 'b'), lineOf(1, 'c')}, []string{strings.Repeat("a", 1000) + "\n" + strings.Repeat("b", 431), "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Packer{Max: tt.max}
			_, payloads := pack(&p, tt.lines)
			got := make([]string, len(payloads))
			for i, pl := range payloads {
				got[i] = string(pl)
			}
			if !slices.Equal(got, tt.payloads) {
				t.Errorf("got payloads %q, want %q", got, tt.payloads)
			}
			limit := tt.max
			if limit == 0 {
				limit = DefaultMaxUDP
			}
			checkPacking(t, &p, limit, tt.lines)
		})
	}
}

func TestPackerZeroValue(t *testing.T) {
	var p Packer
	if !p.End(append(p.Begin(), lineOf(DefaultMaxUDP, 'a')...)) {
		t.Fatalf("zero Packer: End(%d-byte line) = false, want true", DefaultMaxUDP)
	}
	if p.End(append(p.Begin(), lineOf(DefaultMaxUDP+1, 'b')...)) {
		t.Fatalf("zero Packer: End(%d-byte line) = true, want false", DefaultMaxUDP+1)
	}
	if got := p.Payloads(nil); len(got) != 1 || len(got[0]) != DefaultMaxUDP {
		t.Fatalf("zero Packer: got %d payloads, want 1 of %d bytes", len(got), DefaultMaxUDP)
	}
}

// TestPackerReset checks that a Packer reused with Reset forgets the
// previous packing and packs into the caller's buffer.
func TestPackerReset(t *testing.T) {
	p := Packer{Max: 4}
	pack(&p, [][]byte{lineOf(3, 'a'), lineOf(3, 'b'), lineOf(9, 'c')})
	buf := make([]byte, 0, 64)
	p.Reset(buf)
	b := p.Begin()
	b = append(b, "zz"...)
	p.End(b)
	if got := p.Payloads(nil); len(got) != 1 || string(got[0]) != "zz" {
		t.Fatalf("after Reset got payloads %q, want [\"zz\"]", got)
	}
	if p.Lines() != 1 || p.Dropped() != 0 {
		t.Fatalf("after Reset Lines, Dropped = %d, %d; want 1, 0", p.Lines(), p.Dropped())
	}
	if &p.Bytes()[0] != &buf[:1][0] {
		t.Fatalf("Bytes() does not use the buffer given to Reset")
	}
}

// TestPackerPayloadCapped checks that appending to a payload cannot
// overwrite the line after it.
func TestPackerPayloadCapped(t *testing.T) {
	p := Packer{Max: 3}
	_, payloads := pack(&p, [][]byte{[]byte("aaa"), []byte("bbb")})
	_ = append(payloads[0], 'X')
	if got := string(payloads[1]); got != "bbb" {
		t.Fatalf("payload 1 = %q after appending to payload 0, want \"bbb\"", got)
	}
}

func TestPackerEndShortBufferPanics(t *testing.T) {
	var p Packer
	p.End(append(p.Begin(), "abc"...))
	b := p.Begin()
	defer func() {
		if recover() == nil {
			t.Fatalf("End with a buffer shorter than Begin's did not panic")
		}
	}()
	p.End(b[:1])
}

// TestPackerProperty packs random line lengths, weighted toward the edges
// 1, Max and Max+1, and checks every invariant.
func TestPackerProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var p Packer
	for iter := range 300 {
		limit := 1 + r.IntN(64)
		if iter%10 == 0 {
			limit = DefaultMaxUDP
		}
		p.Max = limit
		lines := make([][]byte, r.IntN(200))
		for i := range lines {
			var n int
			switch r.IntN(6) {
			case 0:
				n = 1
			case 1:
				n = limit
			case 2:
				n = limit + 1
			case 3:
				n = 0
			default:
				n = r.IntN(limit + 3)
			}
			lines[i] = lineOf(n, byte('a'+i%26))
		}
		checkPacking(t, &p, limit, lines)
	}
}

func FuzzPacker(f *testing.F) {
	f.Add(uint16(10), []byte("a:1|c\nb:2|c\nccccccccccccc\n\nd"))
	f.Add(uint16(1), []byte("a\nbb\nc"))
	f.Add(uint16(5), []byte("xxxxx\nxxxxxx\ny\n\n\nzzzz\nz"))
	f.Add(uint16(0), []byte(strings.Repeat("line:1|c\n", 400)))
	f.Add(uint16(7), []byte(""))
	f.Fuzz(func(t *testing.T, max uint16, data []byte) {
		limit := int(max % 300)
		p := Packer{Max: limit}
		if limit == 0 {
			limit = DefaultMaxUDP
		}
		checkPacking(t, &p, limit, bytes.Split(data, []byte{'\n'}))
	})
}

// TestPackerClosed hands closed payloads off while packing goes on (and the buffer grows): the
// handed-off slices keep their bytes, and handed-off plus the rest equal Payloads.
func TestPackerClosed(t *testing.T) {
	p := Packer{Max: 20}
	p.Reset(make([]byte, 0, 8)) // tiny: packing reallocates many times
	var handed [][]byte
	var snapshot []string
	n := 0
	for i := 0; i < 50; i++ {
		b := p.Begin()
		b = append(b, fmt.Sprintf("line.%02d:1|c", i)...)
		p.End(b)
		before := len(handed)
		handed, n = p.Closed(handed, n)
		for _, h := range handed[before:] {
			snapshot = append(snapshot, string(h))
		}
	}
	all := p.Payloads(nil)
	if n >= len(all) {
		t.Fatalf("Closed reported %d closed of %d payloads: the last one is still open", n, len(all))
	}
	for i, h := range handed {
		if string(h) != snapshot[i] {
			t.Errorf("handed-off payload %d changed: %q, was %q", i, h, snapshot[i])
		}
		if string(h) != string(all[i]) {
			t.Errorf("payload %d: handed off %q, Payloads %q", i, h, all[i])
		}
	}
	if got, _ := p.Closed(nil, n); len(got) != 0 {
		t.Errorf("Closed from the last count returned %d payloads, want 0", len(got))
	}
}

// TestPackerRotate packs through Rotate after every few closed payloads, as the exporter does
// after each batch, and checks that the payloads are those of one packing into one buffer, each
// intact in its own chunk after packing went on, and that chunks stay the size of a batch.
func TestPackerRotate(t *testing.T) {
	var whole Packer
	whole.Max = 40
	var p Packer
	p.Max = 40
	var got []string
	var chunks [][]byte
	n := 0
	for i := range 500 {
		line := fmt.Sprintf("m%d:%d|c|#t:%s", i%7, i, strings.Repeat("x", i%13))
		whole.End(append(whole.Begin(), line...))
		p.End(append(p.Begin(), line...))
		var closed [][]byte
		if closed, n = p.Closed(nil, n); len(closed) >= 3 {
			for _, c := range closed {
				got = append(got, string(c))
			}
			chunks = append(chunks, p.Rotate(make([]byte, 0, 64)))
			n = 0
			if c := cap(p.Bytes()); c > 8*40 {
				t.Fatalf("after a rotation the buffer holds %d bytes, want about one open payload", c)
			}
		}
	}
	for _, c := range p.Payloads(nil) {
		got = append(got, string(c))
	}
	var want []string
	for _, c := range whole.Payloads(nil) {
		want = append(want, string(c))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rotated packing: %d payloads, want %d as one buffer packs them\n got %q\nwant %q", len(got), len(want), got[:3], want[:3])
	}
	if p.Lines() != whole.Lines() {
		t.Errorf("Lines %d after rotations, want %d", p.Lines(), whole.Lines())
	}
	for i, c := range chunks {
		if len(c) > 0 && c[len(c)-1] != '\n' {
			t.Errorf("chunk %d does not end at a line boundary: %q", i, c)
		}
	}
}
