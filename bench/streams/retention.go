package main

// --modes retention: the retention of one day's partition at --pilots pilots while the writer runs its cycles.
//
// A fresh migrated database gets, before the writer starts, yesterday's day (UTC) of history written on the
// server with generate_series: --pilots flights × 5,760 positions (one every 15 s) in yesterday's positions
// partition, --events-per-cycle sector events for each of the day's 5,760 cycles in yesterday's events
// partition, and the day's 5,760 ingest_cycles records (update_timestamp, first and last sequence: what the
// events watermark is computed from), then VACUUM ANALYZE of both partitions, as autovacuum would have left
// them (pg_class.reltuples is what Prune reports as the rows dropped). The filled flights have ids that are in
// no flights row: keepLatestPositions only holds the cutoff back for flights online, and the writer's flights
// all have positions of today. The writer (startWriter, the scale benchmark's) runs the real ingest loop over
// sim, its feed time started earlier today by as much as the run's cycles will advance it (15 s each: the
// Runner refuses a snapshot dated past the clock), so its cycles write into today's partitions, one every
// --interval. Each operation below starts as a cycle does, so that at least that cycle runs beside it.
//
// Phases, on one database, in one run, with the cycles running throughout each:
//
//  1. --cycles cycles, the baseline; then Store.Prune(start of today, start of today) from another goroutine,
//     as Retention would call it with a retention of a day, and the cycles go on until --cycles more started
//     after it finished;
//  2. the feed held, the day before yesterday's positions partition filled with --delete-fill-hours hours of
//     the same positions and vacuumed; --cycles cycles, then the old approach: DELETE of the first
//     --delete-hours hours of it, on a connection of its own, and --cycles cycles after.
//
// A connection samples pg_stat_activity (with the ungranted pg_locks of each backend) every 20 ms for the
// whole run, at the same rate in every phase: the statements of the prune's connection (their durations from
// query_start and state_change) and any backend waiting on a lock.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

const modeRetention mode = "retention"

// observationsPerDay is a day of 15 s cycles.
const observationsPerDay = 24 * 60 * 60 / 15

// fillFlightBase is added to the filled flights' ids: ids no flights row has.
const fillFlightBase = 1_000_000

// sampleEvery is how often pg_stat_activity is sampled.
const sampleEvery = 20 * time.Millisecond

// cycleSpan is one committed cycle of the writer: from the start of its cycle (its publish time less its
// total) to its publish, right after the commit.
type cycleSpan struct {
	id                int64
	start, end        time.Time
	total, write      time.Duration
	events, positions int
}

// overlaps says whether the cycle ran at any time within [from, to].
func (c cycleSpan) overlaps(from, to time.Time) bool {
	return !c.end.Before(from) && !c.start.After(to)
}

// splitCycles sorts the cycles that started at or after since into those that ended before the operation
// began at from, those that overlapped [from, to], and those that started after to.
func splitCycles(cs []cycleSpan, since, from, to time.Time) (before, during, after []cycleSpan) {
	for _, c := range cs {
		switch {
		case c.start.Before(since):
		case c.end.Before(from):
			before = append(before, c)
		case c.overlaps(from, to):
			during = append(during, c)
		default:
			after = append(after, c)
		}
	}
	return before, during, after
}

// activity is one backend in one sample of pg_stat_activity.
type activity struct {
	at                    time.Time // when the sample was taken
	pid                   int32
	state                 string
	waitType, waitEvent   string
	queryStart, stateSeen time.Time // query_start, state_change
	query                 string
	lockType, lockMode    string // the backend's first ungranted lock, if any
	lockRelation          string
}

// statement is one statement of one backend as the samples saw it.
type statement struct {
	pid          int32
	query        string
	start, end   time.Time // end: state_change once seen no longer active; else the next statement's start
	ended        bool      // end is the backend's own state_change
	waits        []string  // wait events seen while it ran, each once
	firstSampled time.Time
}

func (s statement) duration() time.Duration { return s.end.Sub(s.start) }

// statementsOf rebuilds the statements of backend pid that started within [from, to] from the samples, in
// order. A statement shorter than the sampling interval may be missing; the last one seen ends at its
// state_change, or at to if it was never seen finished.
func statementsOf(samples []activity, pid int32, from, to time.Time) []statement {
	var out []statement
	index := map[time.Time]int{}
	for _, a := range samples {
		if a.pid != pid || a.queryStart.Before(from) || a.queryStart.After(to) {
			continue
		}
		i, ok := index[a.queryStart]
		if !ok {
			i = len(out)
			index[a.queryStart] = i
			out = append(out, statement{pid: pid, query: a.query, start: a.queryStart, firstSampled: a.at})
		}
		s := &out[i]
		if a.state != "active" && !s.ended {
			s.end, s.ended = a.stateSeen, true
		}
		if w := wait(a); a.state == "active" && w != "" && !slices.Contains(s.waits, w) {
			s.waits = append(s.waits, w)
		}
	}
	slices.SortFunc(out, func(a, b statement) int { return a.start.Compare(b.start) })
	for i := range out {
		if out[i].ended {
			continue
		}
		out[i].end = to
		if i+1 < len(out) {
			out[i].end = out[i+1].start
		}
	}
	return out
}

