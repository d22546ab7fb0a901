package repository

import (
	"context"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
)

// statementCounterKey carries a per-cycle counter in the statement context, so a cycle knows how many
// statements it executed even while API queries run beside it.
type statementCounterKey struct{}

// withStatementCounter returns a context whose GORM statements are counted in n.
func withStatementCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, statementCounterKey{}, n)
}

// registerStatementCounter counts every statement GORM sends: one per Create (so one per CreateInBatches
// batch), Query, Update, Delete, Row and Raw/Exec. BEGIN and COMMIT are round trips, not statements.
func registerStatementCounter(db *gorm.DB, total *atomic.Int64) error {
	count := func(tx *gorm.DB) {
		if tx.Statement.SQL.Len() == 0 || tx.DryRun {
			return
		}
		total.Add(1)
		if n, ok := tx.Statement.Context.Value(statementCounterKey{}).(*atomic.Int64); ok {
			n.Add(1)
		}
	}
	const name = "vatsector:count_statements"
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register(name, count),
		cb.Query().After("gorm:query").Register(name, count),
		cb.Update().After("gorm:update").Register(name, count),
		cb.Delete().After("gorm:delete").Register(name, count),
		cb.Row().After("gorm:row").Register(name, count),
		cb.Raw().After("gorm:raw").Register(name, count),
	} {
		if err != nil {
			return fmt.Errorf("repository: register statement counter: %w", err)
		}
	}
	return nil
}
