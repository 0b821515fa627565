package statsd

import (
	"math"
	"strconv"
)

// Valid reports whether v can be written as a DogStatsD value: receivers
// reject NaN and ±Inf, so the Append functions must not be given them.
func Valid(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// exactInt bounds the integral floats printed through strconv.AppendInt:
// below 2^53 every integer is exact, so the decimal integer is the shortest
// form that round-trips and matches what AppendFloat would print.
const exactInt = 1e15

// AppendNumber appends v in the shortest form that strconv.ParseFloat turns
// back into exactly v: plain decimal for 1e-6 <= |v| < 1e21, exponent form
// outside that range so huge and tiny values stay short. Integral values
// print without a fraction ("3", not "3.0"), and -0 prints as "0".
//
// v must satisfy Valid; the caller checks with math.IsNaN and math.IsInf.
func AppendNumber(dst []byte, v float64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	a := math.Abs(v)
	if a < exactInt && v == math.Trunc(v) {
		// Counts and most gauges are integral; AppendInt skips the
		// shortest-digits search and is several times faster.
		return strconv.AppendInt(dst, int64(v), 10)
	}
	if a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// MaxWeight is the largest n that RateFor takes: the most values one sampled line may stand for.
const MaxWeight = 1 << 32

// RateFor returns the sample rate to write on a timer, histogram or distribution line that stands
// for n values (1 <= n <= MaxWeight): the largest float64 r such that int(1/r) == n, which is
// how statsd_exporter turns a sampled line back into observations (it repeats it int(1/rate)
// times), and whose shortest decimal (AppendNumber) parses back to r, so the receiver computes
// the same 1/r. The plain 1/n does not do: 1/(1/93) is 92.99999999999999 in float64. For n == 1
// it returns 1, which Line writes as no rate at all. The Datadog Agent weighs the line 1/r,
// within one part in 10^15 of n.
func RateFor(n uint64) float64 {
	if n <= 1 {
		return 1
	}
	r := 1 / float64(n)
	for uint64(1/r) < n {
		r = math.Nextafter(r, 0)
	}
	return r
}