// wait names what a sampled backend waited on, "" when it did not.
func wait(a activity) string {
	if a.waitType == "" {
		return ""
	}
	w := a.waitType + ":" + a.waitEvent
	if a.lockType != "" {
		w += " (" + a.lockType
		if a.lockRelation != "" {
			w += " " + a.lockRelation
		}
		w += " " + a.lockMode + ")"
	}
	return w
}

// pruneStatements are fragments only Store.Prune's statements hold (prune.go, partitions.go).
var pruneStatements = []string{"pg_try_advisory_lock", "pg_advisory_unlock", "DETACH PARTITION", "DROP TABLE",
	"event_retention", "FROM pg_inherits", "reltuples", "relispartition", "MAX(sequence) FROM", "disconnected_at IS NULL AND lp.observed_at"}

// prunePID is the backend that ran one of the prune's own statements within [from, to], 0 when none was seen.
func prunePID(samples []activity, from, to time.Time) int32 {
	for _, a := range samples {
		if a.queryStart.Before(from) || a.queryStart.After(to) {
			continue
		}
		for _, f := range pruneStatements {
			if strings.Contains(a.query, f) {
				return a.pid
			}
		}
	}
	return 0
}

// lockWait is a backend seen waiting on a heavyweight lock.
type lockWait struct {
	pid     int32
	query   string
	what    string
	longest time.Duration // the longest the statement had been running when seen waiting
	samples int
}

// lockWaits are the backends other than except seen waiting on a lock (wait_event_type Lock) within [from, to].
func lockWaits(samples []activity, except int32, from, to time.Time) []lockWait {
	var out []lockWait
	for _, a := range samples {
		if a.pid == except || a.waitType != "Lock" || a.at.Before(from) || a.at.After(to) {
			continue
		}
		i := slices.IndexFunc(out, func(w lockWait) bool { return w.pid == a.pid && w.query == a.query })
		if i < 0 {
			i = len(out)
			out = append(out, lockWait{pid: a.pid, query: a.query, what: wait(a)})
		}
		out[i].samples++
		out[i].longest = max(out[i].longest, a.at.Sub(a.queryStart))
	}
	return out
}

// sampler samples pg_stat_activity of the database every sampleEvery on a connection of its own.
type sampler struct {
	mu      sync.Mutex
	samples []activity
	errs    int
}

func (s *sampler) run(ctx context.Context, conn *pgx.Conn) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := time.Now()
		rows, err := conn.Query(ctx, `SELECT a.pid, COALESCE(a.state, ''), COALESCE(a.wait_event_type, ''), COALESCE(a.wait_event, ''),
				COALESCE(a.query_start, 'epoch'), COALESCE(a.state_change, 'epoch'), left(a.query, 200),
				COALESCE(l.locktype, ''), COALESCE(l.mode, ''), COALESCE(l.relation::regclass::text, '')
			FROM pg_stat_activity AS a
			LEFT JOIN LATERAL (SELECT locktype, mode, relation FROM pg_locks WHERE pid = a.pid AND NOT granted LIMIT 1) AS l ON true
			WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'`)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.errs++
			s.mu.Unlock()
			continue
		}
		var got []activity
		for rows.Next() {
			a := activity{at: at}
			if err := rows.Scan(&a.pid, &a.state, &a.waitType, &a.waitEvent, &a.queryStart, &a.stateSeen, &a.query,
				&a.lockType, &a.lockMode, &a.lockRelation); err != nil {
				break
			}
			got = append(got, a)
		}
		rows.Close()
		s.mu.Lock()
		s.samples = append(s.samples, got...)
		s.mu.Unlock()
	}
}

func (s *sampler) snapshot() []activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// operation is the prune or the delete: its wall time and what the database says about it.
type operation struct {
	name                  string
	from, to              time.Time
	since                 time.Time // the start of the phase's first cycle: cycles before belong to the phase before
	rows                  int64     // what the operation reports: Pruned.Positions, or the DELETE's row count
	events                int64     // Pruned.Events
	wal                   int64     // bytes of WAL the server wrote meanwhile (every database's)
	err                   error
	pid                   int32
	before, during, after []cycleSpan
}

