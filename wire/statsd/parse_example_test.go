package statsd_test

import (
	"fmt"
	"strings"

	"github.com/statshard/statshard/wire/statsd"
)

func ExampleParser() {
	datagram := []byte("page.views:1|c|#env:prod,region:eu\n" +
		"rpc.latency:0.25:3|d|@0.5\n" +
		"conns:-2|g|T1700000000\n" +
		"users:alice|s\n" +
		"_sc|db.up|0|m:ok\n" +
		"bad:1|x\n")

	var p statsd.Parser // one per reading goroutine
	statsd.SplitLines(datagram, func(line []byte) {
		kind, s, err := p.Parse(line)
		switch {
		case err != nil:
			fmt.Printf("%v rejected: %s\n", kind, statsd.Reason(err))
		case kind != statsd.KindMetric:
			fmt.Printf("%v forwarded as is: %s\n", kind, line)
		case s.Type == statsd.Set:
			fmt.Printf("%s|%v member %s\n", s.Name, s.Type, s.SetValue())
		default:
			// s aliases line: a registry creating a series for it would
			// keep strings.Clone(s.Name) and clones of the tags.
			fmt.Printf("%s|%v rate %v tags %q ts %d values", s.Name, s.Type, s.Rate, s.Tags, s.Timestamp)
			err := s.Values(func(v float64, relative bool) {
				fmt.Printf(" %v", v)
				if relative {
					fmt.Print(" (signed)")
				}
			})
			fmt.Println(",", statsd.Reason(err) == "")
		}
	})
	// Output:
	// page.views|c rate 0 tags ["env:prod" "region:eu"] ts 0 values 1, true
	// rpc.latency|d rate 0.5 tags [] ts 0 values 0.25 3, true
	// conns|g rate 0 tags [] ts 1700000000 values -2 (signed), true
	// users|s member alice
	// service_check forwarded as is: _sc|db.up|0|m:ok
	// metric rejected: bad_type
}

func ExampleReason() {
	var p statsd.Parser
	rejected := map[string]int{} // a real agent would use counters
	for _, line := range []string{"a:1|c|@2", ":1|c", "a:1|c|@0", "_e{5,3}:ab|c", "a:1|c"} {
		_, _, err := p.Parse([]byte(line))
		if err != nil {
			rejected[statsd.Reason(err)]++
		}
	}
	fmt.Println(rejected)
	// Output:
	// map[bad_event:1 bad_rate:2 no_name:1]
}

func ExampleSplitLines() {
	n := 0
	statsd.SplitLines([]byte("a:1|c\n\nb:2|c\n"), func(line []byte) {
		n++
		fmt.Println(n, strings.ToUpper(string(line)))
	})
	// Output:
	// 1 A:1|C
	// 2 B:2|C
}
