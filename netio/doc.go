// Package netio moves bytes over sockets and knows nothing of what they mean. Its datagram
// Writer sends payloads to a DogStatsD-style server over UDP or a Unix datagram socket, batching
// them into sendmmsg(2) calls on Linux, or over a Unix stream socket as length-prefixed frames
// (unixstream://, the Datadog Agent's stream socket); ParseAddr reads the destination URLs
// operators write, in the forms of the Datadog tools' DD_DOGSTATSD_URL and DD_AGENT_HOST.
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
// Its Reader is the receiving side, for an agent that takes DogStatsD from services: ListenReader
// binds a UDP address or a unixgram socket file and hands batches of datagrams to a Handler on
// Readers goroutines. On Linux each goroutine receives up to 64 datagrams per recvmmsg(2) call
// into buffers allocated once, UDP goroutines each own a socket sharing the port through
// SO_REUSEPORT, and datagrams the kernel dropped for a full receive buffer are counted
// (SO_RXQ_OVFL, SO_MEMINFO) in ReaderStats, with truncated datagrams and recovered handler panics.
// Close loses nothing the kernel holds: it seals each socket, reads what it still holds to the
// handler, and reads the kernel's final drop count. Handover starts a successor that shares the
// sockets, to restart a listener without a gap.
//
//	r, err := netio.ListenReader(a, netio.ReaderConfig{}, func(reader int, datagrams [][]byte) {
//		// parse; the slices are reused once this returns
//	})
//	if err != nil {
//		return err
//	}
//	defer r.Close() // seals and drains the sockets; removes the unixgram socket file
//
//	next, err := r.Handover(netio.ReaderConfig{}, h2) // a new handler on the same sockets
//	if err == nil {
//		r.Close() // r leaves the shared sockets to next
//	}
//
// Its StreamReader serves a Unix stream socket whose senders frame each payload with a 4-byte
// little-endian length (ListenStream), one goroutine and one bounded buffer per connection, at
// most MaxConns connections, with the same Handler.
//
// Unless its documentation says otherwise, a type's methods may not be called concurrently.
package netio
