package shard_test

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/statshard/statshard/shard"
)

// canon sorts a key's tags: its canonical form.
func canon(kind shard.Kind, name string, tags []string) (shard.Spec, error) {
	return shard.Spec{Name: name, Tags: slices.Sorted(slices.Values(tags))}, nil
}

// A batch of lookups, as the agent's intake does with the lines of a batch of datagrams: hash
// every key, warm them all, then look each up with its hash.
func ExampleRegistry_Warm() {
	r := shard.New(shard.Config{}, canon)
	keys := [][]string{{"route:/a", "code:200"}, {"route:/b", "code:500"}, {"code:200", "route:/a"}}
	hs := make([]uint64, len(keys))
	for i, tags := range keys {
		hs[i] = shard.HashKey("", shard.KindCounter, "http.requests", tags)
	}
	r.Warm(hs) // only time changes: a lookup finds the same series with or without it
	for i, tags := range keys {
		s := r.LookupHashed(hs[i], "", shard.KindCounter, "http.requests", tags)
		s.Counter.Add(1)
		if s.Dead() {
			r.Revive(s)
		}
	}
	r.Flush(func(s *shard.Series) bool {
		fmt.Println(s.Name(), s.JoinedTags(), s.Counter.Swap())
		return true
	})
	// Output:
	// http.requests code:200,route:/a 2
	// http.requests code:500,route:/b 1
}

// An owner's data about each series, in one allocation with it: the owner's struct begins with
// the Series, the registry makes every series with Config.NewSeries, and the pointer converts back.
func ExampleConfig_newSeries() {
	type mine struct {
		shard.Series
		unit string
	}
	r := shard.New(shard.Config{NewSeries: func(sp shard.Spec) *shard.Series {
		return &(&mine{unit: sp.Owner.(string)}).Series
	}}, func(kind shard.Kind, name string, tags []string) (shard.Spec, error) {
		sp, err := canon(kind, name, tags)
		sp.Owner = "ms" // what NewSeries gets, if the key is new
		return sp, err
	})
	s := r.Lookup(shard.KindHistogram, "db.query", []string{"db:users"})
	m := (*mine)(unsafe.Pointer(s)) // every series of r is a mine
	fmt.Println(m.Name(), m.unit)
	// Output: db.query ms
}
