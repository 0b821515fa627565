package netio

import (
	"errors"
	"fmt"
)

// errSilentSend is the cause of a drop when a send call sent nothing and reported no error.
var errSilentSend = errors.New("the send call sent nothing and reported no error")

// Err returns why the Writer last failed to send or deliver a datagram: the lookup error of a
// DNS name that does not resolve, the dial error of a unix socket that is missing or forbidden,
// or the send error (ECONNREFUSED for a UDP port nobody listens on, reported on a later send;
// EAGAIN for a receiver too slow; ...). Errors wrap the system's, so errors.Is(err,
// syscall.ENOENT) and errors.As(err, new(*net.DNSError)) work. It is nil until a failure and
// then stays the last one's, even after sends succeed again: compare Stats between calls to know
// whether the Writer is failing now, and Err to say why.
func (w *Writer) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.lastErr
}

func (w *Writer) setErr(err error) {
	w.errMu.Lock()
	w.lastErr = err
	w.errMu.Unlock()
}

// sendError is a send that failed, kept unformatted until Err is read.
type sendError struct {
	addr Addr
	err  error
}

func (e sendError) Error() string { return fmt.Sprintf("netio: send to %s: %v", e.addr, e.err) }
func (e sendError) Unwrap() error { return e.err }
