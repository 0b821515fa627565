// Package netio moves bytes over sockets and knows nothing of what they mean. Its datagram
// Writer sends payloads to a DogStatsD-style server over UDP or a Unix datagram socket, batching
// them into sendmmsg(2) calls on Linux; ParseAddr reads the destination URLs operators write.
//
// A Writer never returns an error from Write and never blocks longer than its WriteTimeout: a
// datagram it cannot send is dropped and counted under a reason in Stats, because a metrics
// pipeline must keep the service it measures running, yet must not lose data silently.
//
// Usage:
//
//	a, err := netio.ParseAddr("udp://localhost:8125")
//	if err != nil {
//		return err
//	}
//	w, err := netio.NewWriter(a, netio.WriterConfig{})
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	w.Write([][]byte{[]byte("requests:1|c"), []byte("latency:12|ms")})
//	st := w.Stats() // st.Datagrams, st.Dropped, ...
//
// Its Hub is a TCP fan-out server: ListenHub accepts clients (loopback by default) and Broadcast
// hands it batches of pre-encoded frames, which every client receives from the same shared bytes,
// one writev per wake-up, each write under a deadline. Each client has a bounded queue that drops
// its oldest frames when the client reads too slowly; every drop is counted by reason in
// HubStats, and Broadcast never blocks.
//
//	h, err := netio.ListenHub(netio.HubConfig{}) // 127.0.0.1:5000
//	if err != nil {
//		return err
//	}
//	defer h.Close()
//	if h.Active() {
//		h.Broadcast(frames, ends) // frames: whole frames back to back; ends[i]: end of frame i
//	}
//
// Unless its documentation says otherwise, a type's methods may not be called concurrently.
package netio
