package agent

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// statPath returns the Go path of a statDef's field in Stats ("Stats.Statsd.DroppedTooLong"),
// found by setting it in a zero Stats and looking for the field that changed.
func statPath(d *statDef) string {
	var s Stats
	*d.field(&s) = 1
	var find func(v reflect.Value, path string) string
	find = func(v reflect.Value, path string) string {
		for i := range v.NumField() {
			f, name := v.Field(i), path+"."+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.Struct:
				if p := find(f, name); p != "" {
					return p
				}
			case reflect.Uint64:
				if f.Uint() == 1 {
					return name
				}
			}
		}
		return ""
	}
	return find(reflect.ValueOf(s), "Stats")
}

// TestDocsDropTable: docs/reliability.md's table of drop reasons is the agent's: every reason of
// Stats.Dropped is a row, with its counter, and no row names a reason the agent does not count.
func TestDocsDropTable(t *testing.T) {
	b, err := os.ReadFile("../docs/reliability.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // reason -> counter
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| reason | what is dropped | counter |") {
			in = true
			continue
		}
		if in && !strings.HasPrefix(line, "|") {
			break
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("drop table row %q: want 3 cells", line)
		}
		reason := strings.Trim(strings.TrimSpace(cells[0]), "`")
		rows[reason] = strings.Trim(strings.TrimSpace(cells[2]), "`")
	}
	if len(rows) == 0 {
		t.Fatal("docs/reliability.md has no drop table")
	}
	want := map[string]string{}
	for i := range stats {
		if d := &stats[i]; d.reason != "" {
			want[d.reason] = statPath(d)
		}
	}
	for r, path := range want {
		got, ok := rows[r]
		switch {
		case !ok:
			t.Errorf("reason %q (%s) is not in docs/reliability.md's drop table", r, path)
		case got != path:
			t.Errorf("docs/reliability.md: reason %q counted in %s, want %s", r, got, path)
		}
	}
	for r := range rows {
		if _, ok := want[r]; !ok {
			t.Errorf("docs/reliability.md names reason %q, which the agent does not count", r)
		}
	}
}

// TestStatsTable: every counter of Stats is in the table exactly once, so Add, String, the
// exposition and the telemetry miss none.
func TestStatsTable(t *testing.T) {
	seen := map[string]bool{}
	for i := range stats {
		p := statPath(&stats[i])
		if p == "" || seen[p] {
			t.Errorf("stats[%d]: field %q missing or listed twice", i, p)
		}
		seen[p] = true
	}
	levels := map[string]bool{"Stats.TCP.Clients": true}
	var walk func(v reflect.Type, path string)
	walk = func(v reflect.Type, path string) {
		for i := range v.NumField() {
			f := v.Field(i)
			name := path + "." + f.Name
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == v.PkgPath():
				walk(f.Type, name)
			case f.Type.Kind() == reflect.Uint64 && !levels[name] && !seen[name]:
				t.Errorf("counter %s is not in the stats table", name)
			}
		}
	}
	walk(reflect.TypeOf(Stats{}), "Stats")
}

// TestStatsStringAndAdd: %v of Stats reads as name=value pairs, drops by their reason, and Add
// sums counters while keeping the levels of its receiver.
func TestStatsStringAndAdd(t *testing.T) {
	a := Stats{Series: 3, Created: 3, TCP: TCPStats{Clients: 2, DroppedSlow: 5}, Statsd: StatsdStats{Lines: 7},
		Intake: IntakeStats{ParseErrorsBy: map[string]uint64{"bad_value": 1}}}
	b := Stats{Series: 9, Created: 1, TCP: TCPStats{Clients: 8, DroppedSlow: 1}, Statsd: StatsdStats{Lines: 1},
		Intake: IntakeStats{ParseErrorsBy: map[string]uint64{"bad_value": 2, "bad_type": 1}}}
	a.Add(b)
	if a.Series != 3 || a.TCP.Clients != 2 || a.Created != 4 || a.TCP.DroppedSlow != 6 || a.Statsd.Lines != 8 ||
		a.Intake.ParseErrorsBy["bad_value"] != 3 || a.Intake.ParseErrorsBy["bad_type"] != 1 {
		t.Errorf("Add: got %+v", a)
	}
	if b.Intake.ParseErrorsBy["bad_value"] != 2 {
		t.Error("Add changed its argument's map")
	}
	got := fmt.Sprintf("%v", a)
	for _, part := range []string{"series=3", "series_created=4", "upstream_lines=8", "dropped.tcp_client_slow=6", "tcp_clients=2", "parse_error.bad_type=1", "parse_error.bad_value=3"} {
		if !strings.Contains(got, part) {
			t.Errorf("%%v = %q, want it to contain %q", got, part)
		}
	}
}

// TestStatsAddEveryCounter: Add carries every counter of Stats, nested parts included, and no
// level: what the agent relies on to keep /metrics monotonic across reloads.
func TestStatsAddEveryCounter(t *testing.T) {
	levels := map[string]bool{"TCP.Clients": true}
	var fill func(v reflect.Value, path string, n uint64)
	fill = func(v reflect.Value, path string, n uint64) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.Struct:
				fill(f, name+".", n)
			case reflect.Uint64:
				if !levels[name] {
					f.SetUint(n)
				}
			case reflect.Int, reflect.Int64:
				f.SetInt(int64(n) * 100) // levels: Series, FlushDuration, RecvBuffer
			case reflect.Map:
				f.Set(reflect.ValueOf(map[string]uint64{"bad_value": n}))
			}
		}
	}
	var sum, o Stats
	fill(reflect.ValueOf(&o).Elem(), "", 1)
	sum.Add(o)
	sum.Add(o)
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.Struct:
				check(f, name+".")
			case reflect.Uint64:
				if want := map[bool]uint64{true: 0, false: 2}[levels[name]]; f.Uint() != want {
					t.Errorf("%s: %d after adding 1 twice, want %d", name, f.Uint(), want)
				}
			case reflect.Int, reflect.Int64:
				if f.Int() != 0 {
					t.Errorf("level %s was summed: %d", name, f.Int())
				}
			case reflect.Map:
				if got := f.Interface().(map[string]uint64)["bad_value"]; got != 2 {
					t.Errorf("%s[bad_value] = %d, want 2", name, got)
				}
			}
		}
	}
	check(reflect.ValueOf(sum), "")
}
