package statsd

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestOverflowDigits(t *testing.T) {
	// 2^1024 - 2^970: half an ulp above MaxFloat64.
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1024), new(big.Int).Lsh(big.NewInt(1), 970))
	if got := overflowDigits; got != want.String() {
		t.Fatalf("overflowDigits: got %s, want %s", got, want)
	}
	// The threshold itself rounds to Inf; the decimal just below it to MaxFloat64.
	if _, err := strconv.ParseFloat(overflowDigits, 64); err == nil {
		t.Errorf("ParseFloat(threshold): got no error, want a range error")
	}
	below := overflowDigits[:len(overflowDigits)-1] + string(overflowDigits[len(overflowDigits)-1]-1)
	if f, err := strconv.ParseFloat(below, 64); err != nil || f != math.MaxFloat64 {
		t.Errorf("ParseFloat(threshold-1): got %v, %v; want MaxFloat64, nil", f, err)
	}
}

// checkParseNumber compares parseNumber with strconv.ParseFloat, the
// reference for every input parseNumber accepts. Inputs ParseFloat takes
// but parseNumber must refuse are NaN, ±Inf (written or overflowing), and
// the hexadecimal and underscore forms.
func checkParseNumber(t *testing.T, s string) {
	t.Helper()
	got, ok := parseNumber(s)
	want, err := strconv.ParseFloat(s, 64)
	wantOK := err == nil && Valid(want) && !strings.ContainsAny(s, "xX_")
	if ok != wantOK || (ok && (got != want || math.Signbit(got) != math.Signbit(want))) {
		t.Fatalf("parseNumber(%q): got %v, %v; want %v, %v (ParseFloat error %v)", s, got, ok, want, wantOK, err)
	}
}

func TestParseNumber(t *testing.T) {
	inputs := []string{
		"", "+", "-", ".", "+.", "e", "e1", ".e1", "1e", "1e+", "1e-", "1.e1", ".5e-1",
		"0", "-0", "+0", "00", "007", "0.0", "-0.0e5", "0e999999999999", "-0e-99999",
		"1", "-1", "+1", "12", "999999999999999", "-999999999999999", "1000000000000000",
		"9007199254740993", "18446744073709551615", "123456789012345678901234567890",
		"1.5", ".5", "5.", "-.5", "1e3", "1E3", "1e+3", "2.5e-3", "1e-400", "4e-324", "2e-324",
		"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
		"1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791e308",
		"1.79769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792e308",
		"0.0000179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792e313",
		overflowDigits, overflowDigits + ".0000", overflowDigits + ".00001", "-" + overflowDigits,
		"0" + overflowDigits[:308] + "." + overflowDigits[308:], "1" + strings.Repeat("0", 308),
		"1e308", "9.99e308", "1e309", "-1e309", "0.1e310", "0.01e310", "100e306", "1000e306",
		"nan", "NaN", "inf", "-Inf", "+infinity", "0x10", "0x1p3", "1_000", "0x_1p0",
		"1 ", " 1", "1..2", "1.2.3", "--1", "+-1", "1e1.5", "1e++1", "١",
	}
	for _, s := range inputs {
		checkParseNumber(t, s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		v := math.Float64frombits(r.Uint64())
		for _, f := range []byte{'e', 'f', 'g'} {
			checkParseNumber(t, strconv.FormatFloat(v, f, -1, 64))
			checkParseNumber(t, strconv.FormatFloat(v, f, r.IntN(20), 64))
		}
		checkParseNumber(t, strconv.FormatInt(r.Int64()>>r.IntN(64), 10))
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		s    string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"+1700000000", 1700000000, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"0", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"+", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTimestamp(tt.s)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimestamp(%q): got %d, %v; want %d, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}
