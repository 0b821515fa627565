// Command readme measures the figures of the README's performance table in one run and writes
// them, so that the table can never drift from what was measured:
//
//	go -C benchmarks run ./cmd/readme            # -count 6 by default; takes a few minutes
//
// It runs the agent's handle benchmarks and the peer benchmarks of this module (statshard against
// datadog-go v5 in the same run), writes their raw `go test -bench` output to
// benchmarks/RESULTS-readme.txt, and replaces the table between the README's
// "<!-- perf:begin -->" and "<!-- perf:end -->" markers with one rendered from it: medians of the
// runs, and ratios against the baseline measured beside each figure. TestTableMatchesResults
// renders the table from RESULTS-readme.txt again and fails when README.md holds anything else.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const (
	resultsFile = "RESULTS-readme.txt" // in the benchmarks module
	readmeFile  = "../README.md"
	beginMark   = "<!-- perf:begin -->"
	endMark     = "<!-- perf:end -->"
)

func main() {
	count := flag.Int("count", 6, "runs of every benchmark (medians are taken over them)")
	renderOnly := flag.Bool("render", false, "measure nothing: render the README's table again from "+resultsFile)
	flag.Parse()
	log.SetFlags(0)
	if *renderOnly {
		b, err := os.ReadFile(resultsFile)
		if err != nil {
			log.Fatal(err)
		}
		writeTable(string(b))
		return
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# go -C benchmarks run ./cmd/readme -count %d, %s\n", *count, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&out, "# %s %s/%s GOMAXPROCS=%d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	for _, r := range runs {
		args := append([]string{"test", "-run", "^$", "-bench", r.bench, "-benchmem", "-count", fmt.Sprint(*count)}, r.pkg)
		fmt.Fprintf(&out, "# (in %s) go %s\n", r.dir, strings.Join(args, " "))
		log.Printf("running go %s in %s", strings.Join(args, " "), r.dir)
		cmd := exec.Command("go", args...)
		cmd.Dir = r.dir
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			log.Fatalf("go test: %v", err)
		}
		out.Write(b)
	}
	if err := os.WriteFile(resultsFile, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	writeTable(out.String())
}

// writeTable renders the results and puts the table in the README.
func writeTable(results string) {
	table, err := render(parse(results))
	if err != nil {
		log.Fatal(err)
	}
	if err := replaceTable(readmeFile, table); err != nil {
		log.Fatal(err)
	}
	p, _ := filepath.Abs(readmeFile)
	log.Printf("wrote the table of %s from %s", p, resultsFile)
}

// replaceTable puts table between the markers of the file at path.
func replaceTable(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s markers", path, beginMark, endMark)
	}
	s = s[:i+len(beginMark)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
