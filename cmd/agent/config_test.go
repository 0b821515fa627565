package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestYAMLSubset: what the YAML reader takes, as the JSON it means, and what it refuses, at
// which line and column.
func TestYAMLSubset(t *testing.T) {
	tests := []struct {
		name, in, want string // want: JSON of the nodes, or "error L:C: text"
	}{
		{"flat", "a: x\nb: 1\n", `{"a":"x","b":1}`},
		{"comments and document markers", "--- # start\n# c\na: x # trailing\nb: 'it''s # not a comment'\n...\n", `{"a":"x","b":"it's # not a comment"}`},
		{"off stays a string", "tcp: off\nhttp: no\n", `{"tcp":"off","http":"no"}`},
		{"url values", "listen: udp://127.0.0.1:8125\n", `{"listen":"udp://127.0.0.1:8125"}`},
		{"indented list", "listen:\n  - udp://:8125\n  - \"unixgram:///run/s.sock\"\n", `{"listen":["udp://:8125","unixgram:///run/s.sock"]}`},
		{"list at the key's indentation", "listen:\n- a\n- b\nprefix: p\n", `{"listen":["a","b"],"prefix":"p"}`},
		{"flow list", "tags: [env:prod, \"team:core\", ]\n", `{"tags":["env:prod","team:core"]}`},
		{"list of mappings", "rules:\n  - match: \"http.*\"\n    mode: buckets\n    bounds: [0.1, 1]\n  - {match: x, mode: summary}\n",
			`{"rules":[{"match":"http.*","mode":"buckets","bounds":[0.1,1]},{"match":"x","mode":"summary"}]}`},
		{"nested mapping", "a:\n  b:\n    c: 1\n  d: 2\n", `{"a":{"b":{"c":1},"d":2}}`},
		{"null and empty", "a:\nb: ~\nc: null\n", `{"a":null,"b":null,"c":null}`},
		{"double-quoted escapes", `a: "x\ty\u00e9\""` + "\n", `{"a":"x\ty` + "\u00e9" + `\""}`},
		{"literal block", "data:\n  f.yaml: |\n    a: 1\n\n    # kept\n  g: |-\n    x\n", `{"data":{"f.yaml":"a: 1\n\n# kept\n","g":"x"}}`},
		{"value on the next line", "a:\n  x\n", `{"a":"x"}`},
		{"CRLF", "a: x\r\nb: y\r\n", `{"a":"x","b":"y"}`},
		{"empty", "# nothing\n", `{}`},

		{"tab indentation", "a:\n\t- x\n", "error 2:1: a tab"},
		{"anchor", "a: &x 1\n", "error 1:4: anchors"},
		{"alias", "a: *x\n", "error 1:4: anchors"},
		{"folded", "a: >\n  x\n", "error 1:4: a plain value cannot start with"},
		{"bad indentation", "a: 1\n  b: 2\n", "error 2:3: unexpected indentation"},
		{"plain over two lines", "a: one\n  two\n", "error 2:3: unexpected indentation"},
		{"two documents", "a: 1\n---\nb: 2\n", "error 2:1: a second document"},
		{"colon in plain value", "a: b: c\n", "error 1:5: \": \" in a plain value"},
		{"flow not closed", "a: [1, 2\n", "error 1:4: [ not closed"},
		{"no colon", "a: 1\njust text\n", "error 2:1: want \"key: value\""},
		{"item in a mapping", "a: 1\n- b\n", "error 2:1: a list item where a key was expected"},
		{"unclosed quote", "a: \"x\n", "error 1:4: \" not closed"},
		{"after the end", "a: 1\n...\nb: 2\n", "error 3:1: content after the end"},
		{"columns count characters", "é: [1, 2\n", "error 1:4: [ not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseYAML([]byte(tt.in))
			if want, ok := strings.CutPrefix(tt.want, "error "); ok {
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("parseYAML(%q) = %v, want an error starting %q", tt.in, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseYAML(%q): %v", tt.in, err)
			}
			if got := string(n.json()); got != tt.want {
				t.Errorf("parseYAML(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestConfigYAMLEqualsJSON: the same settings written in YAML and in JSON load the same.
func TestConfigYAMLEqualsJSON(t *testing.T) {
	dir := t.TempDir()
	js := `{"listen": ["udp://127.0.0.1:0"], "upstream": "udp://127.0.0.1:9125", "tcp": "off", "http": "off",
		"interval": "7s", "tags": ["env:prod"], "max_series": 5, "telemetry": false, "relative_gauges": true,
		"quantiles": [0.5, 0.99],
		"histogram_rules": [{"match": "http.*", "mode": "buckets", "bounds": [0.1, 1]}, {"match": "*.size", "mode": "distribution"}]}`
	yml := `# the same settings
listen:
  - udp://127.0.0.1:0
upstream: udp://127.0.0.1:9125
tcp: off
http: "off"
interval: 7s
tags: [env:prod]
max_series: 5
telemetry: false
relative_gauges: true
quantiles: [0.5, 0.99]
histogram_rules:
  - match: "http.*"
    mode: buckets
    bounds: [0.1, 1]
  - match: "*.size"
    mode: distribution
`
	load := func(name, text string) settings {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s, _, _, err := load([]string{"-config", p}, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	j, y, yl := load("agent.json", js), load("agent.yaml", yml), load("agent.yml", yml)
	if !reflect.DeepEqual(j, y) || !reflect.DeepEqual(j, yl) {
		t.Errorf("JSON and YAML differ:\njson %+v\nyaml %+v\nyml  %+v", j, y, yl)
	}
	if time.Duration(y.Interval) != 7*time.Second || y.TCP != "off" || len(y.HistogramRules) != 2 {
		t.Errorf("yaml read as %+v", y)
	}
}

// TestProblemsNamed: every problem names its flag, environment variable or place in the file,
// and all of them are reported, not the first.
func TestProblemsNamed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte("listen:\n  - udp://127.0.0.1:0\n  - bogus://x\ninterval: 10\nintervall: 5s\ntelemetry: yes\nhistogram_rules:\n  - {match: x, mode: bucket}\n"), 0o600)
	js := filepath.Join(dir, "agent.json")
	os.WriteFile(js, []byte("{\n  \"interval\": 10,\n  \"max_series\": \"many\"\n}\n"), 0o600)
	t.Setenv("STATSHARD_INTERVALL", "5s")
	t.Setenv("STATSHARD_TCP", "bogus")
	t.Setenv("STATSHARD_REQUIRE_PEERS", "1") // CI's, not the agent's: not a problem
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-config", cfg, "-http", "nohost", "-quantiles", "2", "-udp", "x"}, []string{
			cfg + `:3:5: listen[1]: address "bogus://x": unknown scheme "bogus"`,
			cfg + `:4:11: interval: 10 is a number, not a duration: give its unit, such as "10s" or "10ms"`,
			cfg + `:5:1: intervall: unknown key (did you mean "interval"?)`,
			cfg + `:6:12: telemetry: want true or false, got "yes"`,
			cfg + `:8:22: histogram_rules[0].mode: unknown histogram mode "bucket"`,
			`STATSHARD_INTERVALL: not a setting of the agent (did you mean STATSHARD_INTERVAL?)`,
			`STATSHARD_TCP: want host:port: address bogus: missing port in address`,
			`-http: want host:port`,
			`-quantiles: quantile 2 outside [0, 1]`,
			`-udp: not a flag`,
		}},
		{[]string{"-config", js, "-interval", "10"}, []string{
			js + `:3:17: max_series: want an integer, got "many"`,
			js + `:2:15: interval: 10 is a number, not a duration`,
			`-interval: 10 is a number, not a duration: give its unit, such as "10s"`,
		}},
	} {
		_, _, _, err := load(tt.args, &bytes.Buffer{})
		if err == nil {
			t.Fatalf("load(%q): no error", tt.args)
		}
		got := err.Error()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("load(%q): the problems lack %q:\n%s", tt.args, w, got)
			}
		}
		if strings.Contains(got, "REQUIRE_PEERS") {
			t.Errorf("STATSHARD_REQUIRE_PEERS reported:\n%s", got)
		}
	}
}

// TestEveryFlagIsASetting: each setting has its flag (found by the field it writes), so that its
// environment variable is known and its problems are named.
func TestEveryFlagIsASetting(t *testing.T) {
	keys, _ := jsonKeys(reflect.TypeFor[settings]())
	kf := keyFlags()
	for _, k := range keys {
		if kf[k] == "" {
			t.Errorf("setting %q has no flag in bind", k)
		}
	}
	var s settings
	var path string
	var act actions
	fs := newFlagSet(&s, &path, &act)
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := flagKeys()[f.Name]; !ok && f.Name != "config" && f.Name != "check-config" && f.Name != "version" {
			t.Errorf("flag -%s writes no setting", f.Name)
		}
	})
}

// TestEffectiveValues: -check-config prints the values in effect, defaults resolved, in a form
// the agent reads back as a config file.
func TestEffectiveValues(t *testing.T) {
	s := defaults().effective()
	b, _ := json.Marshal(s)
	for _, want := range []string{`"expiry":6`, `"max_series":100000`, `"tcp_max_clients":64`, `"tcp_buffer":1024`,
		`"recv_buffer":8388608`, `"max_packet_size":8192`, `"interval":"10s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("effective defaults lack %s: %s", want, b)
		}
	}
	p := filepath.Join(t.TempDir(), "effective.json")
	os.WriteFile(p, b, 0o600)
	if _, err := readConfigFile(p, new(settings), newOrigins()); err != nil {
		t.Errorf("the effective values do not read back: %v", err)
	}
}
