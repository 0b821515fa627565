package shard

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// testCanon sorts tags and rejects names starting with '!'.
func testCanon(kind Kind, name string, tags []string) (Spec, error) {
	if strings.HasPrefix(name, "!") {
		return Spec{}, errors.New("bad name")
	}
	tags = slices.Clone(tags)
	slices.Sort(tags)
	return Spec{Name: name, Tags: tags, Sketch: true}, nil
}

func TestLookupCanonicalizesTagOrder(t *testing.T) {
	r := New(Config{}, testCanon)
	a := r.Lookup(KindCounter, "m", []string{"a:1", "b:2"})
	b := r.Lookup(KindCounter, "m", []string{"b:2", "a:1"})
	if a == nil || a != b {
		t.Fatalf("tag orders gave different series: %p %p", a, b)
	}
	if got := r.Lookup(KindCounter, "m", []string{"a:1", "b:2"}); got != a {
		t.Errorf("second lookup of the same spelling gave another series")
	}
	for _, other := range []struct {
		kind Kind
		name string
		tags []string
	}{
		{KindGauge, "m", []string{"a:1", "b:2"}},
		{KindCounter, "m", []string{"a:1"}},
		{KindCounter, "m", []string{"a:1b:2"}},
		{KindCounter, "m", []string{"a:1", "b", ":2"}},
		{KindCounter, "n", []string{"a:1", "b:2"}},
	} {
		if got := r.Lookup(other.kind, other.name, other.tags); got == a || got == nil {
			t.Errorf("Lookup(%v %q %q) = %p, want a distinct series", other.kind, other.name, other.tags, got)
		}
	}
	// Every series has its own entry; "b:2, a:1" and "a:1, b, :2" are not in sorted order and
	// have one more each.
	st := r.Stats()
	if st.Series != 6 || st.Aliases != 8 {
		t.Errorf("Series=%d Aliases=%d, want 6 and 8", st.Series, st.Aliases)
	}
	if got := a.Tags(); !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Errorf("Tags() = %q", got)
	}
}

// TestJoinedTags: a series keeps its canonical tags joined by ',' in one string, and spellings
// whose pieces join to the same string (a tag holding the comma, an empty tag, no tag at all) are
// other keys, never that series.
func TestJoinedTags(t *testing.T) {
	// keepCanon keeps the spelling as it is (a tag holding ',' is for checkTags to refuse).
	keepCanon := func(kind Kind, name string, tags []string) (Spec, error) {
		return Spec{Name: name, Tags: tags}, nil
	}
	r := New(Config{}, keepCanon)
	a := r.Lookup(KindCounter, "m", []string{"a:1", "b:2"})
	if a == nil || a.JoinedTags() != "a:1,b:2" || !slices.Equal(a.Tags(), []string{"a:1", "b:2"}) {
		t.Fatalf("JoinedTags() = %q, Tags() = %q", a.JoinedTags(), a.Tags())
	}
	if got := r.Lookup(KindCounter, "m", []string{"a:1,b:2"}); got != nil {
		t.Errorf("a tag holding ',' (the same joined string) got a series: %q", got.Tags())
	}
	if st := r.Stats(); st.Rejected != 1 {
		t.Errorf("Rejected = %d, want 1: the tag holding ',' is refused and counted", st.Rejected)
	}
	empty := r.Lookup(KindCounter, "e", []string{""})
	none := r.Lookup(KindCounter, "e", nil)
	two := r.Lookup(KindCounter, "e", []string{"", ""})
	if empty == nil || none == nil || two == nil || empty == none || empty == two || none == two {
		t.Fatalf("one empty tag, none and two empty tags: %p %p %p, want three series", empty, none, two)
	}
	if !slices.Equal(empty.Tags(), []string{""}) || none.Tags() != nil || !slices.Equal(two.Tags(), []string{"", ""}) {
		t.Errorf("Tags() = %q, %q, %q", empty.Tags(), none.Tags(), two.Tags())
	}
	for _, c := range []struct {
		joined string
		n      int
		tags   []string
		want   bool
	}{
		{"a:1,b:2", 2, []string{"a:1", "b:2"}, true},
		{"a:1,b:2", 2, []string{"a:1", "b:2x"}, false},
		{"a:1,b:2", 2, []string{"a:1", "b:"}, false},
		{"a:1,b:2", 2, []string{"a:1,", "b:2"}, false},
		{"a:1,b:2", 2, []string{"a", ":1,b:2"}, false},
		{"a:1,b:2", 1, []string{"a:1,b:2"}, true}, // equal only if the one tag were canonical
		{"", 0, nil, true},
		{"", 1, []string{""}, true},
		{"", 0, []string{""}, false},
		{",", 2, []string{"", ""}, true},
		{",", 2, []string{",", ""}, false},
	} {
		if got := equalJoined(c.joined, c.n, c.tags); got != c.want {
			t.Errorf("equalJoined(%q, %d, %q) = %v, want %v", c.joined, c.n, c.tags, got, c.want)
		}
	}
	if err := checkTags(make([]string, MaxTags+1)); err == nil {
		t.Errorf("checkTags accepted %d tags", MaxTags+1)
	}
}

