package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// scenario is one measured ingest run on a fresh database.
type scenario struct {
	Name   string
	Pilots int
	Seed   int64
	Warmup int
	Cycles int
	// Window is the cycles of a WAL window (the checkpoint interval in feed cycles).
	Window  int
	PGAdmin string
	DBName  string
	Keep    bool
}

// cycleSample is one measured cycle as the Runner recorded it.
type cycleSample struct {
	Pilots, Controllers, ATIS                 int
	Flights, Plans, Positions                 int
	Opened, Closed, Events, ControllerUpdates int
	WriteUS, CommitUS, TotalUS                int64
	// WAL is the cluster's WAL from the previous cycle's commit to this one's (every database on the server).
	WAL int64
}

// indexStat is one index's size after VACUUM ANALYZE and after VACUUM FULL.
type indexStat struct {
	Table, Name    string
	Bytes, Compact int64
}

// outcome is what a scenario measured.
type outcome struct {
	Spec    scenario
	Started time.Time
	Elapsed time.Duration
	Samples []cycleSample
	Tables  []tableStat
	Indexes []indexStat
	WAL     walSummary
	// ClusterWAL is the server's WAL over the measured cycles (pg_wal_lsn_diff of the flush LSN).
	ClusterWAL int64
	// WALByTable is WAL bytes per table (its indexes and TOAST included) over the measured cycles; records in
	// relations no table owns (catalogs) are under "(catalogs)".
	WALByTable map[string]int64
	// SnapshotBytes is the last snapshot's JSON.
	SnapshotBytes int
}

func (o *outcome) measured() int { return len(o.Samples) }

func (o *outcome) table(name string) tableStat {
	for _, t := range o.Tables {
		if t.Name == name {
			return t
		}
	}
	return tableStat{Name: name}
}

// runScenario creates the database, ingests the simulated feed through the real Runner and measures it.
// log gets the bench's progress, ingestLog the Runner's messages.
func runScenario(ctx context.Context, sectors *ingest.AirspaceSectors, sc scenario, log, ingestLog *slog.Logger) (_ *outcome, err error) {
	dbURL, drop, err := createDatabase(ctx, sc.PGAdmin, sc.DBName)
	if err != nil {
		return nil, err
	}
	if !sc.Keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if derr := drop(dctx); derr != nil {
				err = errors.Join(err, fmt.Errorf("drop %s: %w", sc.DBName, derr))
			}
		}()
	}
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: dbURL, QueryTimeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if _, err := store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m, err := newMeter(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer m.close(context.WithoutCancel(ctx))

	simulator := sim.New(sim.Config{Seed: sc.Seed, Pilots: sc.Pilots, Cycles: sc.Warmup + sc.Cycles})
	src := &sizedSource{Simulator: simulator}
	rec := &recorder{ctx: ctx, sc: sc, m: m, log: log, out: &outcome{Spec: sc, Started: time.Now().UTC()}}
	rec.out.WAL.Window = sc.Window
	runner, err := ingest.NewRunner(ingest.Config{
		Source: src, Store: store, Sectors: sectors.Current, Publisher: rec,
		// A shared machine can stall a cycle; a timed-out write would be retried and spoil the run.
		WriteTimeout: 5 * time.Minute, Logger: ingestLog,
	})
	if err != nil {
		return nil, err
	}
	log.Info("ingest", "scenario", sc.Name, "pilots", sc.Pilots, "warmup", sc.Warmup, "cycles", sc.Cycles)
	start := time.Now()
	runErr := runner.Run(ctx)
	rec.out.Elapsed = time.Since(start)
	if runErr != nil {
		return nil, fmt.Errorf("run: %w", runErr)
	}
	if rec.err != nil {
		return nil, rec.err
	}
	st := runner.Status()
	if st.Totals.Failures > 0 || st.Totals.Cycles != int64(sc.Warmup+sc.Cycles) || len(rec.out.Samples) != sc.Cycles {
		return nil, fmt.Errorf("ingest incomplete: %d cycles committed of %d, %d failures (last error: %s)",
			st.Totals.Cycles, sc.Warmup+sc.Cycles, st.Totals.Failures, st.LastError)
	}
	if rec.sinceWindow > 0 { // the last, partial window
		if err := rec.closeWindow(); err != nil {
			return nil, err
		}
	}
	rec.out.ClusterWAL = int64(rec.lastLSN - rec.firstLSN)
	rec.out.SnapshotBytes = src.last
	log.Info("measuring sizes", "scenario", sc.Name)
	if err := m.finish(ctx, rec.out, rec.rows0); err != nil {
		return nil, err
	}
	return rec.out, nil
}

