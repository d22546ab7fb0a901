package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// The reads tell their callers what kind of database fault ended them, so that the API can answer a client
// with a retryable status without knowing the drivers: a fault is wrapped with one of these sentinels, and the
// driver's error stays in the chain for the log.

var (
	// ErrQueryTimeout: the database did not answer in time (the store's query timeout, or PostgreSQL's
	// statement_timeout). A retry may succeed; the request itself was not wrong.
	ErrQueryTimeout = errors.New("repository: the database did not answer in time")
	// ErrUnavailable: the database cannot be reached, refused the connection, or dropped it (shutdown,
	// restart, too many connections, a SQLite file locked by a writer). A retry may succeed.
	ErrUnavailable = errors.New("repository: the database is unavailable")
	// ErrConflict: the database cancelled the query for a change it had to apply first. A hot standby does
	// that to a read that holds up its replay of the primary's WAL for longer than max_standby_streaming_delay
	// (retention dropping a day partition the read was scanning, vacuum removing rows its snapshot sees),
	// with serialization_failure. A retry reads the state after the change.
	ErrConflict = errors.New("repository: the database cancelled the query for a conflicting change")
)

// SQLSTATEs of PostgreSQL (Appendix A of its manual) that are faults of the moment, not of the query.
const (
	sqlstateQueryCanceled      = "57014" // statement_timeout, or a cancel request
	sqlstateAdminShutdown      = "57P01"
	sqlstateCrashShutdown      = "57P02"
	sqlstateCannotConnectNow   = "57P03" // starting up, or in recovery
	sqlstateTooManyConnections = "53300"
	sqlstateClassConnection    = "08" // connection exception
	// A hot standby's cancel of a read in conflict with recovery, and a serialisable transaction's failure.
	sqlstateSerializationFailure = "40001"
)

// SQLite's primary result codes for a database held by another connection; extended codes carry the primary
// one in their low byte.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// Classify wraps err with ErrQueryTimeout or ErrUnavailable when it is such a fault, keeping err in the chain;
// any other error (nil included) is returned as it is. A query canceled because the caller's own context
// ended is classified as a timeout too: the caller, who knows its context, decides what to make of that.
func Classify(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrQueryTimeout), errors.Is(err, ErrUnavailable), errors.Is(err, ErrConflict):
		return err
	case isTimeout(err):
		return fmt.Errorf("%w: %w", ErrQueryTimeout, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case isConflict(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func isConflict(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == sqlstateSerializationFailure
}

func isTimeout(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == sqlstateQueryCanceled
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func isUnavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case sqlstateAdminShutdown, sqlstateCrashShutdown, sqlstateCannotConnectNow, sqlstateTooManyConnections:
			return true
		}
		return strings.HasPrefix(pg.Code, sqlstateClassConnection)
	}
	// modernc.org/sqlite's *Error; matched by its method so the repository needs no import of the driver
	// beyond the GORM dialector's.
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
		return false
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	// pgconn.ErrConnClosed: a pooled connection whose socket went away (a cut link) is refused before anything is
	// sent on it; SafeToRetry says so of every error pgconn raises before the server saw the query.
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// readError is how every read of queries.go reports a failure: what it was reading, and the kind of fault.
func readError(what string, err error) error {
	return fmt.Errorf("repository: %s: %w", what, Classify(err))
}
