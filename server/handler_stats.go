package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// statsHandler serves StatsService.
type statsHandler struct {
	vatsectorv1.UnimplementedStatsServiceServer
	q *queryService
}

func (h *statsHandler) GetSectorTraffic(ctx context.Context, req *vatsectorv1.GetSectorTrafficRequest) (
	*vatsectorv1.GetSectorTrafficResponse, error,
) {
	bucket, length := vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR, time.Hour
	if req.GetBucket() == vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_DAY {
		bucket, length = req.GetBucket(), day
	}
	from, until := timeRange(req.GetRange())
	ref, buckets, err := h.q.sectorTraffic(ctx, req.GetName(), from, until, length)
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.GetSectorTrafficResponse{Name: sectorName(ref), Bucket: bucket,
		Buckets: make([]*vatsectorv1.TrafficStats, len(buckets))}
	for i := range buckets {
		out.Buckets[i] = trafficProto(&buckets[i], buckets[i].Start.Add(length))
	}
	return out, nil
}

func (h *statsHandler) ListSectorTraffic(ctx context.Context, req *vatsectorv1.ListSectorTrafficRequest) (
	*vatsectorv1.ListSectorTrafficResponse, error,
) {
	from, until := timeRange(req.GetRange())
	list, next, err := h.q.listSectorTraffic(ctx, req.GetSet(), req.GetNames(), from, until, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	end := ceilTo(until, time.Hour)
	out := &vatsectorv1.ListSectorTrafficResponse{Sectors: make([]*vatsectorv1.SectorTraffic, len(list)), NextPageToken: next}
	for i := range list {
		out.Sectors[i] = &vatsectorv1.SectorTraffic{Name: sectorName(list[i].Sector), Traffic: trafficProto(&list[i].Total, end)}
	}
	return out, nil
}

func (h *statsHandler) GetStaffingProfile(ctx context.Context, req *vatsectorv1.GetStaffingProfileRequest) (
	*vatsectorv1.GetStaffingProfileResponse, error,
) {
	ref, from, until, cells, err := h.q.staffingProfile(ctx, req.GetName(), int(req.GetWeeks()))
	if err != nil {
		return nil, err
	}
	out := &vatsectorv1.GetStaffingProfileResponse{Name: sectorName(ref),
		Window: &vatsectorv1.TimeRange{Start: timestamppb.New(from), End: timestamppb.New(until)},
		Cells:  make([]*vatsectorv1.StaffingCell, len(cells))}
	for i, c := range cells {
		pc := &vatsectorv1.StaffingCell{Weekday: int32(c.Weekday), Hour: int32(c.Hour), Hours: int32(c.Hours),
			PeakOccupancy: int32(c.Peak)}
		if c.Hours > 0 {
			span := float64(c.Hours) * time.Hour.Seconds()
			pc.StaffedFraction, pc.MeanOccupancy, pc.ObservedFraction = c.StaffedSeconds/span, c.OccupancySeconds/span, c.ObservedSeconds/span
		}
		out.Cells[i] = pc
	}
	return out, nil
}

// trafficProto converts a bucket ending at end; the means are over the bucket's whole length.
func trafficProto(b *domain.TrafficBucket, end time.Time) *vatsectorv1.TrafficStats {
	span := end.Sub(b.Start).Seconds()
	out := &vatsectorv1.TrafficStats{Start: timestamppb.New(b.Start), End: timestamppb.New(end),
		Entries: int32(b.Entries), Exits: int32(b.Exits), Flights: int32(b.Flights), Peak: int32(b.Peak)}
	if span > 0 {
		out.MeanOccupancy, out.StaffedFraction, out.ObservedFraction = b.OccupancySeconds/span, b.StaffedSeconds/span, b.ObservedSeconds/span
	}
	if b.OccupancySeconds > 0 {
		out.CoverageOffered, out.CoverageKnown = b.StaffedOccupancySeconds/b.OccupancySeconds, b.KnownOccupancySeconds/b.OccupancySeconds
	}
	if b.KnownOccupancySeconds > 0 {
		out.CoverageUsed = b.OnFrequencySeconds / b.KnownOccupancySeconds
	}
	return out
}
