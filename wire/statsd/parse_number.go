package statsd

import "strconv"

// maxFastDigits bounds the integer fast path of parseNumber: every integer
// of at most 15 decimal digits is below 2^53, so float64(n) is exact and
// equals what strconv.ParseFloat returns.
const maxFastDigits = 15

// overflowDigits is 2^1024 - 2^970, the smallest decimal that
// strconv.ParseFloat rounds to ±Inf (it lies half an ulp above
// math.MaxFloat64 and ties round to the even neighbour, 2^1024). It has
// 309 digits. TestOverflowDigits recomputes it with math/big.
const overflowDigits = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"

// parseNumber parses a metric value or sample rate. It accepts the decimal
// numbers strconv.ParseFloat accepts ("1", "-0", "+1", ".5", "5.", "1e3",
// "2.5E-3") whose value is finite, and rejects everything else: "nan",
// "inf" and out-of-range values are not measurements, and the hexadecimal
// and underscore forms ParseFloat also knows are not sent by any statsd
// client.
//
// It never allocates, not even for a rejected value: the syntax and the
// range are checked here, so strconv.ParseFloat is only called on input it
// accepts (its errors allocate a *NumError with a copy of the input, which
// a flood of garbage lines would turn into garbage on the heap).
func parseNumber(s string) (float64, bool) {
	i := 0
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		i = 1
	}
	// Counters and most gauges are small integers: skip ParseFloat.
	if n := len(s) - i; n > 0 && n <= maxFastDigits {
		var u uint64
		j := i
		for ; j < len(s); j++ {
			d := s[j] - '0'
			if d > 9 {
				break
			}
			u = u*10 + uint64(d)
		}
		if j == len(s) {
			f := float64(u)
			if neg {
				f = -f // -0 for "-0", as ParseFloat returns
			}
			return f, true
		}
	}
	if !decimalInRange(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// decimalInRange reports whether s is [+-]mantissa[(e|E)[+-]digits], the
// mantissa being digits with at most one '.' and at least one digit, and
// its value below the float64 overflow threshold in magnitude.
func decimalInRange(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	var (
		digits    int  // mantissa digits
		intDigits int  // mantissa digits before the '.'
		zeros     int  // leading zero digits of the mantissa
		first     = -1 // index of the first non-zero mantissa digit
		dot       bool
	)
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if !dot {
				intDigits++
			}
			if first < 0 {
				if c == '0' {
					zeros++
				} else {
					first = i
				}
			}
			continue
		case c == '.' && !dot:
			dot = true
			continue
		}
		break
	}
	if digits == 0 {
		return false
	}
	mantEnd := i
	exp := 0
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			// Saturate: beyond a million the value is 0 or Inf either way,
			// and the sum below must not overflow an int.
			if exp < 1_000_000 {
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == start {
			return false
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(s) {
		return false
	}
	if first < 0 {
		return true // zero, whatever the exponent
	}
	// The value is 0.D × 10^mag, D being the mantissa digits from the first
	// non-zero one; the threshold is 0.overflowDigits × 10^309.
	mag := intDigits - zeros + exp
	switch {
	case mag < len(overflowDigits):
		return true
	case mag > len(overflowDigits):
		return false
	}
	return belowOverflow(s[first:mantEnd])
}

// belowOverflow reports whether the digits of m (a mantissa starting with
// a non-zero digit, possibly holding a '.') are below overflowDigits, both
// read as 0.digits.
func belowOverflow(m string) bool {
	k := 0
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c == '.' {
			continue
		}
		if k == len(overflowDigits) {
			if c != '0' {
				return false
			}
			continue
		}
		t := overflowDigits[k]
		k++
		if c != t {
			return c < t
		}
	}
	// m ran out: it is below unless the rest of the threshold is zeros.
	for ; k < len(overflowDigits); k++ {
		if overflowDigits[k] != '0' {
			return true
		}
	}
	return false
}

// parseTimestamp parses the T field: an optional '+' and decimal digits
// making a positive int64 (seconds since the Unix epoch).
func parseTimestamp(s string) (int64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 || n > (1<<63-1-int64(d))/10 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, n > 0
}

// parseLength parses the decimal lengths of an event header: at least one
// digit, no sign, at most limit. It returns the value and what follows.
func parseLength(s string, limit int) (n int, rest string, ok bool) {
	i := 0
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		n = n*10 + int(d)
		if n > limit {
			return 0, "", false
		}
	}
	return n, s[i:], i > 0
}
