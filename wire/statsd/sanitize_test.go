package statsd

import (
	"errors"
	"strings"
	"testing"
)

type sanitizeCase struct {
	name    string
	in      string
	want    string
	changed bool
	err     error
}

func checkSanitize(t *testing.T, fn func(string) (string, bool, error), fnName string, tt sanitizeCase) {
	t.Helper()
	got, changed, err := fn(tt.in)
	if got != tt.want || changed != tt.changed || !errors.Is(err, tt.err) {
		t.Errorf("%s(%q) = %q, %v, %v; want %q, %v, %v", fnName, tt.in, got, changed, err, tt.want, tt.changed, tt.err)
	}
}

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 201)
	tests := []sanitizeCase{
		{"valid", "http.requests_total", "http.requests_total", false, nil},
		{"case preserved", "HTTP.Requests", "HTTP.Requests", false, nil},
		{"digits after letter", "a1.b2", "a1.b2", false, nil},
		{"leading digit", "1abc", "abc", true, nil},
		{"leading underscore and dot", "_.abc", "abc", true, nil},
		{"leading unicode", "éabc", "abc", true, nil},
		{"dash", "http-requests", "http_requests", true, nil},
		{"colon", "a:b", "a_b", true, nil},
		{"pipe", "a|b", "a_b", true, nil},
		{"comma", "a,b", "a_b", true, nil},
		{"hash and at", "a#b@c", "a_b_c", true, nil},
		{"newline", "a\nb", "a_b", true, nil},
		{"space", "a b", "a_b", true, nil},
		{"control chars", "a\x00\x1f\x7fb", "a___b", true, nil},
		{"two-byte rune is one underscore", "caf\u00e9.x", "caf_.x", true, nil},
		{"four-byte rune is one underscore", "a\U0001F600b", "a_b", true, nil},
		{"invalid utf8 byte by byte", "a\xff\xfeb", "a__b", true, nil},
		{"truncated UTF-8 rune", "a\xe2\x82", "a__", true, nil},
		{"exactly 200", long[:200], long[:200], false, nil},
		{"201 bytes", long, long[:200], true, nil},
		{"cut after replacement", "a" + strings.Repeat("\u00e9", 300), "a" + strings.Repeat("_", 199), true, nil},
		{"strip then cut", "123" + long, long[:200], true, nil},
		{"trailing colon kept as underscore", "env:", "env_", true, nil},
		{"empty", "", "", false, ErrEmptyName},
		{"only digits", "123", "", true, ErrEmptyName},
		{"only colon", ":", "", true, ErrEmptyName},
		{"only unicode", "日本", "", true, ErrEmptyName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSanitize(t, SanitizeName, "SanitizeName", tt) })
	}
}

func TestSanitizeTag(t *testing.T) {
	long := strings.Repeat("b", 201)
	tests := []sanitizeCase{
		{"valid key:value", "env:prod", "env:prod", false, nil},
		{"valid bare", "beta", "beta", false, nil},
		{"valid all allowed", "a-b_c:d.e/f:1", "a-b_c:d.e/f:1", false, nil},
		{"inner colons kept", "url:http://x", "url:http://x", false, nil},
		{"lower-cased", "Env:Prod", "env:prod", true, nil},
		{"leading digit", "1abc", "abc", true, nil},
		{"leading colon", ":env", "env", true, nil},
		{"leading slash and dash", "/-env", "env", true, nil},
		{"trailing colon", "env:", "env", true, nil},
		{"trailing colons", "env:::", "env", true, nil},
		{"trailing colon after cut", strings.Repeat("c", 199) + ":x", strings.Repeat("c", 199), true, nil},
		{"pipe", "a|b", "a_b", true, nil},
		{"comma", "a,b", "a_b", true, nil},
		{"hash", "a#b", "a_b", true, nil},
		{"at", "a@b", "a_b", true, nil},
		{"newline", "a\nb", "a_b", true, nil},
		{"space", "a b", "a_b", true, nil},
		{"control chars", "a\x00\tb", "a__b", true, nil},
		{"unicode value", "city:münchen", "city:m_nchen", true, nil},
		{"invalid utf8", "a\xffb", "a_b", true, nil},
		{"exactly 200", long[:200], long[:200], false, nil},
		{"201 bytes", long, long[:200], true, nil},
		{"upper and too long", strings.ToUpper(long), long[:200], true, nil},
		{"empty", "", "", false, ErrEmptyTag},
		{"only colon", ":", "", true, ErrEmptyTag},
		{"only digits", "123:456", "", true, ErrEmptyTag},
		{"only unicode", "ü", "", true, ErrEmptyTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSanitize(t, SanitizeTag, "SanitizeTag", tt) })
	}
}

