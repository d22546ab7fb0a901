package server

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// GetSectorOccupancy pages its occupants; every page reports the sector's full flight count, and the pages
// together are the whole list once, in order.
func TestGetSectorOccupancyPages(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		var got []string
		token := ""
		for page := 0; ; page++ {
			resp, err := e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{
				SectorId: "EGTT", PageSize: 1, PageToken: token,
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := resp.GetSector().GetFlightCount(); n != 2 {
				t.Errorf("page %d: flight_count %d, want the full count 2", page, n)
			}
			if len(resp.GetOccupants()) > 1 {
				t.Fatalf("page %d: %d occupants, want at most page_size 1", page, len(resp.GetOccupants()))
			}
			for _, o := range resp.GetOccupants() {
				got = append(got, fmt.Sprintf("%s/%d", o.GetFlight().GetCallsign(), o.GetVisitId()))
			}
			token = resp.GetNextPageToken()
			if token == "" {
				break
			}
			if page > 3 {
				t.Fatal("the pages do not end")
			}
		}
		if want := []string{"BAW123/1", "DLH4/2"}; !slices.Equal(got, want) {
			t.Errorf("occupants %v, want %v", got, want)
		}
		// A token belongs to its sector.
		first, err := e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT", PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{
			SectorId: "EGTT_S", PageToken: first.GetNextPageToken(),
		})
		wantStatus(t, err, codes.InvalidArgument, "other filters")
		_, err = e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT", PageSize: -1})
		wantStatus(t, err, codes.InvalidArgument, "page_size")
	})
}

// GetFlight returns the newest visits and track points within its bounds, and says when it left older ones out.
func TestGetFlightBoundsItsLists(t *testing.T) {
	cases := []struct {
		name               string
		req                *vatsectorv1.GetFlightRequest
		visits, points     int
		visitsCut, trackCt bool
		code               codes.Code
	}{
		{name: "defaults hold the fixture", req: &vatsectorv1.GetFlightRequest{IncludeTrack: true}, visits: 2, points: 2},
		{name: "one of each", req: &vatsectorv1.GetFlightRequest{IncludeTrack: true, MaxVisits: 1, MaxTrackPoints: 1},
			visits: 1, points: 1, visitsCut: true, trackCt: true},
		{name: "no track asked", req: &vatsectorv1.GetFlightRequest{MaxTrackPoints: 1}, visits: 2},
		{name: "negative track bound", req: &vatsectorv1.GetFlightRequest{MaxTrackPoints: -1}, code: codes.InvalidArgument},
		{name: "negative visits bound", req: &vatsectorv1.GetFlightRequest{MaxVisits: -1}, code: codes.InvalidArgument},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				tc.req.Selector = &vatsectorv1.GetFlightRequest_Id{Id: dlh4}
				resp, err := e.flightClient.GetFlight(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, "must not be negative")
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.GetVisits()) != tc.visits || len(resp.GetTrack()) != tc.points ||
					resp.GetVisitsTruncated() != tc.visitsCut || resp.GetTrackTruncated() != tc.trackCt {
					t.Fatalf("%d visits (cut %v), %d points (cut %v); want %d (cut %v), %d (cut %v)",
						len(resp.GetVisits()), resp.GetVisitsTruncated(), len(resp.GetTrack()), resp.GetTrackTruncated(),
						tc.visits, tc.visitsCut, tc.points, tc.trackCt)
				}
				if tc.trackCt && !resp.GetTrack()[0].GetObservedAt().AsTime().Equal(t1) {
					t.Errorf("kept the point of %v, want the newest (%v)", resp.GetTrack()[0].GetObservedAt().AsTime(), t1)
				}
				if tc.visitsCut && resp.GetVisits()[0].GetSectorId() != "EGTT_S" {
					t.Errorf("kept the visit to %s, want the newest (EGTT_S, visit 3)", resp.GetVisits()[0].GetSectorId())
				}
			})
		}
	})
}
