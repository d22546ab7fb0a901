package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

func TestSplitCycles(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(id int64, from, to int) cycleSpan { return cycleSpan{id: id, start: at(from), end: at(to)} }
	cs := []cycleSpan{
		span(1, 0, 100),     // before since: another phase's
		span(2, 1000, 1100), // before
		span(3, 2000, 2100), // before: ends just before the operation
		span(4, 2150, 2300), // overlaps its start
		span(5, 2400, 2500), // inside
		span(6, 2900, 3100), // overlaps its end
		span(7, 3000, 3200), // starts exactly at its end: overlaps
		span(8, 3300, 3400), // after
	}
	before, during, after := splitCycles(cs, at(500), at(2200), at(3000))
	ids := func(cs []cycleSpan) (out []int64) {
		for _, c := range cs {
			out = append(out, c.id)
		}
		return out
	}
	if got, want := ids(before), []int64{2, 3}; !slices.Equal(got, want) {
		t.Errorf("before = %v, want %v", got, want)
	}
	if got, want := ids(during), []int64{4, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("during = %v, want %v", got, want)
	}
	if got, want := ids(after), []int64{8}; !slices.Equal(got, want) {
		t.Errorf("after = %v, want %v", got, want)
	}
}

func TestStatementsOfAndLockWaits(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	samples := []activity{
		{at: at(5), pid: 7, state: "active", queryStart: at(-50), query: "SELECT before the window"},
		{at: at(10), pid: 7, state: "active", queryStart: at(2), query: "ALTER TABLE positions DETACH PARTITION p CONCURRENTLY",
			waitType: "Lock", waitEvent: "virtualxid", lockType: "virtualxid", lockMode: "ShareLock"},
		{at: at(10), pid: 9, state: "active", queryStart: at(1), query: "INSERT INTO positions", waitType: "Lock",
			waitEvent: "relation", lockType: "relation", lockRelation: "positions", lockMode: "RowExclusiveLock"},
		{at: at(30), pid: 7, state: "active", queryStart: at(2), query: "ALTER TABLE positions DETACH PARTITION p CONCURRENTLY",
			waitType: "Lock", waitEvent: "virtualxid", lockType: "virtualxid", lockMode: "ShareLock"},
		{at: at(30), pid: 9, state: "active", queryStart: at(1), query: "INSERT INTO positions", waitType: "Lock",
			waitEvent: "relation", lockType: "relation", lockRelation: "positions", lockMode: "RowExclusiveLock"},
		// The detach finished at 40 ms and was followed by a statement never seen, then the drop.
		{at: at(50), pid: 7, state: "active", queryStart: at(45), query: "DROP TABLE p"},
		{at: at(70), pid: 7, state: "idle", queryStart: at(45), stateSeen: at(62), query: "DROP TABLE p"},
		{at: at(90), pid: 7, state: "active", queryStart: at(80), query: "SELECT pg_advisory_unlock($1)"},
	}
	got := statementsOf(samples, 7, at(0), at(100))
	if len(got) != 3 {
		t.Fatalf("%d statements, want 3: %+v", len(got), got)
	}
	if s := got[0]; s.start != at(2) || s.end != at(45) || s.ended || len(s.waits) != 1 ||
		s.waits[0] != "Lock:virtualxid (virtualxid ShareLock)" {
		t.Errorf("detach = %+v, want from 2 ms to the drop's start (45 ms), not seen ended, one wait", s)
	}
	if s := got[1]; s.duration() != 17*time.Millisecond || !s.ended {
		t.Errorf("drop = %+v, want 17 ms, seen ended", s)
	}
	if s := got[2]; s.end != at(100) || s.ended {
		t.Errorf("unlock = %+v, want it to end at the window's end", s)
	}
	if pid := prunePID(samples, at(0), at(100)); pid != 7 {
		t.Errorf("prunePID = %d, want 7", pid)
	}
	if pid := prunePID(samples, at(200), at(300)); pid != 0 {
		t.Errorf("prunePID out of the window = %d, want 0", pid)
	}
	waits := lockWaits(samples, 7, at(0), at(100))
	if len(waits) != 1 || waits[0].pid != 9 || waits[0].samples != 2 || waits[0].longest != 29*time.Millisecond ||
		waits[0].what != "Lock:relation (relation positions RowExclusiveLock)" {
		t.Errorf("lockWaits = %+v, want pid 9 twice, up to 29 ms", waits)
	}
}

