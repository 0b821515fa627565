package peertest

import (
	"errors"
	"strings"
	"testing"
)

func TestFindBinary(t *testing.T) {
	tests := []struct {
		name         string
		peer         peer // zero means exporterPeer
		env          map[string]string
		exists       map[string]bool // names lookPath resolves
		wantPath     string
		wantRequired bool
		wantErr      string // "" means no error
	}{
		{
			name:     "found in PATH",
			exists:   map[string]bool{"statsd_exporter": true},
			wantPath: "/usr/bin/statsd_exporter",
		},
		{
			name:    "missing, skip by default",
			wantErr: "statsd_exporter not found in $PATH",
		},
		{
			name:         "missing, required",
			env:          map[string]string{"STATSHARD_REQUIRE_PEERS": "1"},
			wantRequired: true,
			wantErr:      "go install github.com/prometheus/statsd_exporter@v0.31.0",
		},
		{
			name:    "missing, only 1 means required",
			env:     map[string]string{"STATSHARD_REQUIRE_PEERS": "0"},
			wantErr: "not found",
		},
		{
			name:         "found and required",
			env:          map[string]string{"STATSHARD_REQUIRE_PEERS": "1"},
			exists:       map[string]bool{"statsd_exporter": true},
			wantPath:     "/usr/bin/statsd_exporter",
			wantRequired: true,
		},
		{
			name:     "env wins over PATH",
			env:      map[string]string{"STATSD_EXPORTER": "/opt/se"},
			exists:   map[string]bool{"/opt/se": true, "statsd_exporter": true},
			wantPath: "/opt/se",
		},
		{
			name:    "env names a missing file, PATH not consulted",
			env:     map[string]string{"STATSD_EXPORTER": "/opt/gone"},
			exists:  map[string]bool{"statsd_exporter": true},
			wantErr: `$STATSD_EXPORTER="/opt/gone" is not usable`,
		},
		{
			name:         "env names a missing file, required",
			env:          map[string]string{"STATSD_EXPORTER": "/opt/gone", "STATSHARD_REQUIRE_PEERS": "1"},
			wantRequired: true,
			wantErr:      "/opt/gone",
		},
		{
			name:     "telegraf found in PATH",
			peer:     telegrafPeer,
			exists:   map[string]bool{"telegraf": true},
			wantPath: "/usr/bin/telegraf",
		},
		{
			name:     "telegraf: $TELEGRAF wins over PATH",
			peer:     telegrafPeer,
			env:      map[string]string{"TELEGRAF": "/opt/tg", "STATSD_EXPORTER": "/opt/se"},
			exists:   map[string]bool{"/opt/tg": true, "/opt/se": true, "telegraf": true},
			wantPath: "/opt/tg",
		},
		{
			name:         "telegraf missing, required, hint names the build tags",
			peer:         telegrafPeer,
			env:          map[string]string{"STATSHARD_REQUIRE_PEERS": "1", "STATSD_EXPORTER": "/opt/se"},
			exists:       map[string]bool{"/opt/se": true, "statsd_exporter": true},
			wantRequired: true,
			wantErr:      "go install -tags custom,inputs.statsd,outputs.file,serializers.json github.com/influxdata/telegraf/cmd/telegraf@v1.37.2",
		},
		{
			name:    "telegraf: $TELEGRAF names a missing file",
			peer:    telegrafPeer,
			env:     map[string]string{"TELEGRAF": "/opt/gone"},
			exists:  map[string]bool{"telegraf": true},
			wantErr: `$TELEGRAF="/opt/gone" is not usable`,
		},
	}
	errNotFound := errors.New("not found")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			lookPath := func(name string) (string, error) {
				if !tt.exists[name] {
					return "", errNotFound
				}
				if !strings.Contains(name, "/") {
					return "/usr/bin/" + name, nil
				}
				return name, nil
			}
			p := tt.peer
			if p == (peer{}) {
				p = exporterPeer
			}
			path, required, err := findBinary(p, getenv, lookPath)
			if path != tt.wantPath || required != tt.wantRequired {
				t.Errorf("got path %q required %v, want %q %v", path, required, tt.wantPath, tt.wantRequired)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("got no error, want one containing %q", tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("got error %q, want one containing %q", err, tt.wantErr)
			case err != nil && !errors.Is(err, errNotFound):
				t.Errorf("got error %v, want it to wrap the lookup error", err)
			}
		})
	}
}
