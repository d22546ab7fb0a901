package repository_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

func TestSectorSnapshot(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		empty, err := s.SectorSnapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(empty.States) != 0 || empty.Sequence != 0 || empty.Cycle != nil {
			t.Errorf("empty database: %+v, want no sector, sequence 0, no cycle", empty)
		}
		fixture(t, s)
		for _, ids := range [][]domain.SectorRef{nil, vsAll("EGTT_S", "NOPE")} {
			snap, err := s.SectorSnapshot(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			states, err := s.SectorStates(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snap.States, states) {
				t.Errorf("sectors %v: states %v, want SectorStates' %v", ids, snap.States, states)
			}
			// Cycle 3 failed: the last committed one is 2, whose last event is 9.
			if snap.Sequence != 9 || snap.Cycle == nil || snap.Cycle.ID != 2 {
				t.Errorf("sectors %v: sequence %d, cycle %+v; want 9 and cycle 2", ids, snap.Sequence, snap.Cycle)
			}
		}
		// Every event pruned: the last committed cycle still says where the sequence is.
		if _, err := s.SQL().Exec("DELETE FROM sector_events"); err != nil {
			t.Fatal(err)
		}
		snap, err := s.SectorSnapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Sequence != 9 {
			t.Errorf("every event pruned: sequence %d, want 9 from the last cycle", snap.Sequence)
		}
	})
}

// A snapshot taken while cycles commit reflects exactly the cycles up to the one it names: its counts, its
// sequence and its cycle are of the same instant. Each cycle opens one visit, in a sector of its own, with one
// ENTRY event, so the three must agree.
func TestSectorSnapshotIsOneInstant(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fixture(t, s)
		const cycles = 40
		written := make(chan error, 1)
		go func() {
			for k := int64(1); k <= cycles; k++ {
				seq, id, at := 9+k, 3+k, t0.Add(time.Duration(30+15*k)*time.Second)
				sector := vs(fmt.Sprintf("S%d", k))
				w := &domain.CycleWrite{
					OpenedVisits: []domain.Visit{{ID: 100 + k, FlightID: baw9, Sector: sector, EnteredAt: at}},
					Events: []domain.Event{{Sequence: seq, Kind: domain.EventEntry, Sector: sector, OccurredAt: at, CycleID: id,
						Flight: &domain.FlightRef{ID: baw9, CID: 1000 + baw9, Callsign: "BAW9", VisitID: 100 + k}}},
					Cycle: domain.Cycle{ID: id, UpdateTimestamp: at, FetchedAt: at, FirstSequence: &seq, LastSequence: &seq},
				}
				if _, err := s.WriteCycle(ctx, w); err != nil {
					written <- err
					return
				}
			}
			written <- nil
		}()
		seen := map[int64]bool{}
		for done := false; !done; {
			select {
			case err := <-written:
				if err != nil {
					t.Fatal(err)
				}
				done = true
			default:
			}
			snap, err := s.SectorSnapshot(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			opened := 0
			for ref, st := range snap.States {
				if strings.HasPrefix(ref.ID, "S") {
					opened += st.Flights
				}
			}
			cycle := snap.Cycle.ID
			if want := max(cycle-3, 0); int64(opened) != want || snap.Sequence != 9+want {
				t.Fatalf("snapshot of cycle %d: %d visits opened, sequence %d; want %d and %d", cycle, opened, snap.Sequence, want, 9+want)
			}
			seen[cycle] = true
		}
		t.Logf("%d distinct cycles seen by the snapshots", len(seen))
	})
}
