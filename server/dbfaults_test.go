package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// openPostgresStore opens a store on url with extra DSN parameters, closed at the end of the test.
func openPostgresStore(t *testing.T, url, params string) *repository.Store {
	t.Helper()
	s, err := repository.Open(context.Background(), repository.Config{DatabaseURL: url + params, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// holdFlightsLock takes an ACCESS EXCLUSIVE lock on flights until the test ends: a read of flights then waits
// until PostgreSQL cuts it, however fast the machine.
func holdFlightsLock(t *testing.T, s *repository.Store) {
	t.Helper()
	tx, err := s.SQL().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if _, err := tx.Exec("LOCK TABLE flights IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
}

// PostgreSQL faults that are not the request's: a statement the server cancels (SQLSTATE 57014, as a
// statement_timeout does; the service's sessions set none, so pg_cancel_backend brings it about) while the
// client's own deadline is far, and a connection terminated by the server (57P01), are both UNAVAILABLE, never
// INTERNAL.
func TestDatabaseFaultsOnPostgresAreUnavailable(t *testing.T) {
	// end runs fn on the backend of the read once it waits on the lock.
	end := func(fn string) func(t *testing.T, holder *repository.Store) {
		return func(t *testing.T, holder *repository.Store) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for {
				var n int
				if err := holder.SQL().QueryRowContext(ctx, `SELECT count(`+fn+`(a.pid)) FROM pg_stat_activity a
					WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'`).Scan(&n); err != nil {
					t.Error(err)
					return
				}
				if n > 0 {
					return
				}
				select {
				case <-ctx.Done():
					t.Error("the read never waited on the lock")
					return
				case <-time.After(10 * time.Millisecond): // pg_stat_activity has no notification to wait on
				}
			}
		}
	}
	cases := []struct {
		name   string
		params string
		// interfere runs while the read waits on the lock.
		interfere func(t *testing.T, holder *repository.Store)
		msg       string
	}{
		{name: "statement cancelled by the server", msg: "did not answer in time", interfere: end("pg_cancel_backend")},
		{name: "connection terminated", msg: "unreachable", interfere: end("pg_terminate_backend")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := dbtest.URL(t)
			holder := openPostgresStore(t, url, "")
			writeFixture(t, holder)
			e := startEnv(t, openPostgresStore(t, url, tc.params), transports()[0], envOptions{})
			holdFlightsLock(t, holder)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{})
				done <- err
			}()
			if tc.interfere != nil {
				tc.interfere(t, holder)
			}
			wantStatus(t, <-done, codes.Unavailable, tc.msg)
		})
	}
}
