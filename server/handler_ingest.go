package server

import (
	"context"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// ingestHandler serves IngestService.
type ingestHandler struct {
	vatsectorv1.UnimplementedIngestServiceServer
	q    *queryService
	errs errorMapper
}

func (h *ingestHandler) GetIngestionStatus(context.Context, *vatsectorv1.GetIngestionStatusRequest) (
	*vatsectorv1.GetIngestionStatusResponse, error,
) {
	st := h.q.ingestionStatus()
	t := st.status.Totals
	return &vatsectorv1.GetIngestionStatusResponse{
		LastCycle:          cycleProto(st.status.Last),
		LastCommittedCycle: cycleProto(st.status.LastCommitted),
		Totals: &vatsectorv1.IngestionTotals{
			StartedAt: ts(st.status.Started), CyclesCommitted: t.Cycles, DuplicatesSkipped: t.Skipped,
			// Fetch and decode failures end a cycle as surely as a write failure does.
			CyclesFailed: t.Failures + t.FeedErrors + t.DecodeErrors,
		},
		Health:       &vatsectorv1.IngestionHealth{State: healthProto(st.health), Reason: st.reason},
		FeedSource:   st.status.Source,
		PollInterval: durationpb.New(st.interval),
		DatabasePool: &vatsectorv1.DatabasePoolStats{
			MaxOpenConnections: int32(st.pool.MaxOpenConnections), OpenConnections: int32(st.pool.OpenConnections),
			InUse: int32(st.pool.InUse), Idle: int32(st.pool.Idle), WaitCount: st.pool.WaitCount,
			WaitDuration: durationpb.New(st.pool.WaitDuration),
		},
		ServerTime: timestamppb.New(st.now),
	}, nil
}

func healthProto(h healthState) vatsectorv1.HealthState {
	switch h {
	case healthOK:
		return vatsectorv1.HealthState_HEALTH_STATE_OK
	case healthDegraded:
		return vatsectorv1.HealthState_HEALTH_STATE_DEGRADED
	case healthStale:
		return vatsectorv1.HealthState_HEALTH_STATE_STALE
	case healthStandby:
		return vatsectorv1.HealthState_HEALTH_STATE_STANDBY
	}
	return vatsectorv1.HealthState_HEALTH_STATE_UNSPECIFIED
}

func (h *ingestHandler) WatchIngestion(req *vatsectorv1.WatchIngestionRequest, stream vatsectorv1.IngestService_WatchIngestionServer) error {
	ctx := stream.Context()
	err := h.q.watchIngestion(ctx, req.GetIncludeLast(), func(c *repository.Cycle) error {
		return stream.Send(&vatsectorv1.WatchIngestionResponse{Cycle: cycleProto(c)})
	})
	return h.errs.status(ctx, err)
}
