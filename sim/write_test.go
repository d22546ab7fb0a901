package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// TestWriteSnapshotsReplays: a folder WriteSnapshots wrote replays, through feed.ReplaySource, to the
// simulation's own snapshots, byte for byte and in order, then io.EOF.
func TestWriteSnapshotsReplays(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		count int
	}{
		{"defaults", Config{}, 3},
		{"own start, seed and step", Config{Seed: 11, Pilots: 80, Start: time.Date(2025, 6, 1, 23, 59, 30, 0, time.UTC), Step: 30 * time.Second}, 5},
		{"Cycles is ignored", Config{Seed: 2, Pilots: 30, Cycles: 2}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snapshots")
			if err := WriteSnapshots(dir, tt.cfg, tt.count); err != nil {
				t.Fatal(err)
			}
			replay, err := feed.ReplaySource(dir, feed.ReplayOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.cfg
			want.Cycles = 0
			s := New(want)
			for i := range tt.count {
				got, err := replay.Fetch(context.Background())
				if err != nil {
					t.Fatalf("replay %d: %v", i, err)
				}
				wantData, err := s.Fetch(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, wantData) {
					t.Fatalf("replayed snapshot %d differs from the simulation's", i)
				}
				snap, err := feed.Decode(got)
				if err != nil {
					t.Fatalf("replayed snapshot %d: %v", i, err)
				}
				if wantTS := s.Config().Start.Add(time.Duration(i) * s.Config().Step); !snap.General.UpdateTimestamp.Equal(wantTS) {
					t.Errorf("snapshot %d at %v, want %v", i, snap.General.UpdateTimestamp, wantTS)
				}
			}
			if _, err := replay.Fetch(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("after %d snapshots: %v, want io.EOF", tt.count, err)
			}
		})
	}
}

func TestWriteSnapshotsRefuses(t *testing.T) {
	used := t.TempDir()
	if err := WriteSnapshots(used, Config{Seed: 1, Pilots: 10}, 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dir    string
		cfg    Config
		count  int
		wantIn string
	}{
		{"no snapshot", t.TempDir(), Config{}, 0, "count is 0"},
		{"fractional step", t.TempDir(), Config{Step: 1500 * time.Millisecond}, 2, "not whole seconds"},
		{"a clock", t.TempDir(), Config{Clock: time.Now}, 2, "Clock"},
		{"a folder holding that time already", used, Config{Seed: 2, Pilots: 10}, 1, "already there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteSnapshots(tt.dir, tt.cfg, tt.count); err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("error %v, want one saying %q", err, tt.wantIn)
			}
		})
	}
}
