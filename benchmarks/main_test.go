package benchmarks

import (
	"flag"
	"os"
	"testing"
)

// defaultBenchTime replaces Go's 1 s when no -benchtime is given. The matrix has about 100
// sub-benchmarks, and each costs about twice its benchtime (the framework's ramp-up runs, a
// fresh client per run): at 1 s, -count 6 takes about 25 minutes on the 2-core machine, at
// 500 ms about 13, and half a second is still millions of iterations for every client but the
// naive one.
const defaultBenchTime = "500ms"

func TestMain(m *testing.M) {
	if os.Getenv(receiverEnv) != "" {
		raisePriority()
		os.Exit(serveReceiver(os.Stdin, os.Stdout))
	}
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.benchtime" })
	if !given {
		flag.Set("test.benchtime", defaultBenchTime)
	}
	code := m.Run()
	stopReceiverProc()
	os.Exit(code)
}
