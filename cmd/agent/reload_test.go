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
