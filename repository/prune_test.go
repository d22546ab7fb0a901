package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

func TestPruneDeletesOnlyOlderRows(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2023, 8, 7, 23, 29, 29, 0, time.UTC)
		for i := range 3 {
			if _, err := s.WriteCycle(ctx, cycleOf(int64(i+1), ts.Add(time.Duration(i)*time.Hour), 5)); err != nil {
				t.Fatal(err)
			}
		}
		// PostgreSQL drops positions by whole UTC days: a cutoff at 00:59:29 drops the day of the first cycle
		// only, and keeps the second, of 00:29:29, with the rest of its day.
		tests := []struct {
			name                string
			positions, events   time.Time
			wantPos, wantEvents int64
			wantPosPG           int64
		}{
			{"nothing before the first cycle", ts, ts, 0, 0, 0},
			{"positions only", ts.Add(90 * time.Minute), time.Time{}, 10, 0, 5},
			{"events only", time.Time{}, ts.Add(150 * time.Minute), 0, 15, 0},
		}
		for _, tt := range tests {
			got, err := s.Prune(ctx, tt.positions, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			if s.Dialect() == migrations.Postgres {
				tt.wantPos = tt.wantPosPG
			}
			if got.Positions != tt.wantPos || got.Events != tt.wantEvents {
				t.Errorf("%s: pruned %+v, want %d positions and %d events", tt.name, got, tt.wantPos, tt.wantEvents)
			}
		}
		if _, err := s.Prune(ctx, time.Time{}, ts.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, err := s.LoadState(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if st.MaxIDs.Sequence != 300005 {
			t.Errorf("after every event was pruned, the last sequence is %d, want 300005: sequences must not be reused", st.MaxIDs.Sequence)
		}
		var flights int64
		if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM flights").Scan(&flights); err != nil {
			t.Fatal(err)
		}
		if flights != 5 {
			t.Errorf("flights = %d after pruning, want 5 (history is kept)", flights)
		}
	})
}
