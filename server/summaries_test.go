package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

func TestGetFlightSummary(t *testing.T) {
	// DLH4 is inside EGTT and EGTT_S since t0 (both visits open) and moved 0.05° north in the 15 s between its
	// two positions, at 450 kt; the repository tests hold the figures' edge cases.
	visit := func(id int64, sector string) *vatsectorv1.FlightSummaryVisit {
		return &vatsectorv1.FlightSummaryVisit{Visit: &vatsectorv1.Visit{
			Id: id, FlightId: dlh4, SectorId: sector, SectorSet: testSet, Sector: "sets/test/sectors/" + sector,
			EnteredAt: timestamppb.New(t0), EntryPosition: &vatsectorv1.Point{Latitude: 51.3, Longitude: -1, AltitudeFt: 20003},
		}, Duration: durationpb.New(15 * time.Second), Open: true}
	}
	want := &vatsectorv1.FlightSummary{
		FirstSeen: timestamppb.New(t0), LastSeen: timestamppb.New(t1), OnlineDuration: durationpb.New(15 * time.Second),
		Visits:   []*vatsectorv1.FlightSummaryVisit{visit(2, "EGTT"), visit(3, "EGTT_S")},
		Airborne: durationpb.New(15 * time.Second), HighestAltitudeFt: ptr[int32](20003), Positions: 2,
		FirstPositionAt: timestamppb.New(t0), LastPositionAt: timestamppb.New(t1),
	}
	wantNM := repository.EarthRadiusNM * 0.05 * math.Pi / 180
	cases := []struct {
		name string
		req  *vatsectorv1.GetFlightSummaryRequest
		code codes.Code
		msg  string
	}{
		{name: "no selector", req: &vatsectorv1.GetFlightSummaryRequest{}, code: codes.InvalidArgument, msg: "selector"},
		{name: "id 0", req: &vatsectorv1.GetFlightSummaryRequest{Selector: &vatsectorv1.GetFlightSummaryRequest_Id{}},
			code: codes.InvalidArgument, msg: "id must be positive"},
		{name: "negative max_visits", code: codes.InvalidArgument, msg: "max_visits",
			req: &vatsectorv1.GetFlightSummaryRequest{Selector: &vatsectorv1.GetFlightSummaryRequest_Id{Id: dlh4}, MaxVisits: -1}},
		{name: "unknown id", req: &vatsectorv1.GetFlightSummaryRequest{Selector: &vatsectorv1.GetFlightSummaryRequest_Id{Id: 999}},
			code: codes.NotFound, msg: "999"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		resp, err := e.flightClient.GetFlightSummary(ctx, &vatsectorv1.GetFlightSummaryRequest{
			Selector: &vatsectorv1.GetFlightSummaryRequest_Id{Id: dlh4}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetFlight().GetCallsign() != "DLH4" || !slices.Equal(resp.GetFlight().GetCurrentSectors(),
			[]string{"sets/test/sectors/EGTT", "sets/test/sectors/EGTT_S"}) {
			t.Errorf("flight %v, want DLH4 inside EGTT and EGTT_S", resp.GetFlight())
		}
		got := proto.Clone(resp.GetSummary()).(*vatsectorv1.FlightSummary)
		if math.Abs(got.GetDistanceNm()-wantNM) > 1e-6 {
			t.Errorf("distance %v NM, want %v", got.GetDistanceNm(), wantNM)
		}
		got.DistanceNm = 0
		if !proto.Equal(got, want) {
			t.Errorf("summary\n%s\nwant\n%s", prototext.Format(got), prototext.Format(want))
		}

		one, err := e.flightClient.GetFlightSummary(ctx, &vatsectorv1.GetFlightSummaryRequest{
			Selector: &vatsectorv1.GetFlightSummaryRequest_Id{Id: dlh4}, MaxVisits: 1})
		if err != nil {
			t.Fatal(err)
		}
		if vs := one.GetSummary().GetVisits(); len(vs) != 1 || vs[0].GetVisit().GetId() != 3 || !one.GetSummary().GetVisitsTruncated() {
			t.Errorf("max_visits 1: %v (truncated %v), want the newest, EGTT_S, truncated", vs, one.GetSummary().GetVisitsTruncated())
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.flightClient.GetFlightSummary(ctx, tc.req)
				wantStatus(t, err, tc.code, tc.msg)
			})
		}
	})
}

