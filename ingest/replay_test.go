package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

func sharedFile(t testing.TB, name string) string {
	t.Helper()
	return shareddata.Path(t, "feeds", name)
}

func decodeFile(t testing.TB, path string) *feed.Snapshot {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := feed.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type pilotKey struct {
	cid      int64
	callsign string
	logon    int64
}

// TestConsecutivePairMatchesBruteForce replays two real snapshots 15 s apart and checks that the entries and
// exits stored for each cycle are exactly those an independent brute-force point-in-polygon computes.
func TestConsecutivePairMatchesBruteForce(t *testing.T) {
	first := sharedFile(t, "vatsim-data-2023-08-07T232929Z.json")
	second := sharedFile(t, "vatsim-data-2023-08-07T232944Z.json")
	ref := loadReference(t, filepath.Join(shareddata.VATSpyDir(t), "Boundaries.geojson"))
	a, b := decodeFile(t, first), decodeFile(t, second)

	// The reference: every (kind, callsign, sector) each cycle must produce.
	inA := map[pilotKey][]string{}
	var want1, want2 []string
	for _, p := range a.Pilots {
		s := ref.sectors(p.Latitude, p.Longitude)
		inA[pilotKey{p.CID, p.Callsign, p.LogonTime.UnixMicro()}] = s
		for _, id := range s {
			want1 = append(want1, "entry "+p.Callsign+" "+id)
		}
	}
	for _, p := range b.Pilots {
		now := ref.sectors(p.Latitude, p.Longitude)
		before := inA[pilotKey{p.CID, p.Callsign, p.LogonTime.UnixMicro()}]
		for _, id := range now {
			if !slices.Contains(before, id) {
				want2 = append(want2, "entry "+p.Callsign+" "+id)
			}
		}
		for _, id := range before {
			if !slices.Contains(now, id) {
				want2 = append(want2, "exit "+p.Callsign+" "+id)
			}
		}
	}
	slices.Sort(want1)
	slices.Sort(want2)
	if len(want1) < 500 || len(want2) == 0 {
		t.Fatalf("reference found %d entries in the first cycle and %d changes in the second: data not as expected", len(want1), len(want2))
	}

	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		replay(t, store, sectors, replayDir(t, first, second), nil)
		for cycle, want := range map[int][]string{1: want1, 2: want2} {
			got := dump(t, store, fmt.Sprintf(
				"SELECT kind, callsign, sector_id FROM sector_events WHERE cycle_id = %d AND kind IN ('entry', 'exit')", cycle))
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], "|", " ")
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("cycle %d: %d events, reference %d\nonly stored: %v\nonly reference: %v", cycle, len(got), len(want),
					minus(got, want), minus(want, got))
			}
		}
		t.Logf("cycle 1: %d entries; cycle 2: %d entries and exits, as the brute-force reference", len(want1), len(want2))
	})
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	if len(out) > 20 {
		out = append(out[:20], "…")
	}
	return out
}

// TestReplayGivesSameRowsInBothDialects replays every shared snapshot through SQLite and PostgreSQL.
func TestReplayGivesSameRowsInBothDialects(t *testing.T) {
	dir := replayDir(t, shareddata.Feeds(t)...)
	sectors := loadVATSpy(t)
	lite := dbtest.Open(t, migrations.SQLite, repository.Pool{})
	pg := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	replay(t, lite, sectors, dir, nil)
	replay(t, pg, sectors, dir, nil)
	a, b := stored(t, lite), stored(t, pg)
	for table, rows := range a {
		if len(rows) == 0 {
			t.Errorf("%s: no rows", table)
		}
		if !slices.Equal(rows, b[table]) {
			t.Errorf("%s differs: sqlite %d rows, postgres %d rows; first difference:\n%s", table, len(rows), len(b[table]), firstDiff(rows, b[table]))
		}
	}
	t.Logf("identical: %d flights, %d visits, %d events", len(a["flights"]), len(a["sector_visits"]), len(a["sector_events"]))
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return "sqlite:   " + a[i] + "\npostgres: " + b[i]
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(a), len(b))
}

// TestRestartMidwaySplitsNothing replays the shared snapshots with a restart after the consecutive pair and
// compares with an uninterrupted replay: the same visits and events, none split, none duplicated.
func TestRestartMidwaySplitsNothing(t *testing.T) {
	files := shareddata.Feeds(t)
	split := slices.IndexFunc(files, func(f string) bool { return strings.HasSuffix(f, "2023-08-07T232944Z.json") }) + 1
	if split <= 0 || split >= len(files) {
		t.Fatalf("consecutive pair not found in %v", files)
	}
	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, whole *repository.Store) {
		replay(t, whole, sectors, replayDir(t, files...), nil)
		restarted := dbtest.Open(t, whole.Dialect(), repository.Pool{})
		replay(t, restarted, sectors, replayDir(t, files[:split]...), nil)
		openBefore := count(t, restarted, "SELECT COUNT(*) FROM sector_visits WHERE exited_at IS NULL")
		// A new runner on the same database is a restart: it loads open visits and live flights back.
		replay(t, restarted, sectors, replayDir(t, files[split:]...), nil)
		if openBefore == 0 {
			t.Fatal("no open visit at the restart: the test would prove nothing")
		}
		a, b := stored(t, whole), stored(t, restarted)
		for table := range a {
			if !slices.Equal(a[table], b[table]) {
				t.Errorf("%s differs after a restart: uninterrupted %d rows, restarted %d rows\n%s", table, len(a[table]), len(b[table]), firstDiff(a[table], b[table]))
			}
		}
		if n := count(t, restarted, "SELECT COUNT(*) FROM (SELECT flight_id, sector_id, entered_at FROM sector_visits GROUP BY flight_id, sector_id, entered_at HAVING COUNT(*) > 1) d"); n != 0 {
			t.Errorf("%d duplicated visits", n)
		}
		t.Logf("%d visits open across the restart, none split", openBefore)
	})
}

// TestQuietEveningCycleIsAHandfulOfStatements ingests a real 754-pilot snapshot and prints what it cost.
func TestQuietEveningCycleIsAHandfulOfStatements(t *testing.T) {
	file := sharedFile(t, "vatsim-data-2023-08-07T232929Z.json")
	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		r := replay(t, store, sectors, replayDir(t, file), nil)
		c := r.Status().LastCommitted
		if c == nil {
			t.Fatal("no committed cycle")
		}
		rows := c.FlightsWritten + c.FlightPlansWritten + c.PositionsWritten + c.VisitsOpened + c.EventsWritten + c.ControllersWritten + 1
		t.Logf("%s: %d pilots, %d rows written in %d statements (+ BEGIN/COMMIT)", store.Dialect(), c.Pilots, rows, c.Statements)
		if c.Pilots != 754 {
			t.Errorf("pilots = %d, want 754", c.Pilots)
		}
		// On PostgreSQL the transaction's session settings; the writer claim's renewal, then flights, plans,
		// positions, visits, events, controllers, sector hours and days, cycle record: one statement each (the
		// first cycle credits no observed time).
		want := 10
		if store.Dialect() == migrations.Postgres {
			want = 11
		}
		if c.Statements != want {
			t.Errorf("%d statements for %d rows, want %d", c.Statements, rows, want)
		}
	})
}