// TestSpelling: an alias entry's spelling packed in one string matches exactly its own parts,
// not parts that join to the same bytes; a spelling holding a NUL byte (which the packed form
// cannot hold) finds its series every time without an entry, counted as uncached.
func TestSpelling(t *testing.T) {
	sp, ok := spell("ns", "m", []string{"b:2", "a:1", ""})
	if !ok {
		t.Fatal("spell refused a spelling without NUL bytes")
	}
	tags := make([]string, 3)
	if ns, name := sp.parts(tags); ns != "ns" || name != "m" || !slices.Equal(tags, []string{"b:2", "a:1", ""}) {
		t.Errorf("parts = %q %q %q", ns, name, tags)
	}
	for _, c := range []struct {
		ns, name string
		tags     []string
		want     bool
	}{
		{"ns", "m", []string{"b:2", "a:1", ""}, true},
		{"ns", "m", []string{"b:2", "a:1"}, false},
		{"ns", "m", []string{"b:2", "a:1", "", ""}, false},
		{"ns", "m", []string{"b:2\x00a:1", "", ""}, false},
		{"ns\x00m", "b:2", []string{"a:1", ""}, false},
		{"", "ns\x00m", []string{"b:2", "a:1", ""}, false},
		{"ns", "m", []string{"b:2", "a:1", "\x00"}, false},
		{"ns", "m", []string{"b:", "a:1", ""}, false},
		{"n", "m", []string{"b:2", "a:1", ""}, false},
	} {
		if got := sp.matches(c.ns, c.name, c.tags); got != c.want {
			t.Errorf("matches(%q, %q, %q) = %v, want %v", c.ns, c.name, c.tags, got, c.want)
		}
	}
	if _, ok := spell("", "m", []string{"a\x00"}); ok {
		t.Error("spell packed a tag holding a NUL byte")
	}

	r := New(Config{}, testCanon)
	nul := []string{"z:\x00", "a:1"} // not the canonical order: it would need an alias entry
	first := r.Lookup(KindCounter, "m", nul)
	if first == nil || r.Lookup(KindCounter, "m", nul) != first || r.Lookup(KindCounter, "m", []string{"a:1", "z:\x00"}) != first {
		t.Fatal("a spelling holding a NUL byte did not find its series every time")
	}
	if st := r.Stats(); st.Series != 1 || st.Aliases != 1 || st.Uncached != 2 {
		t.Errorf("Series %d, Aliases %d, Uncached %d: want 1, 1 (the canonical spelling's) and 2", st.Series, st.Aliases, st.Uncached)
	}
}

func TestLookupDoesNotRetainCallerTags(t *testing.T) {
	r := New(Config{}, testCanon)
	tags := []string{"a:1"}
	s := r.Lookup(KindCounter, "m", tags)
	tags[0] = "z:9"
	if got := r.Lookup(KindCounter, "m", []string{"a:1"}); got != s {
		t.Errorf("the registry kept the caller's slice: lookup after the caller changed it missed")
	}
}

func TestRejected(t *testing.T) {
	r := New(Config{}, testCanon)
	if s := r.Lookup(KindCounter, "!bad", nil); s != nil {
		t.Fatalf("rejected key gave a series")
	}
	if got := r.Stats().Rejected; got != 1 {
		t.Errorf("Rejected = %d, want 1", got)
	}
}

// TestCollisions puts entries with one hash in one table and checks the probe compares full keys.
func TestCollisions(t *testing.T) {
	tb := newTable(8)
	s1, s2 := &Series{kind: KindCounter, name: &nameRef{s: "x"}}, &Series{kind: KindCounter, name: &nameRef{s: "y"}}
	s1.self = entry{hash: 42, s: s1} // a series' own entry
	sp, _ := spell("", "y", nil)
	a := &aliasEntry{entry: entry{hash: 42, s: s2}, sp: sp} // an alias entry
	tb.put(&s1.self)
	tb.put(&a.entry)
	find := func(name string) *Series {
		for i := uint64(42>>32) & tb.mask; ; i = (i + 1) & tb.mask {
			e := tb.slots[i].Load()
			if e == nil {
				return nil
			}
			if e.hash == 42 && e.matches("", KindCounter, name, nil) {
				return e.s
			}
		}
	}
	if find("x") != s1 || find("y") != s2 || find("z") != nil {
		t.Errorf("probing over colliding hashes returned the wrong series")
	}
}

