package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// compare writes the measured cycles again, the old way and with COPY, and times them against the Runner's
// write+commit of the same cycles.
//
// The cycles are re-derived rather than kept from the run (at 30,000 pilots forty cycles of rows would be
// hundreds of megabytes and distort the memory figures): the same simulator, feed.Decode, Classify and Diff
// from an empty tracker, exactly what the Runner did on its fresh database, so identifiers and rows are the
// same. Each cycle's row count is checked against the Runner's record of it.
func (st *session) compare(ctx context.Context, res *result) (err error) {
	sp := st.spec
	ours := make(map[int64]cycleSample, len(res.Samples))
	for _, s := range res.Samples {
		ours[s.ID] = s
	}

	var ways []*oldWay
	defer func() {
		for _, o := range ways { // each is closed early once its cycles are written; close does nothing then
			err = errors.Join(err, o.close(ctx))
		}
	}()
	if sp.OldCycles > 0 {
		o, err := newOldWay(ctx, sp, "_old", "one statement per row", false)
		if err != nil {
			return fmt.Errorf("old way: %w", err)
		}
		o.write, o.limit, o.samples = o.writePerRow, sp.OldCycles, &res.Old
		ways = append(ways, o)
	}
	if sp.ValuesCycles > 0 && sp.Dialect == migrations.Postgres {
		o, err := newOldWay(ctx, sp, "_values", "CreateInBatches VALUES", true)
		if err != nil {
			return fmt.Errorf("CreateInBatches VALUES way: %w", err)
		}
		o.write, o.limit, o.samples = o.writeValues, sp.ValuesCycles, &res.Values
		ways = append(ways, o)
	}
	open := func() int {
		n := 0
		for _, o := range ways {
			if !o.closed {
				n++
			}
		}
		return n
	}
	var cp *copier
	if sp.Copy && sp.Dialect == migrations.Postgres {
		u := st.wireURL
		if u == "" {
			u = st.db.url
		}
		if cp, err = newCopier(ctx, u, st.wire); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		defer func() {
			if cp != nil {
				cp.close(ctx)
			}
		}()
	}

	src := sim.New(simConfig(sp))
	tracker := ingest.NewTracker(nil, 0)
	for n := 1; ; n++ {
		if open() == 0 && cp == nil {
			return nil
		}
		data, err := src.Fetch(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		snap, err := feed.Decode(data)
		if err != nil {
			return err
		}
		if sp.Transceivers {
			snap.Transceivers = src.Transceivers() // what the Runner decoded from the same snapshot's file
		}
		sectors := st.env.sectors.Current()
		plan := tracker.Diff(snap, ingest.Classify(snap, sectors), sectors)
		w := &plan.Write
		w.Cycle.FetchedAt = time.Now().UTC()
		measured := n > sp.Warmup
		our, ok := ours[w.Cycle.ID]
		if measured && (!ok || our.Rows != rowsOfWrite(w)) {
			return fmt.Errorf("re-derived cycle %d has %d rows, the Runner wrote %d: the simulation is not deterministic",
				w.Cycle.ID, rowsOfWrite(w), our.Rows)
		}

		if cp != nil && n >= sp.Warmup {
			// The last warm-up cycle is copied too, untimed, so the measured ones find pgx's per-table
			// column descriptions cached, as a long-running writer would.
			s, err := cp.copy(ctx, repository.RowsOf(w))
			if err != nil {
				return fmt.Errorf("copy cycle %d: %w", w.Cycle.ID, err)
			}
			if measured {
				s.OursUS = our.WriteUS + our.CommitUS
				res.Copy = append(res.Copy, s)
			}
		}
		for _, o := range ways {
			if o.closed {
				continue
			}
			switch {
			case !measured:
				// Bring the way's database to the same state cheaply; only measured cycles are timed.
				if _, err := o.store.WriteCycle(ctx, w); err != nil {
					return fmt.Errorf("%s database, cycle %d: %w", o.name, w.Cycle.ID, err)
				}
			case len(*o.samples) < o.limit:
				st.env.log.Info(o.name, "scenario", sp.Name, "cycle", w.Cycle.ID, "rows", rowsOfWrite(w))
				s, err := o.write(ctx, repository.RowsOf(w))
				if err != nil {
					return fmt.Errorf("%s, cycle %d: %w", o.name, w.Cycle.ID, err)
				}
				s.OursUS = our.WriteUS + our.CommitUS
				*o.samples = append(*o.samples, s)
			}
			if len(*o.samples) >= o.limit {
				if err := o.close(ctx); err != nil {
					return err
				}
			}
		}
		tracker.Apply(plan)
		if cp != nil && len(res.Copy) == sp.Cycles {
			cp.close(ctx)
			cp = nil
		}
	}
}

// oldWay writes measured cycles another way, into a database of its own brought to the same state by the
// store, and times it: one statement per row as the Python service did (writePerRow), or the repository's
// previous PostgreSQL write, CreateInBatches with VALUES lists (writeValues).
type oldWay struct {
	name       string
	db         *database
	store      *repository.Store
	gorm       *gorm.DB
	statements *atomic.Int64
	keepDB     bool // --keep: leave the database for inspection
	closed     bool
	// write times one cycle; limit is how many measured cycles it writes, into samples.
	write   func(context.Context, *repository.CycleWrite) (oldSample, error)
	limit   int
	samples *[]oldSample
	// ownPool is the GORM handle's own pool, closed with the way.
	ownPool *sql.DB
}

// newOldWay makes another fresh database of the same dialect, so the way writes onto the same state the
// Runner wrote onto, without its rows already being there. Its connection goes direct, not through the wire
// counter, so the relay's latency is not charged to it. With execMode (PostgreSQL), its GORM handle has a pool
// of its own in pgx's exec mode, as the repository had when it wrote VALUES lists: their text changes with the
// number of rows, so the store's cached descriptions would cost them a round trip each.
func newOldWay(ctx context.Context, sp spec, suffix, name string, execMode bool) (*oldWay, error) {
	db, err := createDatabase(ctx, sp.Dialect, sp.PGAdmin, sp.DBName+suffix)
	if err != nil {
		return nil, err
	}
	o := &oldWay{name: name, db: db, statements: &atomic.Int64{}, keepDB: sp.Keep}
	if o.store, err = openStore(ctx, db, "", sp.PGSchemaSQL); err != nil {
		return nil, errors.Join(err, db.drop(ctx))
	}
	// A second GORM handle, by default on the store's own pool (pgx, one round trip per statement), but without
	// the store's batching.
	var dialector gorm.Dialector
	switch {
	case sp.Dialect == migrations.Postgres && execMode:
		u, err := withQuery(db.url, "default_query_exec_mode", "exec")
		if err == nil {
			o.ownPool, err = sql.Open("pgx", u)
		}
		if err != nil {
			return nil, errors.Join(err, o.close(ctx))
		}
		o.ownPool.SetMaxOpenConns(1)
		dialector = postgres.New(postgres.Config{Conn: o.ownPool})
	case sp.Dialect == migrations.Postgres:
		dialector = postgres.New(postgres.Config{Conn: o.store.SQL()})
	default:
		dialector = sqlite.New(sqlite.Config{Conn: o.store.SQL()})
	}
	o.gorm, err = gorm.Open(dialector, &gorm.Config{
		SkipDefaultTransaction: true, // autocommit: no BEGIN/COMMIT around each statement
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err == nil {
		err = countStatements(o.gorm, o.statements)
	}
	if err != nil {
		return nil, errors.Join(err, o.close(ctx))
	}
	return o, nil
}

// countStatements counts every statement the handle executes.
func countStatements(db *gorm.DB, n *atomic.Int64) error {
	count := func(tx *gorm.DB) {
		if tx.Statement.SQL.Len() > 0 && !tx.DryRun {
			n.Add(1)
		}
	}
	cb := db.Callback()
	return errors.Join(
		cb.Create().After("gorm:create").Register("bench:count", count),
		cb.Update().After("gorm:update").Register("bench:count", count),
		cb.Query().After("gorm:query").Register("bench:count", count),
	)
}

// writePerRow is the Python service's way: a loop over the rows, one GORM Save or Create each, every statement
// its own transaction (autocommit). Save is an UPDATE of every column by primary key, followed by an INSERT when
// it matched nothing (a new row): two statements for a new flight, one for a known one.
func (o *oldWay) writePerRow(ctx context.Context, w *repository.CycleWrite) (oldSample, error) {
	db := o.gorm.WithContext(ctx)
	return o.timed(w, func() error {
		return errors.Join(
			each(w.Flights, func(r *repository.Flight) error { return db.Save(r).Error }),
			each(w.FlightPlans, func(r *repository.FlightPlan) error { return db.Save(r).Error }),
			each(w.Positions, func(r *repository.Position) error { return db.Create(r).Error }),
			each(w.OpenedVisits, func(r *repository.Visit) error { return db.Create(r).Error }),
			each(w.ClosedVisits, func(r *repository.Visit) error { return db.Save(r).Error }),
			each(w.Events, func(r *repository.Event) error { return db.Create(r).Error }),
			each(w.Controllers, func(r *repository.Controller) error { return db.Save(r).Error }),
			db.Create(&w.Cycle).Error,
		)
	})
}

// timed runs one cycle's write and says what it cost.
func (o *oldWay) timed(w *repository.CycleWrite, write func() error) (oldSample, error) {
	before := o.statements.Load()
	start := time.Now()
	err := write()
	elapsed := time.Since(start)
	return oldSample{
		CycleID: w.Cycle.ID, Rows: rowsOfRows(w), Statements: o.statements.Load() - before,
		US: elapsed.Microseconds(),
	}, err
}

// writeValues is the repository's PostgreSQL write before column arrays: in one transaction, each table with
// CreateInBatches, as many rows per INSERT … VALUES as 65,535 parameters allow, upserts with ON CONFLICT DO
// UPDATE of the columns the repository updates.
func (o *oldWay) writeValues(ctx context.Context, w *repository.CycleWrite) (oldSample, error) {
	identity := []string{"id", "cid", "callsign", "logon_time", "first_seen"}
	exit := []string{"exited_at", "exit_latitude", "exit_longitude", "exit_altitude", "exit_reason", "duration_seconds"}
	return o.timed(w, func() error {
		return o.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return errors.Join(
				valuesBatches(tx, w.Flights, "id", allColumnsBut(tx, &repository.Flight{}, identity)),
				valuesBatches(tx, w.FlightPlans, "flight_id", allColumnsBut(tx, &repository.FlightPlan{}, []string{"flight_id"})),
				valuesBatches(tx, w.Positions, "", nil),
				valuesBatches(tx, w.OpenedVisits, "", nil),
				valuesBatches(tx, w.ClosedVisits, "id", exit),
				valuesBatches(tx, w.Events, "", nil),
				valuesBatches(tx, w.Controllers, "id", allColumnsBut(tx, &repository.Controller{}, identity)),
				tx.Create(&w.Cycle).Error,
			)
		})
	})
}

func valuesBatches[T any](tx *gorm.DB, rows []T, key string, update []string) error {
	if len(rows) == 0 {
		return nil
	}
	var model T
	cols := allColumnsBut(tx, &model, nil)
	if key != "" {
		tx = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: key}}, DoUpdates: clause.AssignmentColumns(update)})
	}
	return tx.CreateInBatches(rows, 65535/len(cols)).Error
}

