package server

import (
	"context"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// flightHandler serves FlightService.
type flightHandler struct {
	vatsectorv1.UnimplementedFlightServiceServer
	q *queryService
}

func (h *flightHandler) ListFlights(ctx context.Context, req *vatsectorv1.ListFlightsRequest) (*vatsectorv1.ListFlightsResponse, error) {
	from, until := timeRange(req.GetSeen())
	flights, next, err := h.q.listFlights(ctx, req.GetSectorId(), repository.FlightFilter{
		CallsignPrefix: req.GetCallsignPrefix(), Departure: req.GetDeparture(),
		Arrival: req.GetArrival(), IncludeOffline: req.GetIncludeOffline(), SeenFrom: from, SeenUntil: until,
		Bounds: boundsFilter(req.GetBounds()),
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.ListFlightsResponse{Flights: make([]*vatsectorv1.Flight, len(flights)), NextPageToken: next}
	for i := range flights {
		out.Flights[i] = flightProto(&flights[i])
	}
	return out, nil
}

func (h *flightHandler) GetFlightSummary(ctx context.Context, req *vatsectorv1.GetFlightSummaryRequest) (
	*vatsectorv1.GetFlightSummaryResponse, error,
) {
	r, err := h.q.getFlightSummary(ctx, req.GetId(), req.GetMaxVisits())
	if err != nil {
		return nil, err
	}
	return &vatsectorv1.GetFlightSummaryResponse{Flight: flightProto(&r.FlightSummary), Summary: flightSummaryProto(r)}, nil
}

func (h *flightHandler) GetFlight(ctx context.Context, req *vatsectorv1.GetFlightRequest) (*vatsectorv1.GetFlightResponse, error) {
	d, err := h.q.getFlight(ctx, flightSelector{ID: req.GetId(), Callsign: req.GetCallsign()}, flightDetailWanted{
		track: req.GetIncludeTrack(), maxVisits: req.GetMaxVisits(), maxTrackPts: req.GetMaxTrackPoints(),
	})
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.GetFlightResponse{
		Flight: flightProto(&d.FlightSummary),
		Visits: make([]*vatsectorv1.Visit, len(d.Visits)),
		Track:  make([]*vatsectorv1.TrackPoint, len(d.Track)),
		// Only a flight's newest visits and points are returned: say when older ones were left out.
		VisitsTruncated: d.VisitsTruncated, TrackTruncated: d.TrackTruncated,
	}
	for i := range d.Visits {
		out.Visits[i] = visitProto(&d.Visits[i])
	}
	for i := range d.Track {
		out.Track[i] = trackPointProto(&d.Track[i])
	}
	return out, nil
}

func (h *flightHandler) WatchFlights(req *vatsectorv1.WatchFlightsRequest, stream vatsectorv1.FlightService_WatchFlightsServer) error {
	return h.q.watchFlights(stream.Context(), boundsOf(req.GetBounds()), func(msg encodedResponse) error {
		return stream.SendMsg(msg)
	})
}

// boundsOf is the request's box; the zero box (unset, or all zeros) is no box.
func boundsOf(b *vatsectorv1.BoundingBox) domain.BoundingBox {
	return domain.BoundingBox{MinLat: b.GetMinLatitude(), MinLon: b.GetMinLongitude(), MaxLat: b.GetMaxLatitude(), MaxLon: b.GetMaxLongitude()}
}

// boundsFilter is the request's box as a storage filter: nil for no box.
func boundsFilter(b *vatsectorv1.BoundingBox) *domain.BoundingBox {
	if box := boundsOf(b); box != (domain.BoundingBox{}) {
		return &box
	}
	return nil
}