// sizedSource is the simulator as the Runner's source (snapshots and transceivers files, as the live feed
// serves both), remembering the size of the last snapshot.
type sizedSource struct {
	*sim.Simulator
	last int
}

var _ feed.TransceiverSource = (*sizedSource)(nil)

func (s *sizedSource) Fetch(ctx context.Context) ([]byte, error) {
	b, err := s.Simulator.Fetch(ctx)
	if err == nil {
		s.last = len(b)
	}
	return b, err
}

// recorder is the Runner's Publisher. It runs on the ingest goroutine right after each commit, so what it
// reads between two cycles (the WAL position, a window's WAL records) happens while no cycle writes.
type recorder struct {
	ctx context.Context
	sc  scenario
	m   *meter
	log *slog.Logger
	out *outcome
	err error

	n                            int
	rows0                        map[string]int64
	firstLSN, lastLSN, windowLSN uint64
	sinceWindow                  int
}

func (r *recorder) Publish(c *domain.Committed) {
	if r.err != nil {
		return
	}
	r.n++
	if r.n < r.sc.Warmup {
		return
	}
	lsn, err := r.m.flushLSN(r.ctx)
	if err != nil {
		r.err = err
		return
	}
	if r.n == r.sc.Warmup {
		if r.rows0, err = r.m.rowCounts(r.ctx); err != nil {
			r.err = err
			return
		}
		r.firstLSN, r.lastLSN, r.windowLSN = lsn, lsn, lsn
		return
	}
	cy := &c.Cycle
	r.out.Samples = append(r.out.Samples, cycleSample{
		Pilots: cy.Pilots, Controllers: cy.Controllers, ATIS: cy.ATIS,
		Flights: cy.FlightsWritten, Plans: cy.FlightPlansWritten, Positions: cy.PositionsWritten,
		Opened: cy.VisitsOpened, Closed: cy.VisitsClosed, Events: cy.EventsWritten, ControllerUpdates: cy.ControllersWritten,
		WriteUS: cy.WriteUS, CommitUS: cy.CommitUS, TotalUS: cy.TotalUS, WAL: int64(lsn - r.lastLSN),
	})
	r.lastLSN = lsn
	r.sinceWindow++
	if r.sinceWindow == r.sc.Window {
		r.err = r.closeWindow()
	}
	if n := len(r.out.Samples); n%60 == 0 {
		r.log.Info("progress", "scenario", r.sc.Name, "cycles", n, "of", r.sc.Cycles)
	}
}

// closeWindow reads the WAL of the cycles since the last window. It must run soon after them: a checkpoint
// recycles the segments before it.
func (r *recorder) closeWindow() error {
	w, err := r.m.walWindow(r.ctx, r.windowLSN, r.lastLSN)
	if err != nil {
		return fmt.Errorf("WAL window: %w", err)
	}
	w.Cycles = r.sinceWindow
	r.out.WAL.Windows = append(r.out.WAL.Windows, w)
	if err := r.m.release(r.ctx, r.lastLSN); err != nil {
		return fmt.Errorf("advance the replication slot: %w", err)
	}
	r.windowLSN, r.sinceWindow = r.lastLSN, 0
	return nil
}

// meter is a connection of its own to the scenario's database, for everything the bench reads.
type meter struct {
	conn   *pgx.Conn
	dbOID  uint32
	tables []string
	slot   string
}

func newMeter(ctx context.Context, dbURL string) (*meter, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	m := &meter{conn: conn}
	// pg_walinspect reads the whole cluster's WAL; installed in the scenario's database, it is dropped with it.
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_walinspect"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pg_walinspect (PostgreSQL 15+, superuser): %w", err)
	}
	// A checkpoint recycles the WAL segments before it, possibly before a window is read: a temporary physical
	// slot keeps them, and is advanced past each window read. Temporary, it goes with this session whatever
	// happens to the process.
	m.slot = fmt.Sprintf("vatsector_sizing_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1, true, true)", m.slot); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("temporary replication slot (max_replication_slots): %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&m.dbOID); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	if m.tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *meter) close(ctx context.Context) {
	_, _ = m.conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", m.slot)
	_ = m.conn.Close(ctx)
}

