package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/repository"
)

// The service layer and the validation speak in domain errors; this file alone turns them into gRPC statuses,
// as etcd's rpctypes does, and keeps the details of unexpected failures out of the client's sight, as
// Temporal's masking does: the client gets an id, the log gets the cause under that id.

// errorKind is what went wrong from the client's point of view.
type errorKind int

const (
	kindInvalid     errorKind = iota + 1 // the request is malformed: INVALID_ARGUMENT
	kindNotFound                         // an id names nothing: NOT_FOUND
	kindOutOfRange                       // a resume point cannot be served: OUT_OF_RANGE
	kindUnavailable                      // starting, shutting down, database unreachable: UNAVAILABLE
	kindExhausted                        // too many streams, or a reader too slow: RESOURCE_EXHAUSTED
)

// apiError is a domain error whose message is meant for the client.
type apiError struct {
	kind errorKind
	msg  string
	// retryAfter, when positive, is sent as a google.rpc.RetryInfo detail: when the client may try again.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.msg }

func invalidf(format string, a ...any) error {
	return &apiError{kind: kindInvalid, msg: fmt.Sprintf(format, a...)}
}

func notFoundf(format string, a ...any) error {
	return &apiError{kind: kindNotFound, msg: fmt.Sprintf(format, a...)}
}

func outOfRangef(format string, a ...any) error {
	return &apiError{kind: kindOutOfRange, msg: fmt.Sprintf(format, a...)}
}

func unavailablef(format string, a ...any) error {
	return &apiError{kind: kindUnavailable, msg: fmt.Sprintf(format, a...)}
}

func exhaustedf(format string, a ...any) error {
	return &apiError{kind: kindExhausted, msg: fmt.Sprintf(format, a...)}
}

// exhaustedRetryf is RESOURCE_EXHAUSTED with a retry hint; the message should say the delay too, for clients
// that do not read details.
func exhaustedRetryf(after time.Duration, format string, a ...any) error {
	return &apiError{kind: kindExhausted, msg: fmt.Sprintf(format, a...), retryAfter: after}
}

func (k errorKind) code() codes.Code {
	switch k {
	case kindInvalid:
		return codes.InvalidArgument
	case kindNotFound:
		return codes.NotFound
	case kindOutOfRange:
		return codes.OutOfRange
	case kindUnavailable:
		return codes.Unavailable
	case kindExhausted:
		return codes.ResourceExhausted
	}
	return codes.Internal
}

// errorMapper turns any error a handler, an interceptor or a recovered panic ends with into the status the
// client gets.
type errorMapper struct {
	log *slog.Logger
}

// unaryInterceptor maps the error of every unary call.
func (m errorMapper) unaryInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, m.status(ctx, err)
	}
	return resp, nil
}

// streamInterceptor maps the error that ends every stream.
func (m errorMapper) streamInterceptor(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return m.status(ss.Context(), handler(srv, ss))
}

// status maps err. Unexpected errors are logged with a fresh id and answered as "internal error (id …)".
func (m errorMapper) status(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	ae := hubRefusal(err)
	var stale *repository.StaleReadError
	switch {
	case ae != nil || errors.As(err, &ae):
		st := status.New(ae.kind.code(), ae.msg)
		if ae.retryAfter > 0 {
			if withRetry, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(ae.retryAfter)}); derr == nil {
				st = withRetry
			}
		}
		return st.Err()
	case errors.Is(err, repository.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	case errors.As(err, &stale):
		// Not an internal error: the standby catches up by itself, and the client should hear by how much it
		// lags rather than get an answer that old.
		st := status.New(codes.Unavailable, stale.Error()+"; retry later")
		if withRetry, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryStaleRead)}); derr == nil {
			st = withRetry
		}
		return st.Err()
	case ctx.Err() != nil:
		// The client went away or its deadline passed: whatever failed after that is not the server's fault.
		return status.FromContextError(ctx.Err()).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status, e.g. from a stream's Send
	}
	method, _ := grpc.Method(ctx)
	id := fmt.Sprintf("%08x", rand.Uint32())
	switch {
	// The repository's sentinels first: they classify the drivers' errors (a PostgreSQL statement_timeout
	// is SQLSTATE 57014, not context.DeadlineExceeded). The request's context has not ended (checked
	// above), so the database is what was slow or gone, and a retry may succeed.
	case errors.Is(err, repository.ErrQueryTimeout), errors.Is(err, context.DeadlineExceeded):
		m.log.WarnContext(ctx, "database query timed out", "method", method, "error_id", id, "err", err)
		return status.Errorf(codes.Unavailable, "the database did not answer in time (id %s); retry later", id)
	case errors.Is(err, repository.ErrConflict):
		m.log.WarnContext(ctx, "query cancelled by the database for a conflicting change", "method", method, "error_id", id, "err", err)
		return status.Errorf(codes.Unavailable, "the database cancelled the query to apply a concurrent change (id %s); retry", id)
	case errors.Is(err, repository.ErrUnavailable), unreachable(err):
		m.log.WarnContext(ctx, "database unreachable", "method", method, "error_id", id, "err", err)
		return status.Errorf(codes.Unavailable, "the database is unreachable (id %s); retry later", id)
	}
	m.log.ErrorContext(ctx, "internal error", "method", method, "error_id", id, "err", err)
	return status.Errorf(codes.Internal, "internal error (id %s)", id)
}

// retryStaleRead is when a query the read standby refused as stale may be retried: the standby's lag is
// measured every second (repository.DefaultReplicaCheckEvery).
const retryStaleRead = time.Second

// hubRefusal is what a client is told when the hub refuses or ends its stream: the hub speaks of itself, the
// client hears of the server and of what to do. It is nil for any other error, ErrLagged included: streams
// act on that themselves (they catch up, or end with their own message).
func hubRefusal(err error) *apiError {
	var full *hub.TooManySubscribersError
	switch {
	case errors.Is(err, hub.ErrClosed):
		return &apiError{kind: kindUnavailable, msg: "the server is shutting down; reconnect with backoff"}
	case errors.Is(err, hub.ErrNotReady):
		return &apiError{kind: kindUnavailable, msg: "the server is starting; reconnect with backoff"}
	case errors.As(err, &full):
		return &apiError{kind: kindExhausted, retryAfter: retryStreamsFull,
			msg: fmt.Sprintf("too many streams are open (%d): retry in %v", full.Max, retryStreamsFull)}
	}
	return nil
}

// unreachable tells a database that cannot be reached (worth a retry) from a database that answered with an
// error (a bug), for errors that did not come through the repository's classification.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.As(err, &netErr)
}
