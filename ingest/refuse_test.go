package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// pilots returns n pilots, so that a snapshot can be told apart by its pilot count.
func pilots(n int) []feed.Pilot {
	out := make([]feed.Pilot, 0, n)
	for i := range n {
		out = append(out, pilot(fmt.Sprintf("N%d", i), 50.5, 0.5+float64(i)/10, 5000, t0.Add(-time.Hour)))
	}
	return out
}

func runWith(t testing.TB, cfg ingest.Config) *ingest.Runner {
	t.Helper()
	r, err := ingest.NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

// TestSnapshotDatedPastTheClockIsRefused: one snapshot dated 2030 used to be committed, and every real
// snapshot after it was then skipped as older, across restarts, with nothing but a debug line to say so.
func TestSnapshotDatedPastTheClockIsRefused(t *testing.T) {
	sectors := customSectors(t)
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return t0.Add(time.Minute) }
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		bodies := [][]byte{
			snapshot(t, t0, pilots(3), nil),
			snapshot(t, future, pilots(4), nil),
			snapshot(t, t0.Add(15*time.Second), pilots(5), nil),
			snapshot(t, t0.Add(time.Minute+30*time.Second), pilots(6), nil), // within the tolerance
		}
		r := runWith(t, ingest.Config{Source: &scripted{bodies: bodies}, Store: store, Sectors: sectors.Current, Now: clock})
		want := dump(t, store, "SELECT pilots FROM ingest_cycles ORDER BY id")
		if !slices.Equal(want, []string{"3", "5", "6"}) {
			t.Errorf("cycles of %v pilots committed, want the snapshots of 3, 5 and 6 (not the one dated 2030)", want)
		}
		st := r.Status()
		if st.Totals.Refused != 1 || !strings.Contains(st.LastError, "past the clock") {
			t.Errorf("refused %d, last error %q: want 1 refusal, reported", st.Totals.Refused, st.LastError)
		}
	})
}

// TestStoredFutureFeedTimeDoesNotBlockNewerSnapshots: a database that already holds a cycle dated in the future
// (committed by an earlier version) is reported at start, and real snapshots are ingested all the same.
func TestStoredFutureFeedTimeDoesNotBlockNewerSnapshots(t *testing.T) {
	sectors := customSectors(t)
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return t0.Add(time.Minute) }
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		// As before snapshots past the clock were refused: a tolerance of ten years lets 2030 in.
		runWith(t, ingest.Config{Store: store, Sectors: sectors.Current, Now: clock, FutureTolerance: 10 * 365 * 24 * time.Hour,
			Source: &scripted{bodies: [][]byte{snapshot(t, t0, pilots(3), nil), snapshot(t, future, pilots(4), nil)}}})

		r := runWith(t, ingest.Config{Store: store, Sectors: sectors.Current, Now: clock,
			Source: &scripted{bodies: [][]byte{snapshot(t, t0, pilots(3), nil), snapshot(t, t0.Add(15*time.Second), pilots(5), nil)}}})
		got := dump(t, store, "SELECT pilots FROM ingest_cycles WHERE error IS NULL ORDER BY id")
		if !slices.Equal(got, []string{"3", "4", "5"}) {
			t.Errorf("cycles of %v pilots, want 3 and 4 from before, and the real snapshot of 5 after them (the repeated one skipped)", got)
		}
		if st := r.Status(); !st.FutureFeedTime.Equal(future) {
			t.Errorf("status reports a future feed time of %v, want %v", st.FutureFeedTime, future)
		}
		// The hour of the real snapshots continues from its stored totals: the entries of t0's cycle are kept
		// (they were lost when the rollups stayed those of the future hour).
		hour := t0.Truncate(time.Hour)
		entries := dump(t, store, "SELECT COUNT(*) FROM sector_events WHERE kind = 'entry' AND occurred_at < '"+
			hour.Add(time.Hour).Format("2006-01-02 15:04:05")+"'")
		stored := dump(t, store, "SELECT COALESCE(SUM(entries), 0) FROM sector_hours WHERE hour < '"+
			hour.Add(time.Hour).Format("2006-01-02 15:04:05")+"'")
		if len(entries) != 1 || entries[0] == "0" || !slices.Equal(entries, stored) {
			t.Errorf("%v entry events in the hour of the real snapshots, %v entries in its sector hours", entries, stored)
		}
	})
}

