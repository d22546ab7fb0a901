package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/repository"
)

// TestReplaySummariesMatchStoredRows replays the shared snapshots and checks the history answers against the
// stored rows, by brute force: every flight's summary lists exactly its stored visits, and every controller
// session counts exactly the distinct flights that had a visit in one of its sectors overlapping the session
// (entered before it ended, not exited before it began).
func TestReplaySummariesMatchStoredRows(t *testing.T) {
	dir := replayDir(t, shareddata.Feeds(t)...)
	sectors := loadVATSpy(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		replay(t, store, sectors, dir, nil)
		ctx := context.Background()

		// Stored visits by flight, as id|set/id|entered|exited.
		type visit struct {
			id, flight int64
			sector     domain.SectorRef
			entered    time.Time
			exited     *time.Time
		}
		rows, err := store.SQL().QueryContext(ctx, `SELECT id, flight_id, sector_set, sector_id, entered_at, exited_at FROM sector_visits`)
		if err != nil {
			t.Fatal(err)
		}
		var visits []visit
		for rows.Next() {
			var v visit
			if err := rows.Scan(&v.id, &v.flight, &v.sector.Set, &v.sector.ID, &v.entered, &v.exited); err != nil {
				t.Fatal(err)
			}
			visits = append(visits, v)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		byFlight := map[int64][]string{}
		for _, v := range visits {
			byFlight[v.flight] = append(byFlight[v.flight], fmt.Sprint(v.id, "|", v.sector))
		}
		flights := dump(t, store, "SELECT id FROM flights ORDER BY id")
		if len(flights) < 1000 || len(visits) < 1000 {
			t.Fatalf("%d flights and %d visits: the replay stored less than the shared snapshots hold", len(flights), len(visits))
		}
		for _, f := range flights {
			var id int64
			fmt.Sscan(f, &id)
			sum, err := store.FlightSummaryByID(ctx, id, 10_000)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range sum.Visits {
				got = append(got, fmt.Sprint(v.ID, "|", v.Sector))
			}
			want := byFlight[id]
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) || sum.VisitsTruncated {
				t.Errorf("flight %d: summary visits %v, stored %v", id, got, want)
			}
		}

		var sessions []domain.ControllerSession
		var after *repository.Key
		for {
			page, err := store.ListControllerSessions(ctx, repository.SessionFilter{}, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, page...)
			if len(page) < 100 {
				break
			}
			last := page[len(page)-1].Controller
			after = &repository.Key{Callsign: last.Callsign, ID: last.ID}
		}
		counted := 0
		for _, s := range sessions {
			mine := map[domain.SectorRef]bool{}
			for _, r := range s.Controller.Sectors {
				mine[r] = true
			}
			distinct := map[int64]bool{}
			for _, v := range visits {
				if mine[v.sector] && v.entered.Before(s.End) && (v.exited == nil || v.exited.After(s.Start)) {
					distinct[v.flight] = true
				}
			}
			if s.DistinctFlights != len(distinct) {
				t.Errorf("session %d %s [%v, %v) in %v: %d distinct flights, the stored visits say %d", s.Controller.ID,
					s.Controller.Callsign, s.Start, s.End, s.Controller.Sectors, s.DistinctFlights, len(distinct))
			}
			if len(distinct) > 0 {
				counted++
			}
		}
		if counted < 10 {
			t.Errorf("only %d of %d sessions had flights in their sectors: the check checked little", counted, len(sessions))
		}
		t.Logf("%d flights' summaries and %d controller sessions (%d with flights) checked against %d stored visits",
			len(flights), len(sessions), counted, len(visits))
	})
}
