package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// customSectors writes a GeoJSON file with two stacked sectors over the same square (LOW below FL100, HIGH from
// FL100) staffed by TST_CTR, and loads it.
func customSectors(t testing.TB) *ingest.AirspaceSectors {
	t.Helper()
	square := [][][2]float64{{{0, 50}, {2, 50}, {2, 52}, {0, 52}, {0, 50}}}
	fc := map[string]any{"type": "FeatureCollection", "features": []any{
		map[string]any{"type": "Feature", "id": "LOW", "properties": map[string]any{"ceiling_ft": 10000, "callsign_prefixes": []string{"TST"}},
			"geometry": map[string]any{"type": "Polygon", "coordinates": square}},
		map[string]any{"type": "Feature", "id": "HIGH", "properties": map[string]any{"floor_ft": 10000, "callsign_prefixes": []string{"TST"}},
			"geometry": map[string]any{"type": "Polygon", "coordinates": square}},
	}}
	b, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.geojson")
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
	return ingest.NewAirspaceSectors(a)
}

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func pilot(callsign string, lat, lon float64, alt int, logon time.Time) feed.Pilot {
	return feed.Pilot{CID: 1000001, Name: "Member 1000001", Callsign: callsign, Server: "TEST", Latitude: lat,
		Longitude: lon, Altitude: alt, Groundspeed: 250, Heading: 90, Transponder: "2000", QNHInHg: 29.92,
		QNHMb: 1013, LogonTime: logon, LastUpdated: logon}
}

func snapshot(t testing.TB, at time.Time, pilots []feed.Pilot, controllers []feed.Controller) []byte {
	t.Helper()
	for i := range pilots {
		pilots[i].LastUpdated = at.Add(-2 * time.Second)
	}
	s := feed.Snapshot{General: feed.General{Version: 3, Update: at.Format("20060102150405"), UpdateTimestamp: at,
		ConnectedClients: len(pilots) + len(controllers), UniqueUsers: 1}, Pilots: pilots, Controllers: controllers}
	if s.Pilots == nil {
		s.Pilots = []feed.Pilot{}
	}
	if s.Controllers == nil {
		s.Controllers = []feed.Controller{}
	}
	s.ATIS = []feed.Controller{}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scripted is a finite source returning prepared bodies, then io.EOF.
type scripted struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *scripted) Fetch(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		return nil, io.EOF
	}
	b := s.bodies[0]
	s.bodies = s.bodies[1:]
	return b, nil
}

func (s *scripted) String() string { return "scripted" }

func events(t testing.TB, store *repository.Store) []string {
	t.Helper()
	rows := dump(t, store, "SELECT occurred_at, kind, sector_id, callsign, exit_reason FROM sector_events ORDER BY sequence")
	for i, r := range rows {
		rows[i] = strings.ReplaceAll(r, "|NULL", "")
	}
	return rows
}

