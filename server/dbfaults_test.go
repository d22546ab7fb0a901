package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/dbtest"
)

// PostgreSQL faults that are not the request's: a statement the server cancels (SQLSTATE 57014, as a
// statement_timeout does; the service's sessions set none, so pg_cancel_backend brings it about) while the
// client's own deadline is far, and a connection terminated by the server (57P01), are both UNAVAILABLE, never
// INTERNAL.
func TestDatabaseFaultsOnPostgresAreUnavailable(t *testing.T) {
	cases := []struct {
		name string
		// end ends the read's backend once it waits on the lock (dbtest.EndLockWaiters).
		end string
		msg string
	}{
		{name: "statement cancelled by the server", msg: "did not answer in time", end: "pg_cancel_backend"},
		{name: "connection terminated", msg: "unreachable", end: "pg_terminate_backend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := dbtest.URL(t)
			holder := dbtest.OpenPostgres(t, url)
			writeFixture(t, holder)
			e := startEnv(t, dbtest.OpenPostgres(t, url), transports()[0], envOptions{})
			dbtest.HoldLock(t, holder, "flights")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{})
				done <- err
			}()
			dbtest.EndLockWaiters(t, holder, tc.end, done)
			wantStatus(t, <-done, codes.Unavailable, tc.msg)
		})
	}
}
