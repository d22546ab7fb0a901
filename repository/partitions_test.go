package repository_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// straddling is cycleOf at ts whose first event is an exit that occurred at exitAt, the flight's last sighting
// (which may be on the day before ts).
func straddling(id int64, ts, exitAt time.Time, n int) *domain.CycleWrite {
	w := cycleOf(id, ts, n)
	e := &w.Events[0]
	e.Kind, e.OccurredAt = domain.EventExit, exitAt
	e.Exit = &domain.VisitEnd{Reason: domain.ExitDisconnected, DurationSeconds: 60}
	return w
}

// disconnecting is a cycle at ts that disconnects the flights 1..n of cycleOf, and stores nothing else.
func disconnecting(id int64, ts time.Time, n int) *domain.CycleWrite {
	w := cycleOf(id, ts, n)
	for i := range w.Flights {
		w.Flights[i].DisconnectedAt = &ts
	}
	w.Positions, w.OpenedVisits, w.Events, w.FlightPlans = nil, nil, nil, nil
	w.Cycle.FirstSequence, w.Cycle.LastSequence = nil, nil
	return w
}

func writeCycles(t *testing.T, s *repository.Store, cycles ...*domain.CycleWrite) {
	t.Helper()
	for _, w := range cycles {
		if _, err := s.WriteCycle(context.Background(), w); err != nil {
			t.Fatalf("cycle %d: %v", w.Cycle.ID, err)
		}
	}
}

func count(t *testing.T, s *repository.Store, query string) int64 {
	t.Helper()
	var n int64
	if err := s.SQL().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// partitionsOf lists a PostgreSQL table's partitions as "name|lower|upper|detach pending", bounds in UTC
// (NULL: MINVALUE), in the order of their ranges.
func partitionsOf(t *testing.T, s *repository.Store, table string) []string {
	t.Helper()
	return queryRows(t, s.SQL(), `SELECT relname, lower, upper, pending FROM (
		SELECT c.relname,
			(regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']*)''\)'))[1]::timestamptz AS lower,
			(regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']*)''\)'))[1]::timestamptz AS upper,
			i.inhdetachpending AS pending
		FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
		WHERE i.inhparent = '`+table+`'::regclass) AS p ORDER BY lower NULLS FIRST`)
}

func dayPartition(table string, day time.Time) string {
	return fmt.Sprintf("%s_p%s|%s|%s|false", table, day.Format("20060102"), day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339))
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func TestMigrationToDayPartitionsKeepsEveryRow(t *testing.T) {
	s, cfg, p := dbtest.OpenAt(t, migrations.Postgres, 14)
	ctx := context.Background()
	d1 := time.Date(2023, 8, 7, 23, 59, 0, 0, time.UTC)
	now := time.Now().UTC().Truncate(time.Second)
	writeCycles(t, s, cycleOf(1, d1, 3), straddling(2, d1.Add(65*time.Second), d1.Add(40*time.Second), 3), cycleOf(3, now, 3))
	dump := func() map[string][]string {
		return map[string][]string{
			"positions":     queryRows(t, s.SQL(), "SELECT * FROM positions ORDER BY flight_id, observed_at"),
			"sector_events": queryRows(t, s.SQL(), "SELECT * FROM sector_events ORDER BY sequence"),
		}
	}
	indexes := func() []string {
		return queryRows(t, s.SQL(), "SELECT tablename, indexname, indexdef FROM pg_indexes "+
			"WHERE tablename IN ('positions', 'sector_events') ORDER BY 1, 2")
	}
	before, beforeIndexes := dump(), indexes()
	if len(before["positions"]) != 9 || len(before["sector_events"]) != 9 {
		t.Fatalf("version 14 holds %d positions and %d events, want 9 of each", len(before["positions"]), len(before["sector_events"]))
	}
	today := utcDay(time.Now())
	if _, err := p.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	if got := dump(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("rows after the migration:\n%v\nwant\n%v", got, before)
	}
	// The old table holds the day of its newest row: it is the partition up to the next day, and day partitions
	// follow from there to 3 days ahead (of the migration's day, today unless it ran past midnight).
	bound := utcDay(now).AddDate(0, 0, 1)
	for _, table := range []string{"positions", "sector_events"} {
		parts := partitionsOf(t, s, table)
		if want := table + "_before|NULL|" + bound.Format(time.RFC3339) + "|false"; len(parts) == 0 || parts[0] != want {
			t.Fatalf("%s partitions %q: want %q first", table, parts, want)
		}
		days := parts[1:]
		for i, d := range days {
			if want := dayPartition(table, bound.AddDate(0, 0, i)); d != want {
				t.Errorf("%s partition %d: %q, want %q", table, i+1, d, want)
			}
		}
		if last := bound.AddDate(0, 0, len(days)-1); last.Before(today.AddDate(0, 0, repository.PartitionsAhead)) {
			t.Errorf("%s: day partitions up to %s, want at least %d days ahead of %s", table, last, repository.PartitionsAhead, today)
		}
	}
	if got := count(t, s, "SELECT COUNT(*) FROM event_retention WHERE pruned_through = 0"); got != 1 {
		t.Errorf("event_retention has %d rows at 0, want 1", got)
	}

	// The upgraded instance writes on: into the old table's day, and into a day partition.
	up := reopen(t, cfg)
	if _, err := up.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	writeCycles(t, up, cycleOf(4, now.Add(time.Second), 3), cycleOf(5, now.Add(48*time.Hour), 3))
	after := dump()
	if len(after["positions"]) != 15 || len(after["sector_events"]) != 15 {
		t.Fatalf("%d positions and %d events after two more cycles, want 15 of each", len(after["positions"]), len(after["sector_events"]))
	}
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	if got := dump(); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Errorf("rows after migrating down:\n%v\nwant\n%v", got, after)
	}
	if got := indexes(); !slices.Equal(got, beforeIndexes) {
		t.Errorf("indexes after migrating down:\n%q\nwant\n%q", got, beforeIndexes)
	}
	if got := count(t, s, "SELECT COUNT(*) FROM pg_class WHERE relkind = 'r' AND relname IN ('positions', 'sector_events')"); got != 2 {
		t.Errorf("%d plain tables after migrating down, want positions and sector_events", got)
	}
}

