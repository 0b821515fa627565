package netio_test

import (
	"fmt"
	"net"
	"time"

	"github.com/statshard/statshard/netio"
)

func ExampleParseAddr() {
	for _, s := range []string{
		"udp://localhost:8125",
		"127.0.0.1:8125",
		"udp6://[::1]:8125",
		"unixgram:///var/run/datadog/dsd.socket",
		"unix:///var/run/datadog/dsd.socket",
		"unixstream:///var/run/datadog/dsd.socket",
		"datadog-agent",
		"tcp://localhost:8125",
	} {
		a, err := netio.ParseAddr(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-8s %-28s %s\n", a.Network, a.Address, a)
	}
	// Output:
	// udp      localhost:8125               udp://localhost:8125
	// udp      127.0.0.1:8125               udp://127.0.0.1:8125
	// udp6     [::1]:8125                   udp6://[::1]:8125
	// unixgram /var/run/datadog/dsd.socket  unixgram:///var/run/datadog/dsd.socket
	// unixgram /var/run/datadog/dsd.socket  unixgram:///var/run/datadog/dsd.socket
	// unixstream /var/run/datadog/dsd.socket  unixstream:///var/run/datadog/dsd.socket
	// udp      datadog-agent:8125           udp://datadog-agent:8125
	// netio: address "tcp://localhost:8125": unknown scheme "tcp" (want udp://host[:port], host[:port], [ipv6]:port, unix:///path, unixgram:///path or unixstream:///path)
}

func ExampleWriter() {
	// A stand-in for the statsd server.
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()

	a, err := netio.ParseAddr("udp://" + server.LocalAddr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := netio.NewWriter(a, netio.WriterConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	// One payload per datagram, each already packed with as many lines as fit.
	sent := w.Write([][]byte{
		[]byte("requests:1|c|#route:/home\nrequests:3|c|#route:/api"),
		[]byte("latency:12|ms"),
	})
	fmt.Println("sent", sent)

	buf := make([]byte, 1500)
	for range sent {
		server.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := server.ReadFrom(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("got %q\n", buf[:n])
	}
	st := w.Stats()
	fmt.Println("datagrams", st.Datagrams, "dropped", st.Dropped)
	// Output:
	// sent 2
	// got "requests:1|c|#route:/home\nrequests:3|c|#route:/api"
	// got "latency:12|ms"
	// datagrams 2 dropped 0
}