// retentionRun is everything one run measured.
type retentionRun struct {
	o                          options
	started                    time.Time
	loadBefore, loadAfter      string
	pgVersion                  string
	day, oldDay                time.Time
	feedStart                  time.Time
	positions, events, cycles  int64 // filled into yesterday
	oldPositions, deleteTarget int64 // filled into the day before, and the rows the DELETE should remove
	fillTime, oldFillTime      time.Duration
	vacuumTime, oldVacuumTime  time.Duration
	daySize, eventsSize        int64 // bytes of yesterday's partitions, indexes included, before the prune
	oldDaySize                 int64
	prune, del                 operation
	pruneStatements            []statement
	pruneLockWaits, delWaits   []lockWait
	failedCycles               int64
	sampleErrors, samples      int
	partitionsAfter            []string
}

// runRetention runs the retention benchmark once and writes its section.
func runRetention(ctx context.Context, o options, log *slog.Logger) error {
	r := &retentionRun{o: o, started: time.Now().UTC(), loadBefore: hostinfo.LoadAverage()}
	if err := r.run(ctx, log); err != nil {
		return err
	}
	r.loadAfter = hostinfo.LoadAverage()
	return writeSection(o.out, "<!-- retention:begin", "<!-- retention:end -->", r.report())
}

// fillPositionsSQL inserts flights × observations positions into the day partition table, observed every 15 s
// from day on, in the order ingest writes them (by cycle, then flight). Latitude, longitude, altitude,
// groundspeed and heading vary by flight and drift by cycle; last_updated is up to 14 s before observed_at;
// one position in 50 is on a controller's frequency (on_frequency, controller_id), the rest NULL.
func fillPositionsSQL(table string, day time.Time, flights, observations int) string {
	return fmt.Sprintf(`INSERT INTO %s (flight_id, observed_at, latitude, longitude, altitude, groundspeed, heading, last_updated, on_frequency, controller_id)
SELECT %d + f, t,
	-60 + ((f * 7919) %% 12000) / 100.0 + c * 0.0004,
	-180 + ((f * 104729) %% 36000) / 100.0 + c * 0.0007,
	((f * 37) %% 400) * 100,
	(f * 13) %% 500,
	(f * 7 + c) %% 360,
	t - make_interval(secs => f %% 15),
	CASE WHEN f %% 50 = 0 THEN true END,
	CASE WHEN f %% 50 = 0 THEN 1 + (f / 50) %% 200 END
FROM generate_series(0, %d) AS c
CROSS JOIN LATERAL (SELECT %s::timestamptz + c * interval '15 seconds' AS t) AS ts
CROSS JOIN LATERAL generate_series(1, %d) AS f`, table, fillFlightBase, observations-1, timestampLiteral(day), flights)
}

// fillEventsSQL inserts perCycle sector events for each of the day's cycles 1..cycles (sequences 1.. in
// order, perCycle a cycle), half entries and half exits, at the cycle's feed time.
func fillEventsSQL(table string, day time.Time, cycles, perCycle, flights int) string {
	return fmt.Sprintf(`INSERT INTO %s (sequence, kind, sector_id, occurred_at, cycle_id, cid, callsign, flight_id, visit_id,
	latitude, longitude, altitude, exit_reason, duration_seconds, sector_set)
SELECT s, CASE WHEN k %% 2 = 0 THEN 'entry' ELSE 'exit' END, 'SECTOR' || ((k * 7 + c) %% 1098),
	%s::timestamptz + c * interval '15 seconds', c + 1, 1000000 + s %% %d, 'SIM' || (s %% %d), %d + s %% %d, s,
	-60 + (s %% 12000) / 100.0, -180 + (s %% 36000) / 100.0, (s %% 400) * 100,
	CASE WHEN k %% 2 = 1 THEN 'left' END, CASE WHEN k %% 2 = 1 THEN 600 + s %% 3000 END, 'vatspy'
FROM generate_series(0, %d) AS c
CROSS JOIN LATERAL generate_series(1, %d) AS k
CROSS JOIN LATERAL (SELECT c::bigint * %d + k AS s) AS seq`, table, timestampLiteral(day), flights, flights, fillFlightBase, flights,
		cycles-1, perCycle, perCycle)
}

