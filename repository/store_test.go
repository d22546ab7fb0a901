package repository_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

func TestBothDialectsHaveTheSameSchema(t *testing.T) {
	ctx := context.Background()
	lite, err := dbtest.Open(t, migrations.SQLite, repository.Pool{}).Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := dbtest.Open(t, migrations.Postgres, repository.Pool{}).Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != 12 {
		t.Errorf("SQLite has %d tables, want 12: %v", len(lite), lite)
	}
	if fmt.Sprint(lite) != fmt.Sprint(pg) {
		t.Errorf("schemas differ:\nsqlite:   %v\npostgres: %v", lite, pg)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second migration applied %v, want nothing", applied)
		}
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 || !st[len(st)-1].Applied {
			t.Errorf("status %+v: want every migration applied", st)
		}
	})
}

// cycleOf builds a cycle with n flights, each with a position, a plan, an open visit and an entry event.
func cycleOf(id int64, ts time.Time, n int) *domain.CycleWrite {
	first, last := id*100000+1, id*100000+int64(n)
	w := &domain.CycleWrite{Cycle: domain.Cycle{ID: id, UpdateTimestamp: ts, FetchedAt: ts, FirstSequence: &first, LastSequence: &last}}
	for i := range n {
		fid := int64(i + 1)
		w.Flights = append(w.Flights, domain.Flight{
			ID: fid, CID: 1000000 + fid, Callsign: fmt.Sprintf("TST%d", i), LogonTime: ts.Add(-time.Hour),
			Latitude: 51, Longitude: -0.5, Altitude: 1000 + i, LastUpdated: ts, FirstSeen: ts, LastSeen: ts,
		})
		w.FlightPlans = append(w.FlightPlans, domain.FlightPlan{FlightID: fid, Departure: "EGLL", Arrival: "KJFK", UpdatedAt: ts})
		w.Positions = append(w.Positions, domain.Position{FlightID: fid, ObservedAt: ts, Latitude: 51, Longitude: -0.5})
		vid, sector := id*100000+fid, fmt.Sprintf("SECTOR%d", id)
		w.OpenedVisits = append(w.OpenedVisits, domain.Visit{ID: vid, FlightID: fid, Sector: vs(sector), EnteredAt: ts})
		w.Events = append(w.Events, domain.Event{
			Sequence: vid, Kind: domain.EventEntry, Sector: vs(sector), OccurredAt: ts, CycleID: id,
			Flight: &domain.FlightRef{ID: fid, CID: 1000000 + fid, Callsign: fmt.Sprintf("TST%d", i), VisitID: vid},
		})
	}
	return w
}

func TestWriteCycleStatementsDoNotGrowWithRows(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2023, 8, 7, 23, 29, 29, 885643000, time.UTC)
		small, err := s.WriteCycle(ctx, cycleOf(1, ts, 30))
		if err != nil {
			t.Fatal(err)
		}
		big, err := s.WriteCycle(ctx, cycleOf(2, ts.Add(15*time.Second), 3000))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: 30 flights → %d statements, 3000 flights → %d statements", s.Dialect(), small.Statements, big.Statements)
		// flights, plans, positions, visits, events, cycle record: one statement each at 30 rows, and on
		// PostgreSQL the transaction's session settings first.
		want := 6
		if s.Dialect() == migrations.Postgres {
			want = 7
		}
		if small.Statements != want {
			t.Errorf("30 flights: %d statements, want %d", small.Statements, want)
		}
		// PostgreSQL writes each table's rows as column arrays in one statement; SQLite in batches of as many
		// rows as its parameter limit allows.
		if s.Dialect() == migrations.Postgres && big.Statements != want {
			t.Errorf("3000 flights: %d statements, want %d (settings, one per table and the cycle record)", big.Statements, want)
		}
		if big.Statements > 12 {
			t.Errorf("3000 flights: %d statements, want at most 12 (batches, not rows)", big.Statements)
		}
		var visits int64
		if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM sector_visits WHERE exited_at IS NULL").Scan(&visits); err != nil {
			t.Fatal(err)
		}
		if visits != 3030 {
			t.Errorf("open visits = %d, want 3030", visits)
		}
		var flights int64
		if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM flights").Scan(&flights); err != nil {
			t.Fatal(err)
		}
		if flights != 3000 {
			t.Errorf("flights = %d, want 3000 (the upsert keeps one row per flight)", flights)
		}
	})
}

func TestWriteCycleRollsBackWhole(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2024, 2, 20, 23, 19, 51, 0, time.UTC)
		w := cycleOf(1, ts, 10)
		// A second open visit of the same flight in the same sector violates sector_visits_open, after the
		// flights, plans and positions were already sent.
		w.OpenedVisits = append(w.OpenedVisits, domain.Visit{ID: 99, FlightID: 1, Sector: vs("SECTOR1"), EnteredAt: ts})
		if _, err := s.WriteCycle(ctx, w); err == nil {
			t.Fatal("WriteCycle succeeded with a duplicated open visit")
		}
		for _, table := range []string{"flights", "flight_plans", "positions", "sector_visits", "sector_events", "ingest_cycles"} {
			var n int64
			if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s has %d rows after a failed cycle, want 0", table, n)
			}
		}
		msg := "boom"
		failed := w.Cycle
		failed.Error = &msg
		if err := s.RecordFailedCycle(ctx, &failed); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordFailedCycle(ctx, &domain.Cycle{ID: 2}); err == nil {
			t.Error("RecordFailedCycle accepted a cycle without an error")
		}
	})
}

