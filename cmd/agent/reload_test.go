package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestReloadCoversEverySetting: a reload applies every setting, by the new pipeline or as
// reloadApplies says; a setting added without saying how fails here instead of being silently
// ignored by SIGHUP (as -http and -pprof once were).
func TestReloadCoversEverySetting(t *testing.T) {
	typ := reflect.TypeFor[settings]()
	var keys []string
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		keys = append(keys, key)
		_, special := reloadApplies[key]
		piped := slices.Contains(pipelineSettings, key)
		switch {
		case special && piped:
			t.Errorf("setting %q is both in reloadApplies and pipelineSettings", key)
		case !special && !piped:
			t.Errorf("setting %q: say how a reload applies it (reloadApplies or pipelineSettings)", key)
		}
	}
	for key := range reloadApplies {
		if !slices.Contains(keys, key) {
			t.Errorf("reloadApplies names %q, which is no setting", key)
		}
	}
	for _, key := range pipelineSettings {
		if !slices.Contains(keys, key) {
			t.Errorf("pipelineSettings names %q, which is no setting", key)
		}
	}
}

// TestTotalsAdd: every counter of the library's stats is carried over a reload; levels are not.
func TestTotalsAdd(t *testing.T) {
	one := func(v any) {
		rv := reflect.ValueOf(v).Elem()
		for i := range rv.NumField() {
			switch f := rv.Field(i); f.Kind() {
			case reflect.Uint64:
				f.SetUint(1)
			case reflect.Int, reflect.Int64:
				f.SetInt(1)
			case reflect.Map:
				f.Set(reflect.ValueOf(map[string]uint64{"bad_value": 1}))
			}
		}
	}
	var o totals
	one(&o.in)
	one(&o.rec)
	o.drained = 1
	var sum totals
	sum.add(o)
	sum.add(o)
	check := func(v any) {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			name, f := rv.Type().Field(i).Name, rv.Field(i)
			want := uint64(2)
			if gaugeFields[name] {
				want = 0
			}
			switch f.Kind() {
			case reflect.Uint64:
				if f.Uint() != want {
					t.Errorf("%s: got %d after adding 1 twice, want %d", name, f.Uint(), want)
				}
			case reflect.Int, reflect.Int64:
				if f.Int() != 0 {
					t.Errorf("level %s was summed: %d", name, f.Int())
				}
			case reflect.Map:
				if got := f.Interface().(map[string]uint64)["bad_value"]; got != 2 {
					t.Errorf("%s[bad_value]: got %d, want 2", name, got)
				}
			}
		}
	}
	check(sum.in)
	check(sum.rec)
	if sum.drained != 2 {
		t.Errorf("drained: got %d, want 2", sum.drained)
	}
}
