package agent

import "sync/atomic"

var defaultRecorder atomic.Pointer[Recorder]

// Install makes r the recorder behind the package-level functions (Count, GaugeSet, Observe, ...).
// Until a recorder is installed they do nothing. Install(nil) uninstalls.
func Install(r *Recorder) { defaultRecorder.Store(r) }

// Default returns the installed recorder, or nil.
func Default() *Recorder { return defaultRecorder.Load() }

// Count adds n to the counter name on the installed recorder.
func Count(name string, n int64, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.Count(name, n, tags...)
	}
}

// GaugeSet sets the gauge name on the installed recorder.
func GaugeSet(name string, v float64, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.GaugeSet(name, v, tags...)
	}
}

// GaugeAdd adds d to the gauge name on the installed recorder.
func GaugeAdd(name string, d float64, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.GaugeAdd(name, d, tags...)
	}
}

// Observe records v in the histogram name on the installed recorder.
func Observe(name string, v float64, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.Observe(name, v, tags...)
	}
}

// ObserveDistribution records v in the distribution name on the installed recorder.
func ObserveDistribution(name string, v float64, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.ObserveDistribution(name, v, tags...)
	}
}

// SetAdd records v in the set name on the installed recorder.
func SetAdd(name, v string, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.SetAdd(name, v, tags...)
	}
}
