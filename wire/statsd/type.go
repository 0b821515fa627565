package statsd

// Type is a DogStatsD metric type. Its zero value is not a valid type.
type Type uint8

// The DogStatsD metric types, in the order of their wire symbols' usual
// listing. The comment on each is its symbol on the wire.
const (
	Counter      Type = iota + 1 // "c"
	Gauge                        // "g"
	Timing                       // "ms"
	Histogram                    // "h"
	Distribution                 // "d"
	Set                          // "s"
)

// typeSymbols is indexed by Type; index 0 and anything past Set are unknown.
var typeSymbols = [...]string{"unknown", "c", "g", "ms", "h", "d", "s"}

// String returns the wire symbol of t ("c", "g", "ms", "h", "d", "s"), or
// "unknown" when t is not one of the declared types.
func (t Type) String() string {
	if int(t) >= len(typeSymbols) {
		return typeSymbols[0]
	}
	return typeSymbols[t]
}