func TestDayPartition(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	name, bounds := dayPartition("positions", day)
	if name != "positions_p20261201" ||
		bounds != "FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2026-12-02 00:00:00+00')" {
		t.Errorf("dayPartition = %q, %q", name, bounds)
	}
	if got := utcDay(time.Date(2026, 12, 2, 23, 30, 0, 0, time.FixedZone("x", -2*3600))); !got.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("utcDay = %v", got)
	}
	if got := timestampLiteral(day.Add(1500 * time.Millisecond)); got != "'2026-12-01 00:00:01.5+00'" {
		t.Errorf("timestampLiteral = %s", got)
	}
}

// TestFillAndPrune fills a small day with the benchmark's statements on a migrated database and checks that
// Store.Prune drops exactly it: the rows the statements insert, the events watermark they allow, and the
// partitions left. Seconds; skipped without PostgreSQL.
func TestFillAndPrune(t *testing.T) {
	dbtest.RequirePostgres(t)
	ctx := context.Background()
	url := dbtest.URL(t)
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	today := utcDay(time.Now())
	day := today.AddDate(0, 0, -1)
	const flights, observations, perCycle = 7, 40, 5
	for _, table := range []string{"positions", "sector_events"} {
		// The template database's migration created the partitions of its own day on: maybe yesterday's.
		name, bounds := dayPartition(table, day)
		if _, err := conn.Exec(ctx, "DO $$ BEGIN IF to_regclass('"+name+"') IS NULL THEN CREATE TABLE "+name+
			" PARTITION OF "+table+" "+bounds+"; END IF; END $$"); err != nil {
			t.Fatal(err)
		}
	}
	pos, _ := dayPartition("positions", day)
	ev, _ := dayPartition("sector_events", day)
	for _, f := range []struct {
		stmt string
		want int64
	}{
		{fillPositionsSQL(pos, day, flights, observations), flights * observations},
		{fillEventsSQL(ev, day, observations, perCycle, flights), observations * perCycle},
		{fillCyclesSQL(day, observations, perCycle, flights), observations},
	} {
		tag, err := conn.Exec(ctx, f.stmt)
		if err != nil {
			t.Fatalf("%v\n%s", err, f.stmt)
		}
		if tag.RowsAffected() != f.want {
			t.Errorf("%d rows, want %d:\n%s", tag.RowsAffected(), f.want, f.stmt)
		}
	}
	var first, last time.Time
	var onFrequency int64
	if err := conn.QueryRow(ctx, "SELECT min(observed_at), max(observed_at), count(controller_id) FROM "+pos).
		Scan(&first, &last, &onFrequency); err != nil {
		t.Fatal(err)
	}
	if !first.Equal(day) || !last.Equal(day.Add((observations-1)*15*time.Second)) || onFrequency != 0 {
		t.Errorf("positions from %v to %v, %d on frequency; want every 15 s from %v, none of 7 flights on frequency", first, last, onFrequency, day)
	}
	var maxSeq, lastSeq int64
	if err := conn.QueryRow(ctx, "SELECT (SELECT max(sequence) FROM "+ev+"), (SELECT max(last_sequence) FROM ingest_cycles)").
		Scan(&maxSeq, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if maxSeq != observations*perCycle || lastSeq != maxSeq {
		t.Errorf("events up to %d, cycles' last sequence %d; want both %d", maxSeq, lastSeq, observations*perCycle)
	}
	for _, table := range []string{pos, ev} {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			t.Fatal(err)
		}
	}
	p, err := store.Prune(ctx, today, today)
	if err != nil {
		t.Fatal(err)
	}
	if p.Positions != flights*observations || p.Events != observations*perCycle {
		t.Errorf("pruned %+v, want %d positions and %d events", p, flights*observations, observations*perCycle)
	}
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname IN ($1, $2)", pos, ev).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of yesterday's partitions left", left)
	}
}
