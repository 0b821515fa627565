package pb

import (
	"slices"
	"strings"
)

// insertionMax is the label count up to which SortLabels uses insertion
// sort: metrics carry a handful of labels, where it beats pdqsort's setup
// and calls through a comparison func.
const insertionMax = 12

// SortLabels sorts ls in place by Key, as the encoder requires, without
// allocating. The sort is stable, so among duplicate keys (which the caller
// must remove before encoding; a proto map keeps the last) the original
// order is kept.
func SortLabels(ls []Label) {
	if len(ls) > insertionMax {
		slices.SortStableFunc(ls, compareLabels)
		return
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Key < ls[j-1].Key; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func compareLabels(a, b Label) int { return strings.Compare(a.Key, b.Key) }