func TestWriteCycleHonoursDeadline(t *testing.T) {
	dbtest.Run(t, repository.Pool{MaxOpen: 1}, func(t *testing.T, s *repository.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.WriteCycle(ctx, cycleOf(1, time.Unix(1700000000, 0).UTC(), 10))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WriteCycle on a cancelled context: %v, want context.Canceled", err)
		}
	})
}

func TestWriteCycleStoresAwkwardValuesExactly(t *testing.T) {
	// Text that array literals must quote or escape, and NULLs next to values: PostgreSQL receives these as
	// column arrays, SQLite as bind parameters; both must store exactly what was given.
	texts := []string{``, `NULL`, `null`, `O'Brien "Bob"`, `{a,b}`, `back\slash`, "tab\tnew\nline", ` padded `, `Zürich ✈ 東京`}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2024, 2, 20, 23, 19, 51, 123456000, time.UTC)
		w := cycleOf(1, ts, len(texts))
		rating := 3
		for i, text := range texts {
			w.Flights[i].Name = text
			w.FlightPlans[i].Remarks = text
			if i%2 == 0 {
				w.Flights[i].MilitaryRating = &rating
			}
			atis := text
			w.Controllers = append(w.Controllers, domain.Controller{
				ID: int64(i + 1), CID: int64(900 + i), Callsign: fmt.Sprintf("C%d_CTR", i), LogonTime: ts.Add(-time.Minute),
				Kind: domain.KindController, Name: text, TextATIS: &atis, LastUpdated: ts, FirstSeen: ts,
			})
		}
		w.Controllers[0].TextATIS = nil
		if _, err := s.WriteCycle(ctx, w); err != nil {
			t.Fatal(err)
		}
		rows, err := s.SQL().QueryContext(ctx, `
			SELECT f.name, p.remarks, c.name, c.text_atis, f.military_rating, f.logon_time
			FROM flights f JOIN flight_plans p ON p.flight_id = f.id JOIN controllers c ON c.id = f.id
			ORDER BY f.id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for ; rows.Next(); i++ {
			var name, remarks, ctrlName string
			var atis *string
			var military *int
			var logon time.Time
			if err := rows.Scan(&name, &remarks, &ctrlName, &atis, &military, &logon); err != nil {
				t.Fatal(err)
			}
			want := texts[i]
			if name != want || remarks != want || ctrlName != want {
				t.Errorf("row %d: stored %q, %q, %q; want %q", i, name, remarks, ctrlName, want)
			}
			switch {
			case i == 0 && atis != nil:
				t.Errorf("row 0: text_atis %q, want NULL", *atis)
			case i > 0 && (atis == nil || *atis != want):
				t.Errorf("row %d: text_atis %v, want %q", i, atis, want)
			}
			if (i%2 == 0) != (military != nil) || (military != nil && *military != rating) {
				t.Errorf("row %d: military_rating %v, want %v", i, military, i%2 == 0)
			}
			if !logon.Equal(ts.Add(-time.Hour)) {
				t.Errorf("row %d: logon_time %v, want %v", i, logon, ts.Add(-time.Hour))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if i != len(texts) {
			t.Errorf("read %d rows, want %d", i, len(texts))
		}
	})
}

func TestSQLiteCheckpointsOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	s := dbtest.Open(t, migrations.SQLite, repository.Pool{})
	var seq int
	var name, file string
	if err := s.SQL().QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var auto int
	if err := s.SQL().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("wal_autocheckpoint = %d pages, want 0: the ingest loop checkpoints after its publish", auto)
	}
	if _, err := s.WriteCycle(ctx, cycleOf(1, time.Unix(1700000000, 0).UTC(), 3000)); err != nil {
		t.Fatal(err)
	}
	// The cycle's pages are in the log only: the commit did not checkpoint them into the database file.
	before := size()
	ran, err := s.Checkpoint(ctx)
	if err != nil || !ran {
		t.Fatalf("Checkpoint = %v, %v; want true, nil", ran, err)
	}
	if after := size(); after <= before {
		t.Errorf("database file %d bytes after the checkpoint, %d before: want it to have taken the cycle's pages", after, before)
	}
}

func TestPostgreSQLCheckpointIsNotOurs(t *testing.T) {
	s := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	if ran, err := s.Checkpoint(context.Background()); ran || err != nil {
		t.Errorf("Checkpoint on PostgreSQL = %v, %v; want false, nil", ran, err)
	}
}

func TestIngestWriterClaims(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 2, 20, 23, 0, 0, 0, time.UTC)
		const lease = 2 * time.Minute
		a, err := s.ClaimWriter(ctx, "a", lease, t0)
		if err != nil || a.Epoch != 1 || a.Holder != "a" {
			t.Fatalf("first claim = %+v, %v; want epoch 1 for a", a, err)
		}
		// Another identity waits while a renews within the lease.
		w := cycleOf(1, t0, 3)
		w.WriterEpoch = a.Epoch
		if _, err := s.WriteCycle(ctx, w); err != nil {
			t.Fatal(err)
		}
		renewed := time.Now()
		if got, err := s.ClaimWriter(ctx, "b", lease, renewed.Add(lease-time.Second)); !errors.Is(err, domain.ErrWriterBusy) || got.Holder != "a" {
			t.Fatalf("claim by b within the lease = %+v, %v; want ErrWriterBusy naming a", got, err)
		}
		// Once a's lease ran out, b claims, and a's next cycle is fenced off whole.
		b, err := s.ClaimWriter(ctx, "b", lease, renewed.Add(lease+time.Second))
		if err != nil || b.Epoch != 2 {
			t.Fatalf("claim by b after the lease = %+v, %v; want epoch 2", b, err)
		}
		w = cycleOf(2, t0.Add(15*time.Second), 3)
		w.WriterEpoch = a.Epoch
		if _, err := s.WriteCycle(ctx, w); !errors.Is(err, domain.ErrSuperseded) {
			t.Fatalf("a's cycle after b claimed: %v, want ErrSuperseded", err)
		}
		var cycles int64
		if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM ingest_cycles").Scan(&cycles); err != nil {
			t.Fatal(err)
		}
		if cycles != 1 {
			t.Errorf("%d cycles stored, want 1: the fenced cycle must write nothing", cycles)
		}
		// The same identity reclaims at once (a restart); a release lets another identity in at once.
		again, err := s.ClaimWriter(ctx, "b", lease, renewed.Add(lease+2*time.Second))
		if err != nil || again.Epoch != 3 {
			t.Fatalf("b reclaiming = %+v, %v; want epoch 3", again, err)
		}
		if err := s.ReleaseWriter(ctx, again.Epoch); err != nil {
			t.Fatal(err)
		}
		if c, err := s.ClaimWriter(ctx, "c", lease, renewed.Add(lease+3*time.Second)); err != nil || c.Epoch != 4 {
			t.Fatalf("claim by c after b released = %+v, %v; want epoch 4", c, err)
		}
	})
}

// TestDatabaseSettingDoesNotBreakIngest: a statement_timeout set with ALTER DATABASE lives on in every session
// opened while it is set, and those sessions stay in the pool for up to 30 minutes: cycles failed for 90 s
// after the setting was reset. Ingest's transactions set what they rely on themselves.
func TestDatabaseSettingDoesNotBreakIngest(t *testing.T) {
	url := dbtest.URL(t)
	ctx := context.Background()
	s, err := repository.Open(ctx, repository.Config{DatabaseURL: url, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := sql.Open("pgx", "postgres://postgres@"+dbtest.PostgresAddr()+"/test?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var db string
	if err := s.SQL().QueryRowContext(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2023, 8, 7, 23, 29, 29, 0, time.UTC)
	if _, err := s.WriteCycle(ctx, cycleOf(1, ts, 300)); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`ALTER DATABASE "` + db + `" SET statement_timeout = '1ms'`,
		`ALTER DATABASE "` + db + `" SET lock_timeout = '1ms'`,
		`ALTER DATABASE "` + db + `" SET idle_in_transaction_session_timeout = '1ms'`,
		// New sessions, as the pool opens them over time, get the setting.
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + db + `' AND pid <> pg_backend_pid()`,
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = admin.Exec(`ALTER DATABASE "` + db + `" RESET ALL`) })
	// The terminated sessions fail their next use once; after that every cycle must commit.
	for i := range int64(6) {
		w := cycleOf(2+i, ts.Add(time.Duration(i+1)*15*time.Second), 3000)
		_, err := s.WriteCycle(ctx, w)
		if err != nil && i >= repository.IngestPoolSize {
			t.Fatalf("cycle %d under a 1 ms database statement_timeout: %v", 2+i, err)
		}
		if err != nil && strings.Contains(err.Error(), "statement timeout") {
			t.Fatalf("cycle %d failed on the database's statement_timeout: %v", 2+i, err)
		}
	}
	if _, err := s.LoadState(ctx, time.Hour); err != nil {
		t.Fatalf("load state under a 1 ms database statement_timeout: %v", err)
	}
}

// TestSQLitePathWithURICharacters: a data folder whose name holds '?' or '#' used to cut the file URI short, and
// the database was opened, and written, somewhere else.
func TestSQLitePathWithURICharacters(t *testing.T) {
	for _, name := range []string{"what?", "run#0", "50% off", "space here"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name, "vatsector.db")
			s, err := repository.Open(context.Background(), repository.Config{SQLitePath: path})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the database is not where it was asked to be: %v", err)
			}
		})
	}
}
