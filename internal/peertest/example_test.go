package peertest_test

import (
	"fmt"
	"strings"

	"github.com/statshard/statshard/internal/peertest"
)

func ExampleParseText() {
	page := `# TYPE a_b counter
a_b{env="x"} 6
# TYPE req_seconds histogram
req_seconds_bucket{route="home",le="+Inf"} 2
`
	m, err := peertest.ParseText(strings.NewReader(page))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Get("a_b", "env", "x"))
	fmt.Println(m.Get("req_seconds_bucket", "le", "+Inf", "route", "home"))
	fmt.Println(m.Get("a_b"))
	// Output:
	// 6 true
	// 2 true
	// 0 false
}

func ExampleMetrics_Key() {
	var m peertest.Metrics
	fmt.Println(m.Key("up"))
	fmt.Println(m.Key("h", "quantile", "0.5", "env", `say "hi"`))
	// Output:
	// up
	// h{env="say \"hi\"",quantile="0.5"}
}
