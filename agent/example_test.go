package agent_test

import (
	"fmt"
	"os"
	"time"

	"github.com/statshard/statshard/agent"
)

func Example() {
	// Writer replaces the socket so the example can show the payload; real code sets Address.
	rec, err := agent.New(agent.Config{
		Interval: time.Hour,
		Tags:     []string{"service:checkout"},
		Statsd:   agent.StatsdConfig{Writer: os.Stdout},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	requests := rec.Counter("http.requests", "route:/pay")
	requests.Inc()
	requests.Add(2)
	rec.GaugeSet("queue.depth", 0, "queue:mail")
	rec.Close() // final flush
	// Output:
	// http.requests:3|c|#route:/pay,service:checkout
	// queue.depth:0|g|#queue:mail,service:checkout
}

func ExampleRecorder_Count() {
	rec, _ := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Writer: os.Stdout}})
	// Tag order does not matter: both calls reach one series.
	rec.Count("jobs.done", 1, "queue:mail", "status:ok")
	rec.Count("jobs.done", 1, "status:ok", "queue:mail")
	rec.Close()
	// Output:
	// jobs.done:2|c|#queue:mail,status:ok
}

func ExampleHistogramConfig() {
	rec, _ := agent.New(agent.Config{
		Interval: time.Hour,
		Histograms: agent.HistogramConfig{
			Rules: []agent.HistogramRule{{Match: "*.size", Mode: agent.HistogramBuckets, Bounds: []float64{100, 1000}}},
		},
		Statsd: agent.StatsdConfig{Writer: os.Stdout},
	})
	for _, v := range []float64{50, 500, 5000} {
		rec.Observe("upload.size", v)
	}
	rec.Close()
	// Output:
	// upload.size.bucket:1|c|#le:100
	// upload.size.bucket:2|c|#le:1000
	// upload.size.bucket:3|c|#le:inf
	// upload.size.count:3|c
	// upload.size.sum:5550|g
}
