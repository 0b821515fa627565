package pb

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// DefaultMaxFrame is the frame size limit ReadFrame applies when given a
// limit of zero or less: 4 MiB, protodelim's default. statshard's frames are
// a few hundred bytes; the limit bounds what a corrupt or hostile length
// prefix can make a reader allocate.
const DefaultMaxFrame = 4 << 20

// growChunk is how much ReadFrame reads before growing its buffer again
// for a frame larger than the buffer's capacity.
const growChunk = 64 << 10

// maxVarintLen is the longest uvarint: 64 bits in 7-bit groups.
const maxVarintLen = 10

var (
	// ErrFrameTooLarge is returned, wrapped with the sizes, by ReadFrame
	// when a frame's length prefix exceeds the limit.
	ErrFrameTooLarge = errors.New("pb: frame larger than limit")
	// ErrBadLength is returned by ReadFrame when a length prefix is not a
	// valid uvarint: longer than 10 bytes or overflowing 64 bits.
	ErrBadLength = errors.New("pb: malformed frame length")
)

// Reader is what ReadFrame reads from; *bufio.Reader and *bytes.Reader
// satisfy it. The length prefix is read one byte at a time, so an
// unbuffered reader would cost a system call per byte.
type Reader interface {
	io.Reader
	io.ByteReader
}

// ReadFrame reads one uvarint(length) ‖ payload frame from r and returns the
// payload, which is buf[:length] when buf has the capacity and a new slice
// otherwise. Pass the previous result back as buf to reuse its memory; the
// payload is only valid until then. A limit of zero or less means
// DefaultMaxFrame.
//
// Errors: io.EOF only when r ends cleanly before a frame starts;
// io.ErrUnexpectedEOF when it ends inside a length prefix or a payload;
// ErrBadLength for a malformed prefix; ErrFrameTooLarge (wrapped) for a
// length over limit; other read errors wrapped with "pb: read frame".
func ReadFrame(r Reader, buf []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFrame
	}
	n, err := readLength(r)
	if err != nil {
		return buf[:0], err
	}
	if n > uint64(limit) {
		return buf[:0], fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, limit)
	}
	size := int(n)
	frame := buf[:0]
	for len(frame) < size {
		// Grow with the bytes that actually arrive (doubling from
		// growChunk), not with what the prefix claims: a few bytes of
		// prefix must not make the reader allocate limit bytes.
		have := len(frame)
		want := min(size, max(cap(frame), have+max(have, growChunk)))
		frame = slices.Grow(frame, want-have)[:want]
		if _, err := io.ReadFull(r, frame[have:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			} else if err != io.ErrUnexpectedEOF {
				err = fmt.Errorf("pb: read frame: %w", err)
			}
			return frame[:0], err
		}
	}
	return frame, nil
}

// readLength reads a uvarint like binary.ReadUvarint, but tells a clean end
// of stream (io.EOF before the first byte) from a truncated prefix.
func readLength(r io.ByteReader) (uint64, error) {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			switch {
			case err == io.EOF && shift == 0:
				return 0, io.EOF
			case err == io.EOF:
				return 0, io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("pb: read frame length: %w", err)
		}
		if shift == 7*(maxVarintLen-1) && b > 1 {
			return 0, ErrBadLength // bits beyond 64, or an eleventh byte
		}
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, nil
		}
	}
}