// fillCyclesSQL inserts the day's cycle records 1..cycles, every 15 s, each with perCycle events.
func fillCyclesSQL(day time.Time, cycles, perCycle, pilots int) string {
	return fmt.Sprintf(`INSERT INTO ingest_cycles (id, update_timestamp, fetched_at, committed_at, pilots, controllers, atis,
	flights_written, flight_plans_written, positions_written, visits_opened, visits_closed, events_written, controllers_written,
	first_sequence, last_sequence, statements, decode_us, classify_us, diff_us, write_us, commit_us, total_us)
SELECT c + 1, t, t + interval '1 second', t + interval '1.2 seconds', %d, 150, 100,
	%d, 20, %d, %d, %d, %d, 3, c::bigint * %d + 1, (c::bigint + 1) * %d, 12, 20000, 8000, 4000, 60000, 2000, 95000
FROM generate_series(0, %d) AS c
CROSS JOIN LATERAL (SELECT %s::timestamptz + c * interval '15 seconds' AS t) AS ts`,
		pilots, pilots, pilots, perCycle/2, perCycle-perCycle/2, perCycle, perCycle, perCycle, cycles-1, timestampLiteral(day))
}

// timestampLiteral is the SQL literal of a UTC instant.
func timestampLiteral(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}

// dayPartition is the name and bounds clause of a day's partition of a table, as the repository names them.
func dayPartition(table string, day time.Time) (name, bounds string) {
	return table + "_p" + day.Format("20060102"), "FOR VALUES FROM (" + timestampLiteral(day) + ") TO (" +
		timestampLiteral(day.AddDate(0, 0, 1)) + ")"
}

