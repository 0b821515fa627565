package statsd

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"minimal", Event{Title: "deploy", Text: "v1.2"}, "_e{6,4}:deploy|v1.2"},
		// The DogStatsD documentation's own example.
		{"doc example", Event{Title: "An exception occurred", Text: "Cannot parse CSV file from 10.0.0.17", AlertType: "warning", Tags: "err_type:bad_file"},
			"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file"},
		{"every field", Event{
			Title: "t", Text: "x", Timestamp: 1700000000, Hostname: "web-1", AggregationKey: "k1", Priority: "low",
			SourceType: "go", AlertType: "error", Tags: "env:prod,team:a", Container: "abc", External: "it-false,cn-app", Cardinality: "high",
		}, "_e{1,1}:t|x|d:1700000000|h:web-1|k:k1|p:low|s:go|t:error|#env:prod,team:a|c:abc|e:it-false,cn-app|card:high"},
		{"newline in text", Event{Title: "t", Text: "a\nb"}, `_e{1,4}:t|a\nb`},
		{"crlf and cr in text", Event{Title: "t", Text: "a\r\nb\rc"}, `_e{1,7}:t|a\nb\nc`},
		{"newline in title", Event{Title: "two\nlines", Text: "x"}, `_e{10,1}:two\nlines|x`},
		{"pipe in title and text", Event{Title: "a|b", Text: "c|d"}, "_e{3,3}:a|b|c|d"},
		{"utf-8 lengths in bytes", Event{Title: "été", Text: "ü"}, "_e{5,2}:été|ü"},
		{"unsafe short fields", Event{Title: "t", Text: "x", Hostname: "h|t:error", AggregationKey: "k\nk", SourceType: "s\r"},
			"_e{1,1}:t|x|h:h_t:error|k:k_k|s:s_"},
		{"zero timestamp", Event{Title: "t", Text: "x", Timestamp: 0}, "_e{1,1}:t|x"},
		{"negative timestamp", Event{Title: "t", Text: "x", Timestamp: -5}, "_e{1,1}:t|x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendEvent([]byte("prev\n"), &tt.e))
			if !strings.HasPrefix(got, "prev\n") {
				t.Fatalf("AppendEvent overwrote dst: %q", got)
			}
			if got = got[len("prev\n"):]; got != tt.want {
				t.Errorf("AppendEvent:\ngot  %q\nwant %q", got, tt.want)
			}
			var p Parser
			if kind, _, err := p.Parse([]byte(got)); kind != KindEvent || err != nil {
				t.Errorf("Parse(%q) = %v, %v; want event, nil", got, kind, err)
			}
		})
	}
}

func TestAppendServiceCheck(t *testing.T) {
	tests := []struct {
		name string
		sc   ServiceCheck
		want string
	}{
		{"minimal", ServiceCheck{Name: "db.up"}, "_sc|db.up|0"},
		// The DogStatsD documentation's own example.
		{"doc example", ServiceCheck{Name: "Redis connection", Status: StatusCritical, Tags: "env:dev", Message: "Redis connection timed out after 10s"},
			"_sc|Redis connection|2|#env:dev|m:Redis connection timed out after 10s"},
		{"every field", ServiceCheck{Name: "app.ok", Status: StatusWarning, Timestamp: 1700000000, Hostname: "web-1", Tags: "a:b",
			Message: "slow", Container: "abc", External: "it-false", Cardinality: "low"},
			"_sc|app.ok|1|d:1700000000|h:web-1|#a:b|c:abc|e:it-false|card:low|m:slow"},
		// Every "m:" is escaped, inside words too ("item:3"): the Agent turns each `m\:` back.
		{"message escapes", ServiceCheck{Name: "x", Status: StatusUnknown, Message: "line1\nitem:3 m:4|h:evil\r\nend"},
			`_sc|x|3|m:line1\nitem\:3 m\:4_h:evil\nend`},
		{"message ends in m", ServiceCheck{Name: "x", Message: "hm"}, "_sc|x|0|m:hm"},
		{"status past unknown", ServiceCheck{Name: "x", Status: 9}, "_sc|x|3"},
		{"unsafe name and host", ServiceCheck{Name: "a|b\nc", Hostname: "h|m:x"}, "_sc|a_b_c|0|h:h_m:x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendServiceCheck(nil, &tt.sc))
			if got != tt.want {
				t.Errorf("AppendServiceCheck:\ngot  %q\nwant %q", got, tt.want)
			}
			var p Parser
			if kind, _, err := p.Parse([]byte(got)); kind != KindServiceCheck || err != nil {
				t.Errorf("Parse(%q) = %v, %v; want service_check, nil", got, kind, err)
			}
		})
	}
}

func TestEventAllocs(t *testing.T) {
	e := Event{Title: "deploy", Text: "line\nline", Timestamp: 1, Hostname: "h", Tags: "a:b", Container: "c"}
	sc := ServiceCheck{Name: "n", Status: 2, Message: "m:\n", Tags: "a:b"}
	buf := make([]byte, 0, 256)
	wantNoAllocs(t, "AppendEvent", func() { buf = AppendEvent(buf[:0], &e) })
	wantNoAllocs(t, "AppendServiceCheck", func() { buf = AppendServiceCheck(buf[:0], &sc) })
}

// FuzzAppendEvent checks that whatever the strings, an event is one line that the parser takes
// for a valid event (when title and text are non-empty), whose header lengths land on the title
// and text as written.
func FuzzAppendEvent(f *testing.F) {
	f.Add("title", "text", "host", "env:prod")
	f.Add("a\r\nb", "|\n|", "h|x", "")
	f.Add("é", "\r", "", "a")
	f.Fuzz(func(t *testing.T, title, text, host, tags string) {
		if strings.ContainsAny(tags, "\n\r|") {
			return // tags are sanitized before they reach the encoder
		}
		b := AppendEvent(nil, &Event{Title: title, Text: text, Hostname: host, Tags: tags})
		if bytes.ContainsAny(b, "\n") {
			t.Fatalf("event %q holds a newline", b)
		}
		if title == "" || text == "" {
			return
		}
		var p Parser
		if kind, _, err := p.Parse(b); kind != KindEvent || err != nil {
			t.Fatalf("Parse(%q) = %v, %v; want a valid event", b, kind, err)
		}
	})
}

// FuzzAppendServiceCheck checks that a service check is one line, parses as valid, and that its
// message is the last field and holds no '|'.
func FuzzAppendServiceCheck(f *testing.F) {
	f.Add("name", uint8(1), "msg m: x", "h")
	f.Add("a|b", uint8(200), "|\n\r\nm:", "")
	f.Fuzz(func(t *testing.T, name string, status uint8, msg, host string) {
		b := AppendServiceCheck(nil, &ServiceCheck{Name: name, Status: status, Message: msg, Hostname: host})
		if bytes.ContainsAny(b, "\n") {
			t.Fatalf("service check %q holds a newline", b)
		}
		if msg != "" {
			i := bytes.LastIndex(b, []byte("|m:"))
			if i < 0 || bytes.IndexByte(b[i+1:], '|') >= 0 {
				t.Fatalf("service check %q: the message is not one last field", b)
			}
		}
		if name == "" {
			return
		}
		var p Parser
		if kind, _, err := p.Parse(b); kind != KindServiceCheck || err != nil {
			t.Fatalf("Parse(%q) = %v, %v; want a valid service check", b, kind, err)
		}
	})
}
