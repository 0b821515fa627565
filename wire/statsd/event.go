package statsd

import "strconv"

// Event is a DogStatsD event, for AppendEvent. The zero value has no title and no text, which
// receivers reject: set at least both.
//
// Strings are written as they are, except that no field can end the line or start a field of its
// own: in Title and Text a line break ("\n", "\r\n" or a lone "\r") is written as the two bytes
// `\n` (the escape the Datadog Agent turns back into a newline), and in the short fields (Hostname, AggregationKey, Priority,
// SourceType, AlertType, the origin fields) each '|', '\n' and '\r' is written as '_'. Tags are
// pre-joined sanitized tags, as in Line.
type Event struct {
	Title string
	Text  string
	// Timestamp is the unix time in seconds, written as "|d:<ts>" when > 0; receivers use the
	// time they received the event otherwise.
	Timestamp int64
	// Hostname is written as "|h:<host>" when non-empty.
	Hostname string
	// AggregationKey groups events, written as "|k:<key>" when non-empty.
	AggregationKey string
	// Priority is "normal" or "low", written as "|p:<priority>" when non-empty.
	Priority string
	// SourceType is the source type name, written as "|s:<type>" when non-empty.
	SourceType string
	// AlertType is "error", "warning", "info" or "success", written as "|t:<type>" when non-empty.
	AlertType string
	// Tags are pre-joined sanitized tags "a:b,c:d", without '#'.
	Tags string
	// Container, External and Cardinality are written as in Line.
	Container, External, Cardinality string
}

// AppendEvent appends e as one DogStatsD event line, without a trailing '\n':
//
//	_e{<title len>,<text len>}:<title>|<text>[|d:<ts>][|h:<host>][|k:<key>][|p:<priority>][|s:<source>][|t:<alert>][|#tags][|c:..][|e:..][|card:..]
//
// The lengths are in bytes of the title and text as written (escapes included), which is how the
// Datadog Agent reads them. The field order is datadog-go's. It does not allocate when dst has
// room.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, "_e{"...)
	dst = strconv.AppendInt(dst, int64(escapedLen(e.Title)), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(escapedLen(e.Text)), 10)
	dst = append(dst, "}:"...)
	dst = appendEscaped(dst, e.Title, false)
	dst = append(dst, '|')
	dst = appendEscaped(dst, e.Text, false)
	if e.Timestamp > 0 {
		dst = append(dst, "|d:"...)
		dst = strconv.AppendInt(dst, e.Timestamp, 10)
	}
	dst = appendField(dst, "|h:", e.Hostname)
	dst = appendField(dst, "|k:", e.AggregationKey)
	dst = appendField(dst, "|p:", e.Priority)
	dst = appendField(dst, "|s:", e.SourceType)
	dst = appendField(dst, "|t:", e.AlertType)
	if e.Tags != "" {
		dst = append(dst, "|#"...)
		dst = append(dst, e.Tags...)
	}
	return appendOrigin(dst, e.Container, e.External, e.Cardinality)
}

// The service check statuses.
const (
	StatusOK       uint8 = 0
	StatusWarning  uint8 = 1
	StatusCritical uint8 = 2
	StatusUnknown  uint8 = 3
)

// ServiceCheck is a DogStatsD service check, for AppendServiceCheck. The zero value has no name,
// which receivers reject: set at least Name.
//
// As in Event, no field can end the line: in Name, Hostname and the origin fields each '|', '\n'
// and '\r' is written as '_'; Message is escaped as the protocol asks (see AppendServiceCheck).
type ServiceCheck struct {
	Name string
	// Status is StatusOK, StatusWarning, StatusCritical or StatusUnknown; any larger value is
	// written as StatusUnknown.
	Status uint8
	// Timestamp is the unix time in seconds, written as "|d:<ts>" when > 0.
	Timestamp int64
	// Hostname is written as "|h:<host>" when non-empty.
	Hostname string
	// Tags are pre-joined sanitized tags "a:b,c:d", without '#'.
	Tags string
	// Message describes the status, written last as "|m:<message>" when non-empty.
	Message string
	// Container, External and Cardinality are written as in Line.
	Container, External, Cardinality string
}

// AppendServiceCheck appends sc as one DogStatsD service check line, without a trailing '\n':
//
//	_sc|<name>|<status>[|d:<ts>][|h:<host>][|#tags][|c:..][|e:..][|card:..][|m:<message>]
//
// The message comes last, as the protocol requires ("m:" must be the last field, so a parser may
// take the rest of the line for it). In the message a line break is written as `\n` and "m:" as
// `m\:`, the escapes the Datadog Agent reverses, and '|', which no escape can carry, as '_'. The
// origin fields go before the message (datadog-go writes them after it, which only a parser
// that splits every field on '|' reads right). It does not allocate when dst has room.
func AppendServiceCheck(dst []byte, sc *ServiceCheck) []byte {
	dst = append(dst, "_sc|"...)
	dst = appendSafe(dst, sc.Name)
	dst = append(dst, '|')
	dst = append(dst, '0'+min(sc.Status, StatusUnknown))
	if sc.Timestamp > 0 {
		dst = append(dst, "|d:"...)
		dst = strconv.AppendInt(dst, sc.Timestamp, 10)
	}
	dst = appendField(dst, "|h:", sc.Hostname)
	if sc.Tags != "" {
		dst = append(dst, "|#"...)
		dst = append(dst, sc.Tags...)
	}
	dst = appendOrigin(dst, sc.Container, sc.External, sc.Cardinality)
	if sc.Message != "" {
		dst = append(dst, "|m:"...)
		dst = appendEscaped(dst, sc.Message, true)
	}
	return dst
}

// escapedLen is the length of s as appendEscaped writes it outside a message.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\n':
			n++
		case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
			i++ // "\r\n" is one line break: two bytes in, two out
		case s[i] == '\r':
			n++
		}
	}
	return n
}

// appendEscaped writes s with each line break ("\n", "\r\n" or a lone "\r") as `\n`: a raw
// newline would end the line, and a raw '\r' before one would be taken for part of a CRLF line
// ending. In a service check message (message true) it also writes "m:" as `m\:` and '|' as '_'.
func appendEscaped(dst []byte, s string, message bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			dst = append(dst, '\\', 'n')
			i++
		case c == '\n' || c == '\r':
			dst = append(dst, '\\', 'n')
		case message && c == '|':
			dst = append(dst, '_')
		case message && c == 'm' && i+1 < len(s) && s[i+1] == ':':
			dst = append(dst, 'm', '\\', ':')
			i++
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendField writes prefix and v when v is non-empty, v made safe by appendSafe.
func appendField(dst []byte, prefix, v string) []byte {
	if v == "" {
		return dst
	}
	return appendSafe(append(dst, prefix...), v)
}

// appendSafe writes v with each '|', '\n' and '\r' as '_', so that it stays one field.
func appendSafe(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '|' || c == '\n' || c == '\r' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendOrigin writes the origin fields that are set, in Line's order.
func appendOrigin(dst []byte, container, external, card string) []byte {
	dst = appendField(dst, "|c:", container)
	dst = appendField(dst, "|e:", external)
	return appendField(dst, "|card:", card)
}