func TestANewDatabaseHasOnlyDayPartitions(t *testing.T) {
	s := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	// The template the test databases are cloned from was migrated empty: the empty old tables were dropped.
	if got := count(t, s, "SELECT COUNT(*) FROM pg_class WHERE relname IN ('positions_before', 'sector_events_before')"); got != 0 {
		t.Errorf("%d legacy partitions in a database migrated empty, want none", got)
	}
	ctx := context.Background()
	now := time.Now()
	if err := s.EnsurePartitions(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"positions", "sector_events"} {
		parts := partitionsOf(t, s, table)
		for i := range repository.PartitionsAhead + 1 {
			if want := dayPartition(table, utcDay(now).AddDate(0, 0, i)); !slices.Contains(parts, want) {
				t.Errorf("%s partitions %q: want %q", table, parts, want)
			}
		}
	}
	// Once known, the days cost nothing.
	n := s.Statements()
	if err := s.EnsurePartitions(ctx, now); err != nil {
		t.Fatal(err)
	}
	if got := s.Statements() - n; got != 0 {
		t.Errorf("EnsurePartitions of known days ran %d statements, want 0", got)
	}
}

func TestCyclesOutsideThePartitionsAheadAreWritten(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name string
		at   time.Time
	}{
		{"60 days old", now.AddDate(0, 0, -60)},
		{"5 days ahead", now.AddDate(0, 0, 5)},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				writeCycles(t, s, cycleOf(int64(i+1), tt.at, 2))
				for _, table := range []string{"positions", "sector_events"} {
					if n := count(t, s, "SELECT COUNT(*) FROM "+table); n != int64(2*(i+1)) {
						t.Errorf("%s: %d rows, want %d", table, n, 2*(i+1))
					}
					if s.Dialect() != migrations.Postgres {
						continue
					}
					if n := count(t, s, "SELECT COUNT(*) FROM "+table+"_p"+tt.at.Format("20060102")); n != 2 {
						t.Errorf("%s of the cycle's day: %d, want 2 in its partition", table, n)
					}
				}
			})
		}
		if s.Dialect() != migrations.Postgres {
			return
		}
		// Another instance dropped the day (a prune counting from a later feed time) behind this store's back: the
		// cycle fails once, and its retry, as the runner makes, creates the partition again.
		old := tests[0].at
		if _, err := s.SQL().ExecContext(context.Background(), "DROP TABLE positions_p"+old.Format("20060102")); err != nil {
			t.Fatal(err)
		}
		w := cycleOf(3, old.Add(time.Minute), 2)
		if _, err := s.WriteCycle(context.Background(), w); err == nil {
			t.Fatal("a cycle on a day whose partition was dropped unseen was written")
		}
		writeCycles(t, s, cycleOf(3, old.Add(time.Minute), 2))
		if n := count(t, s, "SELECT COUNT(*) FROM positions_p"+old.Format("20060102")); n != 2 {
			t.Errorf("positions of the retried cycle: %d, want 2", n)
		}
	})
}