// utcDay is the start of t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (r *retentionRun) run(ctx context.Context, log *slog.Logger) (err error) {
	o := r.o
	now := time.Now().UTC()
	today := utcDay(now)
	// The sim's feed time moves 15 s a cycle, one cycle a second or so: it starts far enough before the clock
	// that no snapshot of the run is past the clock (the Runner refuses those beyond FutureTolerance), and in
	// today, so that every cycle writes into today's partitions.
	feedStart := now.Add(-time.Duration(o.warmup+6*o.cycles+200) * 15 * time.Second)
	if feedStart.Before(today) {
		return fmt.Errorf("the run's feed time would start on yesterday (UTC %s): run it after %s UTC", feedStart.Format("15:04"),
			now.Sub(feedStart).Round(time.Minute))
	}
	r.feedStart = feedStart
	r.day, r.oldDay = today.AddDate(0, 0, -1), today.AddDate(0, 0, -2)
	name := fmt.Sprintf("bench_retention_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	_ = admin.QueryRow(ctx, "SELECT version()").Scan(&r.pgVersion)
	dbURL, drop, err := createDatabase(ctx, admin, o.pgAdmin, name)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drop()) }()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	sectors, err := loadSectors(o)
	if err != nil {
		return err
	}

	flights := o.pilots
	w, err := startWriter(ctx, o, log, dbURL, sectors, sim.Config{Seed: 1, Pilots: o.pilots, Start: feedStart},
		func(*repository.Store) error { return r.fillDay(ctx, db, flights) })
	if err != nil {
		return err
	}
	defer w.instance.stop()
	mk, pace := w.marker, w.pacer

	sconn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer sconn.Close(context.WithoutCancel(ctx))
	var smp sampler
	sctx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { smp.run(sctx, sconn) })
	defer func() {
		stopSampling()
		sampling.Wait()
	}()

	// waitCycles waits until n cycles in all were committed.
	waitCycles := func(n int64) error {
		deadline := time.Now().Add(time.Duration(n-mk.count.Load())*(o.interval+5*time.Second) + 5*time.Minute)
		for mk.count.Load() < n {
			select {
			case <-w.instance.done:
				return fmt.Errorf("ingest ended early: %v", w.instance.err)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				var last string
				_ = db.QueryRow(ctx, "SELECT COALESCE(max(error), 'none') FROM ingest_cycles WHERE error IS NOT NULL").Scan(&last)
				var busy string
				_ = db.QueryRow(ctx, `SELECT COALESCE(string_agg(pid || ' ' || state || ' ' || COALESCE(wait_event_type || ':' || wait_event, '') || ' ' || left(query, 80), '; '), '')
					FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`).Scan(&busy)
				return fmt.Errorf("%d of %d cycles committed in time (the runner's last error: %q; a failed cycle's error: %s; busy backends: %s)",
					mk.count.Load(), n, w.instance.runner.Status().LastError, last, busy)
			}
		}
		return nil
	}
	// hold takes back the permits not used and waits for the cycle that took the last one.
	hold := func() error {
		for len(pace.permits) > 0 {
			select {
			case <-pace.permits:
			default:
			}
		}
		for last, still := mk.count.Load(), time.Now(); time.Since(still) < 2*o.interval+2*time.Second; {
			time.Sleep(50 * time.Millisecond)
			if n := mk.count.Load(); n != last {
				last, still = n, time.Now()
			}
		}
		return nil
	}
	// measure runs --cycles cycles, then op beside the cycles, then --cycles more cycles that started after it.
	measure := func(op *operation, run func(context.Context) error) error {
		op.since = time.Now()
		pace.grant(cap(pace.permits) - len(pace.permits))
		if err := waitCycles(mk.count.Load() + int64(o.cycles)); err != nil {
			return err
		}
		// The operation starts as the next cycle does, so that at least that cycle runs beside it (one cycle a
		// second: an operation shorter than that might otherwise fall between two).
		select {
		case <-pace.released:
		default:
		}
		select {
		case <-pace.released:
		case <-time.After(time.Minute):
			return errors.New("no cycle started within a minute")
		}
		var lsn0 string
		_ = admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn0)
		fmt.Fprintf(os.Stderr, "streams retention: %s beside the cycles\n", op.name)
		op.from = time.Now()
		op.err = run(ctx)
		op.to = time.Now()
		_ = admin.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", lsn0).Scan(&op.wal)
		fmt.Fprintf(os.Stderr, "streams retention: %s took %v (err %v); %d cycles after it\n", op.name, op.to.Sub(op.from), op.err, o.cycles)
		// The cycle in flight at op.to and --cycles after it.
		if err := waitCycles(mk.count.Load() + int64(o.cycles) + 1); err != nil {
			return err
		}
		return hold()
	}

	fmt.Fprintf(os.Stderr, "streams retention: %d warm-up cycles\n", o.warmup)
	pace.grant(o.warmup)
	if err := waitCycles(int64(o.warmup)); err != nil {
		return err
	}
	if err := hold(); err != nil {
		return err
	}

	// 1. The prune of yesterday.
	r.prune.name = "Store.Prune"
	var pruned domain.Pruned
	if err := measure(&r.prune, func(ctx context.Context) error {
		var err error
		pruned, err = w.instance.store.Prune(ctx, today, today)
		return err
	}); err != nil {
		return err
	}
	if r.prune.err != nil {
		return fmt.Errorf("prune: %w", r.prune.err)
	}
	r.prune.rows, r.prune.events = pruned.Positions, pruned.Events
	rows, err := db.Query(ctx, `SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
		WHERE i.inhparent IN ('positions'::regclass, 'sector_events'::regclass) ORDER BY 1`)
	if err != nil {
		return err
	}
	if r.partitionsAfter, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return err
	}

	// 2. The old approach: a DELETE of the oldest hours of a filled day.
	if o.deleteHours > 0 {
		fmt.Fprintf(os.Stderr, "streams retention: filling %d hours of the day before yesterday (the feed is held)\n", o.deleteFillHours)
		if err := r.fillOldDay(ctx, db, flights); err != nil {
			return err
		}
		r.del.name = "DELETE"
		part, _ := dayPartition("positions", r.oldDay)
		dconn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer dconn.Close(context.WithoutCancel(ctx))
		if err := dconn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&r.del.pid); err != nil {
			return err
		}
		if err := measure(&r.del, func(ctx context.Context) error {
			tag, err := dconn.Exec(ctx, "DELETE FROM "+part+" WHERE observed_at < "+
				timestampLiteral(r.oldDay.Add(time.Duration(o.deleteHours)*time.Hour)))
			r.del.rows = tag.RowsAffected()
			return err
		}); err != nil {
			return err
		}
		if r.del.err != nil {
			return fmt.Errorf("delete: %w", r.del.err)
		}
	}
	stopSampling()
	sampling.Wait()

	if err := db.QueryRow(ctx, "SELECT count(*) FROM ingest_cycles WHERE error IS NOT NULL").Scan(&r.failedCycles); err != nil {
		return err
	}
	samples := smp.snapshot()
	r.samples, r.sampleErrors = len(samples), smp.errs
	r.prune.pid = prunePID(samples, r.prune.from, r.prune.to)
	if r.prune.pid != 0 {
		r.pruneStatements = statementsOf(samples, r.prune.pid, r.prune.from, r.prune.to)
	}
	r.pruneLockWaits = lockWaits(samples, r.prune.pid, r.prune.from, r.prune.to)
	if o.deleteHours > 0 {
		r.delWaits = lockWaits(samples, r.del.pid, r.del.from, r.del.to)
	}
	var spans []cycleSpan
	mk.mu.RLock()
	for id, m := range mk.marks {
		spans = append(spans, cycleSpan{id: id, start: m.published.Add(-m.total), end: m.published, total: m.total, write: m.write, events: m.events})
	}
	mk.mu.RUnlock()
	slices.SortFunc(spans, func(a, b cycleSpan) int { return a.start.Compare(b.start) })
	pruneEnd := r.prune.to
	if o.deleteHours > 0 {
		pruneEnd = r.del.since // cycles after the prune stop where the delete's phase starts
	}
	r.prune.before, r.prune.during, r.prune.after = splitCycles(spans, r.prune.since, r.prune.from, r.prune.to)
	r.prune.after = slices.DeleteFunc(r.prune.after, func(c cycleSpan) bool { return !c.start.Before(pruneEnd) })
	if o.deleteHours > 0 {
		r.del.before, r.del.during, r.del.after = splitCycles(spans, r.del.since, r.del.from, r.del.to)
	}
	return nil
}

