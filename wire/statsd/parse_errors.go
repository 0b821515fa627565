package statsd

import "errors"

// The errors Parser.Parse and Sample.Values return, one per reason a line is
// rejected. They are never wrapped, so a receiver can compare with == (or
// errors.Is) and count rejected lines by Reason without allocating.
var (
	// ErrLineTooLong: the line is longer than MaxLineLen.
	ErrLineTooLong = errors.New("statsd: line longer than MaxLineLen")
	// ErrNewline: the line holds a '\n' other than a final one, so it is
	// several lines; split datagrams with SplitLines.
	ErrNewline = errors.New("statsd: line contains a newline")
	// ErrNoName: the metric name before the first ':' is empty.
	ErrNoName = errors.New("statsd: metric has no name")
	// ErrNoValue: there is no ':' before the first '|', or no value after
	// it ("a:|c", "a::|c").
	ErrNoValue = errors.New("statsd: metric has no value")
	// ErrBadValue: a value is not a finite decimal number.
	ErrBadValue = errors.New("statsd: metric value is not a finite decimal number")
	// ErrNoType: the line has no '|' after the value, or an empty type.
	ErrNoType = errors.New("statsd: metric has no type")
	// ErrBadType: the type is not one of c, g, ms, h, d, s.
	ErrBadType = errors.New("statsd: unknown metric type")
	// ErrBadRate: the @ field is not a number in (0, 1], or is so small that its inverse overflows.
	ErrBadRate = errors.New("statsd: sample rate is not in (0, 1]")
	// ErrBadTimestamp: the T field is not a positive integer.
	ErrBadTimestamp = errors.New("statsd: timestamp is not a positive integer")
	// ErrBadEvent: an "_e{" line whose header lengths do not match it, or
	// whose title or text is empty.
	ErrBadEvent = errors.New("statsd: malformed event")
	// ErrBadServiceCheck: an "_sc" line without a name or whose status is
	// not 0-3.
	ErrBadServiceCheck = errors.New("statsd: malformed service check")
)

// reasons pairs every parse error with its label, in the order of the
// declarations above.
var reasons = [...]struct {
	err   error
	label string
}{
	{ErrLineTooLong, "line_too_long"},
	{ErrNewline, "newline"},
	{ErrNoName, "no_name"},
	{ErrNoValue, "no_value"},
	{ErrBadValue, "bad_value"},
	{ErrNoType, "no_type"},
	{ErrBadType, "bad_type"},
	{ErrBadRate, "bad_rate"},
	{ErrBadTimestamp, "bad_timestamp"},
	{ErrBadEvent, "bad_event"},
	{ErrBadServiceCheck, "bad_service_check"},
}

// Reason returns a short snake_case label for a parse error, meant as the
// value of a "reason" tag on a rejected-lines counter: "no_name",
// "bad_value", "bad_rate", ... It returns "" for nil and "other" for an
// error that is none of the package's parse errors. It does not allocate.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if err == r.err {
			return r.label
		}
	}
	// Slow path for a caller that wrapped the error.
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}
