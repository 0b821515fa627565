package peertest

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

const (
	// killAfter is how long a SIGTERM gets before SIGKILL.
	killAfter = 2 * time.Second
	// maxOutput bounds the kept exporter output; older output is dropped first because the end
	// of the log is what explains a failure.
	maxOutput = 256 << 10
)

// process is one running exporter. Its waiter goroutine is owned by stop, which waits for it.
type process struct {
	cmd  *exec.Cmd
	out  tailBuffer
	done chan struct{} // closed when the process has exited and its output is drained
	err  error         // Wait's result; read only after done is closed
}

func startProcess(bin string, args []string) (*process, error) {
	p := &process{done: make(chan struct{})}
	// A binary written moments ago (a freshly built exporter, a test's script) can fail to start
	// with ETXTBSY while a concurrent fork elsewhere in the process still holds its write
	// descriptor between fork and exec (golang/go#22315); that window closes within
	// milliseconds, so the start is retried for a bounded time.
	for deadline := time.Now().Add(2 * time.Second); ; {
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout = &p.out
		p.cmd.Stderr = &p.out
		// A grandchild holding the output pipe must not make Wait hang after the exporter exits.
		p.cmd.WaitDelay = time.Second
		setSysProcAttr(p.cmd)
		err := p.cmd.Start()
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return nil, fmt.Errorf("peertest: start %s: %w", bin, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has already exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, escalates to SIGKILL after killAfter, and waits for the exit.
func (p *process) stop() {
	if p.exited() {
		return
	}
	// An error means the process exited between the check and the signal; done covers that.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(killAfter)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tailBuffer is an io.Writer keeping the last maxOutput bytes, safe for the exec copier
// goroutines writing while the test reads.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - maxOutput; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return "[earlier output dropped]\n" + string(b.buf)
	}
	return string(b.buf)
}
