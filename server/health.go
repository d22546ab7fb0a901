package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
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

// ingestHealth keeps the health of IngestService's name up to date with ingestion: NOT_SERVING while it is
// wedged (ingestWedged), SERVING otherwise. The overall status ("") does not follow it: the API still serves
// the stored data.
type ingestHealth struct {
	health   *healthService
	status   StatusSource
	interval time.Duration
	now      func() time.Time
	// ready is set by Server.Ready: until then every name is NOT_SERVING.
	ready atomic.Bool
}

// refresh sets the status from the ingestion status now.
func (h *ingestHealth) refresh() {
	if !h.ready.Load() {
		return
	}
	want := healthpb.HealthCheckResponse_SERVING
	if ingestWedged(h.status.Status(), h.interval, h.now()) {
		want = healthpb.HealthCheckResponse_NOT_SERVING
	}
	// After Drain the health server ignores this and stays NOT_SERVING.
	h.health.SetServingStatus(vatsectorv1.IngestService_ServiceDesc.ServiceName, want)
}

// run refreshes every tick until ctx ends: a wedged ingest publishes nothing, so only time can tell.
func (h *ingestHealth) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.refresh()
		}
	}
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
