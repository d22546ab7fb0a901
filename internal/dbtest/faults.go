package dbtest

import (
	"context"
	"testing"
	"time"

	"github.com/vatsector/vatsector/repository"
)

// OpenPostgres opens a store on url (a database of URL's), closed at the end of the test.
func OpenPostgres(t testing.TB, url string) *repository.Store {
	t.Helper()
	s, err := repository.Open(context.Background(), repository.Config{DatabaseURL: url, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// HoldLock takes an ACCESS EXCLUSIVE lock on table in a transaction of its own until the test ends, so that
// a read of it waits until the test ends it, however fast the machine.
func HoldLock(t testing.TB, s *repository.Store, table string) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if _, err := tx.ExecContext(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
}

// EndLockWaiters waits until a backend of the database waits on a lock, then ends it with fn (pg_cancel_backend:
// its statement, as a statement_timeout does; pg_terminate_backend: its connection, as a server shutdown does).
// ended reports the waiting read's own end, so a read that ends before it waited fails the test at once.
func EndLockWaiters(t testing.TB, holder *repository.Store, fn string, ended <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var n int
		err := holder.SQL().QueryRowContext(ctx, `SELECT count(`+fn+`(a.pid)) FROM pg_stat_activity a
			WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case err := <-ended:
			t.Fatalf("the read ended before %s: %v", fn, err)
		case <-ctx.Done():
			t.Fatal("the read never waited on the lock")
		case <-time.After(10 * time.Millisecond): // pg_stat_activity has no notification to wait on
		}
	}
}