// TestSnapshotTheDatabaseRefusesIsGivenUpAndTheRestIngested: a snapshot that the database answers with an error
// every time must not hold back the snapshots behind it in the backlog.
func TestSnapshotTheDatabaseRefusesIsGivenUpAndTheRestIngested(t *testing.T) {
	sectors := customSectors(t)
	trigger := map[migrations.Dialect][]string{
		migrations.Postgres: {
			`CREATE FUNCTION refuse_four() RETURNS trigger AS $$
			 BEGIN IF NEW.error IS NULL AND NEW.pilots = 4 THEN RAISE EXCEPTION 'injected refusal'; END IF; RETURN NEW; END
			 $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER refuse_four BEFORE INSERT ON ingest_cycles FOR EACH ROW EXECUTE FUNCTION refuse_four()`,
		},
		migrations.SQLite: {
			`CREATE TRIGGER refuse_four BEFORE INSERT ON ingest_cycles WHEN NEW.error IS NULL AND NEW.pilots = 4
			 BEGIN SELECT RAISE(ABORT, 'injected refusal'); END`,
		},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		for _, stmt := range trigger[store.Dialect()] {
			if _, err := store.SQL().Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		bodies := [][]byte{
			snapshot(t, t0, pilots(3), nil),
			snapshot(t, t0.Add(15*time.Second), pilots(4), nil),
			snapshot(t, t0.Add(30*time.Second), pilots(5), nil),
		}
		r := runWith(t, ingest.Config{Source: &scripted{bodies: bodies}, Store: store, Sectors: sectors.Current, Attempts: 2})
		if got := dump(t, store, "SELECT pilots FROM ingest_cycles WHERE error IS NULL ORDER BY id"); !slices.Equal(got, []string{"3", "5"}) {
			t.Errorf("committed cycles of %v pilots, want 3 and 5", got)
		}
		if n := count(t, store, "SELECT COUNT(*) FROM ingest_cycles WHERE error LIKE '%injected refusal%'"); n != 2 {
			t.Errorf("%d failed cycle records, want one per attempt (2), each with an id of its own", n)
		}
		if st := r.Status(); st.Totals.GivenUp != 1 || st.Totals.Failures != 2 || st.Backlog != 0 {
			t.Errorf("totals %+v, backlog %d: want 1 snapshot given up after 2 failures, nothing left", st.Totals, st.Backlog)
		}
	})
}

// TestEntryNoDatabaseStoresIsLeftOutAlike: one pilot with an altitude beyond a 32-bit column, or a name with
// U+0000, used to fail the whole snapshot's write three times on PostgreSQL (and nothing was ingested while the
// entry stayed in the feed), while SQLite stored the bytes. Now the entry is left out, counted, and both
// databases store the same rows: everything else of the snapshot.
func TestEntryNoDatabaseStoresIsLeftOutAlike(t *testing.T) {
	sectors := customSectors(t)
	dirty := func(at time.Time) []byte {
		ps := pilots(5)
		ps[1].Altitude = 3_000_000_000
		ps[3].Name = "Member \x00 1000001"
		ctl := []feed.Controller{
			{CID: 7, Name: "Member 7", Callsign: "EGTT_CTR", Frequency: "127.100", Facility: feed.FacilityCenter,
				Rating: 5, Server: "TEST", VisualRange: 9_000_000_000, LogonTime: t0.Add(-time.Hour), LastUpdated: at},
			{CID: 8, Name: "Member 8", Callsign: "EGLL_APP", Frequency: "119.725", Facility: feed.FacilityApproach,
				Rating: 5, Server: "TEST", VisualRange: 150, LogonTime: t0.Add(-time.Hour), LastUpdated: at},
		}
		return snapshot(t, at, ps, ctl)
	}
	var rows []map[string][]string
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		r := runWith(t, ingest.Config{Store: store, Sectors: sectors.Current,
			Source: &scripted{bodies: [][]byte{dirty(t0), dirty(t0.Add(15 * time.Second))}}})
		st := r.Status()
		if st.Totals.Cycles != 2 || st.Totals.Failures != 0 || st.Totals.RejectedEntries != 6 {
			t.Errorf("totals %+v: want 2 cycles committed, no failure, 3 entries rejected in each", st.Totals)
		}
		if got := dump(t, store, "SELECT pilots, controllers, rejected_entries FROM ingest_cycles ORDER BY id"); !slices.Equal(got, []string{"3|1|3", "3|1|3"}) {
			t.Errorf("cycle records (pilots|controllers|rejected) %v, want 3 pilots, 1 controller and 3 rejected each", got)
		}
		if got := dump(t, store, "SELECT callsign FROM flights ORDER BY callsign"); !slices.Equal(got, []string{"N0", "N2", "N4"}) {
			t.Errorf("flights %v, want the three storable pilots", got)
		}
		rows = append(rows, stored(t, store))
	})
	if len(rows) == 2 {
		for table := range rows[0] {
			if !slices.Equal(rows[0][table], rows[1][table]) {
				t.Errorf("%s differs between SQLite and PostgreSQL:\n%s", table, firstDiff(rows[0][table], rows[1][table]))
			}
		}
	}
}