// TestCanonicalIndex: the lookup tables are the canonical index. Series whose canonical keys
// share a hash are told apart by their full keys, a removed series is not found, and an alias
// entry never stands for a canonical key.
func TestCanonicalIndex(t *testing.T) {
	for drop := range 3 {
		r := New(Config{}, testCanon)
		ss := []*Series{
			{kind: KindCounter, name: &nameRef{s: "a"}},
			{kind: KindCounter, name: &nameRef{s: "b"}, tags: "t:1", ntags: 1},
			{kind: KindGauge, name: &nameRef{s: "a"}},
		}
		const key = 7 // one canonical hash for all three
		r.mu.Lock()
		for _, s := range ss {
			s.self = entry{hash: key, s: s}
			r.addLocked(s)
		}
		ss[drop].removed = true
		for i, s := range ss {
			got := r.findLocked(key, s.Namespace(), s.kind, s.Name(), s.Tags())
			if want := s; i == drop {
				want = nil
			} else if got != want {
				t.Errorf("drop %d: series %d not found after the removal", drop, i)
			}
			if i == drop && got != nil {
				t.Errorf("drop %d: removed series still found", drop)
			}
		}
		if r.findLocked(key, "", KindCounter, "b", nil) != nil {
			t.Errorf("a key differing only in tags matched")
		}
		r.mu.Unlock()
	}
	r := New(Config{}, testCanon)
	s := r.Lookup(KindCounter, "m", []string{"b:2", "a:1"}) // an alias entry and the series' own
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.findLocked(HashKey("", KindCounter, "m", []string{"b:2", "a:1"}), "", KindCounter, "m", []string{"b:2", "a:1"}); got != nil {
		t.Errorf("the alias spelling was found as a canonical key")
	}
	if got := r.findLocked(s.self.hash, "", KindCounter, "m", []string{"a:1", "b:2"}); got != s {
		t.Errorf("the canonical key was not found")
	}
}

func TestTableGrowth(t *testing.T) {
	r := New(Config{Shards: 1}, testCanon)
	var ss []*Series
	for i := 0; i < 5000; i++ {
		ss = append(ss, r.Lookup(KindCounter, fmt.Sprintf("m%d", i), nil))
	}
	for i, s := range ss {
		if got := r.Lookup(KindCounter, fmt.Sprintf("m%d", i), nil); got != s {
			t.Fatalf("series %d lost after growth", i)
		}
	}
}

func TestCardinalityOverflow(t *testing.T) {
	r := New(Config{MaxSeries: 5, MaxOverflow: 2}, testCanon)
	for i := 0; i < 5; i++ {
		r.Lookup(KindCounter, "a", []string{fmt.Sprint("id:", i)})
	}
	o := r.Lookup(KindCounter, "a", []string{"id:new"})
	if o == nil || !o.Overflow() || !slices.Equal(o.Tags(), []string{OverflowTag}) {
		t.Fatalf("past the cap: got %+v, want the overflow series", o)
	}
	if again := r.Lookup(KindCounter, "a", []string{"id:other"}); again != o {
		t.Errorf("a second folded key got another overflow series")
	}
	// An existing key still finds its own series past the cap.
	if s := r.Lookup(KindCounter, "a", []string{"id:3"}); s == nil || s.Overflow() {
		t.Errorf("existing key folded")
	}
	r.Lookup(KindCounter, "b", []string{"x:1"}) // second overflow series
	if s := r.Lookup(KindCounter, "c", []string{"x:1"}); s != nil {
		t.Errorf("third overflow series created past MaxOverflow=2")
	}
	st := r.Stats()
	if st.Folds != 3 || st.CapDropped != 1 || st.Overflow != 2 || st.Series != 7 {
		t.Errorf("stats %+v, want Folds 3, CapDropped 1, Overflow 2, Series 7", st)
	}
}

