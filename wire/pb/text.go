package pb

import "unicode/utf8"

// Strings that are not valid UTF-8 are written with each run of invalid bytes
// replaced by U+FFFD, as strings.ToValidUTF8(s, "\uFFFD") would, but without
// allocating. proto3 string fields must be UTF-8: proto.Unmarshal (Go) and
// prost (the reference client) reject the whole message otherwise, and an
// older metrics-observer loses its place in the stream on such an error, so
// one bad label from an ingested datagram must not reach the wire as is.
// The check runs once per string (size pass); the append pass repeats it
// only for a message that had an invalid string.

const replacement = "\uFFFD"

// textLen returns the encoded length of s and whether s was already valid.
// Valid UTF-8 is the overwhelming case and costs one utf8.ValidString scan,
// skipped when the caller vouches for s (trusted).
func textLen(s string, trusted bool) (n int, valid bool) {
	if trusted || utf8.ValidString(s) {
		return len(s), true
	}
	return sanitizedLen(s), false
}

// textLenAgain is textLen for the append pass: when the size pass found
// every string of the message valid, it skips the scan.
func textLenAgain(s string, allValid bool) int {
	if allValid {
		return len(s)
	}
	n, _ := textLen(s, false)
	return n
}

// sanitizedLen is len(strings.ToValidUTF8(s, replacement)).
func sanitizedLen(s string) int {
	n := 0
	inBad := false // the previous byte was part of an invalid run
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			n++
			inBad = false
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		if w == 1 { // invalid byte: DecodeRune reports width 1 for it
			i++
			if !inBad {
				n += len(replacement)
				inBad = true
			}
			continue
		}
		i += w
		n += w
		inBad = false
	}
	return n
}

// appendText appends s, sanitized unless allValid says it is already valid.
func appendText(dst []byte, s string, allValid bool) []byte {
	if allValid || utf8.ValidString(s) {
		return append(dst, s...)
	}
	inBad := false
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			dst = append(dst, s[i])
			i++
			inBad = false
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		if w == 1 {
			i++
			if !inBad {
				dst = append(dst, replacement...)
				inBad = true
			}
			continue
		}
		dst = append(dst, s[i:i+w]...)
		i += w
		inBad = false
	}
	return dst
}

// appendTextField appends a length-delimited string field.
func appendTextField(dst []byte, tag byte, s string, allValid bool) []byte {
	dst = appendField(dst, tag, textLenAgain(s, allValid))
	return appendText(dst, s, allValid)
}
