package statsd

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Errors returned by SanitizeName and SanitizeTag when nothing usable is
// left of their input.
var (
	ErrEmptyName = errors.New("statsd: metric name has no valid characters")
	ErrEmptyTag  = errors.New("statsd: tag has no valid characters")
)

// Datadog's length limits, in bytes. Sanitized names and tags are pure
// ASCII, so bytes and characters agree.
const (
	MaxNameLen = 200
	MaxTagLen  = 200
)

// nameByte and tagByte tell which bytes may appear in a clean name or tag.
// tagByte holds no upper-case letters: clean tags are lower case.
var (
	nameByte = byteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
	tagByte  = byteSet("abcdefghijklmnopqrstuvwxyz0123456789_-:./")
)

func byteSet(chars string) (set [256]bool) {
	for i := 0; i < len(chars); i++ {
		set[chars[i]] = true
	}
	return set
}

func isLetter(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
}

// SanitizeName returns name made Datadog-compliant; changed reports whether
// clean differs from name. When name is already valid it returns name
// itself without allocating; otherwise it allocates the result once.
//
// The rules, applied byte-wise:
//   - Leading bytes up to the first ASCII letter are dropped ("1abc" and
//     "_abc" become "abc"; "é" counts as a non-letter).
//   - ASCII letters, digits, '_' and '.' are kept; case is preserved.
//   - Any other ASCII byte becomes '_'. A multi-byte UTF-8 character
//     becomes one '_', and each byte of invalid UTF-8 becomes one '_'.
//   - The result is cut to MaxNameLen bytes.
//
// If nothing is left it returns "", name != "" and ErrEmptyName.
func SanitizeName(name string) (clean string, changed bool, err error) {
	if ValidName(name) {
		return name, false, nil
	}
	clean = sanitize(name, &nameByte, MaxNameLen, false)
	if clean == "" {
		return "", name != "", ErrEmptyName
	}
	return clean, true, nil
}

// SanitizeTag returns tag made Datadog-compliant; changed reports whether
// clean differs from tag. When tag is already valid it returns tag itself
// without allocating; otherwise it allocates the result once.
//
// The rules, applied byte-wise:
//   - ASCII letters are lower-cased ("Env:Prod" becomes "env:prod").
//   - Leading bytes up to the first ASCII letter are dropped (":env" and
//     "1env" become "env").
//   - Letters, digits, '_', '-', ':', '.' and '/' are kept.
//   - Any other ASCII byte becomes '_' (notably '|', ',', '#', '@', ' ',
//     '\n', which would break the line). A multi-byte UTF-8 character
//     becomes one '_', and each byte of invalid UTF-8 becomes one '_'.
//   - The result is cut to MaxTagLen bytes, then trailing ':' are removed
//     ("env:" becomes "env"), since Datadog rejects a tag ending in ':'.
//
// If nothing is left it returns "", tag != "" and ErrEmptyTag.
func SanitizeTag(tag string) (clean string, changed bool, err error) {
	if ValidTag(tag) {
		return tag, false, nil
	}
	clean = strings.TrimRight(sanitize(tag, &tagByte, MaxTagLen, true), ":")
	if clean == "" {
		return "", tag != "", ErrEmptyTag
	}
	return clean, true, nil
}

// sanitize applies the rules shared by names and tags: skip to the first
// ASCII letter, replace disallowed bytes (one '_' per UTF-8 character), cut
// to max bytes, optionally lower-casing ASCII letters.
func sanitize(s string, allowed *[256]bool, max int, lower bool) string {
	i := 0
	// Bytes of a multi-byte character are all >= 0x80, never letters, so
	// skipping byte by byte never leaves half a character behind.
	for i < len(s) && !isLetter(s[i]) {
		i++
	}
	if i == len(s) {
		return ""
	}
	var b strings.Builder
	b.Grow(min(len(s)-i, max))
	for i < len(s) && b.Len() < max {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteByte('_')
			i += size
			continue
		}
		if lower && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !allowed[c] {
			c = '_'
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// ValidName reports whether name is a clean metric name, that is whether
// SanitizeName would return it unchanged and without error.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !nameByte[name[i]] {
			return false
		}
	}
	return true
}

// ValidTag reports whether tag is a clean tag, that is whether SanitizeTag
// would return it unchanged and without error.
func ValidTag(tag string) bool {
	n := len(tag)
	if n == 0 || n > MaxTagLen || tag[0] < 'a' || tag[0] > 'z' || tag[n-1] == ':' {
		return false
	}
	for i := 1; i < n; i++ {
		if !tagByte[tag[i]] {
			return false
		}
	}
	return true
}

// TagKey returns the part of tag before its first ':' ("env:prod" gives
// "env"), or the whole tag when it has none ("beta" gives "beta").
func TagKey(tag string) string {
	if i := strings.IndexByte(tag, ':'); i >= 0 {
		return tag[:i]
	}
	return tag
}

// AppendTags appends tags joined by ',' verbatim, without sanitizing them:
// the form Line.Tags expects. It does not allocate when dst has room.
func AppendTags(dst []byte, tags []string) []byte {
	for i, t := range tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, t...)
	}
	return dst
}
