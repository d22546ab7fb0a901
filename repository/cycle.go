package repository

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/migrations"
)

// CycleWrite is a domain.CycleWrite as the rows of each table (see there for what each holds).
type CycleWrite struct {
	// Flights are upserted by id: new and returned connections, present ones whose stored attributes changed,
	// and disconnected ones (see domain.CycleWrite; the reads take a present flight's newest position).
	Flights []Flight
	// FlightPlans are upserted by flight id, only when new or amended.
	FlightPlans []FlightPlan
	Positions   []Position
	// OpenedVisits are inserted; ClosedVisits are full rows of open visits with the exit filled in, written in
	// one upsert that sets only the exit columns.
	OpenedVisits []Visit
	ClosedVisits []Visit
	Events       []Event
	// Controllers are upserted by id, only when new, changed or disconnected.
	Controllers []Controller
	// Cycle is the cycle's record; WriteCycle fills in the statement count, write duration and commit time.
	Cycle Cycle
	// WriterEpoch is the ingest writer's claim (ClaimWriter): the cycle renews it first, and fails with
	// domain.ErrSuperseded, writing nothing, if another instance has claimed the database since. Zero writes without
	// a claim (tests and tools that own the database).
	WriterEpoch int64
	// SectorHours are upserted by (sector_set, sector_id, hour) with the cycle's absolute totals, ObservedHours
	// by hour (rollups.go).
	SectorHours   []SectorHour
	ObservedHours []ObservedHour
	SectorDays    []SectorDay
}

// WriteCycle writes a cycle in one transaction on one connection: a handful of statements, one per table on
// PostgreSQL whatever the rows, on SQLite one per batch of rows. On any error the transaction is rolled back and nothing of
// the cycle is stored. The cycle's record in cw gets the statement count, write duration and commit time it
// was stored with.
func (s *Store) WriteCycle(ctx context.Context, cw *domain.CycleWrite) (res domain.CycleResult, err error) {
	w := rowsOf(cw)
	defer func() { cw.Cycle = *cycleOf(&w.Cycle) }()
	if s.dialect == migrations.Postgres {
		// A row outside every partition is an insert error: before the transaction, the cycle makes sure its
		// days have one. Normally they do (EnsurePartitions ran ahead) and this costs a look at each row's day.
		// Its statements are not the cycle's own, and are not counted in it.
		positions, events := cycleDays(w)
		defer func() {
			if err != nil {
				s.parts.forgetDays(positionsTable().name, positions)
				s.parts.forgetDays(eventsTable().name, events)
			}
		}()
		if err := s.ensureDays(ctx, positionsTable(), positions); err != nil {
			return res, err
		}
		if err := s.ensureDays(ctx, eventsTable(), events); err != nil {
			return res, err
		}
	}
	var n atomic.Int64
	ctx = withStatementCounter(ctx, &n)
	start := time.Now()
	tx := s.ingest.WithContext(ctx).Begin()
	if tx.Error != nil {
		return res, fmt.Errorf("repository: begin cycle: %w", tx.Error)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if err := s.relyOn(ctx, tx); err != nil {
		return res, err
	}
	if err := s.writeCycle(tx, w, &n, start); err != nil {
		return res, err
	}
	res.Write = time.Since(start)
	commitStart := time.Now()
	if err := tx.Commit().Error; err != nil {
		return res, fmt.Errorf("repository: commit cycle: %w", err)
	}
	committed = true
	res.Commit = time.Since(commitStart)
	res.CommittedAt = time.Now().UTC()
	res.Statements = int(n.Load())
	return res, nil
}

func (s *Store) writeCycle(tx *gorm.DB, w *CycleWrite, n *atomic.Int64, start time.Time) error {
	if w.WriterEpoch != 0 {
		if err := renewWriter(tx, w.WriterEpoch, start); err != nil {
			return err
		}
	}
	for _, t := range s.tables {
		if err := t.write(tx, w); err != nil {
			return fmt.Errorf("repository: write %s: %w", t.what, err)
		}
	}
	// The record counts itself: it is the last statement of the transaction. It cannot hold its own commit, so
	// committed_at is when the commit was requested and write_us the time up to its own statement; the exact
	// figures are in the CycleResult.
	w.Cycle.Statements = int(n.Load()) + 1
	now := time.Now().UTC()
	w.Cycle.CommittedAt, w.Cycle.WriteUS = &now, now.Sub(start).Microseconds()
	if err := tx.Create(&w.Cycle).Error; err != nil {
		return fmt.Errorf("repository: write cycle record: %w", err)
	}
	return nil
}

// RecordFailedCycle stores the record of a cycle whose transaction was rolled back, in a transaction of its own.
func (s *Store) RecordFailedCycle(ctx context.Context, failed *domain.Cycle) error {
	c := Cycle(*failed)
	if c.Error == nil {
		return errors.New("repository: a failed cycle needs its error")
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.ingest.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.relyOn(ctx, tx); err != nil {
			return err
		}
		return tx.Create(&c).Error
	})
	if err != nil {
		return fmt.Errorf("repository: record failed cycle: %w", err)
	}
	return nil
}

// relyOn sets, for the transaction only, what ingest's transactions rely on, on top of the session's settings
// (sessionSettings): the transaction's own deadline (WriteTimeout) becomes its statement timeout, so the server
// stops a statement the client has given up on instead of holding its locks, and no lock wait is cut short.
// Per transaction, it holds even behind PgBouncer in transaction mode, where session settings land on any
// server connection. One statement per cycle.
func (s *Store) relyOn(ctx context.Context, tx *gorm.DB) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	timeout := "0"
	if d, ok := ctx.Deadline(); ok {
		timeout = fmt.Sprintf("%dms", max(1, time.Until(d).Milliseconds()))
	}
	err := tx.Exec(`SELECT set_config('statement_timeout', ?, true), set_config('lock_timeout', '0', true),
		set_config('idle_in_transaction_session_timeout', '0', true)`, timeout).Error
	if err != nil {
		return fmt.Errorf("repository: session settings: %w", err)
	}
	return nil
}

