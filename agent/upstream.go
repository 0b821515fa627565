package agent

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// upstreamReason says in a few words why the upstream fails, from the writer's last error
// (netio.Writer.Err), for the log line an operator reads first.
func upstreamReason(err error) string {
	var dns *net.DNSError
	switch {
	case err == nil:
		return "unknown"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host"
	case errors.As(err, &dns):
		return "DNS lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens there)"
	case errors.Is(err, syscall.ENOENT):
		return "socket missing"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "permission denied"
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ENOBUFS), errors.Is(err, os.ErrDeadlineExceeded):
		return "receiver too slow (its socket buffer stayed full)"
	case errors.Is(err, syscall.EMSGSIZE):
		return "payload too large for the socket"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOTCONN):
		return "receiver went away"
	}
	return err.Error()
}
