package repository

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CycleWrite is everything one ingest cycle stores. It is computed in memory before the transaction opens, so
// the transaction only writes.
type CycleWrite struct {
	// Flights are upserted by id: new connections, present ones (new state) and disconnected ones.
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
}

// CycleResult says what a committed cycle cost.
type CycleResult struct {
	// Statements executed in the transaction, the cycle record included; BEGIN and COMMIT are not statements.
	Statements  int
	Write       time.Duration
	Commit      time.Duration
	CommittedAt time.Time
}

// WriteCycle writes a cycle in one transaction on one connection: a handful of batched statements whose number
// grows with rows / batch size, never with rows. On any error the transaction is rolled back and nothing of
// the cycle is stored.
func (s *Store) WriteCycle(ctx context.Context, w *CycleWrite) (CycleResult, error) {
	var res CycleResult
	var n atomic.Int64
	ctx = withStatementCounter(ctx, &n)
	start := time.Now()
	tx := s.db.WithContext(ctx).Begin()
	if tx.Error != nil {
		return res, fmt.Errorf("repository: begin cycle: %w", tx.Error)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
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
	steps := []struct {
		what string
		run  func() error
	}{
		{"flights", func() error {
			return upsert(tx, w.Flights, "id", s.batch(Flight{}), "cid", "callsign", "logon_time", "first_seen")
		}},
		{"flight plans", func() error { return upsert(tx, w.FlightPlans, "flight_id", s.batch(FlightPlan{})) }},
		{"positions", func() error { return insert(tx, w.Positions, s.batch(Position{})) }},
		{"opened visits", func() error { return insert(tx, w.OpenedVisits, s.batch(Visit{})) }},
		{"closed visits", func() error {
			return upsertColumns(tx, w.ClosedVisits, "id", s.batch(Visit{}),
				"exited_at", "exit_latitude", "exit_longitude", "exit_altitude", "exit_reason", "duration_seconds")
		}},
		{"events", func() error { return insert(tx, w.Events, s.batch(Event{})) }},
		{"controllers", func() error {
			return upsert(tx, w.Controllers, "id", s.batch(Controller{}), "cid", "callsign", "logon_time", "first_seen")
		}},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			return fmt.Errorf("repository: write %s: %w", step.what, err)
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
func (s *Store) RecordFailedCycle(ctx context.Context, c *Cycle) error {
	if c.Error == nil {
		return errors.New("repository: a failed cycle needs its error")
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		return fmt.Errorf("repository: record failed cycle: %w", err)
	}
	return nil
}

func insert[T any](tx *gorm.DB, rows []T, batch int) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, batch).Error
}

// upsert inserts rows or, on a key conflict, overwrites every column but the key and the immutable ones.
func upsert[T any](tx *gorm.DB, rows []T, key string, batch int, immutable ...string) error {
	if len(rows) == 0 {
		return nil
	}
	var model T
	cols, err := columns(tx, &model)
	if err != nil {
		return err
	}
	skip := map[string]bool{key: true}
	for _, c := range immutable {
		skip[c] = true
	}
	update := make([]string, 0, len(cols))
	for _, c := range cols {
		if !skip[c] {
			update = append(update, c)
		}
	}
	return upsertColumns(tx, rows, key, batch, update...)
}

func upsertColumns[T any](tx *gorm.DB, rows []T, key string, batch int, update ...string) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: key}},
		DoUpdates: clause.AssignmentColumns(update),
	}).CreateInBatches(rows, batch).Error
}

func columns(db *gorm.DB, model any) ([]string, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, fmt.Errorf("repository: parse model %T: %w", model, err)
	}
	return stmt.Schema.DBNames, nil
}

// batchSizes holds, per model, as many rows as fit in one statement's bind parameters.
type batchSizes map[string]int

func (s *Store) computeBatchSizes() error {
	s.batches = batchSizes{}
	for _, m := range []any{Flight{}, FlightPlan{}, Position{}, Visit{}, Event{}, Controller{}} {
		cols, err := columns(s.db, m)
		if err != nil {
			return err
		}
		s.batches[fmt.Sprintf("%T", m)] = s.batchSize(len(cols))
	}
	return nil
}

func (s *Store) batch(model any) int { return s.batches[fmt.Sprintf("%T", model)] }
