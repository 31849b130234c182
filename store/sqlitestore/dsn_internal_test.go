package sqlitestore

import (
	"strings"
	"testing"
	"time"
)

func TestDSNsFor(t *testing.T) {
	tests := []struct {
		name, path string
		cfg        Config
		wantErr    bool
		check      func(t *testing.T, d dsns)
	}{
		{name: "empty path", path: "", wantErr: true},
		{name: "memory", path: MemoryPath, cfg: Config{}.withDefaults(), check: func(t *testing.T, d dsns) {
			if !d.memory || !strings.HasPrefix(d.writer, "file::memory:?") || d.reader != "" || strings.Contains(d.writer, "journal_mode") {
				t.Errorf("memory dsns %+v", d)
			}
		}},
		{name: "file", path: "/tmp/a?b#c%d.db", cfg: Config{}.withDefaults(), check: func(t *testing.T, d dsns) {
			for _, want := range []string{"file:/tmp/a%3fb%23c%25d.db?", "journal_mode(WAL)", "_txlock=immediate", "busy_timeout(5000)", "synchronous(NORMAL)"} {
				if !strings.Contains(d.writer, want) {
					t.Errorf("writer %q lacks %q", d.writer, want)
				}
			}
			if !strings.Contains(d.reader, "query_only(1)") || strings.Contains(d.reader, "journal_mode") || strings.Contains(d.checkpointer, "query_only") {
				t.Errorf("reader %q checkpointer %q", d.reader, d.checkpointer)
			}
		}},
		{name: "full sync, short busy timeout rounds up", path: "x.db", cfg: Config{SynchronousFull: true, BusyTimeout: 1500 * time.Microsecond}.withDefaults(), check: func(t *testing.T, d dsns) {
			if !strings.Contains(d.writer, "synchronous(FULL)") || !strings.Contains(d.writer, "busy_timeout(2)") {
				t.Errorf("writer %q", d.writer)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := dsnsFor(tt.path, tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
	if c := (Config{}).withDefaults(); c.BusyTimeout != 5*time.Second || c.MaxReadConns != 4 || c.Logger == nil {
		t.Errorf("defaults %+v", c)
	}
}
