package ingest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// preSetsVersion is the last migration before sectors had sets (00007_sector_sets.sql).
const preSetsVersion = 6

// preSetsDatabase creates a fresh database of dialect d migrated only up to preSetsVersion and returns a store on
// it and the configuration to open it again with, as the upgraded instance does.
func preSetsDatabase(t *testing.T, d migrations.Dialect) (*repository.Store, repository.Config) {
	t.Helper()
	s, cfg, _ := dbtest.OpenAt(t, d, preSetsVersion)
	return s, cfg
}

// execRaw runs one statement written with ? placeholders, numbered for PostgreSQL.
func execRaw(t *testing.T, s *repository.Store, query string, args ...any) {
	t.Helper()
	if s.Dialect() == migrations.Postgres {
		var b strings.Builder
		n := 0
		for _, r := range query {
			if r == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(r)
		}
		query = b.String()
	}
	if _, err := s.SQL().ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// divSectors loads a GeoJSON file of one sector, EGTT over 50-52N 0-2E, as the set "div" (the file's name).
func divSectors(t *testing.T) *airspace.Airspace {
	t.Helper()
	square := [][][2]float64{{{0, 50}, {2, 50}, {2, 52}, {0, 52}, {0, 50}}}
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": []any{
		map[string]any{"type": "Feature", "id": "EGTT", "properties": map[string]any{"callsign_prefixes": []string{"EGTT"}},
			"geometry": map[string]any{"type": "Polygon", "coordinates": square}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "div.geojson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := airspace.LoadGeoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// hookedSource runs before once, on the ingest loop's goroutine, before its first snapshot is fetched: after the
// runner claimed the writer and loaded the state, before its first cycle.
type hookedSource struct {
	scripted
	before func()
}

func (s *hookedSource) Fetch(ctx context.Context) ([]byte, error) {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.scripted.Fetch(ctx)
}

// TestLegacyOpenVisitsContinueAfterUpgrade upgrades a database written before sectors had sets while a flight
// is inside EGTT, and ingests a snapshot that still shows it there: the visit goes on, given the set of the loaded
// EGTT, instead of being closed as sector_removed and opened again. Whether the sectors are loaded at start, or
// only come before the first cycle (a first download), the stored rows are adopted before the tracker uses them.
func TestLegacyOpenVisitsContinueAfterUpgrade(t *testing.T) {
	entered, last := t0.Add(-10*time.Minute), t0
	logon := t0.Add(-time.Hour)
	next := t0.Add(15 * time.Second)
	tests := []struct {
		name string
		// emptyAtStart starts the runner with no sectors loaded; they come before the first snapshot is fetched.
		emptyAtStart bool
	}{
		{name: "sectors loaded at start"},
		{name: "sectors loaded before the first cycle", emptyAtStart: true},
	}
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		for _, tt := range tests {
			t.Run(string(d)+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				legacy, cfg := preSetsDatabase(t, d)
				// What the instance of before stored: AAA1 online inside EGTT since its entry, and the cycle.
				p := pilot("AAA1", 51, 1, 5000, logon)
				execRaw(t, legacy, `INSERT INTO flights (id, cid, callsign, logon_time, name, server, pilot_rating,
					military_rating, latitude, longitude, altitude, groundspeed, heading, transponder, qnh_i_hg, qnh_mb,
					last_updated, first_seen, last_seen, disconnected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					1, p.CID, p.Callsign, logon, p.Name, p.Server, 0, nil, 51.0, 1.0, 5000, 250, 90, "2000", 29.92, 1013,
					last.Add(-2*time.Second), entered, last, nil)
				execRaw(t, legacy, `INSERT INTO positions (flight_id, observed_at, latitude, longitude, altitude, groundspeed, heading)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, 1, last, 51.0, 1.0, 5000, 250, 90)
				execRaw(t, legacy, `INSERT INTO sector_visits (id, flight_id, sector_id, entered_at, entry_latitude,
					entry_longitude, entry_altitude) VALUES (?, ?, ?, ?, ?, ?, ?)`, 7, 1, "EGTT", entered, 50.5, 0.5, 4000)
				execRaw(t, legacy, `INSERT INTO sector_events (sequence, kind, sector_id, occurred_at, cycle_id, cid, callsign,
					flight_id, visit_id, latitude, longitude, altitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					1, "entry", "EGTT", entered, 1, p.CID, p.Callsign, 1, 7, 50.5, 0.5, 4000)
				for i, ts := range []time.Time{entered, last} {
					execRaw(t, legacy, `INSERT INTO ingest_cycles (id, update_timestamp, fetched_at, committed_at, pilots,
						controllers, atis, flights_written, flight_plans_written, positions_written, visits_opened,
						visits_closed, events_written, controllers_written, first_sequence, last_sequence, statements,
						decode_us, classify_us, diff_us, write_us, commit_us, total_us)
						VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
						i+1, ts, ts, ts.Add(time.Second), 1, 0, 0, 1, 0, 1, 1-i, 0, 1-i, 0, 1, 1, 5, 1, 1, 1, 1, 1, 5)
				}
				if err := legacy.Close(); err != nil {
					t.Fatal(err)
				}

				store, err := repository.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = store.Close() })
				if _, err := store.Migrate(ctx); err != nil {
					t.Fatalf("migrate: %v", err)
				}
				const visitSet = "SELECT id, sector_set, sector_id FROM sector_visits ORDER BY id"
				if got, want := dump(t, store, visitSet), []string{"7||EGTT"}; !slices.Equal(got, want) {
					t.Fatalf("visits after migration %q, want %q", got, want)
				}

				div := divSectors(t)
				sectors := ingest.NewAirspaceSectors(div)
				src := &hookedSource{scripted: scripted{bodies: [][]byte{
					snapshot(t, next, []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
				}}}
				if tt.emptyAtStart {
					empty, err := airspace.New()
					if err != nil {
						t.Fatal(err)
					}
					sectors.Swap(empty)
					src.before = func() {
						// Started without sectors: nothing was adopted, the visit waits with its set unknown.
						if got, want := dump(t, store, visitSet), []string{"7||EGTT"}; !slices.Equal(got, want) {
							t.Errorf("visits before the first cycle %q, want %q (nothing adopted without sectors)", got, want)
						}
						sectors.Swap(div)
					}
				}
				r := run(t, store, sectors, src, nil)
				// Committed at the first try: a failed cycle reloads the state, which would hide a tracker that
				// resumed from the rows as they were before adoption.
				if st := r.Status(); st.Totals.Cycles != 1 || st.Totals.Failures != 0 || st.LastError != "" ||
					st.LastCommitted == nil || !st.LastCommitted.UpdateTimestamp.Equal(next) {
					t.Fatalf("status %+v: want the one snapshot committed at the first try", st)
				}

				if n := count(t, store, "SELECT COUNT(*) FROM sector_events WHERE exit_reason = 'sector_removed'"); n != 0 {
					t.Errorf("%d exits as sector_removed written, want none", n)
				}
				// The legacy visit is still open, now in div/EGTT, and is the flight's only visit.
				if got, want := dump(t, store, "SELECT id, flight_id, sector_set, sector_id, exited_at FROM sector_visits ORDER BY id"),
					[]string{"7|1|div|EGTT|NULL"}; !slices.Equal(got, want) {
					t.Errorf("visits %q, want %q", got, want)
				}
				// Its entry is the legacy one, given the set too: no second entry, no exit.
				if got, want := dump(t, store, "SELECT sequence, kind, sector_set, sector_id, flight_id, visit_id FROM sector_events ORDER BY sequence"),
					[]string{"1|entry|div|EGTT|1|7"}; !slices.Equal(got, want) {
					t.Errorf("events %q, want %q", got, want)
				}
				// The snapshot continued the legacy flight rather than starting another: its one row, seen last by
				// the new snapshot (its newest position).
				if got, want := dump(t, store, "SELECT id, callsign FROM flights ORDER BY id"), []string{"1|AAA1"}; !slices.Equal(got, want) {
					t.Errorf("flights %q, want %q", got, want)
				}
				if got, want := dump(t, store, "SELECT flight_id, observed_at FROM positions ORDER BY observed_at"),
					[]string{"1|" + last.Format(time.RFC3339Nano), "1|" + next.Format(time.RFC3339Nano)}; !slices.Equal(got, want) {
					t.Errorf("positions %q, want %q", got, want)
				}
				if d, err := store.FlightByID(ctx, 1, repository.DetailLimits{Visits: 1}); err != nil {
					t.Error(err)
				} else if !d.Flight.LastSeen.Equal(next) {
					t.Errorf("flight last seen %s, want %s", d.Flight.LastSeen, next)
				}
			})
		}
	}
}
