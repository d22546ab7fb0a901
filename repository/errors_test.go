package repository_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// sqliteCoded stands for modernc.org/sqlite's *Error, whose fields are unexported.
type sqliteCoded int

func (c sqliteCoded) Error() string { return fmt.Sprintf("sqlite error %d", int(c)) }
func (c sqliteCoded) Code() int     { return int(c) }

func TestClassify(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("list events: %w", &pgconn.PgError{Code: code, Message: "x"})
	}
	cases := []struct {
		name string
		err  error
		want error // nil: left as it is
	}{
		{"statement timeout", pg("57014"), repository.ErrQueryTimeout},
		{"query deadline", fmt.Errorf("flights: %w", context.DeadlineExceeded), repository.ErrQueryTimeout},
		{"connection failure", pg("08006"), repository.ErrUnavailable},
		{"connection does not exist", pg("08003"), repository.ErrUnavailable},
		{"admin shutdown", pg("57P01"), repository.ErrUnavailable},
		{"crash shutdown", pg("57P02"), repository.ErrUnavailable},
		{"cannot connect now", pg("57P03"), repository.ErrUnavailable},
		{"too many connections", pg("53300"), repository.ErrUnavailable},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), repository.ErrUnavailable},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), repository.ErrUnavailable},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), repository.ErrUnavailable},
		{"EOF", io.EOF, repository.ErrUnavailable},
		{"connection done", sql.ErrConnDone, repository.ErrUnavailable},
		{"pgx connection closed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), repository.ErrUnavailable},
		{"sqlite busy", sqliteCoded(5), repository.ErrUnavailable},
		{"sqlite locked (extended code)", sqliteCoded(6 | 1<<8), repository.ErrUnavailable},
		{"standby conflict with recovery", pg("40001"), repository.ErrConflict},
		{"sqlite constraint", sqliteCoded(19), nil},
		{"syntax error", pg("42601"), nil},
		{"unique violation", pg("23505"), nil},
		{"plain error", errors.New("boom"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := repository.Classify(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("Classify(%v) = %v lost the cause", tc.err, got)
			}
			for _, sentinel := range []error{repository.ErrQueryTimeout, repository.ErrUnavailable, repository.ErrConflict} {
				if is, want := errors.Is(got, sentinel), sentinel == tc.want; is != want {
					t.Errorf("Classify(%v) = %v: errors.Is %v is %v, want %v", tc.err, got, sentinel, is, want)
				}
			}
		})
	}
	if repository.Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
}

// endWaitingRead runs a read of flights in the background, ends it with fn once it waits on the lock, and
// returns its error.
func endWaitingRead(t *testing.T, holder, s *repository.Store, fn string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := s.ListFlights(context.Background(), repository.FlightFilter{}, nil, 10)
		done <- err
	}()
	dbtest.EndLockWaiters(t, holder, fn, done)
	return <-done
}

// A read that PostgreSQL cancels (SQLSTATE 57014, as a statement_timeout does) is a timeout, not an unknown
// error. The service's sessions set statement_timeout to 0 whatever the database's default (sessionSettings),
// so the server's cancellation is brought about by pg_cancel_backend, which ends the statement the same way.
func TestReadCutByStatementTimeoutIsQueryTimeout(t *testing.T) {
	url := dbtest.URL(t)
	holder := dbtest.OpenPostgres(t, url)
	dbtest.HoldLock(t, holder, "flights")
	s := dbtest.OpenPostgres(t, url)
	err := endWaitingRead(t, holder, s, "pg_cancel_backend")
	if !errors.Is(err, repository.ErrQueryTimeout) {
		t.Fatalf("ListFlights: %v, want ErrQueryTimeout", err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "57014" {
		t.Errorf("the driver's error is not kept in the chain: %v", err)
	}
}

// A read whose connection is terminated by the server (pg_terminate_backend, as at a shutdown) is unavailable.
func TestReadOnATerminatedConnectionIsUnavailable(t *testing.T) {
	url := dbtest.URL(t)
	holder := dbtest.OpenPostgres(t, url)
	dbtest.HoldLock(t, holder, "flights")
	s := dbtest.OpenPostgres(t, url)
	if err := endWaitingRead(t, holder, s, "pg_terminate_backend"); !errors.Is(err, repository.ErrUnavailable) {
		t.Fatalf("ListFlights: %v, want ErrUnavailable", err)
	}
}
