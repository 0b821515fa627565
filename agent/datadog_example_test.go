package agent_test

import (
	"fmt"
	"os"
	"time"

	"github.com/statshard/statshard/agent"
)

// Example_datadogGo is the first snippet of docs/datadog-go.md: a datadog-go client's calls and
// their statshard equivalents, side by side.
func Example_datadogGo() {
	// client, err := statsd.New("", statsd.WithNamespace("shop."), statsd.WithTags([]string{"team:pay"}))
	rec, err := agent.New(agent.Config{
		Prefix:   "shop.",
		Tags:     []string{"team:pay"},
		Interval: time.Hour, // here only Close flushes; the default is every 10 s
		// Leave Address empty to read DD_DOGSTATSD_URL, else DD_AGENT_HOST and DD_DOGSTATSD_PORT,
		// as datadog-go does; Writer shows the payloads instead of sending them.
		Statsd: agent.StatsdConfig{Writer: os.Stdout},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec.Count("requests", 1, "route:/pay")                  // client.Incr("requests", []string{"route:/pay"}, 1)
	rec.Count("requests", 2, "route:/pay")                  // client.Count("requests", 2, []string{"route:/pay"}, 1)
	rec.GaugeSet("queue.depth", 42)                         // client.Gauge("queue.depth", 42, nil, 1)
	rec.ObserveDistribution("payload.bytes", 512)           // client.Distribution("payload.bytes", 512, nil, 1)
	rec.Timing("db.query", 12500*time.Microsecond)          // client.Timing("db.query", 12500*time.Microsecond, nil, 1)
	rec.SetAdd("users", "u42")                              // client.Set("users", "u42", nil, 1)
	rec.Event(agent.Event{Title: "deploy", Text: "v1.4.2"}) // client.SimpleEvent("deploy", "v1.4.2")
	rec.ServiceCheck(agent.ServiceCheck{Name: "shop.up"})   // client.SimpleServiceCheck("shop.up", statsd.Ok)
	rec.Close()                                             // client.Close()
	// Output:
	// shop.requests:3|c|#route:/pay,team:pay
	// shop.queue.depth:42|g|#team:pay
	// shop.payload.bytes:512|d|#team:pay
	// shop.db.query:12.5|ms|#team:pay
	// shop.users:u42|s|#team:pay
	// _e{6,6}:deploy|v1.4.2|#team:pay
	// _sc|shop.up|0|#team:pay
}
