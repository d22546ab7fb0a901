package repository

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// Rendered is one statement as GORM built it: its text and how many parameters it binds.
type Rendered struct {
	SQL    string
	Params int
}

type renderKey struct{}

// RenderTableWrites builds, without sending (DryRun), every statement the cycle's table writes would send,
// and the cycle record's create after them. With readHandle it renders them on the read pool's handle instead
// of ingest's, where no column-array builder is registered: GORM's own VALUES rendering of the same writes.
func RenderTableWrites(s *Store, cw *domain.CycleWrite, readHandle bool) ([]Rendered, error) {
	w := rowsOf(cw)
	db := s.ingest
	if readHandle {
		db = s.db
	}
	const name = "vatsector_test:render"
	if db.Callback().Create().Get(name) == nil {
		err := db.Callback().Create().After("gorm:create").Register(name, func(tx *gorm.DB) {
			if out, ok := tx.Statement.Context.Value(renderKey{}).(*[]Rendered); ok {
				*out = append(*out, Rendered{SQL: tx.Statement.SQL.String(), Params: len(tx.Statement.Vars)})
			}
		})
		if err != nil {
			return nil, err
		}
	}
	var out []Rendered
	tx := db.Session(&gorm.Session{DryRun: true, Context: context.WithValue(context.Background(), renderKey{}, &out)})
	for _, t := range s.tables {
		if err := t.write(tx, w); err != nil {
			return nil, err
		}
	}
	if err := tx.Create(&w.Cycle).Error; err != nil {
		return nil, err
	}
	return out, nil
}

// MeasureReplica measures the read standby's lag now, as MonitorReplica does every second.
func MeasureReplica(ctx context.Context, s *Store) { s.replica.measure(ctx, s.db) }

// SetReplicaClock replaces the clock the read standby's lag is measured and judged by.
func SetReplicaClock(s *Store, now func() time.Time) { s.replica.now = now }
