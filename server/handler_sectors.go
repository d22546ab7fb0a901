package server

import (
	"context"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// sectorHandler serves SectorService.
type sectorHandler struct {
	vatsectorv1.UnimplementedSectorServiceServer
	q *queryService
}

func (h *sectorHandler) ListSectors(ctx context.Context, req *vatsectorv1.ListSectorsRequest) (*vatsectorv1.ListSectorsResponse, error) {
	views, next, err := h.q.listSectors(ctx, sectorQuery{set: req.GetSet(), kind: req.GetKind(), sectors: req.GetSectors()},
		req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
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
	s, occ, next, err := h.q.sectorOccupancy(ctx, req.GetName(), req.GetSectorId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.GetSectorOccupancyResponse{
		Sector:        sectorProto(s, domain.SectorState{Flights: occ.Total, Staffing: occ.Staffing}),
		Occupants:     make([]*vatsectorv1.SectorOccupant, len(occ.Occupants)),
		AsOf:          ts(occ.AsOf),
		NextPageToken: next,
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
	events, next, err := h.q.listEvents(ctx, req.GetSectorIds(), repository.EventFilter{
		Sets: req.GetSets(), Kinds: eventKindNames(req.GetKinds()), From: from, Until: until,
		FlightCID: req.GetFlightCid(), FlightCallsign: req.GetFlightCallsign(),
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
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
	sectors, err := h.q.resolveSectors("sector_ids", req.GetSectorIds())
	if err != nil {
		return err
	}
	return h.q.watchEvents(ctx, eventWatch{
		filter: repository.EventFilter{
			Sectors: sectors, Sets: req.GetSets(), Kinds: eventKindNames(req.GetKinds()),
			FlightCID: req.GetFlightCid(), FlightCallsign: req.GetFlightCallsign(),
		},
		after: req.AfterSequence,
	}, eventStreamSink{stream: stream, now: h.q.now, batch: req.GetBatchEvents()})
}

func (h *sectorHandler) WatchSectorOccupancy(req *vatsectorv1.WatchSectorOccupancyRequest,
	stream vatsectorv1.SectorService_WatchSectorOccupancyServer,
) error {
	sectors, err := h.q.resolveSectors("sectors", req.GetSectors())
	if err != nil {
		return err
	}
	thresholds := make([]int, len(req.GetThresholds()))
	for i, t := range req.GetThresholds() {
		thresholds[i] = int(t)
	}
	return h.q.watchOccupancy(stream.Context(), occupancyWatch{sectors: sectors, sets: req.GetSets(), thresholds: thresholds},
		occupancyStreamSink{stream: stream, now: h.q.now})
}

// eventStreamSink converts a stream's domain output to messages. Live events go out as the bytes their
// published cycle encoded once for every stream (stream_encoding.go).
type eventStreamSink struct {
	stream vatsectorv1.SectorService_WatchSectorEventsServer
	now    func() time.Time
	// batch sends each group of events the stream produces (a replayed page, a live cycle's matching events)
	// as SectorEventBatch messages of at most maxBatchEvents, instead of one message per event.
	batch bool
}

func (s eventStreamSink) replayed(events []domain.Event) error {
	if !s.batch {
		for i := range events {
			if err := s.stream.Send(eventResponse(eventProto(&events[i]))); err != nil {
				return err
			}
		}
		return nil
	}
	for start := 0; start < len(events); start += maxBatchEvents {
		part := events[start:min(start+maxBatchEvents, len(events))]
		protos := make([]*vatsectorv1.SectorEvent, len(part))
		for i := range part {
			protos[i] = eventProto(&part[i])
		}
		if err := s.stream.Send(batchResponse(protos)); err != nil {
			return err
		}
	}
	return nil
}

func (s eventStreamSink) live(c *publishedCycle, picked []int) error {
	if !s.batch {
		msgs, err := c.eventMessages()
		if err != nil {
			return err
		}
		if picked == nil {
			return s.send(msgs)
		}
		for _, i := range picked {
			if err := s.stream.SendMsg(encodedResponse(msgs[i])); err != nil {
				return err
			}
		}
		return nil
	}
	if picked == nil {
		msgs, err := c.wholeBatches()
		if err != nil {
			return err
		}
		return s.send(msgs)
	}
	bodies, err := c.eventBodies()
	if err != nil {
		return err
	}
	return s.send(batchMessages(bodies, picked, maxBatchEvents))
}

func (s eventStreamSink) send(msgs [][]byte) error {
	for _, m := range msgs {
		if err := s.stream.SendMsg(encodedResponse(m)); err != nil {
			return err
		}
	}
	return nil
}

func (s eventStreamSink) heartbeat(latest int64, feedTime time.Time) error {
	return s.stream.Send(&vatsectorv1.WatchSectorEventsResponse{
		Payload: &vatsectorv1.WatchSectorEventsResponse_Heartbeat{Heartbeat: &vatsectorv1.Heartbeat{
			LatestSequence: latest, FeedTime: ts(feedTime), ServerTime: timestamppb.New(s.now()),
		}},
	})
}

func (h *sectorHandler) GetSectorGeometry(_ context.Context, req *vatsectorv1.GetSectorGeometryRequest) (
	*vatsectorv1.GetSectorGeometryResponse, error,
) {
	b, err := h.q.sectorGeometry(req.GetSet(), boundsOf(req.GetBounds()), req.GetToleranceDeg())
	if err != nil {
		return nil, err
	}
	return &vatsectorv1.GetSectorGeometryResponse{Geojson: &httpbody.HttpBody{ContentType: GeoJSONContentType, Data: b}}, nil
}
