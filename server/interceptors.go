package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// interceptorChain is the explicit chain of go-grpc-middleware's examples/server, outermost first: metrics see
// every call with its final code, logging logs it, the error map turns whatever the layers below return into
// the status the client gets (so no handler can forget it, or leak a raw error), admission refuses a client over its rate and a stream over
// the bounds (cheapest first, before the request is even read), validation refuses malformed requests before
// any handler runs, and recovery is last, closest to the handler, so that a panic becomes an INTERNAL status
// that the interceptors above it still count and log.
func interceptorChain(log *slog.Logger, errs errorMapper, metrics *grpcprom.ServerMetrics, admit *admission) (
	[]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor,
) {
	logger := slogAdapter(log)
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall), logging.WithLevels(codeToLevel)}
	admitUnary, admitStream := admit.interceptors()
	validateUnary, validateStream := validationInterceptors()
	// The error map masks the panic as INTERNAL and logs it, stack included, under the id the client gets.
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandlerContext(func(_ context.Context, p any) error {
		return fmt.Errorf("panic: %v\n%s", p, debug.Stack())
	})}
	unary := []grpc.UnaryServerInterceptor{
		metrics.UnaryServerInterceptor(),
		logging.UnaryServerInterceptor(logger, logOpts...),
		errs.unaryInterceptor,
		admitUnary,
		validateUnary,
		recovery.UnaryServerInterceptor(recoverOpts...),
	}
	stream := []grpc.StreamServerInterceptor{
		metrics.StreamServerInterceptor(),
		logging.StreamServerInterceptor(logger, logOpts...),
		errs.streamInterceptor,
		admitStream,
		validateStream,
		recovery.StreamServerInterceptor(recoverOpts...),
	}
	return unary, stream
}

// slogAdapter is the logging interceptor's slog adapter; its levels are slog's.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// codeToLevel keeps routine outcomes (including clients' own mistakes and cancellations) at debug: a
// dashboard polling every few seconds would otherwise fill the log. Server-side trouble is a warning or an
// error; internal errors are also logged with their cause by errorMapper.
func codeToLevel(c codes.Code) logging.Level {
	switch c {
	case codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.OutOfRange, codes.AlreadyExists,
		codes.FailedPrecondition, codes.Unauthenticated, codes.PermissionDenied:
		return logging.LevelDebug
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return logging.LevelWarn
	}
	return logging.LevelError
}
