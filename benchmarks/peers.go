package benchmarks

// The peers, pinned in go.mod, imported here so `go mod tidy` keeps them. smira/go-statsd, which
// issue 5 also names, is refused by the Go module proxy from this workplace ("403 Forbidden: This
// module version is not available"), so it is not measured.
import (
	_ "github.com/DataDog/datadog-go/v5/statsd"
	_ "github.com/VictoriaMetrics/metrics"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/statshard/statshard/agent"
)
