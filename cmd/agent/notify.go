package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
)

// notifier tells systemd how the agent is doing (sd_notify(3), the unit's Type=notify), over the
// unix datagram socket systemd names in $NOTIFY_SOCKET: READY=1 once every listener is bound,
// RELOADING=1 (with MONOTONIC_USEC=, which systemd 253 and later want) and READY=1 around a
// SIGHUP reload, STOPPING=1 when a SIGTERM stops the agent, each with a STATUS= line for
// systemctl status. Without $NOTIFY_SOCKET it sends nothing. The zero value and nil send
// nothing.
//
// It dials the socket for each message, as sd_notify does: messages are rare, and a socket that
// systemd re-creates (daemon-reexec) is found again. The standard library's unixgram client is
// enough; a path starting with '@' is an abstract socket (Linux), which net.UnixAddr takes as is.
type notifier struct {
	addr string // $NOTIFY_SOCKET; "" sends nothing

	mu     sync.Mutex
	failed bool // a send failed: logged once
}

func newNotifier(environ []string) *notifier {
	return &notifier{addr: lookupEnv(environ, "NOTIFY_SOCKET")}
}

// send sends one message: lines "KEY=value". It returns the error of the first failure only, so
// that a missing socket is logged once, not at every reload.
func (n *notifier) send(lines ...string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	if !strings.HasPrefix(n.addr, "/") && !strings.HasPrefix(n.addr, "@") {
		return n.fail(fmt.Errorf("NOTIFY_SOCKET=%q: want an absolute path or an @abstract name", n.addr))
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return n.fail(fmt.Errorf("NOTIFY_SOCKET: %w", err))
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return n.fail(fmt.Errorf("NOTIFY_SOCKET: %w", err))
	}
	return nil
}

func (n *notifier) fail(err error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failed {
		return nil
	}
	n.failed = true
	return err
}

func (n *notifier) ready(status string) error { return n.send("READY=1", "STATUS="+status) }

func (n *notifier) reloading() error {
	lines := []string{"RELOADING=1", "STATUS=reloading the configuration"}
	if us, ok := monotonicUsec(); ok {
		lines = append(lines, "MONOTONIC_USEC="+strconv.FormatUint(us, 10))
	}
	return n.send(lines...)
}

func (n *notifier) stopping() error { return n.send("STOPPING=1", "STATUS=stopping") }
