package pb_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/statshard/statshard/proto/eventpb"
	"github.com/statshard/statshard/wire/pb"
)

// A producer appends frames to one buffer; a client, here protodelim over
// a bufio.Reader as any Go consumer of the stream would use, reads them
// back as eventpb.Event values.
func ExampleAppendMetricFrame() {
	labels := []pb.Label{{Key: "route", Value: "/api"}, {Key: "code", Value: "200"}}
	pb.SortLabels(labels) // once per series, not per event

	var buf []byte
	buf = pb.AppendMetadataFrame(buf, &pb.Metadata{Name: "http.requests", Type: pb.Counter, Unit: "count", HasUnit: true})
	buf = pb.AppendMetricFrame(buf, &pb.Metric{
		Name:    "http.requests",
		Seconds: 1700000000,
		Labels:  labels,
		Op:      pb.IncrementCounter,
		Uint:    3,
	})
	buf = pb.AppendMetricFrame(buf, &pb.Metric{Name: "queue.depth", Seconds: 1700000001, Op: pb.SetGauge, Float: 12.5})

	r := bufio.NewReader(bytes.NewReader(buf))
	for {
		var ev eventpb.Event
		err := protodelim.UnmarshalFrom(r, &ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if md := ev.GetMetadata(); md != nil {
			fmt.Printf("metadata %s %v unit=%q\n", md.GetName(), md.GetMetricType(), md.GetUnitValue())
			continue
		}
		m := ev.GetMetric()
		fmt.Printf("metric %s at %d labels=%v ", m.GetName(), m.GetTimestamp().GetSeconds(), m.GetLabels())
		switch op := m.GetOperation().(type) {
		case *eventpb.Metric_IncrementCounter:
			fmt.Println("increment_counter", op.IncrementCounter)
		case *eventpb.Metric_SetGauge:
			fmt.Println("set_gauge", op.SetGauge)
		}
	}
	// Output:
	// metadata http.requests COUNTER unit="count"
	// metric http.requests at 1700000000 labels=map[code:200 route:/api] increment_counter 3
	// metric queue.depth at 1700000001 labels=map[] set_gauge 12.5
}

// ReadFrame returns each frame's payload in a reused buffer, for clients
// that decode events themselves or forward them unparsed.
func ExampleReadFrame() {
	var stream []byte
	for _, v := range []uint64{1, 300, 1 << 40} { // varints of 1, 2 and 6 bytes
		stream = pb.AppendMetricFrame(stream, &pb.Metric{Name: "n", Seconds: 1, Op: pb.IncrementCounter, Uint: v})
	}
	r := bufio.NewReader(bytes.NewReader(stream))
	var frame []byte
	for {
		var err error
		frame, err = pb.ReadFrame(r, frame, 1024)
		if err != nil {
			fmt.Println(err) // io.EOF: the stream ended between frames
			return
		}
		fmt.Printf("%d-byte event\n", len(frame))
	}
	// Output:
	// 11-byte event
	// 12-byte event
	// 16-byte event
	// EOF
}