// allColumnsBut lists a model's columns without the given ones.
func allColumnsBut(db *gorm.DB, model any, without []string) []string {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		panic(fmt.Sprintf("parse %T: %v", model, err)) // the repository's own models: a programming error
	}
	var cols []string
	for _, c := range stmt.Schema.DBNames {
		if !slices.Contains(without, c) {
			cols = append(cols, c)
		}
	}
	return cols
}

// each stops at the first error: one failed row would fail every following one the same way.
func each[T any](rows []T, fn func(*T) error) error {
	for i := range rows {
		if err := fn(&rows[i]); err != nil {
			return err
		}
	}
	return nil
}

func (o *oldWay) close(ctx context.Context) error {
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.store.Close()
	if o.ownPool != nil {
		err = errors.Join(err, o.ownPool.Close())
	}
	if !o.keepDB {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, o.db.drop(dctx))
	}
	return err
}

// copier writes a cycle's rows with COPY FROM STDIN (binary, pgx CopyFrom) into staging tables made with
// LIKE <table> INCLUDING ALL: the same columns, defaults, NOT NULL and indexes (primary keys, unique and partial
// indexes), but no foreign keys and no rows. Each cycle starts from empty staging tables (TRUNCATE, untimed), so
// there is no conflict to handle: it is the physical floor of moving those rows into PostgreSQL in one
// transaction, not an alternative implementation.
type copier struct {
	conn   *pgx.Conn
	wire   *wireCounter
	tables map[string]*copyTable
}

