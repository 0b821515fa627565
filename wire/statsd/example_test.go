package statsd_test

import (
	"fmt"

	"github.com/statshard/statshard/wire/statsd"
)

func ExampleAppendInt() {
	tags := statsd.AppendTags(nil, []string{"env:prod", "service:api"})
	line := statsd.Line{Name: "http.requests", Type: statsd.Counter, Tags: string(tags)}
	fmt.Println(string(statsd.AppendInt(nil, &line, 5)))

	// The same series emits a sampled line and a bucket line without
	// building new strings.
	line.Rate = 0.5
	line.Suffix = ".bucket"
	line.ExtraTag = "le:0.25"
	fmt.Println(string(statsd.AppendInt(nil, &line, 2)))
	// Output:
	// http.requests:5|c|#env:prod,service:api
	// http.requests.bucket:2|c|@0.5|#env:prod,service:api,le:0.25
}

func ExampleAppendFloats() {
	line := statsd.Line{Name: "rpc.latency", Type: statsd.Distribution}
	fmt.Println(string(statsd.AppendFloats(nil, &line, []float64{0.25, 3, 1e-7})))
	// Output:
	// rpc.latency:0.25:3:1e-07|d
}

func ExampleSanitizeName() {
	for _, name := range []string{"http.requests", "1st-try:café", "日本"} {
		clean, changed, err := statsd.SanitizeName(name)
		fmt.Printf("%q %v %v\n", clean, changed, err)
	}
	// Output:
	// "http.requests" false <nil>
	// "st_try_caf_" true <nil>
	// "" true statsd: metric name has no valid characters
}

func ExampleSanitizeTag() {
	clean, changed, err := statsd.SanitizeTag("Env:Prod|EU:")
	fmt.Printf("%q %v %v\n", clean, changed, err)
	// Output:
	// "env:prod_eu" true <nil>
}

func ExamplePacker() {
	p := statsd.Packer{Max: 27}
	p.Reset(make([]byte, 0, 256)) // e.g. a pooled buffer
	line := statsd.Line{Name: "jobs.done", Type: statsd.Counter}
	for i := range 4 {
		b := p.Begin()
		b = statsd.AppendInt(b, &line, int64(i))
		p.End(b)
	}
	// Longer than Max: dropped and counted, never split.
	p.End(append(p.Begin(), "a.much.longer.metric.name:1|c"...))

	for _, payload := range p.Payloads(nil) {
		fmt.Printf("%q\n", payload)
	}
	fmt.Println("lines:", p.Lines(), "dropped:", p.Dropped())
	// Output:
	// "jobs.done:0|c\njobs.done:1|c"
	// "jobs.done:2|c\njobs.done:3|c"
	// lines: 4 dropped: 1
}

func ExampleAppendEvent() {
	e := statsd.Event{Title: "deploy", Text: "v1.4.2\nby ci", AlertType: "info", Tags: "env:prod"}
	fmt.Println(string(statsd.AppendEvent(nil, &e)))
	sc := statsd.ServiceCheck{Name: "db.up", Status: statsd.StatusCritical, Tags: "env:prod", Message: "timeout\nafter 10s"}
	fmt.Println(string(statsd.AppendServiceCheck(nil, &sc)))
	// Output:
	// _e{6,13}:deploy|v1.4.2\nby ci|t:info|#env:prod
	// _sc|db.up|2|#env:prod|m:timeout\nafter 10s
}