func TestPruneDropsWholeDaysOnly(t *testing.T) {
	d1 := time.Date(2023, 8, 7, 0, 0, 0, 0, time.UTC)
	d2, d3 := d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)
	// Each step prunes the database the steps before it left.
	steps := []struct {
		name                string
		cutoff              time.Time
		disconnectFirst     bool
		wantPG, wantSQLite  int64 // positions pruned
		remainingPG         int64
		remainingSQLite     int64
		remainingPartitions []string // 2023 day partitions left (PostgreSQL)
	}{
		{name: "a day partly older than the cutoff is kept", cutoff: d2.Add(12 * time.Hour),
			wantPG: 6, wantSQLite: 9, remainingPG: 9, remainingSQLite: 6, remainingPartitions: []string{"20230808", "20230809"}},
		{name: "a day ending at the cutoff goes", cutoff: d3,
			wantPG: 6, wantSQLite: 3, remainingPG: 3, remainingSQLite: 3, remainingPartitions: []string{"20230809"}},
		{name: "the newest position of a flight online is kept", cutoff: d3.AddDate(0, 0, 10),
			wantPG: 0, wantSQLite: 0, remainingPG: 3, remainingSQLite: 3, remainingPartitions: []string{"20230809"}},
		{name: "once the flights are disconnected, it goes", cutoff: d3.AddDate(0, 0, 10), disconnectFirst: true,
			wantPG: 3, wantSQLite: 3, remainingPG: 0, remainingSQLite: 0},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		writeCycles(t, s, cycleOf(1, d1.Add(10*time.Hour), 3), cycleOf(2, d1.Add(20*time.Hour), 3),
			cycleOf(3, d2.Add(6*time.Hour), 3), cycleOf(4, d2.Add(18*time.Hour), 3), cycleOf(5, d3.Add(12*time.Hour), 3))
		for _, st := range steps {
			if st.disconnectFirst {
				writeCycles(t, s, disconnecting(6, d3.Add(12*time.Hour+15*time.Minute), 3))
			}
			got, err := s.Prune(ctx, st.cutoff, time.Time{})
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			want, remaining := st.wantSQLite, st.remainingSQLite
			if s.Dialect() == migrations.Postgres {
				want, remaining = st.wantPG, st.remainingPG
			}
			if got.Positions != want {
				t.Errorf("%s: pruned %d positions, want %d", st.name, got.Positions, want)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM positions"); n != remaining {
				t.Errorf("%s: %d positions left, want %d", st.name, n, remaining)
			}
			if s.Dialect() != migrations.Postgres {
				continue
			}
			var left []string
			for _, p := range partitionsOf(t, s, "positions") {
				if name, _, _ := strings.Cut(p, "|"); strings.HasPrefix(name, "positions_p2023") {
					left = append(left, strings.TrimPrefix(name, "positions_p"))
				}
			}
			if !slices.Equal(left, st.remainingPartitions) {
				t.Errorf("%s: 2023 partitions %q left, want %q", st.name, left, st.remainingPartitions)
			}
		}
	})
}