// copyTable is a staging table and how to turn a model row into its column values.
type copyTable struct {
	staging string
	columns []string
	fields  []*schema.Field
}

// copiedTables are the tables a cycle writes, with a model of each.
func copiedTables() []struct {
	table string
	model any
} {
	return []struct {
		table string
		model any
	}{
		{"flights", &repository.Flight{}}, {"flight_plans", &repository.FlightPlan{}},
		{"positions", &repository.Position{}}, {"sector_visits", &repository.Visit{}},
		{"sector_events", &repository.Event{}}, {"controllers", &repository.Controller{}},
		{"ingest_cycles", &repository.Cycle{}},
	}
}

func newCopier(ctx context.Context, url string, wire *wireCounter) (*copier, error) {
	// pgx's default mode caches each table's column description after the first COPY into it, as a
	// long-lived writer would.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &copier{conn: conn, wire: wire, tables: map[string]*copyTable{}}
	cache := &sync.Map{}
	for _, t := range copiedTables() {
		sch, err := schema.Parse(t.model, cache, schema.NamingStrategy{})
		if err != nil {
			c.close(ctx)
			return nil, err
		}
		if sch.Table != t.table {
			c.close(ctx)
			return nil, fmt.Errorf("model %T maps to %s, expected %s", t.model, sch.Table, t.table)
		}
		ct := &copyTable{staging: "bench_copy_" + t.table}
		for _, name := range sch.DBNames {
			ct.columns = append(ct.columns, name)
			ct.fields = append(ct.fields, sch.FieldsByDBName[name])
		}
		sql := fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING ALL)",
			pgx.Identifier{ct.staging}.Sanitize(), pgx.Identifier{t.table}.Sanitize())
		if _, err := conn.Exec(ctx, sql); err != nil {
			c.close(ctx)
			return nil, err
		}
		c.tables[t.table] = ct
	}
	return c, nil
}

