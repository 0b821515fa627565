package agent

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/wire/statsd"
)

// DefaultMaxEvents is the number of events and service checks that may wait for a flush when
// Config.MaxEvents is zero.
const DefaultMaxEvents = 1000

// Errors of Recorder.Event and Recorder.ServiceCheck. Each refusal is also counted in
// Stats.EventsDropped, except ErrInvalidEvent: an invalid event is the caller's to fix.
var (
	// ErrInvalidEvent wraps what is wrong with an event or a service check.
	ErrInvalidEvent = errors.New("agent: invalid event")
	// ErrEventQueueFull: Config.MaxEvents events wait for the next flush already.
	ErrEventQueueFull = errors.New("agent: event queue full")
	// ErrEventTooLong: the encoded event is longer than Statsd.MaxPacketSize, so no datagram
	// could carry it.
	ErrEventTooLong = errors.New("agent: event longer than a payload")
	// ErrClosed: the recorder is closed.
	ErrClosed = errors.New("agent: recorder closed")
)

// EventPriority is an event's priority.
type EventPriority string

// The event priorities. The zero value sends none: the receiver's default, normal.
const (
	PriorityNormal EventPriority = "normal"
	PriorityLow    EventPriority = "low"
)

// EventAlertType is an event's alert type.
type EventAlertType string

// The event alert types. The zero value sends none: the receiver's default, info.
const (
	AlertInfo    EventAlertType = "info"
	AlertSuccess EventAlertType = "success"
	AlertWarning EventAlertType = "warning"
	AlertError   EventAlertType = "error"
)

// Event is a Datadog event, for Recorder.Event: datadog-go's statsd.Event. Title and Text are
// required; every other field may be left zero.
type Event struct {
	Title string
	// Text may hold newlines; they are sent escaped, as the protocol requires.
	Text string
	// Timestamp is when it happened; zero means when the receiver gets it.
	Timestamp      time.Time
	Hostname       string
	AggregationKey string
	Priority       EventPriority
	SourceType     string
	AlertType      EventAlertType
	// Tags are "key:value" strings, sanitized like a metric's; the global tags are added, a tag
	// here winning over a global one with the same key. A cardinality option (CardinalityHigh,
	// ...) sets the event's "|card:".
	Tags []string
}

// ServiceCheckStatus is a service check's status.
type ServiceCheckStatus uint8

// The service check statuses, with their wire values.
const (
	StatusOK       ServiceCheckStatus = 0
	StatusWarning  ServiceCheckStatus = 1
	StatusCritical ServiceCheckStatus = 2
	StatusUnknown  ServiceCheckStatus = 3
)

// ServiceCheck is a Datadog service check, for Recorder.ServiceCheck: datadog-go's
// statsd.ServiceCheck. Name is required.
type ServiceCheck struct {
	Name   string
	Status ServiceCheckStatus
	// Timestamp is when the status was seen; zero means when the receiver gets it.
	Timestamp time.Time
	Hostname  string
	// Message may hold newlines; they are sent escaped.
	Message string
	// Tags are as for Event.
	Tags []string
}

// Event queues e to be sent at the next flush, in a datagram of its own, encoded as the
// DogStatsD protocol says (statsd.AppendEvent). It never blocks and never waits for the network.
// It returns an error wrapping ErrInvalidEvent when e lacks a title or a text or has an unknown
// priority or alert type; ErrEventQueueFull when Config.MaxEvents events wait already;
// ErrEventTooLong when e would not fit a payload; ErrClosed after Close. Refused events, but for
// invalid ones, are counted in Stats.EventsDropped.
//
// Events are not aggregated: each one queued is sent once. The Name prefix does not apply.
func (r *Recorder) Event(e Event) error {
	switch {
	case e.Title == "":
		return fmt.Errorf("%w: no title", ErrInvalidEvent)
	case e.Text == "":
		return fmt.Errorf("%w: no text (the protocol requires one)", ErrInvalidEvent)
	case e.Priority != "" && e.Priority != PriorityNormal && e.Priority != PriorityLow:
		return fmt.Errorf("%w: priority %q (want normal or low)", ErrInvalidEvent, e.Priority)
	}
	switch e.AlertType {
	case "", AlertInfo, AlertSuccess, AlertWarning, AlertError:
	default:
		return fmt.Errorf("%w: alert type %q (want info, success, warning or error)", ErrInvalidEvent, e.AlertType)
	}
	tags, card := r.eventTags(e.Tags)
	ev := statsd.Event{
		Title: e.Title, Text: e.Text, Timestamp: unixOrZero(e.Timestamp), Hostname: e.Hostname,
		AggregationKey: e.AggregationKey, Priority: string(e.Priority), SourceType: e.SourceType,
		AlertType: string(e.AlertType), Tags: tags,
		Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: card,
	}
	return r.exp.events.push(r.cfg.maxPkt, func(b []byte) []byte { return statsd.AppendEvent(b, &ev) })
}

