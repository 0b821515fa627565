package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestLeakedSeesAndForgets(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		park(stop) // a non-test function of this module: counts as ours
	}()
	// Until the goroutine is scheduled its stack shows only this test's closure, which is not
	// ours: poll rather than sleep for a guess at how soon a loaded machine runs it.
	var got string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if got = Leaked(); strings.Contains(got, "leakcheck.park") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(got, "leakcheck.park") {
		t.Fatalf("Leaked() missed a running statshard goroutine for 10s:\n%s", got)
	}
	close(stop)
	<-done
	if got := Wait(2 * time.Second); got != "" {
		t.Fatalf("Leaked() after it ended:\n%s", got)
	}
}

func TestOursIgnoresTestCode(t *testing.T) {
	g := "goroutine 7 [chan receive]:\n" +
		"github.com/statshard/statshard/agent.TestX.func1()\n\t/work/agent/x_test.go:12 +0x20\n" +
		"created by github.com/statshard/statshard/agent.TestX in goroutine 6\n\t/work/agent/x_test.go:10 +0x30"
	if ours(g) {
		t.Error("a goroutine running only test code counted as a leak")
	}
	g = "goroutine 8 [select]:\n" +
		"github.com/statshard/statshard/netio.(*Hub).acceptLoop(0xc000)\n\t/work/netio/hub.go:120 +0x40"
	if !ours(g) {
		t.Error("a hub goroutine was not counted")
	}
}