func TestExpiryAndRevive(t *testing.T) {
	r := New(Config{Expiry: 2}, testCanon)
	s := r.Lookup(KindCounter, "m", []string{"k:v"})
	active := func(s *Series) bool { return s.Counter.Swap() != 0 }
	r.Flush(active)
	if s.Dead() {
		t.Fatal("dead after 1 idle flush, Expiry 2")
	}
	r.Flush(active)
	if !s.Dead() || r.Len() != 0 || r.Stats().Aliases != 0 {
		t.Fatalf("after 2 idle flushes: dead=%v len=%d aliases=%d, want expired and removed", s.Dead(), r.Len(), r.Stats().Aliases)
	}
	// A handle records into the dead series and revives it; the value is flushed.
	s.Counter.Add(5)
	if s.Dead() {
		r.Revive(s)
	}
	var got int64
	r.Flush(func(x *Series) bool {
		d := x.Counter.Swap()
		got += d
		return d != 0
	})
	if got != 5 {
		t.Errorf("flushed %d after revive, want 5", got)
	}
	if st := r.Stats(); st.Revived != 1 || st.Expired != 1 || st.Series != 1 {
		t.Errorf("stats %+v", st)
	}
	// By name, the key finds the revived series again.
	if x := r.Lookup(KindCounter, "m", []string{"k:v"}); x != s {
		t.Errorf("lookup after revive found another series")
	}
}

// TestExpiryRace records through a handle while flushes expire its series; no value is lost.
func TestExpiryRace(t *testing.T) {
	r := New(Config{Expiry: 1}, testCanon)
	s := r.Lookup(KindCounter, "m", nil)
	const n = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			s.Counter.Add(1)
			if s.Dead() {
				r.Revive(s)
			}
		}
	}()
	flushUntil(t, r, done, n)
	t.Logf("expired %d times, revived %d", r.Stats().Expired, r.Stats().Revived)
}

