package repository_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// TestReadsTakeAnOnlineFlightsNewestPosition writes flights the way the tracker does, the row only when a flight
// connects or disconnects and a position every cycle, and checks that every read returns each flight as of its
// newest position while it is online, and as its row once disconnected, also after retention has pruned what
// it may.
func TestReadsTakeAnOnlineFlightsNewestPosition(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		t1, t2 := t0.Add(15*time.Second), t0.Add(30*time.Second)
		row := func(id int64, callsign string) domain.Flight {
			return domain.Flight{
				ID: id, CID: 1000 + id, Callsign: callsign, LogonTime: t0.Add(-time.Hour), Name: "Member",
				Server: "UK", PilotRating: 1, MilitaryRating: ptr(2), Latitude: 50, Longitude: -1, Altitude: 1000,
				Groundspeed: 100, Heading: 10, Transponder: "2000", QNHInHg: 29.92, QNHMb: 1013,
				LastUpdated: t0.Add(-time.Second), FirstSeen: t0, LastSeen: t0,
			}
		}
		pos := func(id int64, at time.Time, n int) domain.Position {
			return domain.Position{FlightID: id, ObservedAt: at, Latitude: 50 + float64(n)/4, Longitude: -1 - float64(n)/8,
				Altitude: 1000 + 500*n, Groundspeed: 100 + 10*n, Heading: 10 + n, LastUpdated: at.Add(-time.Duration(n) * time.Millisecond)}
		}
		// as is a flight's row with the per-cycle fields of a position.
		as := func(f domain.Flight, p domain.Position) domain.Flight {
			f.Latitude, f.Longitude, f.Altitude, f.Groundspeed, f.Heading = p.Latitude, p.Longitude, p.Altitude, p.Groundspeed, p.Heading
			f.LastUpdated, f.LastSeen = p.LastUpdated, p.ObservedAt
			return f
		}
		const online, gone = 1, 2
		a, b := row(online, "BAW1"), row(gone, "BAW2")
		cycle := func(id int64, at time.Time, flights []domain.Flight, positions ...domain.Position) *domain.CycleWrite {
			return &domain.CycleWrite{Flights: flights, Positions: positions,
				Cycle: domain.Cycle{ID: id, UpdateTimestamp: at, FetchedAt: at}}
		}
		c1 := cycle(1, t0, []domain.Flight{as(a, pos(online, t0, 0)), as(b, pos(gone, t0, 0))}, pos(online, t0, 0), pos(gone, t0, 0))
		c1.OpenedVisits = []domain.Visit{{ID: 1, FlightID: online, Sector: vs("EGTT"), EnteredAt: t0}}
		c2 := cycle(2, t1, nil, pos(online, t1, 1), pos(gone, t1, 1))
		// BAW2 missing past the grace period: its row is written whole, as last seen.
		disconnected := as(b, pos(gone, t1, 1))
		disconnected.DisconnectedAt = &t1
		c3 := cycle(3, t2, []domain.Flight{disconnected}, pos(online, t2, 2))
		for _, c := range []*domain.CycleWrite{c1, c2, c3} {
			if _, err := s.WriteCycle(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		wantOnline := as(a, pos(online, t2, 2))

		check := func(when string) {
			t.Helper()
			same := func(what string, got, want domain.Flight) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s\n got %+v\nwant %+v", when, what, got, want)
				}
			}
			list, err := s.ListFlights(ctx, repository.FlightFilter{}, nil, 10)
			if err != nil || len(list) != 1 {
				t.Fatalf("%s: list %v, %v: want the online flight", when, list, err)
			}
			same("listed", list[0].Flight, wantOnline)
			all, err := s.ListFlights(ctx, repository.FlightFilter{IncludeOffline: true}, nil, 10)
			if err != nil || len(all) != 2 {
				t.Fatalf("%s: list with offline %v, %v: want both", when, all, err)
			}
			same("listed with offline", all[0].Flight, wantOnline)
			same("listed disconnected", all[1].Flight, disconnected)
			// Seen since t2: the online flight by its newest position, though its row says t0.
			seen, err := s.ListFlights(ctx, repository.FlightFilter{IncludeOffline: true, SeenFrom: t2}, nil, 10)
			if err != nil || len(seen) != 1 || seen[0].Flight.ID != online {
				t.Errorf("%s: seen since t2 %v, %v: want the online flight only", when, seen, err)
			}
			if seen, err := s.ListFlights(ctx, repository.FlightFilter{IncludeOffline: true, SeenFrom: t1}, nil, 10); err != nil || len(seen) != 2 {
				t.Errorf("%s: seen since t1 %v, %v: want both", when, seen, err)
			}
			for id, want := range map[int64]domain.Flight{online: wantOnline, gone: disconnected} {
				d, err := s.FlightByID(ctx, id, repository.DetailLimits{Visits: 10})
				if err != nil {
					t.Fatal(err)
				}
				same("by id", d.Flight, want)
				sum, err := s.FlightSummaryByID(ctx, id, 10)
				if err != nil {
					t.Fatal(err)
				}
				same("summary", sum.Flight, want)
			}
			d, err := s.OnlineFlightByCallsign(ctx, "baw1", repository.DetailLimits{Visits: 10})
			if err != nil {
				t.Fatal(err)
			}
			same("by callsign", d.Flight, wantOnline)
			occ, err := s.SectorOccupancy(ctx, vs("EGTT"), nil, 10)
			if err != nil || len(occ.Occupants) != 1 {
				t.Fatalf("%s: occupancy %+v, %v: want the online flight", when, occ, err)
			}
			same("occupant", occ.Occupants[0].Flight, wantOnline)
			st, err := s.LoadState(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Flights) != 1 || len(st.Departed) != 1 {
				t.Fatalf("%s: state flights %+v, departed %+v", when, st.Flights, st.Departed)
			}
			same("state", st.Flights[0], wantOnline)
			same("state departed", st.Departed[0], disconnected)
		}
		check("after three cycles")

		// A retention shorter than the grace period keeps the online flight's newest position, whatever the
		// cutoff; the disconnected flight's row holds its state without any.
		pruned, err := s.Prune(ctx, t2.Add(time.Hour), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// PostgreSQL drops whole days, and the day of the online flight's newest position holds them all.
		want := map[migrations.Dialect]int64{migrations.SQLite: 4, migrations.Postgres: 0}[s.Dialect()]
		if pruned.Positions != want {
			t.Errorf("pruned %d positions, want %d (all but the online flight's newest, by row or by day)", pruned.Positions, want)
		}
		check("after pruning")
	})
}

func ptr[T any](v T) *T { return &v }