func TestConcurrentPrunesDoNotFail(t *testing.T) {
	d1 := time.Date(2023, 8, 7, 12, 0, 0, 0, time.UTC)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		writeCycles(t, s, cycleOf(1, d1, 4), cycleOf(2, d1.AddDate(0, 0, 1), 4), cycleOf(3, d1.AddDate(0, 0, 2), 4))
		cutoff := utcDay(d1).AddDate(0, 0, 2)
		var wg sync.WaitGroup
		results := make([]domain.Pruned, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = s.Prune(context.Background(), cutoff, cutoff) })
		}
		wg.Wait()
		var positions, events int64
		for i := range results {
			if errs[i] != nil {
				t.Errorf("prune %d: %v", i, errs[i])
			}
			positions += results[i].Positions
			events += results[i].Events
		}
		// One of them pruned the two older days (the other skipped, or found nothing left), or they shared
		// SQLite's rows: every row counted once.
		if positions != 8 || events != 8 {
			t.Errorf("pruned %d positions and %d events together, want 8 of each", positions, events)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM positions"); n != 4 {
			t.Errorf("%d positions left, want 4", n)
		}
	})
}

func TestPruneFinishesInterruptedDetaches(t *testing.T) {
	d1 := time.Date(2023, 8, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		interrupt func(t *testing.T, s *repository.Store, partition string)
	}{
		{"detach pending", func(t *testing.T, s *repository.Store, partition string) {
			ctx := context.Background()
			// A transaction that has read positions: a concurrent detach waits for it to end...
			reader, err := s.SQL().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = reader.Rollback() }()
			if _, err := reader.ExecContext(ctx, "SELECT COUNT(*) FROM positions"); err != nil {
				t.Fatal(err)
			}
			// ...so this one, cut by its statement timeout while it waits (the reader is open until it returns),
			// is always left half done: detach pending.
			conn, err := s.SQL().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "SET statement_timeout = '1s'"); err != nil {
				t.Fatal(err)
			}
			_, err = conn.ExecContext(ctx, "ALTER TABLE positions DETACH PARTITION "+partition+" CONCURRENTLY")
			if err == nil {
				t.Fatal("the detach did not wait for the reader")
			}
			if _, err := conn.ExecContext(ctx, "RESET statement_timeout"); err != nil {
				t.Fatal(err)
			}
			if err := reader.Rollback(); err != nil {
				t.Fatal(err)
			}
			pending := strings.TrimSuffix(dayPartition("positions", utcDay(d1)), "false") + "true"
			if got := partitionsOf(t, s, "positions"); !slices.Contains(got, pending) {
				t.Fatalf("partitions %q: want %s detach pending", got, partition)
			}
		}},
		{"detached, not dropped", func(t *testing.T, s *repository.Store, partition string) {
			if _, err := s.SQL().ExecContext(context.Background(), "ALTER TABLE positions DETACH PARTITION "+partition); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dbtest.Open(t, migrations.Postgres, repository.Pool{})
			writeCycles(t, s, cycleOf(1, d1, 4), cycleOf(2, d1.AddDate(0, 0, 1), 4))
			partition := "positions_p" + d1.Format("20060102")
			tt.interrupt(t, s, partition)
			// A cutoff that drops no day: the interrupted one is finished all the same.
			got, err := s.Prune(context.Background(), utcDay(d1), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Positions != 4 {
				t.Errorf("pruned %d positions, want the 4 of the interrupted day", got.Positions)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM pg_class WHERE relname = '"+partition+"'"); n != 0 {
				t.Errorf("%s still exists", partition)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM positions"); n != 4 {
				t.Errorf("%d positions left, want the 4 of the next day", n)
			}
			// And the day can be written again.
			writeCycles(t, s, cycleOf(3, d1.Add(time.Minute), 4))
		})
	}
}

