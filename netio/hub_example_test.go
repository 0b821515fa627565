package netio_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/statshard/statshard/netio"
)

func ExampleHub() {
	h, err := netio.ListenHub(netio.HubConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for i := 0; i < 5000 && !h.Active(); i++ { // frames broadcast before a client joins go nowhere
		time.Sleep(time.Millisecond)
	}

	// Two frames encoded back to back; ends marks where each one stops.
	h.Broadcast([]byte("\x05hello\x05world"), []int{6, 12})

	got := make([]byte, 12)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", got)
	h.Close()
	st := h.Stats()
	fmt.Println(st.Frames, st.Bytes, st.Clients)
	// Output:
	// "\x05hello\x05world"
	// 2 12 0
}
