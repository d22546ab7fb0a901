package repository_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// legacyVersion is the last migration of the schema before sectors had sets (00007_sector_sets.sql).
const legacyVersion = 6

// legacyDatabase creates a fresh database of dialect d migrated only up to legacyVersion, as an instance of
// before sector sets left it, and returns a store open on it and the configuration to open it again with (the
// upgraded instance).
func legacyDatabase(t *testing.T, d migrations.Dialect) (*repository.Store, repository.Config) {
	t.Helper()
	s, cfg, _ := dbtest.OpenAt(t, d, legacyVersion)
	return s, cfg
}

// reopen opens the database again, as the upgraded instance does, checking at the end that no connection leaked.
func reopen(t *testing.T, cfg repository.Config) *repository.Store {
	t.Helper()
	s, err := repository.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if st := s.PoolStats(); st.InUse != 0 {
			t.Errorf("pool leak: %d connections in use", st.InUse)
		}
		if st := s.IngestPoolStats(); st.InUse != 0 {
			t.Errorf("ingest pool leak: %d connections in use", st.InUse)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// rawExec runs one statement written with ? placeholders, numbered for PostgreSQL.
func rawExec(t *testing.T, s *repository.Store, query string, args ...any) {
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

// queryRows renders a query's rows as text, one line per row, times in UTC.
func queryRows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				fields[i] = "NULL"
			case time.Time:
				fields[i] = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				fields[i] = string(x)
			default:
				fields[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(fields, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func columnsOf(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(cols)
	return cols
}

// legacyTables are the tables of version 6 that hold rows, with the order their rows are dumped in.
var legacyTables = []struct{ name, order string }{
	{"flights", "id"}, {"flight_plans", "flight_id"}, {"positions", "flight_id, observed_at"},
	{"sector_visits", "id"}, {"sector_events", "sequence"}, {"controllers", "id"}, {"ingest_cycles", "id"},
}

// legacyColumns lists each table's columns at version 6, but controllers.sectors, which 00007 rewrites.
func legacyColumns(t *testing.T, s *repository.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range legacyTables {
		out[tb.name] = slices.DeleteFunc(columnsOf(t, s.SQL(), tb.name), func(c string) bool {
			return tb.name == "controllers" && c == "sectors"
		})
	}
	return out
}

// dumpColumns dumps every legacy table's rows over the given columns.
func dumpColumns(t *testing.T, s *repository.Store, cols map[string][]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range legacyTables {
		out[tb.name] = queryRows(t, s.SQL(), "SELECT "+strings.Join(cols[tb.name], ", ")+" FROM "+tb.name+" ORDER BY "+tb.order)
	}
	return out
}

// dumpAll dumps every legacy table's rows over all their columns now.
func dumpAll(t *testing.T, s *repository.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range legacyTables {
		out[tb.name] = queryRows(t, s.SQL(), "SELECT * FROM "+tb.name+" ORDER BY "+tb.order)
	}
	return out
}

// fillLegacy inserts, with the statements of the version 6 schema, what an instance of before sector sets stored:
// three flights (BAW1 and DLH2 online, AAL3 disconnected), a plan, positions, open and closed visits in EGTT,
// EGTT_S and GONE (an id no loaded set will have), events of every kind, controllers staffing "EGTT EGTT_S",
// nothing (an observer) and "EGTT_S GONE" (disconnected), committed cycles and a failed one.
func fillLegacy(t *testing.T, s *repository.Store, t0 time.Time) {
	t.Helper()
	c1, c2, t1 := t0.Add(-10*time.Minute), t0.Add(-5*time.Minute), t0.Add(15*time.Second)
	logon := t0.Add(-time.Hour)
	zero := 0
	flight := func(id int64, callsign string, military *int, disconnected *time.Time) {
		rawExec(t, s, `INSERT INTO flights (id, cid, callsign, logon_time, name, server, pilot_rating, military_rating,
			latitude, longitude, altitude, groundspeed, heading, transponder, qnh_i_hg, qnh_mb, last_updated,
			first_seen, last_seen, disconnected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, 1000000+id, callsign, logon, "Member "+callsign, "UK-1", 1, military, 51.4775+float64(id)/1000, -0.461389,
			35000+int(id), 450, 270, "2200", 29.92, 1013, t1.Add(-2*time.Second), c1, t1, disconnected)
	}
	flight(1, "BAW1", nil, nil)
	flight(2, "DLH2", &zero, nil)
	flight(3, "AAL3", nil, &t0)
	rawExec(t, s, `INSERT INTO flight_plans (flight_id, flight_rules, aircraft, aircraft_faa, aircraft_short, departure,
		arrival, alternate, cruise_tas, altitude, deptime, enroute_time, fuel_time, remarks, route, revision_id,
		assigned_transponder, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		1, "I", "B77W/H-SDE3FGHIJ2J3J4J5M1RWXY/LB1D1", "H/B77W/L", "B77W", "EGLL", "KJFK", "KBOS", "490", "35000",
		"0900", "0700", "0900", "PBN/A1B1 /v/", "MODMI2J MODMI L9 KENET", 3, "2200", c1)
	for _, p := range []struct {
		flight int64
		at     time.Time
	}{{1, t0}, {1, t1}, {2, t1}, {3, c2}} {
		rawExec(t, s, `INSERT INTO positions (flight_id, observed_at, latitude, longitude, altitude, groundspeed, heading)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, p.flight, p.at, 51.5, -0.5, 35000, 450, 270)
	}
	visit := func(id, flight int64, sector string, entered time.Time, exited *time.Time, reason string) {
		var lat, lon, dur *float64
		var alt *int
		var why *string
		if exited != nil {
			la, lo, d, a := 52.25, 1.75, exited.Sub(entered).Seconds(), 36000
			lat, lon, dur, alt, why = &la, &lo, &d, &a, &reason
		}
		rawExec(t, s, `INSERT INTO sector_visits (id, flight_id, sector_id, entered_at, entry_latitude, entry_longitude,
			entry_altitude, exited_at, exit_latitude, exit_longitude, exit_altitude, exit_reason, duration_seconds)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, flight, sector, entered, 51.25, -0.125, 12000+int(id), exited, lat, lon, alt, why, dur)
	}
	visit(1, 1, "EGTT", t0, nil, "")
	visit(2, 1, "EGTT_S", t0, nil, "")
	visit(3, 2, "GONE", t0, nil, "")
	visit(4, 3, "EGTT", c1, &t0, string(domain.ExitDisconnected))
	visit(5, 2, "EGTT", c2, &t0, string(domain.ExitLeft))
	type ev struct {
		seq         int64
		kind        domain.EventKind
		sector      string
		at          time.Time
		cycle       int64
		flight      int64 // or controller, for staffing events
		visit       int64
		exitSeconds float64
		reason      domain.ExitReason
	}
	for _, e := range []ev{
		{1, domain.EventEntry, "EGTT", c1, 1, 3, 4, 0, ""},
		{2, domain.EventStaffed, "EGTT", c1, 1, 1, 0, 0, ""},
		{3, domain.EventStaffed, "EGTT_S", c1, 1, 1, 0, 0, ""},
		{4, domain.EventStaffed, "EGTT_S", c1, 1, 3, 0, 0, ""},
		{5, domain.EventStaffed, "GONE", c1, 1, 3, 0, 0, ""},
		{6, domain.EventEntry, "EGTT", c2, 2, 2, 5, 0, ""},
		{7, domain.EventEntry, "EGTT", t0, 3, 1, 1, 0, ""},
		{8, domain.EventEntry, "EGTT_S", t0, 3, 1, 2, 0, ""},
		{9, domain.EventExit, "EGTT", t0, 3, 2, 5, 300, domain.ExitLeft},
		{10, domain.EventExit, "EGTT", t0, 3, 3, 4, 600, domain.ExitDisconnected},
		{11, domain.EventEntry, "GONE", t0, 3, 2, 3, 0, ""},
		{12, domain.EventUnstaffed, "GONE", t1, 4, 3, 0, 0, ""},
	} {
		var flightID, visitID, controllerID *int64
		var lat, lon, dur *float64
		var alt *int
		var reason *string
		cid, callsign := 1000000+e.flight, ""
		switch e.kind {
		case domain.EventEntry, domain.EventExit:
			callsign = map[int64]string{1: "BAW1", 2: "DLH2", 3: "AAL3"}[e.flight]
			flightID, visitID = &e.flight, &e.visit
			la, lo, a := 51.25, -0.125, 12000
			lat, lon, alt = &la, &lo, &a
			if e.kind == domain.EventExit {
				r := string(e.reason)
				reason, dur = &r, &e.exitSeconds
			}
		default:
			cid, callsign = 2000000+e.flight, map[int64]string{1: "EGTT_CTR", 3: "GON_CTR"}[e.flight]
			controllerID = &e.flight
		}
		rawExec(t, s, `INSERT INTO sector_events (sequence, kind, sector_id, occurred_at, cycle_id, cid, callsign,
			flight_id, visit_id, controller_id, latitude, longitude, altitude, exit_reason, duration_seconds)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.seq, string(e.kind), e.sector, e.at, e.cycle, cid, callsign, flightID, visitID, controllerID, lat, lon,
			alt, reason, dur)
	}
	controller := func(id int64, callsign string, kind domain.ControllerKind, facility int, sectors string, lastSeen, disconnected *time.Time) {
		var atis *string
		if kind == domain.KindObserver {
			text := "observing"
			atis = &text
		}
		rawExec(t, s, `INSERT INTO controllers (id, cid, callsign, logon_time, kind, name, frequency, facility, rating,
			server, visual_range, atis_code, text_atis, sectors, last_updated, first_seen, last_seen, disconnected_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, 2000000+id, callsign, logon, string(kind), "Member "+callsign, "127.825", facility, 5, "UK-1", 300,
			nil, atis, sectors, c1, c1, lastSeen, disconnected)
	}
	controller(1, "EGTT_CTR", domain.KindController, 6, "EGTT EGTT_S", nil, nil)
	controller(2, "LON_OBS", domain.KindObserver, 0, "", nil, nil)
	controller(3, "GON_CTR", domain.KindController, 6, "EGTT_S GONE", &t0, &t1)
	cycle := func(id int64, ts time.Time, first, last *int64, failure *string) {
		var committed *time.Time
		if failure == nil {
			at := ts.Add(2 * time.Second)
			committed = &at
		}
		rawExec(t, s, `INSERT INTO ingest_cycles (id, update_timestamp, fetched_at, committed_at, pilots, controllers,
			atis, flights_written, flight_plans_written, positions_written, visits_opened, visits_closed,
			events_written, controllers_written, first_sequence, last_sequence, statements, decode_us, classify_us,
			diff_us, write_us, commit_us, total_us, error, duplicate_entries, rejected_entries)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, ts, ts.Add(time.Second), committed, 3, 3, 0, 3, 1, 3, 2, 2, 5, 3, first, last, 7, 1200, 300, 40,
			5000, 900, 8000, failure, 1, 2)
	}
	seq := func(n int64) *int64 { return &n }
	boom := "write: connection reset"
	cycle(1, c1, seq(1), seq(5), nil)
	cycle(2, c2, seq(6), seq(6), nil)
	cycle(3, t0, seq(7), seq(11), nil)
	cycle(4, t1, seq(12), seq(12), nil)
	cycle(5, t1.Add(15*time.Second), nil, nil, &boom)
}

// TestLegacyDatabaseMigratesAndAdoptsSectorSets upgrades a database written before sectors had sets: migration
// 00007 keeps every row and every value, gives visits and events the set "" and controllers' lists the "/id"
// form, and AdoptSectorSets then gives them the sets of the loaded sectors, leaving alone the ids no set has, and
// a second time changes nothing. The rebuilt open-visit index tells the same id in two sets apart.
func TestLegacyDatabaseMigratesAndAdoptsSectorSets(t *testing.T) {
	t0 := time.Date(2024, 3, 10, 9, 0, 0, 123456000, time.UTC)
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			legacy, cfg := legacyDatabase(t, d)
			fillLegacy(t, legacy, t0)
			cols := legacyColumns(t, legacy)
			before := dumpColumns(t, legacy, cols)
			legacySectors := queryRows(t, legacy.SQL(), "SELECT id, sectors FROM controllers ORDER BY id")
			visitColumns := columnsOf(t, legacy.SQL(), "sector_visits")
			eventColumns := columnsOf(t, legacy.SQL(), "sector_events")
			if err := legacy.Close(); err != nil {
				t.Fatal(err)
			}
			wantCounts := map[string]int{"flights": 3, "flight_plans": 1, "positions": 4, "sector_visits": 5,
				"sector_events": 12, "controllers": 3, "ingest_cycles": 5}
			for table, n := range wantCounts {
				if len(before[table]) != n {
					t.Fatalf("legacy %s: %d rows, want %d", table, len(before[table]), n)
				}
			}
			if want := []string{"1|EGTT EGTT_S", "2|", "3|EGTT_S GONE"}; !slices.Equal(legacySectors, want) {
				t.Fatalf("legacy controllers' sectors %q, want %q", legacySectors, want)
			}

			// The upgraded instance migrates to the latest version.
			s := reopen(t, cfg)
			applied, err := s.Migrate(ctx)
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if !slices.Contains(applied, 7) {
				t.Fatalf("migrations applied %v, want 00007 among them", applied)
			}
			// sector_set from 00007; the contact events' controller from 00013.
			later := map[string][]string{"sector_visits": {"sector_set"}, "sector_events": {"sector_set", "controller_cid", "controller_callsign"}}
			for table, cols := range map[string][]string{"sector_visits": visitColumns, "sector_events": eventColumns} {
				want := slices.Sorted(slices.Values(append(slices.Clone(cols), later[table]...)))
				if got := columnsOf(t, s.SQL(), table); !slices.Equal(got, want) {
					t.Errorf("%s columns after migration %q, want the legacy ones and %v %q", table, got, later[table], want)
				}
			}
			sameRows := func(when string) {
				t.Helper()
				after := dumpColumns(t, s, cols)
				for _, tb := range legacyTables {
					if !slices.Equal(after[tb.name], before[tb.name]) {
						t.Errorf("%s: %s rows changed:\n got %q\nwant %q", when, tb.name, after[tb.name], before[tb.name])
					}
				}
			}
			sameRows("after migration")
			sets := func() (visits, events, controllers []string) {
				return queryRows(t, s.SQL(), "SELECT id, sector_set, sector_id FROM sector_visits ORDER BY id"),
					queryRows(t, s.SQL(), "SELECT sequence, sector_set, sector_id FROM sector_events ORDER BY sequence"),
					queryRows(t, s.SQL(), "SELECT id, sectors FROM controllers ORDER BY id")
			}
			check := func(when string, wantVisits, wantEvents, wantControllers []string) {
				t.Helper()
				visits, events, controllers := sets()
				if !slices.Equal(visits, wantVisits) {
					t.Errorf("%s: visits' sectors\n got %q\nwant %q", when, visits, wantVisits)
				}
				if !slices.Equal(events, wantEvents) {
					t.Errorf("%s: events' sectors\n got %q\nwant %q", when, events, wantEvents)
				}
				if !slices.Equal(controllers, wantControllers) {
					t.Errorf("%s: controllers' sectors\n got %q\nwant %q", when, controllers, wantControllers)
				}
			}
			eventIDs := []string{"EGTT", "EGTT", "EGTT_S", "EGTT_S", "GONE", "EGTT", "EGTT", "EGTT_S", "EGTT", "EGTT", "GONE", "GONE"}
			eventsIn := func(set func(id string) string) []string {
				out := make([]string, len(eventIDs))
				for i, id := range eventIDs {
					out[i] = fmt.Sprintf("%d|%s|%s", i+1, set(id), id)
				}
				return out
			}
			unset := func(string) string { return "" }
			check("after migration",
				[]string{"1||EGTT", "2||EGTT_S", "3||GONE", "4||EGTT", "5||EGTT"},
				eventsIn(unset),
				[]string{"1|/EGTT /EGTT_S", "2|", "3|/EGTT_S /GONE"})

			// Before adoption the state loads, every sector with the set "" (not known yet).
			st, err := s.LoadState(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			checkState(t, "before adoption", st, "")

			var asked []string
			resolve := func(id string) (string, bool) {
				asked = append(asked, id)
				switch id {
				case "EGTT", "EGTT_S":
					return "vatspy", true
				}
				return "", false
			}
			got, err := s.AdoptSectorSets(ctx, resolve)
			if err != nil {
				t.Fatalf("adopt: %v", err)
			}
			want := domain.AdoptedSectors{Visits: 4, Events: 9, Controllers: 2, Unknown: []string{"GONE"}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("adopted %+v, want %+v", got, want)
			}
			for _, id := range asked {
				if !slices.Contains([]string{"EGTT", "EGTT_S", "GONE"}, id) {
					t.Errorf("resolve asked about %q, which no stored row has", id)
				}
			}
			sameRows("after adoption")
			vatspy := func(id string) string {
				if id == "GONE" {
					return ""
				}
				return "vatspy"
			}
			wantVisits := []string{"1|vatspy|EGTT", "2|vatspy|EGTT_S", "3||GONE", "4|vatspy|EGTT", "5|vatspy|EGTT"}
			wantControllers := []string{"1|vatspy/EGTT vatspy/EGTT_S", "2|", "3|/GONE vatspy/EGTT_S"}
			check("after adoption", wantVisits, eventsIn(vatspy), wantControllers)
			st, err = s.LoadState(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			checkState(t, "after adoption", st, "vatspy")

			// A second run finds nothing more to do: GONE is still unknown, and nothing changes.
			all := dumpAll(t, s)
			again, err := s.AdoptSectorSets(ctx, resolve)
			if err != nil {
				t.Fatalf("adopt again: %v", err)
			}
			if want := (domain.AdoptedSectors{Unknown: []string{"GONE"}}); fmt.Sprint(again) != fmt.Sprint(want) {
				t.Errorf("second adoption %+v, want %+v", again, want)
			}
			for table, rows := range dumpAll(t, s) {
				if !slices.Equal(rows, all[table]) {
					t.Errorf("second adoption changed %s:\n got %q\nwant %q", table, rows, all[table])
				}
			}

			// The open-visit index is per set: BAW1, open in vatspy/EGTT, may also be in aus/EGTT, not twice in
			// vatspy/EGTT.
			ts := t0.Add(time.Minute)
			open := func(cycle, visit int64, ref domain.SectorRef) error {
				_, err := s.WriteCycle(ctx, &domain.CycleWrite{
					Cycle:        domain.Cycle{ID: cycle, UpdateTimestamp: ts.Add(time.Duration(cycle) * time.Second), FetchedAt: ts},
					OpenedVisits: []domain.Visit{{ID: visit, FlightID: 1, Sector: ref, EnteredAt: ts, Entry: domain.Point{Latitude: 51, Longitude: 1, Altitude: 5000}}},
				})
				return err
			}
			if err := open(6, 6, domain.SectorRef{Set: "aus", ID: "EGTT"}); err != nil {
				t.Errorf("open BAW1 in aus/EGTT beside vatspy/EGTT: %v", err)
			}
			// SQLite names the index's columns, PostgreSQL the index.
			if err := open(7, 7, domain.SectorRef{Set: "vatspy", ID: "EGTT"}); err == nil {
				t.Error("a second open visit of BAW1 in vatspy/EGTT was stored")
			} else if msg := err.Error(); !strings.Contains(msg, "sector_visits_open") &&
				!strings.Contains(msg, "UNIQUE constraint failed: sector_visits.flight_id, sector_visits.sector_set, sector_visits.sector_id") {
				t.Errorf("a second open visit of BAW1 in vatspy/EGTT: %v, want the open-visit index violated", err)
			}
			if got, want := queryRows(t, s.SQL(), "SELECT id, sector_set, sector_id FROM sector_visits WHERE flight_id = 1 AND exited_at IS NULL ORDER BY id"),
				[]string{"1|vatspy|EGTT", "2|vatspy|EGTT_S", "6|aus|EGTT"}; !slices.Equal(got, want) {
				t.Errorf("BAW1's open visits %q, want %q", got, want)
			}
		})
	}
}

// checkState checks what LoadState returns of the legacy rows, with set the set of EGTT and EGTT_S (GONE's is
// always "").
func checkState(t *testing.T, when string, st *domain.State, set string) {
	t.Helper()
	var visits []string
	for _, v := range st.OpenVisits {
		if v.Exit != nil {
			t.Errorf("%s: open visit %d has an exit", when, v.ID)
		}
		visits = append(visits, fmt.Sprintf("%d:%d:%s", v.ID, v.FlightID, v.Sector))
	}
	want := []string{"1:1:" + set + "/EGTT", "2:1:" + set + "/EGTT_S", "3:2:/GONE"}
	if !slices.Equal(visits, want) {
		t.Errorf("%s: open visits %q, want %q", when, visits, want)
	}
	controllers := map[int64][]domain.SectorRef{}
	for _, c := range append(slices.Clone(st.Controllers), st.DepartedControllers...) {
		controllers[c.ID] = c.Sectors
	}
	wantControllers := map[int64][]domain.SectorRef{
		1: {{Set: set, ID: "EGTT"}, {Set: set, ID: "EGTT_S"}},
		2: nil,
		3: {{Set: set, ID: "EGTT_S"}, {ID: "GONE"}},
	}
	if set != "" { // sorted by set, then id
		wantControllers[3] = []domain.SectorRef{{ID: "GONE"}, {Set: set, ID: "EGTT_S"}}
	}
	if fmt.Sprint(controllers) != fmt.Sprint(wantControllers) {
		t.Errorf("%s: controllers' sectors %v, want %v", when, controllers, wantControllers)
	}
	var flights []int64
	for _, f := range st.Flights {
		flights = append(flights, f.ID)
	}
	if !slices.Equal(flights, []int64{1, 2}) {
		t.Errorf("%s: online flights %v, want [1 2]", when, flights)
	}
	if st.LastCycle == nil || st.LastCycle.ID != 4 || st.MaxIDs.Visit != 5 || st.MaxIDs.Sequence != 12 || st.MaxIDs.Cycle != 5 {
		t.Errorf("%s: last cycle %+v, max ids %+v: want cycle 4, visit 5, sequence 12, cycle id 5", when, st.LastCycle, st.MaxIDs)
	}
}
