package pb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/statshard/statshard/proto/eventpb"
)

// stream holds every metric and metadata case as consecutive frames, the
// way a TCP client receives them coalesced, with the events they encode.
func stream(t testing.TB) ([]byte, []*eventpb.Event, [][]byte) {
	t.Helper()
	var buf []byte
	var events []*eventpb.Event
	var payloads [][]byte
	for i := range metricCases {
		m := &metricCases[i].m
		buf = AppendMetricFrame(buf, m)
		events = append(events, metricEvent(m))
		payloads = append(payloads, AppendMetric(nil, m))
	}
	for i := range metadataCases {
		md := &metadataCases[i].md
		buf = AppendMetadataFrame(buf, md)
		events = append(events, metadataEvent(md))
		payloads = append(payloads, AppendMetadata(nil, md))
	}
	return buf, events, payloads
}

func TestFramesReadByProtodelim(t *testing.T) {
	buf, want, _ := stream(t)
	r := bufio.NewReader(bytes.NewReader(buf))
	for i := range want {
		got := new(eventpb.Event)
		if err := protodelim.UnmarshalFrom(r, got); err != nil {
			t.Fatalf("frame %d: UnmarshalFrom: %v", i, err)
		}
		if !proto.Equal(got, want[i]) { // proto.Equal treats NaN as equal to NaN
			t.Errorf("frame %d: got %v, want %v", i, got, want[i])
		}
	}
	if err := protodelim.UnmarshalFrom(r, new(eventpb.Event)); err != io.EOF {
		t.Errorf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestFramesReadByReadFrame(t *testing.T) {
	buf, _, want := stream(t)
	r := bufio.NewReader(bytes.NewReader(buf))
	var frame []byte
	for i := range want {
		var err error
		frame, err = ReadFrame(r, frame, 0)
		if err != nil {
			t.Fatalf("frame %d: ReadFrame: %v", i, err)
		}
		if !bytes.Equal(frame, want[i]) {
			t.Errorf("frame %d: got %x, want %x", i, frame, want[i])
		}
	}
	if _, err := ReadFrame(r, frame, 0); err != io.EOF {
		t.Errorf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestReadFrame(t *testing.T) {
	ff := strings.Repeat("\xff", 9)
	for _, tc := range []struct {
		name    string
		in      string
		max     int
		want    []string // frames read before the error
		wantErr error
	}{
		{"empty input", "", 10, nil, io.EOF},
		{"one frame", "\x03abc", 10, []string{"abc"}, io.EOF},
		{"empty frame", "\x00", 10, []string{""}, io.EOF},
		{"two frames", "\x01a\x02bc", 10, []string{"a", "bc"}, io.EOF},
		{"non-minimal length", "\x81\x00a", 10, []string{"a"}, io.EOF},
		{"length equal to max", "\x03abc", 3, []string{"abc"}, io.EOF},
		{"length over max", "\x04abcd", 3, nil, ErrFrameTooLarge},
		{"zero max means default, under", "\x01a", 0, []string{"a"}, io.EOF},
		{"zero max means default, over", "\x81\x80\x80\x02", 0, nil, ErrFrameTooLarge},   // DefaultMaxFrame+1
		{"negative max means default", "\x80\x80\x80\x02", -1, nil, io.ErrUnexpectedEOF}, // exactly DefaultMaxFrame, then truncated
		{"length prefix truncated", "\x80", 10, nil, io.ErrUnexpectedEOF},
		{"length prefix truncated after a frame", "\x01a\xff\xff", 10, []string{"a"}, io.ErrUnexpectedEOF},
		{"payload truncated", "\x05abc", 10, nil, io.ErrUnexpectedEOF},
		{"payload missing", "\x05", 10, nil, io.ErrUnexpectedEOF},
		{"max uint64 length", ff + "\x01", 10, nil, ErrFrameTooLarge},
		{"length overflows 64 bits", ff + "\x02", 10, nil, ErrBadLength},
		{"length longer than 10 bytes", ff + "\x80\x00", 10, nil, ErrBadLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			var frame []byte
			for i, want := range tc.want {
				var err error
				frame, err = ReadFrame(r, frame, tc.max)
				if err != nil {
					t.Fatalf("frame %d: got error %v, want %q", i, err, want)
				}
				if string(frame) != want {
					t.Errorf("frame %d: got %q, want %q", i, frame, want)
				}
			}
			frame, err := ReadFrame(r, frame, tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got error %v, want %v", err, tc.wantErr)
			}
			if len(frame) != 0 {
				t.Errorf("with an error: got frame %q, want empty", frame)
			}
		})
	}
}

// TestReadFrameEOFIsExact checks that truncation is never reported as a
// clean io.EOF, which a reader would take for a normal end of stream.
func TestReadFrameEOFIsExact(t *testing.T) {
	m := metricCases[len(metricCases)-1].m
	full := AppendMetricFrame(nil, &m)
	for cut := 1; cut < len(full); cut++ {
		_, err := ReadFrame(bytes.NewReader(full[:cut]), nil, 0)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("cut at %d of %d: got %v, want io.ErrUnexpectedEOF", cut, len(full), err)
		}
	}
}

type failingReader struct{ afterBytes int }

var errDisk = errors.New("disk on fire")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.afterBytes == 0 {
		return 0, errDisk
	}
	n := min(len(p), r.afterBytes)
	for i := range p[:n] {
		p[i] = 0x02 // a length of 2, then payload bytes
	}
	r.afterBytes -= n
	return n, nil
}

func (r *failingReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := r.Read(b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

func TestReadFrameWrapsReadErrors(t *testing.T) {
	for _, after := range []int{0, 1, 2} { // in the prefix, at payload start, mid-payload
		_, err := ReadFrame(&failingReader{afterBytes: after}, nil, 10)
		if !errors.Is(err, errDisk) {
			t.Errorf("failing after %d bytes: got %v, want it to wrap %v", after, err, errDisk)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "pb: ") {
			t.Errorf("failing after %d bytes: got %v, want a \"pb: \" prefix", after, err)
		}
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 16)
	frame, err := ReadFrame(bytes.NewReader([]byte("\x03abc")), buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if &frame[0] != &buf[:1][0] {
		t.Errorf("got a new array for a frame that fits, want buf reused")
	}
	frame, err = ReadFrame(bytes.NewReader(append([]byte{20}, make([]byte, 20)...)), buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) != 20 {
		t.Errorf("grown frame: got len %d, want 20", len(frame))
	}
}

func TestReadFrameLarge(t *testing.T) {
	payload := make([]byte, 3*growChunk+17)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	in := append(protowire.AppendVarint(nil, uint64(len(payload))), payload...)
	for _, buf := range [][]byte{nil, make([]byte, 0, len(payload))} {
		frame, err := ReadFrame(bytes.NewReader(in), buf, 0)
		if err != nil {
			t.Fatalf("cap %d: %v", cap(buf), err)
		}
		if !bytes.Equal(frame, payload) {
			t.Errorf("cap %d: got %d bytes differing from the %d written", cap(buf), len(frame), len(payload))
		}
	}
}

// TestReadFrameTruncatedClaimAllocatesLittle checks that a prefix claiming
// the maximum size, followed by few bytes, does not make ReadFrame allocate
// the claimed size.
func TestReadFrameTruncatedClaimAllocatesLittle(t *testing.T) {
	in := append(protowire.AppendVarint(nil, DefaultMaxFrame), "only a few bytes"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(in), nil, 0)
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > DefaultMaxFrame/4 {
		t.Errorf("got %d bytes allocated for a truncated frame, want at most %d", got, DefaultMaxFrame/4)
	}
}
