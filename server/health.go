package server

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthService is grpc-go's health server, except that its Watch streams end when the server shuts down. By
// then every watcher was told NOT_SERVING (Drain); a Watch left open would hold GracefulStop until the
// shutdown deadline, and the other RPCs' drain with it.
type healthService struct {
	*health.Server
	stopping chan struct{}
	stopOnce sync.Once
}

func newHealthService() *healthService {
	return &healthService{Server: health.NewServer(), stopping: make(chan struct{})}
}

// stopWatches ends every Watch stream, now and from now on, with NOT_SERVING then UNAVAILABLE.
func (h *healthService) stopWatches() { h.stopOnce.Do(func() { close(h.stopping) }) }

func (h *healthService) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	go func() {
		select {
		case <-h.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := h.Server.Watch(req, watchStream{Health_WatchServer: stream, ctx: ctx})
	select {
	case <-h.stopping:
	default:
		return err
	}
	// The inner loop may have seen the cancellation before the NOT_SERVING update it was sent: say it again,
	// so a watcher always learns it before the stream ends (a repeated status is harmless).
	if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}); err != nil {
		return err
	}
	return status.Error(codes.Unavailable, "the server is shutting down; reconnect with backoff")
}

// watchStream gives the inner Watch a context that the shutdown cancels.
type watchStream struct {
	healthpb.Health_WatchServer
	ctx context.Context
}

func (w watchStream) Context() context.Context { return w.ctx }