// ServiceCheck queues sc to be sent at the next flush, in a datagram of its own, encoded as the
// DogStatsD protocol says (statsd.AppendServiceCheck), with the rules and errors of Event: it
// wraps ErrInvalidEvent for a missing name or a status past StatusUnknown.
func (r *Recorder) ServiceCheck(sc ServiceCheck) error {
	switch {
	case sc.Name == "":
		return fmt.Errorf("%w: service check without a name", ErrInvalidEvent)
	case sc.Status > StatusUnknown:
		return fmt.Errorf("%w: service check status %d (want 0 to 3)", ErrInvalidEvent, sc.Status)
	}
	tags, card := r.eventTags(sc.Tags)
	c := statsd.ServiceCheck{
		Name: sc.Name, Status: uint8(sc.Status), Timestamp: unixOrZero(sc.Timestamp), Hostname: sc.Hostname,
		Tags: tags, Message: sc.Message,
		Container: r.cfg.Statsd.ContainerID, External: r.cfg.external, Cardinality: card,
	}
	return r.exp.events.push(r.cfg.maxPkt, func(b []byte) []byte { return statsd.AppendServiceCheck(b, &c) })
}

// eventTags joins an event's tags, sanitized, with the global tags whose keys they lack, and
// returns the cardinality to send.
func (r *Recorder) eventTags(tags []string) (joined, card string) {
	card = r.cfg.card
	ct := make([]string, 0, len(tags)+len(r.cfg.global))
	for _, t := range tags {
		if c, ok := cutCardOption(t); ok {
			if c != "" {
				card = c
			}
			continue
		}
		if c, _, err := statsd.SanitizeTag(t); err == nil {
			ct = append(ct, c)
		}
	}
	own := len(ct)
	for _, g := range r.cfg.global {
		k := statsd.TagKey(g)
		dup := false
		for _, t := range ct[:own] {
			if statsd.TagKey(t) == k {
				dup = true
				break
			}
		}
		if !dup {
			ct = append(ct, g)
		}
	}
	return string(statsd.AppendTags(nil, ct)), card
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// eventQueue holds encoded events and service checks until the next flush: one buffer of lines
// and their ends, swapped out whole by the flush, with a spare pair so that queueing goes on
// while the flush sends.
type eventQueue struct {
	mu        sync.Mutex
	buf       []byte
	ends      []int
	spare     []byte
	spareEnds []int
	max       int
	closed    bool

	sent, dropped atomic.Uint64
}

// push appends one line with enc, if the queue has room and the line fits a payload of maxPkt
// (zero means the packer's default, as with Address "off").
func (q *eventQueue) push(maxPkt int, enc func([]byte) []byte) error {
	if maxPkt <= 0 {
		maxPkt = statsd.DefaultMaxUDP
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var err error
	switch {
	case q.closed:
		err = ErrClosed
	case len(q.ends) >= q.max:
		err = ErrEventQueueFull
	default:
		start := len(q.buf)
		q.buf = enc(q.buf)
		if len(q.buf)-start > maxPkt {
			q.buf = q.buf[:start]
			err = ErrEventTooLong
		} else {
			q.ends = append(q.ends, len(q.buf))
			return nil
		}
	}
	q.dropped.Add(1)
	return err
}

// take appends the queued lines to dst, one payload each, empties the queue and counts them as
// sent. The payloads alias a buffer that the take after next reuses: the flush, which takes,
// sends them before it returns, and flushes are serialized.
func (q *eventQueue) take(dst [][]byte) [][]byte {
	q.mu.Lock()
	buf, ends := q.buf, q.ends
	q.buf, q.ends = q.spare[:0], q.spareEnds[:0]
	q.spare, q.spareEnds = nil, nil
	q.mu.Unlock()
	q.sent.Add(uint64(len(ends)))
	start := 0
	for _, e := range ends {
		dst = append(dst, buf[start:e:e])
		start = e
	}
	q.mu.Lock()
	// Kept for the next take, unless a burst made it large: events are rare.
	if cap(buf) <= 1<<20 {
		q.spare, q.spareEnds = buf[:0], ends[:0]
	}
	q.mu.Unlock()
	return dst
}

// discard drops, counted, what is queued.
func (q *eventQueue) discard() {
	q.mu.Lock()
	q.dropped.Add(uint64(len(q.ends)))
	q.buf, q.ends = q.buf[:0], q.ends[:0]
	q.mu.Unlock()
}

// close refuses every later push and drops, counted, what was queued after the last flush.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.dropped.Add(uint64(len(q.ends)))
	q.buf, q.ends = nil, nil
	q.mu.Unlock()
}
