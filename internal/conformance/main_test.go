package conformance

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/leakcheck"
	"github.com/statshard/statshard/internal/peertest"
)

// agentBin is the agent binary built once for the run by TestMain.
var agentBin string

func TestMain(m *testing.M) {
	bin, remove, err := peertest.BuildAgent()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = bin
	code := m.Run()
	remove()
	if code == 0 {
		// Every recorder and intake the tests start is closed by them: none may outlive them.
		if leaked := leakcheck.Wait(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}