func (c *copier) close(ctx context.Context) { _ = c.conn.Close(ctx) }

// copy times BEGIN, one COPY per non-empty table and COMMIT. Turning the rows into column values and emptying
// the staging tables happen before the clock starts.
func (c *copier) copy(ctx context.Context, w *repository.CycleWrite) (copySample, error) {
	type batch struct {
		t    *copyTable
		rows [][]any
	}
	// Closed visits are full rows (the exit filled in), so they go to sector_visits like opened ones.
	batches := []batch{
		{c.tables["flights"], values(ctx, c.tables["flights"], w.Flights)},
		{c.tables["flight_plans"], values(ctx, c.tables["flight_plans"], w.FlightPlans)},
		{c.tables["positions"], values(ctx, c.tables["positions"], w.Positions)},
		{c.tables["sector_visits"], append(values(ctx, c.tables["sector_visits"], w.OpenedVisits),
			values(ctx, c.tables["sector_visits"], w.ClosedVisits)...)},
		{c.tables["sector_events"], values(ctx, c.tables["sector_events"], w.Events)},
		{c.tables["controllers"], values(ctx, c.tables["controllers"], w.Controllers)},
		{c.tables["ingest_cycles"], values(ctx, c.tables["ingest_cycles"], []repository.Cycle{w.Cycle})},
	}
	names := ""
	for i, b := range batches {
		if i > 0 {
			names += ", "
		}
		names += pgx.Identifier{b.t.staging}.Sanitize()
	}
	if _, err := c.conn.Exec(ctx, "TRUNCATE "+names); err != nil {
		return copySample{}, err
	}

	var rt0 int64
	if c.wire != nil {
		rt0 = c.wire.RoundTrips()
	}
	rows := 0
	start := time.Now()
	err := pgx.BeginFunc(ctx, c.conn, func(tx pgx.Tx) error {
		for _, b := range batches {
			if len(b.rows) == 0 {
				continue
			}
			n, err := tx.CopyFrom(ctx, pgx.Identifier{b.t.staging}, b.t.columns, pgx.CopyFromRows(b.rows))
			if err != nil {
				return fmt.Errorf("%s: %w", b.t.staging, err)
			}
			rows += int(n)
		}
		return nil
	})
	elapsed := time.Since(start)
	s := copySample{CycleID: w.Cycle.ID, Rows: rows, US: elapsed.Microseconds(), RoundTrips: -1}
	if c.wire != nil {
		s.RoundTrips = c.wire.RoundTrips() - rt0
	}
	if err == nil && rows != rowsOfRows(w) {
		err = fmt.Errorf("copied %d rows, the cycle writes %d", rows, rowsOfRows(w))
	}
	return s, err
}

// values turns model rows into column values in the staging table's column order, through GORM's own schema
// of the model (the one the batched write uses), so a column added to a model is copied too.
func values[T any](ctx context.Context, t *copyTable, rows []T) [][]any {
	out := make([][]any, len(rows))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		row := make([]any, len(t.fields))
		for j, f := range t.fields {
			row[j], _ = f.ValueOf(ctx, v)
		}
		out[i] = row
	}
	return out
}
