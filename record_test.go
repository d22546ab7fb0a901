package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/sim"
)

// TestRecordSimulator: record --feed sim:N writes --count snapshots from --start with --seed, named as the HTTP
// recorder names them, and --feed replay reads them back as the simulation made them.
func TestRecordSimulator(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixtures")
	args := []string{"--dir", dir, "--feed", "sim:25", "--count", "3", "--start", "2025-01-02T03:04:05.5Z", "--seed", "7"}
	if err := record(t.Context(), args, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"vatsim-data-2025-01-02T030405Z.json", "vatsim-data-2025-01-02T030420Z.json", "vatsim-data-2025-01-02T030435Z.json"}
	// Each snapshot with the simulation's transceivers file beside it.
	wantFiles := []string{"transceivers-data-2025-01-02T030405Z.json", "transceivers-data-2025-01-02T030420Z.json",
		"transceivers-data-2025-01-02T030435Z.json"}
	if wantFiles = append(wantFiles, want...); !slices.Equal(names, wantFiles) {
		t.Fatalf("files %v, want %v", names, wantFiles)
	}
	replay, err := feed.ReplaySource(dir, feed.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(sim.Config{Seed: 7, Pilots: 25, Start: time.Date(2025, 1, 2, 3, 4, 5, 500_000_000, time.UTC)})
	for i := range want {
		got, err := replay.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantData, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantData) {
			t.Fatalf("snapshot %d is not the simulation's", i)
		}
		at := s.Snapshot().General.UpdateTimestamp
		gotTr, err := replay.FetchTransceivers(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		wantTr, err := s.FetchTransceivers(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotTr, wantTr) {
			t.Fatalf("transceivers of snapshot %d are not the simulation's", i)
		}
	}
	if _, err := replay.Fetch(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("after 3 snapshots: %v, want io.EOF", err)
	}
}

func TestRecordRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"sim without --count", []string{"--feed", "sim:10"}, "needs --count"},
		{"sim with a bad --start", []string{"--feed", "sim:10", "--count", "1", "--start", "yesterday"}, "--start"},
		{"sim with no pilots", []string{"--feed", "sim:0", "--count", "1"}, "--feed"},
		{"replay is not recorded", []string{"--feed", "replay:."}, "--feed"},
		{"--start without sim", []string{"--feed", "live", "--start", "2025-01-01T00:00:00Z"}, "--start is for --feed sim:N only"},
		{"--seed without sim", []string{"--seed", "3"}, "--seed is for --feed sim:N only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--dir", t.TempDir()}, tt.args...)
			err := record(t.Context(), args, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
