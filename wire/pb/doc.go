// Package pb encodes statshard's live TCP event stream: protobuf Event
// messages, each framed as uvarint(length) ‖ Event, byte-compatible with
// metrics-rs's metrics-exporter-tcp and its metrics-observer client. The
// schema is proto/event.proto; its generated types live in proto/eventpb and
// serve decoders and tests, while this package writes the same bytes with
// protowire append functions: no reflection, no intermediate messages and no
// allocation once dst has room.
//
// The output is byte-for-byte what proto.MarshalOptions{Deterministic: true}
// produces for the equivalent eventpb.Event, provided labels are sorted by
// key without duplicates (see SortLabels). Every event the encoder writes is
// one the reference client accepts: a Metric always carries its timestamp
// and operation, invalid operations and metric types write nothing, and
// strings that are not valid UTF-8 are repaired rather than passed on.
//
// Usage, on the producing side:
//
//	labels := []pb.Label{{Key: "route", Value: "/api"}, {Key: "code", Value: "200"}}
//	pb.SortLabels(labels)
//	m := pb.Metric{
//		Name:      "http.requests",
//		Seconds:   now.Unix(), Nanos: int32(now.Nanosecond()),
//		Labels:    labels,
//		Op:        pb.IncrementCounter, Uint: 1,
//		ValidUTF8: true, // checked once when the series was created
//	}
//	buf = pb.AppendMetricFrame(buf[:0], &m)
//	conn.Write(buf)
//
// and on the reading side, with a *bufio.Reader r:
//
//	frame, err := pb.ReadFrame(r, frame, 0) // then proto.Unmarshal(frame, &ev)
//
// The package does no I/O of its own and starts no goroutines. Its functions
// are safe for concurrent use as long as callers do not share a dst buffer or
// mutate a Metric while it is being encoded.
package pb