// tableWrite writes one part of a cycle with CreateInBatches on both databases: on PostgreSQL all its rows in
// one statement of column arrays (arrays.go), on SQLite as many rows per INSERT as the parameter limit allows.
type tableWrite struct {
	what  string
	model any
	rows  func(*CycleWrite) any
	on    conflict
	// batch is the rows per INSERT; zero puts every row in one (PostgreSQL's column arrays).
	batch int
}

// conflict says what a write does with a row whose key exists: nothing when key is empty (a plain insert),
// otherwise overwrite the update columns. A key of several columns lists them separated by commas.
type conflict struct {
	key    string
	update []string
}

func (t *tableWrite) write(tx *gorm.DB, w *CycleWrite) error {
	rows := t.rows(w)
	n := reflect.ValueOf(rows).Len()
	if n == 0 {
		return nil
	}
	batch := t.batch
	if batch <= 0 {
		batch = n
	}
	if t.on.key != "" {
		tx = tx.Clauses(clause.OnConflict{
			Columns:   keyColumns(t.on.key),
			DoUpdates: clause.AssignmentColumns(t.on.update),
		})
	}
	// The setting does nothing where no column-array builder is registered (SQLite).
	return tx.Set(columnArrays, true).CreateInBatches(rows, batch).Error
}

// prepareTableWrites builds, once, how each part of a cycle is written, in the order a cycle writes them:
// parents before the rows that reference them.
func (s *Store) prepareTableWrites() error {
	// Upserts overwrite every column but the key and what identifies the connection or never changes after
	// the first sighting.
	allBut := func(model any, key string, immutable ...string) (conflict, error) {
		cols, err := columns(s.db, model)
		if err != nil {
			return conflict{}, err
		}
		skip := map[string]bool{key: true}
		for _, c := range immutable {
			skip[c] = true
		}
		on := conflict{key: key}
		for _, c := range cols {
			if !skip[c] {
				on.update = append(on.update, c)
			}
		}
		return on, nil
	}
	flightsOn, err := allBut(Flight{}, "id", "cid", "callsign", "logon_time", "first_seen")
	if err != nil {
		return err
	}
	plansOn, err := allBut(FlightPlan{}, "flight_id")
	if err != nil {
		return err
	}
	controllersOn, err := allBut(Controller{}, "id", "cid", "callsign", "logon_time", "first_seen")
	if err != nil {
		return err
	}
	// A closed visit is the full row of an open one with the exit filled in; only the exit is written.
	closedOn := conflict{key: "id", update: []string{
		"exited_at", "exit_latitude", "exit_longitude", "exit_altitude", "exit_reason", "duration_seconds",
	}}
	s.tables = []*tableWrite{
		{what: "flights", model: Flight{}, on: flightsOn, rows: func(w *CycleWrite) any { return w.Flights }},
		{what: "flight plans", model: FlightPlan{}, on: plansOn, rows: func(w *CycleWrite) any { return w.FlightPlans }},
		{what: "positions", model: Position{}, rows: func(w *CycleWrite) any { return w.Positions }},
		{what: "opened visits", model: Visit{}, rows: func(w *CycleWrite) any { return w.OpenedVisits }},
		{what: "closed visits", model: Visit{}, on: closedOn, rows: func(w *CycleWrite) any { return w.ClosedVisits }},
		{what: "events", model: Event{}, rows: func(w *CycleWrite) any { return w.Events }},
		{what: "controllers", model: Controller{}, on: controllersOn, rows: func(w *CycleWrite) any { return w.Controllers }},
		{what: "sector hours", model: SectorHour{}, on: sectorHoursOn, rows: func(w *CycleWrite) any { return w.SectorHours }},
		{what: "observed hours", model: ObservedHour{}, on: observedHoursOn, rows: func(w *CycleWrite) any { return w.ObservedHours }},
		{what: "sector days", model: SectorDay{}, on: sectorDaysOn, rows: func(w *CycleWrite) any { return w.SectorDays }},
	}
	if s.dialect == migrations.Postgres {
		registerColumnArrays(s.ingest)
	}
	for _, t := range s.tables {
		stmt := &gorm.Statement{DB: s.ingest}
		if err := stmt.Parse(t.model); err != nil {
			return fmt.Errorf("repository: parse model %T: %w", t.model, err)
		}
		// A column the database fills in would make GORM's create add RETURNING and scan it back, and leave
		// the column out of rows that do not set it: keys are allocated by the writer instead.
		if f := stmt.Schema.FieldsWithDefaultDBValue; len(f) > 0 {
			return fmt.Errorf("repository: %T.%s takes a database default; cycle writes set every column", t.model, f[0].Name)
		}
		if s.dialect == migrations.Postgres {
			// Fail at Open, not at the first cycle, on a field no array carries.
			for _, f := range stmt.Schema.Fields {
				if f.DBName == "" {
					continue
				}
				if _, err := arrayElementType(f.FieldType); err != nil {
					return fmt.Errorf("repository: %T.%s: %w", t.model, f.Name, err)
				}
			}
			continue
		}
		t.batch = s.batchSize(len(stmt.Schema.DBNames))
	}
	return nil
}

func columns(db *gorm.DB, model any) ([]string, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, fmt.Errorf("repository: parse model %T: %w", model, err)
	}
	return stmt.Schema.DBNames, nil
}
