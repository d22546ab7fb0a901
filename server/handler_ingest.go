package server

import (
	"context"
	"database/sql"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
)

// ingestHandler serves IngestService.
type ingestHandler struct {
	vatsectorv1.UnimplementedIngestServiceServer
	q *queryService
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
			CyclesFailed: t.Failures + t.FeedErrors + t.DecodeErrors, SnapshotsRefused: t.Refused, SnapshotsDropped: t.Dropped,
			SnapshotsGivenUp: t.GivenUp, FeedErrors: t.FeedErrors, DecodeErrors: t.DecodeErrors,
			EntriesRejected: t.RejectedEntries, EntriesDuplicate: t.DuplicateEntries,
		},
		Health:         &vatsectorv1.IngestionHealth{State: healthProto(st.health), Reason: st.reason},
		FeedSource:     st.status.Source,
		PollInterval:   durationpb.New(st.interval),
		DatabasePool:   poolProto(st.pool),
		IngestPool:     poolProto(st.ingestPool),
		ServerTime:     timestamppb.New(st.now),
		Backlog:        backlogProto(st.status),
		FutureFeedTime: ts(st.status.FutureFeedTime),
		ReadStandby:    readStandbyProto(st.replica, st.now),
	}, nil
}

func readStandbyProto(r *repository.ReplicaStatus, now time.Time) *vatsectorv1.ReadStandby {
	if r == nil {
		return nil
	}
	out := &vatsectorv1.ReadStandby{Lag: durationpb.New(r.Lag), CyclesBehind: r.CyclesBehind, ReplayedAt: ts(r.ReplayedAt),
		MeasuredAt: ts(r.MeasuredAt), MaxLag: durationpb.New(r.MaxLag), Serving: r.Serving(now)}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return out
}

func poolProto(p sql.DBStats) *vatsectorv1.DatabasePoolStats {
	return &vatsectorv1.DatabasePoolStats{
		MaxOpenConnections: int32(p.MaxOpenConnections), OpenConnections: int32(p.OpenConnections),
		InUse: int32(p.InUse), Idle: int32(p.Idle), WaitCount: p.WaitCount, WaitDuration: durationpb.New(p.WaitDuration),
	}
}

func backlogProto(st ingest.Status) *vatsectorv1.IngestionBacklog {
	if st.Backlog == 0 {
		return nil
	}
	return &vatsectorv1.IngestionBacklog{Snapshots: int32(st.Backlog), OldestUpdateTimestamp: ts(st.BacklogOldest)}
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
	err := h.q.watchIngestion(ctx, req.GetIncludeLast(), func(c *domain.Cycle) error {
		return stream.Send(&vatsectorv1.WatchIngestionResponse{Cycle: cycleProto(c)})
	})
	return err
}