func TestTracking(t *testing.T) {
	ts := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339Nano) }
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	logon := t0.Add(-time.Hour)
	ctr := feed.Controller{CID: 2000001, Name: "Member 2000001", Callsign: "TST_CTR", Frequency: "128.050",
		Facility: feed.FacilityCenter, Rating: 5, Server: "TEST", VisualRange: 300, LogonTime: logon, LastUpdated: logon}
	obs := feed.Controller{CID: 2000002, Name: "Member 2000002", Callsign: "TST_OBS", Frequency: feed.NoFrequency,
		Facility: feed.FacilityObserver, Rating: 1, Server: "TEST", LogonTime: logon, LastUpdated: logon}
	tests := []struct {
		name  string
		snaps [][]byte
		want  []string
	}{{
		name: "climbing through a band boundary is an exit and an entry",
		snaps: [][]byte{
			snapshot(t, at(0), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(15), []feed.Pilot{pilot("AAA1", 51, 1, 12000, logon)}, nil),
		},
		want: []string{ts(0) + "|entry|LOW|AAA1", ts(15) + "|exit|LOW|AAA1|left", ts(15) + "|entry|HIGH|AAA1"},
	}, {
		name: "leaving laterally closes the visit at the first snapshot outside",
		snaps: [][]byte{
			snapshot(t, at(0), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(15), []feed.Pilot{pilot("AAA1", 51, 1.9, 5000, logon)}, nil),
			snapshot(t, at(30), []feed.Pilot{pilot("AAA1", 51, 2.1, 5000, logon)}, nil),
		},
		want: []string{ts(0) + "|entry|LOW|AAA1", ts(30) + "|exit|LOW|AAA1|left"},
	}, {
		name: "missing within the grace period keeps the visit open",
		snaps: [][]byte{
			snapshot(t, at(0), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(15), nil, nil),
			snapshot(t, at(240), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
		},
		want: []string{ts(0) + "|entry|LOW|AAA1"},
	}, {
		name: "missing beyond the grace period closes the visit at last seen",
		snaps: [][]byte{
			snapshot(t, at(0), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(15), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(30), nil, nil),
			snapshot(t, at(330), nil, nil),
		},
		want: []string{ts(0) + "|entry|LOW|AAA1", ts(15) + "|exit|LOW|AAA1|disconnected"},
	}, {
		name: "a new connection with the same callsign is another flight",
		snaps: [][]byte{
			snapshot(t, at(0), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, at(15), []feed.Pilot{pilot("AAA1", 51, 1, 5000, at(10))}, nil),
			snapshot(t, at(400), []feed.Pilot{pilot("AAA1", 51, 1, 5000, at(10))}, nil),
		},
		want: []string{ts(0) + "|entry|LOW|AAA1", ts(15) + "|entry|LOW|AAA1", ts(0) + "|exit|LOW|AAA1|disconnected"},
	}, {
		name: "a controller staffs and unstaffs; an observer staffs nothing",
		snaps: [][]byte{
			snapshot(t, at(0), nil, []feed.Controller{ctr, obs}),
			snapshot(t, at(15), nil, []feed.Controller{ctr, obs}),
			snapshot(t, at(30), nil, []feed.Controller{obs}),
			snapshot(t, at(400), nil, []feed.Controller{obs}),
		},
		want: []string{ts(0) + "|staffed|HIGH|TST_CTR", ts(0) + "|staffed|LOW|TST_CTR",
			ts(15) + "|unstaffed|HIGH|TST_CTR", ts(15) + "|unstaffed|LOW|TST_CTR"},
	}}
	sectors := customSectors(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := dbtest.Open(t, migrations.SQLite, repository.Pool{})
			run(t, store, sectors, &scripted{bodies: tt.snaps}, nil)
			if got := events(t, store); !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSnapshotsAlreadyIngestedOrMalformedWriteNothing(t *testing.T) {
	sectors := customSectors(t)
	logon := t0.Add(-time.Hour)
	first := snapshot(t, t0, []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil)
	malformed := []byte(strings.Replace(string(snapshot(t, t0.Add(15*time.Second), []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil)),
		`"latitude":51`, `"latitude":"north"`, 1))
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		r := run(t, store, sectors, &scripted{bodies: [][]byte{first, first, malformed, []byte("{"), first}}, nil)
		st := r.Status()
		if st.Totals.Cycles != 1 || st.Totals.Skipped != 2 || st.Totals.DecodeErrors != 2 {
			t.Errorf("totals %+v: want 1 cycle, 2 skipped, 2 decode errors", st.Totals)
		}
		if !strings.Contains(st.LastError, "decode") {
			t.Errorf("last error %q does not name the decode failure", st.LastError)
		}
		for table, want := range map[string]int64{"flights": 1, "positions": 1, "sector_events": 1, "ingest_cycles": 1} {
			if n := count(t, store, "SELECT COUNT(*) FROM "+table); n != want {
				t.Errorf("%s: %d rows, want %d", table, n, want)
			}
		}
	})
}

