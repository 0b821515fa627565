package agent

import (
	"fmt"

	"github.com/statshard/statshard/netio"
)

// DefaultStreamMaxConns is how many senders a "unixstream://" intake address serves at once when
// IntakeConfig.MaxStreamConns is zero.
const DefaultStreamMaxConns = netio.DefaultStreamMaxConns

// listenStream starts the intake's listener for a "unixstream:///path" address: a Unix stream
// socket whose senders (datadog-go with unixstream://, the Datadog Agent's clients configured for
// dogstatsd_stream_socket) prefix each payload with its length as a 4-byte little-endian integer.
// Each payload is handled like a datagram. A connection's frames get a parser of their own (the
// stream reader's index, unique among the connections served at once), from the same pool as
// the datagram readers' when both listen. Memory is bounded: at most MaxStreamConns connections,
// each with a buffer of at most 64 KiB; a longer frame is skipped and counted.
func (in *Intake) listenStream(a netio.Addr, cfg IntakeConfig, parser func(int) *lineParser) error {
	sr, err := netio.ListenStream(a, netio.StreamConfig{MaxConns: cfg.MaxStreamConns, SocketMode: cfg.SocketMode},
		func(i int, frames [][]byte) { in.handle(parser(i), frames) })
	if err != nil {
		return fmt.Errorf("agent: intake: %w", err)
	}
	in.streams = append(in.streams, sr)
	return nil
}
