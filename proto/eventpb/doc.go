// Package eventpb holds the Go types generated from statshard's event.proto:
// the messages of the live TCP event stream, wire-compatible with metrics-rs's
// metrics-exporter-tcp and its metrics-observer client.
//
// statshard encodes the stream with the zero-allocation encoder in wire/pb;
// these types are for decoding it (clients, tests) and for checking that
// encoder against the reference marshaller. Each frame on the stream is
// uvarint(length) ‖ Event, which protodelim reads directly:
//
//	r := bufio.NewReader(conn)
//	for {
//		var ev eventpb.Event
//		if err := protodelim.UnmarshalFrom(r, &ev); err != nil {
//			return err // io.EOF at a clean end of stream
//		}
//		if m := ev.GetMetric(); m != nil {
//			fmt.Println(m.GetName(), m.GetLabels())
//		}
//	}
//
// The generated package is named eventpb, not proto, so that it can be
// imported next to google.golang.org/protobuf/proto without renaming.
package eventpb
