package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// sectorHandler serves SectorService.
type sectorHandler struct {
	vatsectorv1.UnimplementedSectorServiceServer
	q    *queryService
	errs errorMapper
}

func (h *sectorHandler) ListSectors(ctx context.Context, req *vatsectorv1.ListSectorsRequest) (*vatsectorv1.ListSectorsResponse, error) {
	views, next, err := h.q.listSectors(ctx, req.GetSet(), req.GetKind(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, h.errs.status(ctx, err)
	}
	out := &vatsectorv1.ListSectorsResponse{Sectors: make([]*vatsectorv1.Sector, len(views)), NextPageToken: next}
	for i, v := range views {
		out.Sectors[i] = sectorProto(v.sector, v.state)
	}
	return out, nil
}

func (h *sectorHandler) GetSectorOccupancy(ctx context.Context, req *vatsectorv1.GetSectorOccupancyRequest) (
	*vatsectorv1.GetSectorOccupancyResponse, error,
) {
	s, occ, err := h.q.sectorOccupancy(ctx, req.GetSectorId())
	if err != nil {
		return nil, h.errs.status(ctx, err)
	}
	out := &vatsectorv1.GetSectorOccupancyResponse{
		Sector:    sectorProto(s, repository.SectorState{Flights: len(occ.Occupants), Staffing: occ.Staffing}),
		Occupants: make([]*vatsectorv1.SectorOccupant, len(occ.Occupants)),
		AsOf:      ts(occ.AsOf),
	}
	for i := range occ.Occupants {
		out.Occupants[i] = occupantProto(&occ.Occupants[i])
	}
	return out, nil
}

func (h *sectorHandler) ListSectorEvents(ctx context.Context, req *vatsectorv1.ListSectorEventsRequest) (
	*vatsectorv1.ListSectorEventsResponse, error,
) {
	from, until := timeRange(req.GetOccurred())
	events, next, err := h.q.listEvents(ctx, repository.EventFilter{
		SectorIDs: req.GetSectorIds(), Kinds: eventKindNames(req.GetKinds()), From: from, Until: until,
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, h.errs.status(ctx, err)
	}
	out := &vatsectorv1.ListSectorEventsResponse{Events: make([]*vatsectorv1.SectorEvent, len(events)), NextPageToken: next}
	for i := range events {
		out.Events[i] = eventProto(&events[i])
	}
	return out, nil
}

func (h *sectorHandler) WatchSectorEvents(req *vatsectorv1.WatchSectorEventsRequest,
	stream vatsectorv1.SectorService_WatchSectorEventsServer,
) error {
	ctx := stream.Context()
	err := h.q.watchEvents(ctx, eventWatch{
		filter: repository.EventFilter{SectorIDs: req.GetSectorIds(), Kinds: eventKindNames(req.GetKinds())},
		after:  req.AfterSequence,
	}, eventStreamSink{stream: stream, now: h.q.now})
	return h.errs.status(ctx, err)
}

// eventStreamSink converts a stream's domain output to messages.
type eventStreamSink struct {
	stream vatsectorv1.SectorService_WatchSectorEventsServer
	now    func() time.Time
}

func (s eventStreamSink) event(e *repository.Event) error {
	return s.stream.Send(&vatsectorv1.WatchSectorEventsResponse{
		Payload: &vatsectorv1.WatchSectorEventsResponse_Event{Event: eventProto(e)},
	})
}

func (s eventStreamSink) heartbeat(latest int64, feedTime time.Time) error {
	return s.stream.Send(&vatsectorv1.WatchSectorEventsResponse{
		Payload: &vatsectorv1.WatchSectorEventsResponse_Heartbeat{Heartbeat: &vatsectorv1.Heartbeat{
			LatestSequence: latest, FeedTime: ts(feedTime), ServerTime: timestamppb.New(s.now()),
		}},
	})
}