// fillDay creates yesterday's partitions and fills them, and the day's cycle records, before the writer starts.
func (r *retentionRun) fillDay(ctx context.Context, db *pgx.Conn, flights int) error {
	o := r.o
	pos, posBounds := dayPartition("positions", r.day)
	ev, evBounds := dayPartition("sector_events", r.day)
	fmt.Fprintf(os.Stderr, "streams retention: filling %s with %s positions, %s with %s events\n", pos,
		thousands(int64(flights*observationsPerDay)), ev, thousands(int64(o.eventsPerCycle*observationsPerDay)))
	started := time.Now()
	for _, stmt := range []string{
		"CREATE TABLE " + pos + " PARTITION OF positions " + posBounds,
		"CREATE TABLE " + ev + " PARTITION OF sector_events " + evBounds,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	for _, f := range []struct {
		stmt string
		n    *int64
	}{
		{fillPositionsSQL(pos, r.day, flights, observationsPerDay), &r.positions},
		{fillEventsSQL(ev, r.day, observationsPerDay, o.eventsPerCycle, flights), &r.events},
		{fillCyclesSQL(r.day, observationsPerDay, o.eventsPerCycle, o.pilots), &r.cycles},
	} {
		tag, err := db.Exec(ctx, f.stmt)
		if err != nil {
			return fmt.Errorf("fill: %w\n%s", err, f.stmt)
		}
		*f.n = tag.RowsAffected()
	}
	r.fillTime = time.Since(started)
	started = time.Now()
	for _, t := range []string{pos, ev, "ingest_cycles"} {
		if _, err := db.Exec(ctx, "VACUUM ANALYZE "+t); err != nil {
			return err
		}
	}
	r.vacuumTime = time.Since(started)
	if err := db.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass), pg_total_relation_size($2::regclass)", pos, ev).
		Scan(&r.daySize, &r.eventsSize); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "streams retention: filled in %v, vacuumed in %v: %.2f GB of positions, %.2f GB of events\n",
		r.fillTime.Round(time.Second), r.vacuumTime.Round(time.Second), gb(r.daySize), gb(r.eventsSize))
	return nil
}

// fillOldDay creates the partition of the day before yesterday and fills its first --delete-fill-hours hours.
func (r *retentionRun) fillOldDay(ctx context.Context, db *pgx.Conn, flights int) error {
	o := r.o
	pos, bounds := dayPartition("positions", r.oldDay)
	started := time.Now()
	if _, err := db.Exec(ctx, "CREATE TABLE "+pos+" PARTITION OF positions "+bounds); err != nil {
		return err
	}
	tag, err := db.Exec(ctx, fillPositionsSQL(pos, r.oldDay, flights, o.deleteFillHours*3600/15))
	if err != nil {
		return err
	}
	r.oldPositions = tag.RowsAffected()
	r.deleteTarget = int64(flights) * int64(o.deleteHours*3600/15)
	r.oldFillTime = time.Since(started)
	started = time.Now()
	if _, err := db.Exec(ctx, "VACUUM ANALYZE "+pos); err != nil {
		return err
	}
	r.oldVacuumTime = time.Since(started)
	if err := db.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass)", pos).Scan(&r.oldDaySize); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "streams retention: filled in %v, vacuumed in %v: %.2f GB\n",
		r.oldFillTime.Round(time.Second), r.oldVacuumTime.Round(time.Second), gb(r.oldDaySize))
	return nil
}

func gb(b int64) float64 { return float64(b) / (1 << 30) }

// cycleStats is the p50, p99 and max of the cycles' totals, and the p50 and max of their write phases.
func cycleStats(cs []cycleSpan) (p50, p99, mx, w50, wmax time.Duration) {
	var t, w []time.Duration
	for _, c := range cs {
		t, w = append(t, c.total), append(w, c.write)
	}
	if len(t) == 0 {
		return
	}
	return percentile(t, .5), percentile(t, .99), slices.Max(t), percentile(w, .5), slices.Max(w)
}