func TestPruneCutsCyclesAcrossMidnightWhole(t *testing.T) {
	d := time.Date(2023, 8, 7, 0, 0, 0, 0, time.UTC)
	midnight := d.AddDate(0, 0, 1)
	// Cycle 2, 5 s after midnight, has an exit that occurred at 23:59:40 (the flight's last sighting), in the
	// day before its entries.
	cycles := []*domain.CycleWrite{
		cycleOf(1, midnight.Add(-time.Minute), 2),
		straddling(2, midnight.Add(5*time.Second), midnight.Add(-20*time.Second), 2),
		cycleOf(3, midnight.Add(12*time.Hour), 2),
	}
	steps := []struct {
		name         string
		eventsBefore time.Time
		wantPruned   int64
		cut          int64   // the last sequence pruned: the end of a cycle
		want         []int64 // the events every read returns
		firstDayKept bool    // the previous day's partition (PostgreSQL)
		storedHidden int64   // rows of cut events still stored (PostgreSQL)
	}{
		{"the cycle before midnight", midnight, 2, 100002, []int64{200001, 200002, 300001, 300002}, true, 2},
		{"the cycle across midnight, whole", midnight.Add(6 * time.Second), 2, 200002, []int64{300001, 300002}, false, 1},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		writeCycles(t, s, cycles...)
		for _, st := range steps {
			got, err := s.Prune(ctx, time.Time{}, st.eventsBefore)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got.Events != st.wantPruned {
				t.Errorf("%s: pruned %d events, want %d", st.name, got.Events, st.wantPruned)
			}
			listed, err := s.ListEvents(ctx, repository.EventFilter{}, 0, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if seqs := sequencesOf(listed); !slices.Equal(seqs, st.want) {
				t.Errorf("%s: ListEvents %v, want %v", st.name, seqs, st.want)
			}
			// A stream that had everything up to the cut resumes at the first event after it, without a gap
			// (its checkpoint is not before oldest-1); one from before the cut is told its events are gone.
			replayed, oldest, err := s.ReplayEvents(ctx, repository.EventFilter{}, st.cut, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if seqs := sequencesOf(replayed); !slices.Equal(seqs, st.want) || oldest != st.want[0] {
				t.Errorf("%s: ReplayEvents after %d: %v, oldest %d; want %v, oldest %d", st.name, st.cut, seqs, oldest, st.want, st.want[0])
			}
			if oldestBound, latest, err := s.SequenceBounds(ctx); err != nil || oldestBound != st.want[0] || latest != 300002 {
				t.Errorf("%s: SequenceBounds %d..%d (%v), want %d..300002", st.name, oldestBound, latest, err, st.want[0])
			}
			committed, err := s.CommittedAfter(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var followed []int64
			for _, c := range committed {
				if n := len(c.Events); n != 0 && n != 2 {
					t.Errorf("%s: cycle %d followed with %d of its 2 events", st.name, c.Cycle.ID, n)
				}
				followed = append(followed, sequencesOf(c.Events)...)
			}
			if !slices.Equal(followed, st.want) {
				t.Errorf("%s: CommittedAfter's events %v, want %v", st.name, followed, st.want)
			}
			if s.Dialect() != migrations.Postgres {
				continue
			}
			if kept := count(t, s, "SELECT COUNT(*) FROM pg_class WHERE relname = 'sector_events_p20230807'") == 1; kept != st.firstDayKept {
				t.Errorf("%s: the previous day's partition kept: %v, want %v", st.name, kept, st.firstDayKept)
			}
			if n := count(t, s, fmt.Sprintf("SELECT COUNT(*) FROM sector_events WHERE sequence < %d", st.want[0])); n != st.storedHidden {
				t.Errorf("%s: %d cut events still stored, want %d", st.name, n, st.storedHidden)
			}
		}
	})
}

func sequencesOf(events []domain.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Sequence
	}
	return out
}