// flushUntil flushes r, summing what its counters took, until done is closed, then twice more
// (what was recorded last, and what a revival left), and fails t unless the sum is want.
func flushUntil(t *testing.T, r *Registry, done <-chan struct{}, want int64) {
	t.Helper()
	var total int64 // visit runs on this goroutine, inside Flush
	flush := func() {
		r.Flush(func(x *Series) bool {
			d := x.Counter.Swap()
			total += d
			return d != 0
		})
	}
	for {
		select {
		case <-done:
			flush()
			flush()
			if total != want {
				t.Fatalf("flushed %d, want %d", total, want)
			}
			return
		default:
			flush()
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindCounter: "counter", KindSet: "set", 0: "unknown", 99: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestGaugeSwap(t *testing.T) {
	var g Gauge
	if _, touched := g.Swap(); touched || g.EverSet() {
		t.Errorf("zero gauge: touched %v, ever set %v", touched, g.EverSet())
	}
	g.Set(0)
	if !g.EverSet() || !g.Touched() {
		t.Errorf("Set(0): ever set %v, touched %v", g.EverSet(), g.Touched())
	}
	if v, touched := g.Swap(); !touched || v != 0 {
		t.Errorf("Set(0): got %v %v, want 0 true", v, touched)
	}
	g.Add(2.5)
	g.Add(-1)
	if v, touched := g.Swap(); !touched || v != 1.5 {
		t.Errorf("got %v %v, want 1.5 true", v, touched)
	}
	if v, touched := g.Swap(); touched || v != 1.5 {
		t.Errorf("untouched: got %v %v, want 1.5 false", v, touched)
	}
	if !g.EverSet() || g.Touched() {
		t.Errorf("after its Swaps: ever set %v (want true), touched %v (want false)", g.EverSet(), g.Touched())
	}
	var h Gauge
	h.Add(-1) // an add alone sets it too
	if !h.EverSet() {
		t.Error("a gauge added to: not ever set")
	}
}

func TestSetBound(t *testing.T) {
	s := Set{max: 3}
	for _, v := range []string{"a", "b", "a", "c", "d", "e"} {
		s.Add(v)
	}
	vals, dropped := s.Swap(nil)
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"a", "b", "c"}) || dropped != 2 {
		t.Errorf("got %q dropped %d, want [a b c] dropped 2", vals, dropped)
	}
	if vals, dropped := s.Swap(nil); len(vals) != 0 || dropped != 0 {
		t.Errorf("after Swap: %q %d, want empty", vals, dropped)
	}
}

func TestNamespaces(t *testing.T) {
	r := New(Config{}, testCanon)
	a := r.LookupIn("ctr-1", KindCounter, "m", []string{"k:v"})
	b := r.LookupIn("ctr-2", KindCounter, "m", []string{"k:v"})
	c := r.Lookup(KindCounter, "m", []string{"k:v"})
	if a == b || a == c || b == c {
		t.Fatal("namespaces share a series")
	}
	if a.Namespace() != "ctr-1" || c.Namespace() != "" {
		t.Errorf("Namespace() = %q, %q", a.Namespace(), c.Namespace())
	}
	if r.LookupIn("ctr-1", KindCounter, "m", []string{"k:v"}) != a {
		t.Error("second lookup in a namespace missed")
	}
}

func TestCounterFloat(t *testing.T) {
	var c Counter
	c.Add(2)
	c.AddFloat(1.5)
	c.AddFloat(1.25)
	if i, f := c.Swap(), c.SwapFloat(); i != 2 || f != 2.75 {
		t.Errorf("got %d + %v, want 2 + 2.75", i, f)
	}
	if c.LoadFloat() != 0 || c.Load() != 0 {
		t.Error("not reset")
	}
}

// TestFlushVisitsOnce: every flush visits each live series exactly once, the flush in which an
// idle series expires included, so a visitor that emits for idle series emits once per flush.
func TestFlushVisitsOnce(t *testing.T) {
	for _, expiry := range []int{1, 2, 3, -1} {
		r := New(Config{Expiry: expiry}, testCanon)
		s := r.Lookup(KindGauge, "g", nil)
		s.Gauge().Set(1)
		for flush := range 5 {
			visits := 0
			r.Flush(func(x *Series) bool {
				visits++
				_, touched := x.Gauge().Swap()
				return touched
			})
			live := expiry < 0 || flush <= expiry // set in flush 0, then idle for expiry flushes
			if want := map[bool]int{true: 1, false: 0}[live]; visits != want {
				t.Errorf("expiry %d, flush %d: %d visits, want %d", expiry, flush, visits, want)
			}
		}
	}
}

// TestCounterDoesNotWrap: an int64 sum past its range moves into the float part, through Add,
// AddShared and the stripes' sum alike.
func TestCounterDoesNotWrap(t *testing.T) {
	var c Counter
	c.Add(math.MaxInt64)
	c.Add(1)
	c.AddShared(math.MaxInt64)
	if i, f := c.Swap(), c.SwapFloat(); float64(i)+f != 2*float64(math.MaxInt64)+1 || f == 0 {
		t.Errorf("Swap = %d + %v, want 2^64-1 in all, the wrap in the float part", i, f)
	}
	var st Counter
	st.stripeNow()
	for range 4 {
		st.AddShared(math.MaxInt64 / 2)
		st.Add(math.MaxInt64 / 2)
	}
	if i, f := st.Swap(), st.SwapFloat(); float64(i)+f != 8*float64(math.MaxInt64/2) {
		t.Errorf("striped Swap = %d + %v, want 8·(2^62-1)", i, f)
	}
	var fl Counter
	if !fl.AddFloat(1e308) || fl.AddFloat(1e308) || fl.AddFloat(math.NaN()) || !fl.AddFloat(1) {
		t.Error("AddFloat: want a finite sum kept and an infinite one refused")
	}
	if got := fl.SwapFloat(); got != 1e308 {
		t.Errorf("SwapFloat = %v, want 1e308 (the refused value left out alone)", got)
	}
}

// TestAliasesBounded: one series spelled many ways (names cut to the same canonical name, tag
// orders) gets at most MaxAliases lookup entries holding at most MaxAliasBytes; every spelling
// still reaches the series, and each refused one is counted.
func TestAliasesBounded(t *testing.T) {
	cut := func(kind Kind, name string, tags []string) (Spec, error) {
		spec, err := testCanon(kind, name, tags)
		spec.Name = spec.Name[:min(len(spec.Name), 10)]
		return spec, err
	}
	r := New(Config{}, cut)
	want := r.Lookup(KindCounter, "0123456789", nil)
	const spellings = 10_000
	for i := range spellings {
		name := fmt.Sprintf("0123456789-%0500d", i) // 511 bytes, the same series
		if got := r.Lookup(KindCounter, name, nil); got != want {
			t.Fatalf("spelling %d reached another series", i)
		}
	}
	st := r.Stats()
	if st.Series != 1 || st.Aliases > MaxAliases || st.AliasBytes > MaxAliasBytes {
		t.Errorf("Series %d, Aliases %d, AliasBytes %d: want 1 series, at most %d entries and %d bytes", st.Series, st.Aliases, st.AliasBytes, MaxAliases, MaxAliasBytes)
	}
	if st.Uncached < spellings-MaxAliases {
		t.Errorf("Uncached = %d, want every refused spelling counted (≥ %d)", st.Uncached, spellings-MaxAliases)
	}
	// Expiry gives the entries' bytes back.
	r2 := New(Config{Expiry: 1}, testCanon)
	r2.Lookup(KindCounter, "x", []string{"a:1", "b:2"})
	r2.Lookup(KindCounter, "x", []string{"b:2", "a:1"})
	for range 3 {
		r2.Flush(func(*Series) bool { return false })
	}
	if st := r2.Stats(); st.Aliases != 0 || st.AliasBytes != 0 {
		t.Errorf("after expiry: Aliases %d, AliasBytes %d, want 0 and 0", st.Aliases, st.AliasBytes)
	}
}

// TestNamesInterned: the series of one metric share one copy of its name, and the copy goes
// when the last of them expires, so that names seen once do not pile up.
func TestNamesInterned(t *testing.T) {
	r := New(Config{Expiry: 1, MaxSeries: -1}, testCanon)
	a := r.Lookup(KindCounter, strings.Clone("m"), []string{"id:1"})
	b := r.Lookup(KindCounter, strings.Clone("m"), []string{"id:2"})
	if unsafe.StringData(a.Name()) != unsafe.StringData(b.Name()) {
		t.Error("two series of one metric keep two copies of its name")
	}
	r.Lookup(KindCounter, "other", nil)
	// Series of one namespace (a container's, in the agent) share one copy of it: each kept a
	// string of its own, and then a part of its spelling's packed key, which kept all of it.
	c := r.LookupIn(strings.Clone("container-1"), KindCounter, "m", []string{"id:1"})
	d := r.LookupIn(strings.Clone("container-1"), KindCounter, "m", []string{"id:2"})
	if c.Namespace() != "container-1" || unsafe.StringData(c.Namespace()) != unsafe.StringData(d.Namespace()) {
		t.Errorf("two series of one namespace keep two copies of it (%q)", c.Namespace())
	}
	r.Flush(func(*Series) bool { return false })
	r.mu.Lock()
	left := len(r.names)
	r.mu.Unlock()
	if left != 0 {
		t.Errorf("%d names interned after every series expired, want 0", left)
	}
}

// TestSeriesCells: each kind finds its own cells, and only those, whichever combination a Spec
// asks for; a gauge in its counter's memory keeps its value and touched flag; and the series
// stays at 128 bytes (a field for every kind's cells made it 224), so that with an owner's
// 16 bytes beside it (Config.NewSeries) it is one 144-byte object.
func TestSeriesCells(t *testing.T) {
	if n := unsafe.Sizeof(Series{}); n > 128 {
		t.Errorf("Series is %d bytes, want ≤ 128", n)
	}
	var spec Spec
	r := New(Config{}, func(kind Kind, name string, tags []string) (Spec, error) {
		sp := spec
		sp.Name = name
		return sp, nil
	})
	type has struct{ set, h, b, res bool }
	for _, c := range []struct {
		kind Kind
		spec Spec
		want has
	}{
		{KindCounter, Spec{}, has{}},
		{KindGauge, Spec{}, has{}},
		{KindSet, Spec{}, has{set: true}},
		{KindHistogram, Spec{}, has{h: true}}, // no cells asked for: a sketch
		{KindHistogram, Spec{Sketch: true}, has{h: true}},
		{KindHistogram, Spec{Bounds: []float64{1, 2}}, has{b: true}},
		{KindDistribution, Spec{Reservoir: 8}, has{res: true}},
		{KindTiming, Spec{Sketch: true, Reservoir: 8}, has{h: true, res: true}},
		{KindHistogram, Spec{Sketch: true, Bounds: []float64{1}, Reservoir: 8}, has{h: true, b: true, res: true}},
		{KindDistribution, Spec{Bounds: []float64{1}, Reservoir: 8}, has{b: true, res: true}},
	} {
		spec = c.spec
		s := r.Lookup(c.kind, fmt.Sprintf("m%d%v%d", c.kind, c.spec.Sketch, len(c.spec.Bounds)+c.spec.Reservoir), nil)
		got := has{s.Set() != nil, s.Histogram() != nil, s.Buckets() != nil, s.Reservoir() != nil}
		if got != c.want {
			t.Errorf("%v %+v: cells %+v, want %+v", c.kind, c.spec, got, c.want)
		}
		if h := s.Histogram(); h != nil {
			h.Observe(1.5)
		}
		if b := s.Buckets(); b != nil {
			b.Observe(0.5)
		}
		if res := s.Reservoir(); res != nil {
			res.Observe(2.5)
		}
	}
	g := r.Lookup(KindGauge, "g", nil)
	if _, touched := g.Gauge().Swap(); touched {
		t.Error("a new gauge is touched")
	}
	g.Gauge().Set(-0.25)
	g.Gauge().Add(1)
	if v, touched := g.Gauge().Swap(); v != 0.75 || !touched {
		t.Errorf("gauge Swap = %v, %v, want 0.75, true", v, touched)
	}
}

// TestIndexUnderExpiry: creators by several spellings, recorders and a flusher that expires
// series race; no recorded value is lost, and when it is over every key is found again by its
// canonical spelling through the lookup tables, which are the canonical index.
func TestIndexUnderExpiry(t *testing.T) {
	r := New(Config{Expiry: 1, Shards: 2}, testCanon)
	const workers, keys, rounds = 4, 50, 400
	spellings := func(k int) [][]string {
		a, b := fmt.Sprintf("a:%d", k), fmt.Sprintf("b:%d", k)
		return [][]string{{a, b}, {b, a}}
	}
	var added, flushed atomic.Int64
	flush := func() {
		r.Flush(func(x *Series) bool {
			d := x.Counter.Swap()
			flushed.Add(d)
			return d != 0
		})
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := (i*7 + w) % keys
				s := r.Lookup(KindCounter, "m", spellings(k)[(i+w)%2])
				s.Counter.Add(1)
				added.Add(1)
				if s.Dead() {
					r.Revive(s)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
			flush()
		}
	}
	flush()
	flush()
	if added.Load() != flushed.Load() {
		t.Fatalf("flushed %d, recorded %d", flushed.Load(), added.Load())
	}
	for k := range keys {
		s := r.Lookup(KindCounter, "m", spellings(k)[0])
		r.mu.Lock()
		found := r.findLocked(s.self.hash, "", KindCounter, "m", spellings(k)[0])
		r.mu.Unlock()
		if found != s || s.Dead() {
			t.Errorf("key %d: canonical index has %p, lookup gave %p (dead %v)", k, found, s, s.Dead())
		}
	}
}

// TestSwapRacesRecording: swaps that skip a part found zero (a load instead of a locked swap)
// lose nothing to adds and sets racing with them: every add lands in one interval, and the
// gauge's last set is reported, touched, by some swap.
func TestSwapRacesRecording(t *testing.T) {
	const n = 20000
	var c Counter
	var g Gauge
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for range n {
			c.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for range n {
			c.AddFloat(0.5)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			g.Set(float64(i + 1))
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var ints int64
	var floats, last float64
	swap := func() {
		ints += c.Swap()
		floats += c.SwapFloat()
		if v, touched := g.Swap(); touched {
			last = v
		}
	}
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
			swap()
		}
	}
	swap()
	if ints != n || floats != n/2 || last != n {
		t.Errorf("swapped %d, %v and gauge %v; want %d, %d and %d", ints, floats, last, n, n/2, n)
	}
}

// TestWarm: Warm changes nothing a lookup or Stats can see, for keys that exist (in their first
// slot or probed past others, canonical or alias spellings), keys that do not, and any hash at all.
func TestWarm(t *testing.T) {
	r := New(Config{Shards: 1}, testCanon) // one table, so that first slots collide
	type key struct {
		name string
		tags []string
	}
	var keys []key
	var want []*Series
	for i := range 3000 {
		k := key{fmt.Sprintf("m%d", i%1000), []string{fmt.Sprintf("a:%d", i), "b:1"}}
		if i%2 == 1 {
			k.tags[0], k.tags[1] = k.tags[1], k.tags[0] // an alias spelling
		}
		keys = append(keys, k)
		want = append(want, r.Lookup(KindCounter, k.name, k.tags))
	}
	before := r.Stats()
	var hs []uint64
	for _, k := range keys {
		hs = append(hs, HashKey("", KindCounter, k.name, k.tags))
		hs = append(hs, HashKey("", KindGauge, k.name, k.tags)) // no such series
	}
	for i := range 1000 {
		hs = append(hs, uint64(i)*0x9E3779B97F4A7C15) // any hash
	}
	r.Warm(hs)
	r.Warm(nil)
	if after := r.Stats(); after != before {
		t.Errorf("Warm changed the registry's stats: %+v, then %+v", before, after)
	}
	for i, k := range keys {
		h := HashKey("", KindCounter, k.name, k.tags)
		if got := r.LookupHashed(h, "", KindCounter, k.name, k.tags); got != want[i] {
			t.Fatalf("key %d: LookupHashed found %p, Lookup %p", i, got, want[i])
		}
	}
	if after := r.Stats(); after != before {
		t.Errorf("LookupHashed of known keys changed the stats: %+v, then %+v", before, after)
	}
}

// TestWarmRacesChanges: Warm reads the tables without a lock while series are created, the tables
// grow and series expire (run with -race).
func TestWarmRacesChanges(t *testing.T) {
	r := New(Config{Expiry: 1, Shards: 2}, testCanon)
	const keys = 2000
	hash := func(i int) uint64 {
		return HashKey("", KindCounter, "m", []string{fmt.Sprintf("k:%d", i%keys), "a:1"})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 4 * keys {
			r.Lookup(KindCounter, "m", []string{fmt.Sprintf("k:%d", i%keys), "a:1"}).Counter.Add(1)
			if i%500 == 0 {
				r.Flush(func(s *Series) bool { return s.Counter.Swap() != 0 })
			}
		}
	}()
	go func() {
		defer wg.Done()
		hs := make([]uint64, 64)
		for i := 0; i < 4*keys; i += len(hs) {
			for j := range hs {
				hs[j] = hash(i + j)
			}
			r.Warm(hs)
		}
	}()
	wg.Wait()
}

// TestAliasEntrySizes: an alias entry keeps its spelling's key in its own allocation up to 216
// bytes, past every size boundary, and the key stays right across collections; a longer key is
// kept as it was.
func TestAliasEntrySizes(t *testing.T) {
	s := &Series{kind: KindCounter, name: &nameRef{s: "m"}}
	for n := 2; n <= 260; n++ {
		sp, ok := spell("", "m", []string{strings.Repeat("x", n-2)[:max(0, n-5)]})
		if !ok {
			t.Fatal("spell failed")
		}
		a := newAliasEntry(42, s, sp)
		if a.hash != 42 || a.s != s || a.sp.key != sp.key || a.sp.ntags != sp.ntags {
			t.Fatalf("key of %d bytes: entry %+v, want hash 42, series %p, spelling %+v", len(sp.key), a, s, sp)
		}
		at := uintptr(unsafe.Pointer(unsafe.StringData(a.sp.key))) - uintptr(unsafe.Pointer(a))
		inside := at == unsafe.Sizeof(aliasEntry{})
		if inside != (len(sp.key) <= 216) {
			t.Errorf("key of %d bytes: at offset %d from its entry", len(sp.key), at)
		}
	}
	r := New(Config{}, testCanon)
	var want []*Series
	for n := range 240 {
		want = append(want, r.Lookup(KindCounter, "m", []string{"z:" + strings.Repeat("v", n), "a:1"}))
	}
	runtime.GC()
	for n := range 240 {
		tags := []string{"z:" + strings.Repeat("v", n), "a:1"}
		if got := r.Lookup(KindCounter, "m", tags); got != want[n] {
			t.Fatalf("spelling with a %d-byte tag: found %p, made %p", len(tags[0]), got, want[n])
		}
	}
	if st := r.Stats(); st.Series != 240 || st.Aliases != 480 {
		t.Errorf("%d series and %d entries, want 240 and 480 (each spelling found its entry)", st.Series, st.Aliases)
	}
}

// TestNewSeries: every series the registry makes comes from Config.NewSeries, the overflow series
// included, with its key's Spec (Owner passed through), so that an owner keeps its own data beside
// it; a new spelling of a key makes none, and without NewSeries the registry allocates its own.
func TestNewSeries(t *testing.T) {
	type owned struct {
		Series
		note string
	}
	var made []*owned
	r := New(Config{MaxSeries: 2, NewSeries: func(sp Spec) *Series {
		o := &owned{note: sp.Owner.(string)}
		made = append(made, o)
		return &o.Series
	}}, func(kind Kind, name string, tags []string) (Spec, error) {
		sp, err := testCanon(kind, name, tags)
		sp.Owner = "of " + name
		return sp, err
	})
	a := r.Lookup(KindCounter, "a", []string{"x:1", "y:1"})
	if len(made) != 1 || a != &made[0].Series || (*owned)(unsafe.Pointer(a)).note != "of a" {
		t.Fatalf("series %p, want NewSeries' %p with its Spec's Owner", a, &made[0].Series)
	}
	if a.Name() != "a" || a.JoinedTags() != "x:1,y:1" || a.Kind() != KindCounter {
		t.Errorf("series made by NewSeries: %q %q %v", a.Name(), a.JoinedTags(), a.Kind())
	}
	if b := r.Lookup(KindCounter, "a", []string{"y:1", "x:1"}); b != a || len(made) != 1 {
		t.Errorf("another spelling: series %p, want %p, and no series made (%d)", b, a, len(made))
	}
	r.Lookup(KindCounter, "b", nil)
	o := r.Lookup(KindCounter, "c", nil) // past MaxSeries: the overflow series
	if !o.Overflow() || len(made) != 3 || o != &made[2].Series || made[2].note != "of c" {
		t.Errorf("overflow series %p (overflow %v, %d made), want NewSeries' third", o, o.Overflow(), len(made))
	}
	o.Counter.Add(3)
	var flushed int64
	r.Flush(func(s *Series) bool { flushed += s.Counter.Swap(); return true })
	if flushed != 3 {
		t.Errorf("flushed %d, want 3", flushed)
	}
	if p := New(Config{}, testCanon).Lookup(KindCounter, "plain", nil); p == nil || p.Name() != "plain" {
		t.Errorf("without NewSeries: %v", p)
	}
}
