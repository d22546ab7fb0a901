package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// A position's coverage is stored and read back as it was written: unknown as NULL (never as off frequency),
// none as false, working as true with the controller.
func TestPositionCoverageRoundTrips(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
		w := cycleOf(1, ts, 3)
		w.Positions[1].Coverage = domain.CoverageNone
		w.Positions[2].Coverage, w.Positions[2].ControllerID = domain.CoverageWorking, 42
		if _, err := s.WriteCycle(ctx, w); err != nil {
			t.Fatal(err)
		}
		rows := queryRows(t, s.SQL(), `SELECT flight_id, CASE WHEN on_frequency IS NULL THEN 'unknown' WHEN on_frequency
			THEN 'on' ELSE 'off' END, controller_id FROM positions ORDER BY flight_id`)
		want := []string{"1|unknown|NULL", "2|off|NULL", "3|on|42"}
		if len(rows) != len(want) {
			t.Fatalf("rows %v, want %v", rows, want)
		}
		for i := range want {
			if rows[i] != want[i] {
				t.Errorf("row %d: %s, want %s", i, rows[i], want[i])
			}
		}
		for i, p := range w.Positions {
			d, err := s.FlightByID(ctx, p.FlightID, repository.DetailLimits{Visits: 10, TrackPoints: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Track) != 1 || d.Track[0].Coverage != p.Coverage || d.Track[0].ControllerID != p.ControllerID {
				t.Errorf("flight %d: track %+v, want coverage %d controller %d", i+1, d.Track, p.Coverage, p.ControllerID)
			}
		}
	})
}
