package pb

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSortLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Label
		want []Label
	}{
		{"nil", nil, nil},
		{"one", []Label{{"a", "1"}}, []Label{{"a", "1"}}},
		{"sorted", []Label{{"a", "1"}, {"b", "2"}}, []Label{{"a", "1"}, {"b", "2"}}},
		{"reversed", []Label{{"c", "3"}, {"b", "2"}, {"a", "1"}}, []Label{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{"by key only", []Label{{"b", "1"}, {"a", "2"}}, []Label{{"a", "2"}, {"b", "1"}}},
		{"byte order, not locale", []Label{{"b", ""}, {"B", ""}, {"é", ""}, {"e", ""}}, []Label{{"B", ""}, {"b", ""}, {"e", ""}, {"é", ""}}},
		{"prefix first", []Label{{"ab", ""}, {"a", ""}, {"", ""}}, []Label{{"", ""}, {"a", ""}, {"ab", ""}}},
		{"duplicates keep order", []Label{{"k", "second"}, {"a", ""}, {"k", "first"}}, []Label{{"a", ""}, {"k", "second"}, {"k", "first"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Clone(tc.in)
			SortLabels(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSortLabelsLarge covers the path above insertionMax, including
// stability among duplicate keys.
func TestSortLabelsLarge(t *testing.T) {
	for _, n := range []int{insertionMax, insertionMax + 1, 100} {
		ls := make([]Label, n)
		for i := range ls {
			// Keys repeat every 7 labels, values record the original order.
			ls[i] = Label{Key: fmt.Sprintf("k%02d", (i*5)%7), Value: fmt.Sprintf("%03d", i)}
		}
		want := slices.Clone(ls)
		slices.SortStableFunc(want, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
		SortLabels(ls)
		if !slices.Equal(ls, want) {
			t.Errorf("n=%d: got %v, want %v", n, ls, want)
		}
	}
}

func TestSortLabelsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, n := range []int{3, 50} {
		base := make([]Label, n)
		for i := range base {
			base[i] = Label{Key: fmt.Sprintf("k%03d", n-i)}
		}
		ls := make([]Label, n)
		allocs := testing.AllocsPerRun(100, func() {
			copy(ls, base)
			SortLabels(ls)
		})
		if allocs != 0 {
			t.Errorf("n=%d: got %v allocs per SortLabels, want 0", n, allocs)
		}
	}
}