func TestValidNameTag(t *testing.T) {
	tests := []struct {
		in        string
		name, tag bool
	}{
		{"abc", true, true},
		{"a.b_c", true, true},
		{"Abc", true, false},
		{"a:b", false, true},
		{"a-b/c", false, true},
		{"a:", false, false},
		{"1a", false, false},
		{"", false, false},
		{"a b", false, false},
		{strings.Repeat("a", 200), true, true},
		{strings.Repeat("a", 201), false, false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.in); got != tt.name {
			t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.name)
		}
		if got := ValidTag(tt.in); got != tt.tag {
			t.Errorf("ValidTag(%q) = %v, want %v", tt.in, got, tt.tag)
		}
	}
}

func TestTagKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"env:prod", "env"},
		{"url:http://x", "url"},
		{"beta", "beta"},
		{":x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := TagKey(tt.in); got != tt.want {
			t.Errorf("TagKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendTags(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{nil, ""},
		{[]string{"a:b"}, "a:b"},
		{[]string{"a:b", "c", "D|e"}, "a:b,c,D|e"},
		{[]string{"", "x"}, ",x"},
	}
	for _, tt := range tests {
		if got := string(AppendTags([]byte("#"), tt.tags)); got != "#"+tt.want {
			t.Errorf("AppendTags(%q) = %q, want %q", tt.tags, got, "#"+tt.want)
		}
	}
}

// checkClean asserts the invariants of a sanitizer's output.
func checkClean(t *testing.T, fn func(string) (string, bool, error), valid func(string) bool, emptyErr error, in string) {
	t.Helper()
	clean, changed, err := fn(in)
	if err != nil {
		if !errors.Is(err, emptyErr) || clean != "" {
			t.Fatalf("sanitize(%q) = %q, %v; want \"\", %v", in, clean, err, emptyErr)
		}
		if changed != (in != "") {
			t.Fatalf("sanitize(%q) changed = %v, want %v", in, changed, in != "")
		}
		return
	}
	if changed != (clean != in) {
		t.Fatalf("sanitize(%q) = %q, changed %v; want changed %v", in, clean, changed, clean != in)
	}
	if !valid(clean) {
		t.Fatalf("sanitize(%q) = %q, which is not valid", in, clean)
	}
	if i := strings.IndexAny(clean, "|,#\n@"); i >= 0 {
		t.Fatalf("sanitize(%q) = %q, contains %q", in, clean, clean[i])
	}
	again, changed2, err2 := fn(clean)
	if again != clean || changed2 || err2 != nil {
		t.Fatalf("sanitize(%q) = %q, %v, %v; want it unchanged (idempotent)", clean, again, changed2, err2)
	}
	if valid(in) != !changed {
		t.Fatalf("valid(%q) = %v but changed = %v", in, valid(in), changed)
	}
}

var sanitizeSeeds = []string{
	"", "a", "1abc", ":", "env:", "Env:Prod", "a|b", "a,b", "a\nb", "a#b@c", "café", "\xff",
	"a\U0001F600", strings.Repeat("x", 201), strings.Repeat("é", 150), "__x__", "x:::", "X" + strings.Repeat(":", 300),
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range sanitizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkClean(t, SanitizeName, ValidName, ErrEmptyName, in)
	})
}

func FuzzSanitizeTag(f *testing.F) {
	for _, s := range sanitizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkClean(t, SanitizeTag, ValidTag, ErrEmptyTag, in)
	})
}

// TestSanitizeEveryByte checks each single byte, leading and inner, against
// the rules spelled out as character lists.
func TestSanitizeEveryByte(t *testing.T) {
	const (
		letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		nameSet = letters + "0123456789_."
		tagSet  = letters + "0123456789_-:./"
	)
	for i := range 256 {
		c := byte(i)
		isLetter := strings.IndexByte(letters, c) >= 0
		lc := strings.ToLower(string(c))

		// Leading byte: kept only if it is a letter.
		wantName, wantTag := "z", "z"
		if isLetter {
			wantName, wantTag = string(c)+"z", lc+"z"
		}
		if got, _, _ := SanitizeName(string(c) + "z"); got != wantName {
			t.Errorf("SanitizeName(%q) = %q, want %q", string(c)+"z", got, wantName)
		}
		if got, _, _ := SanitizeTag(string(c) + "z"); got != wantTag {
			t.Errorf("SanitizeTag(%q) = %q, want %q", string(c)+"z", got, wantTag)
		}

		// Inner byte: kept if allowed, else '_'.
		wantName, wantTag = "a_z", "a_z"
		if strings.IndexByte(nameSet, c) >= 0 {
			wantName = "a" + string(c) + "z"
		}
		if strings.IndexByte(tagSet, c) >= 0 {
			wantTag = "a" + lc + "z"
		}
		if got, _, _ := SanitizeName("a" + string(c) + "z"); got != wantName {
			t.Errorf("SanitizeName(%q) = %q, want %q", "a"+string(c)+"z", got, wantName)
		}
		if got, _, _ := SanitizeTag("a" + string(c) + "z"); got != wantTag {
			t.Errorf("SanitizeTag(%q) = %q, want %q", "a"+string(c)+"z", got, wantTag)
		}
	}
}
