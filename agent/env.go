package agent

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/statshard/statshard/netio"
)

// environment is what Config.resolve reads from outside the program: environment variables and
// the process's container ID. Config.env replaces processEnv in tests, so that no test depends on
// the machine it runs on.
type environment struct {
	// lookup is os.LookupEnv's shape.
	lookup func(key string) (string, bool)
	// container returns the process's container ID, or "" when none is found.
	container func() string
}

// processEnv is the real environment. Container detection reads /proc once per process: the ID
// of a running process's container does not change.
var processEnv = environment{lookup: os.LookupEnv, container: sync.OnceValue(procContainer.detect)}

// The environment variables the recorder reads, as datadog-go v5.9 reads them.
const (
	envURL          = "DD_DOGSTATSD_URL"
	envHost         = "DD_AGENT_HOST"
	envPort         = "DD_DOGSTATSD_PORT"
	envEntityID     = "DD_ENTITY_ID"
	envOrigin       = "DD_ORIGIN_DETECTION_ENABLED"
	envExternal     = "DD_EXTERNAL_ENV"
	envCardinality  = "DD_CARDINALITY"
	envCardinality2 = "DATADOG_CARDINALITY"
)

// envTags maps the unified service tagging variables to the global tags they add.
var envTags = []struct{ env, key string }{
	{"DD_ENV", "env"},
	{"DD_SERVICE", "service"},
	{"DD_VERSION", "version"},
	{envEntityID, "dd.internal.entity_id"},
}

// ddEnv is what the Datadog variables say. Empty values count as unset, as in datadog-go.
type ddEnv struct {
	addr     string   // a destination in ParseAddr's forms, "" for none
	addrFrom string   // the variables addr came from, for errors
	tags     []string // "key:value" from envTags, unsanitized
	origin   string   // DD_ORIGIN_DETECTION_ENABLED as given
	external string   // DD_EXTERNAL_ENV, sanitized
	card     string   // DD_CARDINALITY, else DATADOG_CARDINALITY, as given
	any      bool     // at least one of the variables is set
}

// readEnv reads the Datadog variables through lookup.
func readEnv(lookup func(string) (string, bool)) ddEnv {
	var d ddEnv
	get := func(k string) string {
		v, _ := lookup(k)
		v = strings.TrimSpace(v)
		if v != "" {
			d.any = true
		}
		return v
	}
	url, host, port := get(envURL), get(envHost), get(envPort)
	switch {
	case url != "":
		d.addr, d.addrFrom = url, envURL+"="+strconv.Quote(url)
	case host != "" || port != "":
		d.addr, d.addrFrom = agentHostAddr(host, port), envHost+"="+strconv.Quote(host)
		if port != "" {
			d.addrFrom += " " + envPort + "=" + strconv.Quote(port)
		}
	}
	for _, t := range envTags {
		if v := get(t.env); v != "" {
			d.tags = append(d.tags, t.key+":"+v)
		}
	}
	d.origin = get(envOrigin)
	d.external = sanitizeExternal(get(envExternal))
	if d.card = get(envCardinality); d.card == "" {
		d.card = get(envCardinality2)
	}
	return d
}

// agentHostAddr builds a destination from DD_AGENT_HOST and DD_DOGSTATSD_PORT: the port joins a
// bare host (8125 when unset) and the host defaults to 127.0.0.1 when only the port is set. A host
// that already carries a port or a scheme is taken as it is, as datadog-go does; an IPv6 literal
// gets its brackets (datadog-go would read its colons as a port).
func agentHostAddr(host, port string) string {
	if port == "" {
		port = netio.DefaultPort
	}
	switch {
	case host == "":
		host = "127.0.0.1"
	case strings.Contains(host, "://"):
		return host
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return host
	}
	return host + ":" + port
}

// sanitizeExternal keeps what DD_EXTERNAL_ENV may carry into "|e:": printable ASCII but '|', as
// datadog-go keeps printable characters but '|' (this also keeps out what is not ASCII).
func sanitizeExternal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c > ' ' && c < 0x7f && c != '|' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// cardinalities are the values "|card:" may carry.
var cardinalities = []string{"none", "low", "orchestrator", "high"}

// parseCardinality returns c lowercased when it is a cardinality, else "" and false.
func parseCardinality(c string) (string, bool) {
	c = strings.ToLower(c)
	for _, v := range cardinalities {
		if c == v {
			return c, true
		}
	}
	return "", false
}

// The cardinality options. Pass one among a series' tags — rec.Count("jobs", 1, "queue:mail",
// agent.CardinalityHigh) — to ask the Datadog Agent for that tag cardinality for this series
// only ("|card:<c>" on its lines), over StatsdConfig.Cardinality. An option is not a tag: it is
// never sent as one, and a series with it is a series of its own.
const (
	CardinalityNone         = cardOption + "none"
	CardinalityLow          = cardOption + "low"
	CardinalityOrchestrator = cardOption + "orchestrator"
	CardinalityHigh         = cardOption + "high"
)

// cutCardOption reports whether t is a cardinality option, and its cardinality ("" for an
// unknown one, which asks for nothing).
func cutCardOption(t string) (string, bool) {
	c, ok := strings.CutPrefix(t, cardOption)
	if !ok {
		return "", false
	}
	c, _ = parseCardinality(c)
	return c, true
}

// cardOption starts a cardinality option. No tag can: a tag given with '|' is sanitized, and one
// received by the intake ends at the '|'.
const cardOption = "|card:"

// envWarning is a variable whose value was ignored, for New to log.
type envWarning struct{ name, value, want string }

// applyEnv applies the environment to r: the destination when Statsd.Address is empty, the
// global tags, and origin detection. It runs before r.global and r.addr are built from them.
func (r *resolved) applyEnv(env environment) error {
	var d ddEnv
	if !r.NoEnv {
		d = readEnv(env.lookup)
	}
	if r.Statsd.Address == "" && r.Statsd.Writer == nil && d.addr != "" {
		a, err := netio.ParseAddr(d.addr)
		if err != nil {
			return fmt.Errorf("agent: %s: %w", d.addrFrom, err)
		}
		r.addr = a
	}
	r.envTags = d.tags

	switch c := r.Statsd.Cardinality; {
	case c != "":
		v, ok := parseCardinality(c)
		if !ok {
			return fmt.Errorf("agent: Statsd.Cardinality %q: want none, low, orchestrator or high", c)
		}
		r.card = v
	case d.card != "":
		if v, ok := parseCardinality(d.card); ok {
			r.card = v
		} else {
			r.warnings = append(r.warnings, envWarning{envCardinality, d.card, "none, low, orchestrator or high"})
		}
	}

	on := false
	switch r.Statsd.OriginDetection {
	case OriginDetectionOn:
		on = true
	case OriginDetectionAuto:
		on = d.any
		if d.origin != "" {
			if b, err := strconv.ParseBool(d.origin); err == nil {
				on = b
			} else {
				r.warnings = append(r.warnings, envWarning{envOrigin, d.origin, "true or false"})
			}
		}
	}
	if on {
		if r.Statsd.ContainerID == "" && env.container != nil {
			r.Statsd.ContainerID = env.container()
		}
		r.external = d.external
	}
	return nil
}