// TestFailedCycleRollsBackAndIsRetried makes the first commit of a cycle fail inside the database (a trigger
// counting with a sequence, which is not rolled back) and checks that nothing of it was stored, the failure was
// recorded, and the retry stores exactly what a clean run does.
func TestFailedCycleRollsBackAndIsRetried(t *testing.T) {
	sectors := customSectors(t)
	logon := t0.Add(-time.Hour)
	snaps := func() [][]byte {
		return [][]byte{
			snapshot(t, t0, []feed.Pilot{pilot("AAA1", 51, 1, 5000, logon)}, nil),
			snapshot(t, t0.Add(15*time.Second), []feed.Pilot{pilot("AAA1", 51, 1, 12000, logon)}, nil),
		}
	}
	clean := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	run(t, clean, sectors, &scripted{bodies: snaps()}, nil)

	store := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	for _, stmt := range []string{
		`CREATE SEQUENCE cycle_attempts`,
		`CREATE FUNCTION fail_second_cycle_once() RETURNS trigger AS $$
		 BEGIN
		   IF NEW.error IS NULL AND NEW.id = 2 AND nextval('cycle_attempts') = 1 THEN
		     RAISE EXCEPTION 'injected failure';
		   END IF;
		   RETURN NEW;
		 END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER fail_second_cycle_once BEFORE INSERT ON ingest_cycles FOR EACH ROW EXECUTE FUNCTION fail_second_cycle_once()`,
	} {
		if _, err := store.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, store, sectors, &scripted{bodies: snaps()}, nil)
	if st := r.Status(); st.Totals.Cycles != 2 || st.Totals.Failures != 1 {
		t.Errorf("totals %+v: want 2 cycles committed after 1 failure", st.Totals)
	}
	if n := count(t, store, "SELECT COUNT(*) FROM ingest_cycles WHERE error LIKE '%injected failure%' AND committed_at IS NULL"); n != 1 {
		t.Errorf("%d failed cycle records without a commit time, want 1", n)
	}
	if n := count(t, store, "SELECT COUNT(*) FROM ingest_cycles WHERE error IS NULL AND committed_at IS NOT NULL AND write_us > 0"); n != 2 {
		t.Errorf("%d committed cycle records with their commit time and write duration, want 2", n)
	}
	// The failed attempt's record took cycle id 2, so the retry is cycle 3: compare events without it.
	a, b := stored(t, clean), stored(t, store)
	const events = "SELECT sequence, kind, sector_id, occurred_at, flight_id, visit_id, exit_reason FROM sector_events ORDER BY sequence"
	a["sector_events"], b["sector_events"] = dump(t, clean, events), dump(t, store, events)
	for table := range a {
		if !slices.Equal(a[table], b[table]) {
			t.Errorf("%s after a failed and retried cycle differs from a clean run:\n%s", table, firstDiff(a[table], b[table]))
		}
	}
}

// TestOneConnectionPoolNeverLeaks runs many cycles on a pool of one connection with short deadlines: a cycle
// that kept its connection would make the next one wait out its deadline and fail.
func TestOneConnectionPoolNeverLeaks(t *testing.T) {
	sectors := customSectors(t)
	const cycles = 60
	bodies := make([][]byte, 0, cycles)
	logon := t0.Add(-time.Hour)
	for i := range cycles {
		var pilots []feed.Pilot
		for j := range 50 {
			pilots = append(pilots, pilot(fmt.Sprintf("P%d", j), 50.5+float64((i+j)%30)/20, 0.5, 1000*((i+j)%15), logon))
		}
		bodies = append(bodies, snapshot(t, t0.Add(time.Duration(i)*15*time.Second), pilots, nil))
	}
	dbtest.Run(t, repository.Pool{MaxOpen: 1, MaxIdle: 1}, func(t *testing.T, store *repository.Store) {
		r, err := ingest.NewRunner(ingest.Config{Source: &scripted{bodies: bodies}, Store: store, Sectors: sectors.Current,
			WriteTimeout: 2 * time.Second, Attempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		st := r.Status()
		if st.Totals.Cycles != cycles || st.Totals.Failures != 0 {
			t.Errorf("totals %+v: want %d cycles and no failure", st.Totals, cycles)
		}
		if p := store.PoolStats(); p.InUse != 0 || p.MaxOpenConnections != 1 {
			t.Errorf("pool after %d cycles: %+v", cycles, p)
		}
		// Ingest's own pool: every cycle found its connection idle, none waited, none is left in use.
		if p := store.IngestPoolStats(); p.InUse != 0 || p.WaitCount != 0 || p.MaxOpenConnections != repository.IngestPoolSize {
			t.Errorf("ingest pool after %d cycles: %+v, want nothing in use and no wait", cycles, p)
		}
		// SQLite's log is checkpointed after each publish, on the same single connection; PostgreSQL's is not ours.
		if sqlite := store.Dialect() == migrations.SQLite; sqlite != (st.LastCheckpoint > 0) {
			t.Errorf("%s: last checkpoint took %v", store.Dialect(), st.LastCheckpoint)
		}
	})
}