// release lets the server recycle the WAL before lsn.
func (m *meter) release(ctx context.Context, lsn uint64) error {
	_, err := m.conn.Exec(ctx, "SELECT pg_replication_slot_advance($1, $2::pg_lsn)", m.slot, lsnText(lsn))
	return err
}

func (m *meter) flushLSN(ctx context.Context) (uint64, error) {
	var s string
	if err := m.conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&s); err != nil {
		return 0, err
	}
	return parseLSN(s)
}

func lsnText(l uint64) string { return fmt.Sprintf("%X/%X", l>>32, uint32(l)) }

func (m *meter) rowCounts(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(m.tables))
	for _, t := range m.tables {
		var n int64
		if err := m.conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// walSQL reads a window's WAL records that touch the database ($3: its OID), and returns per relfilenode the
// records (counted for their first block in the database), their bytes, full-page images, and the distinct
// blocks modified but not initialised.
const walSQL = `
WITH r AS MATERIALIZED (
    SELECT start_lsn, record_type, record_length, fpi_length, block_ref
    FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
    WHERE block_ref ~ (' rel \d+/' || $3::text || '/')
), refs AS MATERIALIZED (
    SELECT r.start_lsn, r.record_type, m[1]::int AS ref, m[2]::bigint AS rel, m[3] AS fork, m[4]::bigint AS blk
    FROM r, regexp_matches(r.block_ref, 'blkref #(\d+): rel \d+/' || $3::text || '/(\d+) fork (\w+) blk (\d+)', 'g') m
), firsts AS (
    SELECT DISTINCT ON (rel, fork, blk) rel,
        (record_type LIKE '%INIT%' AND ref = 0) OR (record_type LIKE 'SPLIT%' AND ref = 1) AS init
    FROM refs ORDER BY rel, fork, blk, start_lsn
), per_rel AS (
    SELECT substring(block_ref FROM ' rel \d+/' || $3::text || '/(\d+)')::bigint AS rel, count(*) AS records,
        sum(record_length) AS bytes, sum(fpi_length) AS fpi,
        sum((length(block_ref) - length(replace(block_ref, 'FPW', ''))) / 3) AS images
    FROM r GROUP BY 1
), blocks AS (
    SELECT rel, count(*) FILTER (WHERE NOT init) AS touched FROM firsts GROUP BY rel
)
SELECT rel, COALESCE(p.records, 0), COALESCE(p.bytes, 0)::bigint, COALESCE(p.fpi, 0)::bigint,
    COALESCE(p.images, 0)::bigint, COALESCE(b.touched, 0)
FROM per_rel p FULL JOIN blocks b USING (rel)`

func (m *meter) walWindow(ctx context.Context, from, to uint64) (walWindow, error) {
	w := walWindow{ByRel: map[uint32]int64{}}
	if to <= from {
		return w, nil
	}
	rows, err := m.conn.Query(ctx, walSQL, lsnText(from), lsnText(to), strconv.FormatUint(uint64(m.dbOID), 10))
	if err != nil {
		return w, err
	}
	defer rows.Close()
	for rows.Next() {
		var rel, records, bytes, fpi, images, touched int64
		if err := rows.Scan(&rel, &records, &bytes, &fpi, &images, &touched); err != nil {
			return w, err
		}
		w.Records += records
		w.Bytes += bytes
		w.FPIBytes += fpi
		w.Images += images
		w.Blocks += touched
		if bytes > 0 {
			w.ByRel[uint32(rel)] += bytes
		}
	}
	return w, rows.Err()
}

// relOwners maps every relfilenode of the database to the public table it belongs to (an index, a TOAST
// table and its index to their table); catalogs and other relations are "(catalogs)".
func (m *meter) relOwners(ctx context.Context) (map[uint32]string, error) {
	rows, err := m.conn.Query(ctx, `
		SELECT pg_relation_filenode(c.oid)::bigint, COALESCE(tab.relname, '(catalogs)')
		FROM pg_class c
		LEFT JOIN pg_index x ON x.indexrelid = c.oid
		LEFT JOIN pg_class base ON base.oid = COALESCE(x.indrelid, c.oid)
		LEFT JOIN pg_class tab ON tab.relnamespace = 'public'::regnamespace AND tab.relkind = 'r'
			AND (tab.oid = base.oid OR tab.reltoastrelid = base.oid)
		WHERE pg_relation_filenode(c.oid) IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint32]string{}
	for rows.Next() {
		var node int64
		var name string
		if err := rows.Scan(&node, &name); err != nil {
			return nil, err
		}
		out[uint32(node)] = name
	}
	return out, rows.Err()
}

type relSizes struct{ heap, table, indexes, total int64 }

func (m *meter) sizes(ctx context.Context) (map[string]relSizes, []indexStat, error) {
	out := map[string]relSizes{}
	for _, t := range m.tables {
		var s relSizes
		if err := m.conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass), pg_table_size($1::regclass),
			pg_indexes_size($1::regclass), pg_total_relation_size($1::regclass)`, pgx.Identifier{t}.Sanitize()).
			Scan(&s.heap, &s.table, &s.indexes, &s.total); err != nil {
			return nil, nil, fmt.Errorf("size of %s: %w", t, err)
		}
		out[t] = s
	}
	rows, err := m.conn.Query(ctx, `SELECT t.relname, i.relname, pg_relation_size(i.oid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = 'public'::regnamespace ORDER BY t.relname, i.relname`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var idx []indexStat
	for rows.Next() {
		var s indexStat
		if err := rows.Scan(&s.Table, &s.Name, &s.Bytes); err != nil {
			return nil, nil, err
		}
		idx = append(idx, s)
	}
	return out, idx, rows.Err()
}

// finish counts and sizes every table: after VACUUM ANALYZE (as grown), then after VACUUM FULL (compacted).
func (m *meter) finish(ctx context.Context, o *outcome, rows0 map[string]int64) error {
	owners, err := m.relOwners(ctx) // before VACUUM FULL gives the tables new files
	if err != nil {
		return err
	}
	o.WALByTable = map[string]int64{}
	for rel, b := range o.WAL.byRel() {
		name, ok := owners[rel]
		if !ok {
			name = "(catalogs)"
		}
		o.WALByTable[name] += b
	}
	rows, err := m.rowCounts(ctx)
	if err != nil {
		return err
	}
	if _, err := m.conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("VACUUM ANALYZE: %w", err)
	}
	grown, idx, err := m.sizes(ctx)
	if err != nil {
		return err
	}
	widths := map[string]float64{}
	for _, t := range m.tables {
		var w *float64
		q := "SELECT avg(pg_column_size(t.*))::float8 FROM " + pgx.Identifier{t}.Sanitize() + " t"
		if err := m.conn.QueryRow(ctx, q).Scan(&w); err != nil {
			return fmt.Errorf("row width of %s: %w", t, err)
		}
		if w != nil {
			widths[t] = *w
		}
	}
	grain := map[string]int64{}
	for t, q := range map[string]string{
		"sector_hours":   "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM sector_hours GROUP BY hour) h",
		"sector_days":    "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM sector_days GROUP BY day) d",
		"observed_hours": "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM observed_hours GROUP BY hour) h",
	} {
		if _, ok := rows[t]; !ok {
			continue
		}
		var n int64
		if err := m.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("rows per period of %s: %w", t, err)
		}
		grain[t] = n
	}
	if _, err := m.conn.Exec(ctx, "VACUUM FULL"); err != nil {
		return fmt.Errorf("VACUUM FULL: %w", err)
	}
	compact, cidx, err := m.sizes(ctx)
	if err != nil {
		return err
	}
	for i := range idx {
		for _, c := range cidx {
			if c.Table == idx[i].Table && c.Name == idx[i].Name {
				idx[i].Compact = c.Bytes
			}
		}
	}
	o.Indexes = idx
	for _, t := range m.tables {
		g, c := grown[t], compact[t]
		o.Tables = append(o.Tables, tableStat{
			Name: t, Rows0: rows0[t], Rows: rows[t], GrainRows: grain[t],
			Heap: g.heap, Table: g.table, Indexes: g.indexes, Total: g.total,
			CompactTable: c.table, CompactIndexes: c.indexes, CompactTotal: c.total, Width: widths[t],
		})
	}
	return nil
}

// createDatabase makes a fresh database through the admin connection and returns its URL and how to drop it.
func createDatabase(ctx context.Context, adminURL, name string) (string, func(context.Context) error, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("admin connection: %w", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	// A database left by an interrupted run of the same name is ours to replace.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", nil, fmt.Errorf("drop stale %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("create %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("--pg must be a postgres:// URL, got %q", adminURL)
	}
	u.Path = "/" + name
	drop := func(ctx context.Context) error {
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return err
		}
		defer admin.Close(ctx)
		_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}
