package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// manualClock is a Config.Clock that a test moves by hand.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time { return c.now }

// TestClockKeepsFeedTimeBehind polls a clocked simulator at intervals other than its step: a new snapshot
// comes only once the clock reached the next step, the same one comes back before, a pause moves the feed
// time on without a burst, and update_timestamp never exceeds the clock.
func TestClockKeepsFeedTimeBehind(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	type poll struct {
		at     time.Duration // clock, after start
		wantTS time.Duration // update_timestamp, after start
		fresh  bool          // a new snapshot, not the previous one again
	}
	tests := []struct {
		name  string
		start time.Duration // Config.Start after the clock's start; -1: zero Start
		polls []poll
	}{
		{name: "polled every second", polls: []poll{
			{0, 0, true}, {time.Second, 0, false}, {14 * time.Second, 0, false}, {15 * time.Second, 15 * time.Second, true},
			{16 * time.Second, 15 * time.Second, false}, {29 * time.Second, 15 * time.Second, false}, {30 * time.Second, 30 * time.Second, true},
		}},
		{name: "polled every 10 s", polls: []poll{
			{0, 0, true}, {10 * time.Second, 0, false}, {20 * time.Second, 15 * time.Second, true},
			{30 * time.Second, 30 * time.Second, true}, {40 * time.Second, 30 * time.Second, false}, {50 * time.Second, 45 * time.Second, true},
		}},
		{name: "polled late: one step, no catching up", polls: []poll{
			{0, 0, true}, {20 * time.Second, 15 * time.Second, true}, {31 * time.Second, 30 * time.Second, true},
		}},
		{name: "a long pause moves the feed time to the clock", polls: []poll{
			{0, 0, true}, {time.Hour + 7*time.Second, time.Hour, true}, {time.Hour + 14*time.Second, time.Hour, false},
			{time.Hour + 15*time.Second, time.Hour + 15*time.Second, true},
		}},
		{name: "a pause of exactly two steps", polls: []poll{
			{0, 0, true}, {30 * time.Second, 30 * time.Second, true}, {45 * time.Second, 45 * time.Second, true},
		}},
		{name: "Start after the clock begins at the clock", start: time.Hour, polls: []poll{
			{0, 0, true}, {15 * time.Second, 15 * time.Second, true},
		}},
		{name: "zero Start begins at the clock", start: -1, polls: []poll{
			{0, 0, true}, {5 * time.Second, 0, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &manualClock{now: start}
			cfg := Config{Seed: 5, Pilots: 60, Start: start.Add(tt.start), Clock: clk.Now}
			if tt.start < 0 {
				cfg.Start = time.Time{}
			}
			s := New(cfg)
			var prev *feed.Snapshot
			var prevJSON []byte
			produced := 0
			for i, p := range tt.polls {
				clk.now = start.Add(p.at)
				data, err := s.Fetch(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				snap := s.Snapshot()
				ts := snap.General.UpdateTimestamp
				if want := start.Add(p.wantTS); !ts.Equal(want) {
					t.Fatalf("poll %d at +%v: update_timestamp +%v, want +%v", i, p.at, ts.Sub(start), p.wantTS)
				}
				if ts.After(clk.now) {
					t.Fatalf("poll %d: update_timestamp %v after the clock %v", i, ts, clk.now)
				}
				if fresh := snap != prev; fresh != p.fresh {
					t.Fatalf("poll %d at +%v: new snapshot %v, want %v", i, p.at, fresh, p.fresh)
				}
				if !p.fresh && !bytes.Equal(data, prevJSON) {
					t.Fatalf("poll %d: the repeated snapshot's JSON changed", i)
				}
				if p.fresh {
					// The usual invariants, against the snapshot's own time (a pause shifts it off the grid).
					check := s.Config()
					check.Start = ts.Add(-time.Duration(produced) * check.Step)
					checkSnapshot(t, produced, snap, check)
					produced++
				}
				prev, prevJSON = snap, data
			}
		})
	}
}

// TestClockCountsCycles: Config.Cycles counts new snapshots only, not the same one returned again; once they
// are all produced, io.EOF comes at once, as without a clock.
func TestClockCountsCycles(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := &manualClock{now: start}
	s := New(Config{Seed: 5, Pilots: 20, Cycles: 2, Clock: clk.Now})
	for _, at := range []time.Duration{0, time.Second, 2 * time.Second, 14 * time.Second, 15 * time.Second} {
		clk.now = start.Add(at)
		if _, err := s.Next(); err != nil {
			t.Fatalf("Next at +%v: %v, want the first two snapshots and repeats", at, err)
		}
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after two snapshots: %v, want io.EOF", err)
	}
}

// TestClockTrafficIsTheSimulation: with a clock polled once per step, the traffic is the unclocked
// simulation's, step for step (only times shift with the start).
func TestClockTrafficIsTheSimulation(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := &manualClock{now: start}
	clocked := New(Config{Seed: 6, Pilots: 100, Clock: clk.Now})
	plain := New(Config{Seed: 6, Pilots: 100, Start: start})
	for i := range 10 {
		clk.now = start.Add(time.Duration(i) * DefaultStep)
		a, err := clocked.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("snapshot %d differs from the unclocked simulation's", i)
		}
	}
}
