package ingest_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// TestReplayRollupsMatchStoredEvents replays the shared snapshots and checks every stored sector-hour against
// the stored events: entries and exits are the ENTRY and EXIT events dated in the hour, and peak is the largest
// number of flights inside after any cycle of the hour, counted from the events (a visit is inside after the
// cycle that recorded its entry until the cycle that recorded its exit).
func TestReplayRollupsMatchStoredEvents(t *testing.T) {
	dir := replayDir(t, shareddata.Feeds(t)...)
	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		replay(t, store, sectors, dir, nil)
		ctx := context.Background()
		events, err := store.ListEvents(ctx, repository.EventFilter{}, 0, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			sector domain.SectorRef
			hour   time.Time
		}
		type figures struct{ entries, exits, peak int }
		want := map[key]*figures{}
		at := func(s domain.SectorRef, ts time.Time) *figures {
			k := key{s, ts.UTC().Truncate(time.Hour)}
			if want[k] == nil {
				want[k] = &figures{}
			}
			return want[k]
		}
		cycleTime := map[int64]time.Time{}
		entered, exited := map[int64]int64{}, map[int64]int64{} // visit → cycle
		sectorOf := map[int64]domain.SectorRef{}
		for _, e := range events {
			switch e.Kind {
			case domain.EventEntry:
				at(e.Sector, e.OccurredAt).entries++
				cycleTime[e.CycleID] = e.OccurredAt
				entered[e.Flight.VisitID], sectorOf[e.Flight.VisitID] = e.CycleID, e.Sector
			case domain.EventExit:
				at(e.Sector, e.OccurredAt).exits++
				exited[e.Flight.VisitID] = e.CycleID
			}
		}
		for c, ts := range cycleTime {
			inside := map[domain.SectorRef]int{}
			for v, in := range entered {
				if out, ok := exited[v]; in <= c && (!ok || out > c) {
					inside[sectorOf[v]]++
				}
			}
			for s, n := range inside {
				f := at(s, ts)
				f.peak = max(f.peak, n)
			}
		}
		hours, _, err := store.SectorHours(ctx, nil, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[key]figures{}
		for _, h := range hours {
			got[key{h.Sector, h.Hour}] = figures{h.Entries, h.Exits, h.Peak}
			if h.Flights < h.Peak || h.ObservedSeconds > 3600 || h.StaffedSeconds > h.ObservedSeconds {
				t.Errorf("%s %s: flights %d, peak %d, observed %v s, staffed %v s", h.Sector, h.Hour, h.Flights, h.Peak,
					h.ObservedSeconds, h.StaffedSeconds)
			}
		}
		bad := 0
		for k, w := range want {
			if g := got[k]; g != *w {
				if bad++; bad <= 10 {
					t.Errorf("%s %s: stored %+v, from the events %+v", k.sector, k.hour.Format(time.DateTime), g, *w)
				}
			}
		}
		for k, g := range got {
			if want[k] == nil && (g != figures{}) {
				t.Errorf("%s %s: stored %+v, no event", k.sector, k.hour.Format(time.DateTime), g)
			}
		}
		if len(want) < 500 || bad > 0 {
			t.Fatalf("%d sector-hours from %d events of %d cycles; %d differ", len(want), len(events), len(cycleTime), bad)
		}
		t.Log(fmt.Sprintf("%d sector-hours from %d events of %d cycles match", len(want), len(events), len(cycleTime)))
	})
}

// TestRunnerRestartMidHourKeepsRollups replays simulated snapshots across an hour boundary with a Runner,
// once uninterrupted and once stopped a few cycles after the boundary (exits of disconnections still dated in
// the previous hour to come) and started again from the database: both end with the same sector_hours.
func TestRunnerRestartMidHourKeepsRollups(t *testing.T) {
	const count, split = 80, 44 // 15 s apart from 18:50: the hour turns at the 41st
	all, err := sim.WriteDir(t.TempDir(), sim.Config{Seed: 3, Pilots: 400, Cycles: count,
		Start: time.Date(2024, 3, 1, 18, 50, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, whole *repository.Store) {
		replay(t, whole, sectors, replayDir(t, all...), nil)
		restarted := dbtest.Open(t, whole.Dialect(), repository.Pool{})
		replay(t, restarted, sectors, replayDir(t, all[:split]...), nil)
		replay(t, restarted, sectors, replayDir(t, all...), nil) // skips what is stored, resumes from the database
		ctx := context.Background()
		a, _, err := whole.SectorHours(ctx, nil, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := restarted.SectorHours(ctx, nil, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			n := 0
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] && n < 10 {
					n++
					t.Errorf("uninterrupted %+v\nrestarted     %+v", a[i], b[i])
				}
			}
			t.Fatalf("%d sector-hours uninterrupted, %d restarted, not the same", len(a), len(b))
		}
		hours := map[time.Time]bool{}
		for _, h := range a {
			hours[h.Hour] = true
		}
		if len(hours) != 2 || len(a) < 100 {
			t.Fatalf("%d sector-hours over %d hours: the replay did not cross the hour", len(a), len(hours))
		}
		t.Logf("%d sector-hours over 2 hours equal", len(a))
	})
}