// shortQuery is a statement's text for a table cell: one line, at most n characters, pipes escaped.
func shortQuery(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > n {
		q = q[:n] + "…"
	}
	return strings.ReplaceAll(q, "|", `\|`)
}

func (r *retentionRun) report() []byte {
	o := r.o
	var b bytes.Buffer
	pos, _ := dayPartition("positions", r.day)
	ev, _ := dayPartition("sector_events", r.day)
	old, _ := dayPartition("positions", r.oldDay)
	fmt.Fprintf(&b, "\n- Command: `go run ./bench/streams --modes retention --pilots %d --warmup %d --cycles %d --events-per-cycle %d --delete-fill-hours %d --delete-hours %d --out BENCHMARKS.md`\n",
		o.pilots, o.warmup, o.cycles, o.eventsPerCycle, o.deleteFillHours, o.deleteHours)
	fmt.Fprintf(&b, "- Date: %s → %s (UTC)\n", r.started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (`nproc`), %s, %s RAM, Linux %s; load average (1/5/15 min) before: %s, after: %s — the machine is shared with other work; the primary, its hot standby (replaying all of this run's WAL) and this process run on it\n",
		runtime.NumCPU(), hostinfo.CPUModel(), hostinfo.MemTotal(), hostinfo.Kernel(), r.loadBefore, r.loadAfter)
	fmt.Fprintf(&b, "- Go: %s; PostgreSQL: %s, over loopback TCP\n", runtime.Version(), r.pgVersion)
	fmt.Fprintf(&b, "- Setup, before the writer starts, on a fresh migrated database: `%s` filled on the server (`INSERT … SELECT` over `generate_series`, in ingest's order: by cycle, then flight) with %s flights × %s positions, one every 15 s = %s rows (flight ids in no `flights` row: `keepLatestPositions` holds the cutoff back only for flights online, and the writer's all have today's positions); `%s` with %d events for each of the day's cycles = %s rows; %s `ingest_cycles` records of that day (update_timestamp every 15 s, first/last sequence: what the events watermark is cut by). Filled in %s, then `VACUUM ANALYZE` in %s (the server runs with autovacuum off; `Pruned.Positions` is `pg_class.reltuples`). Size, indexes included: positions %.2f GB (%.0f B a row), events %.2f GB\n",
		pos, thousands(int64(o.pilots)), thousands(observationsPerDay), thousands(r.positions), ev, o.eventsPerCycle, thousands(r.events),
		thousands(r.cycles), r.fillTime.Round(time.Second), r.vacuumTime.Round(time.Second), gb(r.daySize),
		float64(r.daySize)/float64(max(r.positions, 1)), gb(r.eventsSize))
	fmt.Fprintf(&b, "- Writer: the scale benchmark's (`startWriter`): the real `ingest.Runner` over `sim` (seed 1, %s pilots) from feed time %s UTC today, which the cycles (15 s of feed time each) never take past the clock (the Runner refuses a snapshot over 2 min ahead), so they all write into today's partitions; one cycle every %v (a snapshot %v after the previous cycle ended); %d warm-up cycles. Cycle times are the Runner's own records (total: fetch to commit; write: the write transaction); a cycle counts as overlapping an operation when any part of it, from its start (publish time less total) to its publish right after the commit, fell within the operation's wall time. p50/p99 nearest rank\n",
		thousands(int64(o.pilots)), r.feedStart.Format("15:04:05"), o.interval, o.interval, o.warmup)
	fmt.Fprintf(&b, "- Prune: `Store.Prune(start of today, start of today)` from another goroutine (what `Retention` would call with a retention of one day), %d cycles after the warm-up; it runs on one connection of ingest's pool (2 connections), beside the cycles on the other. Statements: pg_stat_activity sampled every %v on a connection of its own throughout the run (%s samples of backends, %d failed), each statement's time from its `query_start` to its `state_change` (statements shorter than the interval may not appear)\n",
		o.cycles, sampleEvery, thousands(int64(r.samples)), r.sampleErrors)
	if o.deleteHours > 0 {
		fmt.Fprintf(&b, "- Old approach, after the prune, in the same run: the feed held, `%s` created and filled the same way with its first %d h (%s rows, %.2f GB, filled in %s, vacuumed in %s); %d cycles, then `DELETE FROM %s WHERE observed_at < '%s'` (the first %d h: %s rows, what an hourly delete removes at %s pilots) on a connection of its own, and %d cycles after\n",
			old, o.deleteFillHours, thousands(r.oldPositions), gb(r.oldDaySize), r.oldFillTime.Round(time.Second), r.oldVacuumTime.Round(time.Second),
			o.cycles, old, r.oldDay.Add(time.Duration(o.deleteHours)*time.Hour).Format("2006-01-02 15:04"), o.deleteHours, thousands(r.deleteTarget), thousands(int64(o.pilots)), o.cycles)
	}
	b.WriteString("\n| operation | rows | wall time | WAL written meanwhile (whole server) | cycles overlapping it |\n|---|--:|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| `Store.Prune`: drop one day of positions and of events | positions %s reported (%s inserted), events %s reported (%s inserted) | %.0f ms | %.1f MB | %d |\n",
		thousands(r.prune.rows), thousands(r.positions), thousands(r.prune.events), thousands(r.events), ms(r.prune.to.Sub(r.prune.from)),
		float64(r.prune.wal)/(1<<20), len(r.prune.during))
	if o.deleteHours > 0 {
		d := r.del.to.Sub(r.del.from)
		scale := float64(observationsPerDay*o.pilots) / float64(max(r.del.rows, 1))
		fmt.Fprintf(&b, "| `DELETE` of %d h of positions (the old approach) | %s deleted | %.0f ms | %.1f MB | %d |\n",
			o.deleteHours, thousands(r.del.rows), ms(d), float64(r.del.wal)/(1<<20), len(r.del.during))
		fmt.Fprintf(&b, "| (`DELETE` scaled linearly to a day's %s positions, ×%.0f: not measured) | | %.0f s | %.0f MB | |\n",
			thousands(int64(observationsPerDay*o.pilots)), scale, d.Seconds()*scale, float64(r.del.wal)/(1<<20)*scale)
	}
	fmt.Fprintf(&b, "\n| writer's cycles at %s pilots | cycles | total p50 | total p99 | total max | write p50 | write max |\n|---|--:|--:|--:|--:|--:|--:|\n", thousands(int64(o.pilots)))
	row := func(label string, cs []cycleSpan) {
		if len(cs) == 0 {
			fmt.Fprintf(&b, "| %s | 0 | — | — | — | — | — |\n", label)
			return
		}
		p50, p99, mx, w50, wmax := cycleStats(cs)
		fmt.Fprintf(&b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", label, len(cs), ms(p50), ms(p99), ms(mx), ms(w50), ms(wmax))
	}
	row("before the prune (baseline)", r.prune.before)
	row("**overlapping the prune**", r.prune.during)
	row("after the prune", r.prune.after)
	if o.deleteHours > 0 {
		row("before the `DELETE` (baseline)", r.del.before)
		row(fmt.Sprintf("**overlapping the `DELETE`** of %d h", o.deleteHours), r.del.during)
		row("after the `DELETE`", r.del.after)
	}
	fmt.Fprintf(&b, "\nCycles that failed in the whole run (`ingest_cycles.error`): %d.\n", r.failedCycles)
	waits := func(label string, ws []lockWait) {
		if len(ws) == 0 {
			fmt.Fprintf(&b, "Backends other than the %s's seen waiting on a lock (`wait_event_type` Lock, every %v) while it ran: none.\n", label, sampleEvery)
			return
		}
		fmt.Fprintf(&b, "Backends other than the %s's seen waiting on a lock while it ran:\n\n", label)
		for _, w := range ws {
			fmt.Fprintf(&b, "- pid %d, %s, %d samples, its statement up to %.0f ms old when seen: `%s`\n", w.pid, w.what, w.samples, ms(w.longest), shortQuery(w.query, 120))
		}
		b.WriteString("\n")
	}
	waits("prune", r.pruneLockWaits)
	if o.deleteHours > 0 {
		waits("`DELETE`", r.delWaits)
	}
	if len(r.pruneStatements) > 0 {
		fmt.Fprintf(&b, "\nThe prune's statements as sampled (its connection, pid %d; time from the server's `query_start` to its `state_change` when a sample saw it finished; ≤: not seen finished, the time until the next statement seen started, which includes any statement between them too short to be sampled):\n\n| starts at (ms after the call) | statement | time | waits seen |\n|--:|---|--:|---|\n", r.prune.pid)
		for _, s := range r.pruneStatements {
			d := fmt.Sprintf("%.1f ms", ms(s.duration()))
			if !s.ended {
				d = "≤ " + d
			}
			fmt.Fprintf(&b, "| %.0f | `%s` | %s | %s |\n", ms(s.start.Sub(r.prune.from)), shortQuery(s.query, 110), d, strings.Join(s.waits, ", "))
		}
	}
	fmt.Fprintf(&b, "\nPartitions left after the prune: %s.\n\n", strings.Join(r.partitionsAfter, ", "))
	return b.Bytes()
}