func TestListControllerSessions(t *testing.T) {
	// As of t1, the last committed cycle: EGTT_CTR and EGTT_1_CTR staff EGTT (BAW123, DLH4 and AAL1 inside at
	// t0), EGTT_S_CTR EGTT_S (DLH4), EGTT_N_CTR staffed EGTT_N until t1; all from t0.
	cases := []struct {
		name  string
		req   *vatsectorv1.ListControllerSessionsRequest
		want  []string
		pages int
		code  codes.Code
		msg   []string
	}{
		{name: "every session", req: &vatsectorv1.ListControllerSessionsRequest{},
			want: []string{"EGTT_1_CTR 3/3", "EGTT_CTR 3/3", "EGTT_N_CTR 0/0", "EGTT_S_CTR 1/1"}, pages: 1},
		{name: "pages of three", req: &vatsectorv1.ListControllerSessionsRequest{PageSize: 3},
			want: []string{"EGTT_1_CTR 3/3", "EGTT_CTR 3/3", "EGTT_N_CTR 0/0", "EGTT_S_CTR 1/1"}, pages: 2},
		{name: "prefix and range", req: &vatsectorv1.ListControllerSessionsRequest{CallsignPrefix: "egtt_n",
			Seen: &vatsectorv1.TimeRange{Start: timestamppb.New(t1)}}, want: []string{"EGTT_N_CTR 0/0"}, pages: 1},
		{name: "range after the last cycle", req: &vatsectorv1.ListControllerSessionsRequest{
			Seen: &vatsectorv1.TimeRange{Start: timestamppb.New(t1.Add(time.Second))}}, pages: 1},
		{name: "sector by name", req: &vatsectorv1.ListControllerSessionsRequest{SectorId: "sets/test/sectors/EGTT"},
			want: []string{"EGTT_1_CTR 3/3", "EGTT_CTR 3/3"}, pages: 1},
		{name: "sector by unambiguous bare id", req: &vatsectorv1.ListControllerSessionsRequest{SectorId: "EGTT_S"},
			want: []string{"EGTT_S_CTR 1/1"}, pages: 1},
		{name: "ambiguous sector", req: &vatsectorv1.ListControllerSessionsRequest{SectorId: "EGTT"},
			code: codes.InvalidArgument, msg: append([]string{"sector_id"}, ambiguousEGTT...)},
		{name: "malformed sector name", req: &vatsectorv1.ListControllerSessionsRequest{SectorId: "sets/test"},
			code: codes.InvalidArgument, msg: []string{"sector_id", "resource name"}},
		{name: "range ending before it starts", code: codes.InvalidArgument, msg: []string{"seen.end", "before"},
			req: &vatsectorv1.ListControllerSessionsRequest{Seen: &vatsectorv1.TimeRange{Start: timestamppb.New(t1), End: timestamppb.New(t0)}}},
		{name: "invalid timestamp", code: codes.InvalidArgument, msg: []string{"seen.start"},
			req: &vatsectorv1.ListControllerSessionsRequest{Seen: &vatsectorv1.TimeRange{Start: &timestamppb.Timestamp{Nanos: -1}}}},
		{name: "bad page token", req: &vatsectorv1.ListControllerSessionsRequest{PageToken: "eyJ2IjoxfQ"},
			code: codes.InvalidArgument, msg: []string{"page_token"}},
		{name: "negative page size", req: &vatsectorv1.ListControllerSessionsRequest{PageSize: -1},
			code: codes.InvalidArgument, msg: []string{"page_size"}},
	}
	eachEnv(t, envOptions{sectors: setsAirspace(t)}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := proto.Clone(tc.req).(*vatsectorv1.ListControllerSessionsRequest)
				var got []string
				pages := 0
				for {
					resp, err := e.controllerClient.ListControllerSessions(context.Background(), req)
					if tc.code != codes.OK {
						wantStatus(t, err, tc.code, tc.msg...)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					pages++
					for _, s := range resp.GetSessions() {
						got = append(got, fmt.Sprintf("%s %d/%d", s.GetController().GetCallsign(), s.GetDistinctFlights(),
							s.GetPeakSimultaneousFlights()))
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || pages > 10 {
						break
					}
				}
				if !slices.Equal(got, tc.want) || pages != tc.pages {
					t.Errorf("sessions %v in %d pages, want %v in %d", got, pages, tc.want, tc.pages)
				}
			})
		}
		t.Run("a token with other filters", func(t *testing.T) {
			resp, err := e.controllerClient.ListControllerSessions(context.Background(), &vatsectorv1.ListControllerSessionsRequest{PageSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.controllerClient.ListControllerSessions(context.Background(), &vatsectorv1.ListControllerSessionsRequest{
				PageSize: 1, PageToken: resp.GetNextPageToken(), CallsignPrefix: "EGTT_S"})
			wantStatus(t, err, codes.InvalidArgument, "other filters")
		})
	})
}

func TestControllerSessionConvertsEveryField(t *testing.T) {
	ctl := &vatsectorv1.Controller{
		Id: 5, Cid: 2005, Callsign: "EGTT_N_CTR", Name: "Member 2005", Kind: vatsectorv1.ControllerKind_CONTROLLER_KIND_CONTROLLER,
		Facility: vatsectorv1.Facility_FACILITY_CENTER, FacilityCode: 6, Rating: 5, Frequency: "132.600", Server: "UK-1",
		VisualRange: 300, LogonTime: timestamppb.New(t0.Add(-time.Hour)), LastUpdated: timestamppb.New(t0), FirstSeen: timestamppb.New(t0),
		SectorIds: []string{"EGTT_N"}, Sectors: []string{"sets/test/sectors/EGTT_N"},
	}
	ended := &vatsectorv1.ControllerSession{Controller: ctl, Start: timestamppb.New(t0), End: timestamppb.New(t1),
		Duration: durationpb.New(15 * time.Second)}
	egtt := &vatsectorv1.ControllerSession{Start: timestamppb.New(t0), End: timestamppb.New(t1), Online: true,
		Duration: durationpb.New(15 * time.Second), DistinctFlights: 3, PeakSimultaneousFlights: 3, PeakAt: timestamppb.New(t0)}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		resp, err := e.controllerClient.ListControllerSessions(context.Background(),
			&vatsectorv1.ListControllerSessionsRequest{CallsignPrefix: "EGTT_N"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetSessions()) != 1 || !proto.Equal(resp.GetSessions()[0], ended) {
			t.Errorf("got %v, want\n%s", resp.GetSessions(), prototext.Format(ended))
		}
		resp, err = e.controllerClient.ListControllerSessions(context.Background(),
			&vatsectorv1.ListControllerSessionsRequest{CallsignPrefix: "EGTT_C"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetSessions()) != 1 {
			t.Fatalf("sessions %v, want EGTT_CTR", resp.GetSessions())
		}
		got := proto.Clone(resp.GetSessions()[0]).(*vatsectorv1.ControllerSession)
		got.Controller = nil
		if !proto.Equal(got, egtt) {
			t.Errorf("got %v, want\n%s", got, prototext.Format(egtt))
		}
	})
}
