package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

func flightIDs(fs []*vatsectorv1.Flight) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.GetId()
	}
	return out
}

func TestListFlights(t *testing.T) {
	cases := []struct {
		name string
		req  *vatsectorv1.ListFlightsRequest
		want []int64
		code codes.Code
		msg  string
	}{
		{name: "online by default", req: &vatsectorv1.ListFlightsRequest{}, want: []int64{baw123, baw9, dlh4, ual7a, ual7b}},
		{name: "with offline", req: &vatsectorv1.ListFlightsRequest{IncludeOffline: true},
			want: []int64{aal1, baw123, baw9, dlh4, ual7a, ual7b}},
		{name: "callsign prefix, any case", req: &vatsectorv1.ListFlightsRequest{CallsignPrefix: "baw"}, want: []int64{baw123, baw9}},
		{name: "departure", req: &vatsectorv1.ListFlightsRequest{Departure: "eddf"}, want: []int64{dlh4}},
		{name: "arrival with offline", req: &vatsectorv1.ListFlightsRequest{Arrival: "EGLL", IncludeOffline: true}, want: []int64{aal1, dlh4}},
		{name: "sector", req: &vatsectorv1.ListFlightsRequest{SectorId: "EGTT"}, want: []int64{baw123, dlh4}},
		{name: "unknown sector matches nothing", req: &vatsectorv1.ListFlightsRequest{SectorId: "NOPE"}, want: []int64{}},
		{name: "seen range", want: []int64{},
			req: &vatsectorv1.ListFlightsRequest{IncludeOffline: true, Seen: &vatsectorv1.TimeRange{End: timestamppb.New(t0)}}},
		{name: "page size above the maximum is lowered", req: &vatsectorv1.ListFlightsRequest{PageSize: 100000},
			want: []int64{baw123, baw9, dlh4, ual7a, ual7b}},
		{name: "negative page size", req: &vatsectorv1.ListFlightsRequest{PageSize: -1}, code: codes.InvalidArgument, msg: "page_size"},
		{name: "seen without include_offline", code: codes.InvalidArgument, msg: "include_offline",
			req: &vatsectorv1.ListFlightsRequest{Seen: &vatsectorv1.TimeRange{Start: timestamppb.New(t0)}}},
		{name: "seen ending before it starts", code: codes.InvalidArgument, msg: "seen.end",
			req: &vatsectorv1.ListFlightsRequest{IncludeOffline: true,
				Seen: &vatsectorv1.TimeRange{Start: timestamppb.New(t1), End: timestamppb.New(t0)}}},
		{name: "invalid timestamp", code: codes.InvalidArgument, msg: "seen.start",
			req: &vatsectorv1.ListFlightsRequest{IncludeOffline: true, Seen: &vatsectorv1.TimeRange{Start: &timestamppb.Timestamp{Nanos: -1}}}},
		{name: "malformed page token", req: &vatsectorv1.ListFlightsRequest{PageToken: "not a token!"}, code: codes.InvalidArgument,
			msg: "page_token"},
		{name: "overlong prefix", code: codes.InvalidArgument, msg: "callsign_prefix",
			req: &vatsectorv1.ListFlightsRequest{CallsignPrefix: string(make([]byte, 65))}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.flightClient.ListFlights(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := flightIDs(resp.GetFlights()); !slices.Equal(got, tc.want) {
					t.Errorf("flights %v, want %v", got, tc.want)
				}
				if resp.GetNextPageToken() != "" {
					t.Errorf("next page token %q on the only page", resp.GetNextPageToken())
				}
			})
		}
	})
}

func TestListFlightsPaging(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		req := &vatsectorv1.ListFlightsRequest{IncludeOffline: true, PageSize: 4}
		first, err := e.flightClient.ListFlights(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := flightIDs(first.GetFlights()); !slices.Equal(got, []int64{aal1, baw123, baw9, dlh4}) || first.GetNextPageToken() == "" {
			t.Fatalf("first page %v, token %q; want 4 flights and a token", got, first.GetNextPageToken())
		}
		t.Run("next page", func(t *testing.T) {
			second, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{IncludeOffline: true, PageSize: 4,
				PageToken: first.GetNextPageToken()})
			if err != nil {
				t.Fatal(err)
			}
			if got := flightIDs(second.GetFlights()); !slices.Equal(got, []int64{ual7a, ual7b}) || second.GetNextPageToken() != "" {
				t.Errorf("second page %v, token %q; want the two UAL7 and no token", got, second.GetNextPageToken())
			}
		})
		t.Run("token with other filters", func(t *testing.T) {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 4, PageToken: first.GetNextPageToken()})
			wantStatus(t, err, codes.InvalidArgument, "other filters")
		})
		t.Run("token edited", func(t *testing.T) {
			tok := []byte(first.GetNextPageToken())
			tok[len(tok)/2] ^= 1
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{IncludeOffline: true, PageToken: string(tok)})
			wantStatus(t, err, codes.InvalidArgument, "page_token")
		})
		t.Run("token of another method", func(t *testing.T) {
			_, err := e.controllerClient.ListControllers(ctx, &vatsectorv1.ListControllersRequest{PageToken: first.GetNextPageToken()})
			wantStatus(t, err, codes.InvalidArgument, "other filters")
		})
	})
}

func TestGetFlight(t *testing.T) {
	cases := []struct {
		name   string
		req    *vatsectorv1.GetFlightRequest
		id     int64
		visits int
		track  int
		code   codes.Code
		msg    string
	}{
		{name: "by id with track", id: dlh4, visits: 2, track: 2,
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: dlh4}, IncludeTrack: true}},
		{name: "offline by id", id: aal1, visits: 1,
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: aal1}}},
		{name: "by callsign, any case", id: baw123, visits: 1,
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: "baw123"}}},
		{name: "ghost callsign: latest logon", id: ual7b,
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: "UAL7"}}},
		{name: "no selector", req: &vatsectorv1.GetFlightRequest{}, code: codes.InvalidArgument, msg: "selector"},
		{name: "negative id", code: codes.InvalidArgument, msg: "id must be positive",
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: -3}}},
		{name: "empty callsign", code: codes.InvalidArgument, msg: "callsign",
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: " "}}},
		{name: "unknown id", code: codes.NotFound, msg: "999",
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: 999}}},
		{name: "offline callsign", code: codes.NotFound, msg: "AAL1",
			req: &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: "AAL1"}}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.flightClient.GetFlight(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if resp.GetFlight().GetId() != tc.id || len(resp.GetVisits()) != tc.visits || len(resp.GetTrack()) != tc.track {
					t.Errorf("flight %d with %d visits and %d track points, want %d, %d, %d", resp.GetFlight().GetId(),
						len(resp.GetVisits()), len(resp.GetTrack()), tc.id, tc.visits, tc.track)
				}
			})
		}
	})
}

// TestGetFlightConvertsEveryField compares whole messages, so that a field lost in conversion shows.
func TestGetFlightConvertsEveryField(t *testing.T) {
	lat := 51 + float64(aal1)/10 // as the fixture computes it
	want := &vatsectorv1.GetFlightResponse{
		Flight: &vatsectorv1.Flight{
			Id: aal1, Cid: 1004, Callsign: "AAL1", Name: "Member 1004", Server: "UK-1", PilotRating: 1,
			LogonTime: timestamppb.New(t0.Add(-time.Hour)), FirstSeen: timestamppb.New(t0), LastSeen: timestamppb.New(t1),
			Online: false, DisconnectedAt: timestamppb.New(t1),
			Position: &vatsectorv1.FlightPosition{UpdatedAt: timestamppb.New(t1), Latitude: lat, Longitude: -1, AltitudeFt: 20004,
				GroundspeedKt: 450, HeadingDeg: 90, Transponder: "2200", QnhInhg: 29.92, QnhMb: 1013},
			FlightPlan: &vatsectorv1.FlightPlan{FlightRules: "I", Aircraft: "B738/M-SDE3FGHIRWY/LB1", AircraftShort: "B738",
				Departure: "KJFK", Arrival: "EGLL", Altitude: "FL350", Route: "DCT", RevisionId: ptr[int32](2),
				UpdatedAt: timestamppb.New(t0)},
		},
		Visits: []*vatsectorv1.Visit{{
			Id: 4, FlightId: aal1, SectorId: "EGTT", SectorSet: "test", Sector: "sets/test/sectors/EGTT", EnteredAt: timestamppb.New(t0),
			EntryPosition: &vatsectorv1.Point{Latitude: 51.4, Longitude: -1, AltitudeFt: 20004},
			ExitedAt:      timestamppb.New(t1), ExitPosition: &vatsectorv1.Point{Latitude: 51.4, Longitude: -1, AltitudeFt: 20004},
			ExitReason: vatsectorv1.ExitReason_EXIT_REASON_DISCONNECTED, Duration: durationpb.New(15 * time.Second),
		}},
		Track: []*vatsectorv1.TrackPoint{{ObservedAt: timestamppb.New(t0), Latitude: lat - 0.05, Longitude: -1, AltitudeFt: 20004,
			GroundspeedKt: 450, HeadingDeg: 90}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		got, err := e.flightClient.GetFlight(context.Background(),
			&vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: aal1}, IncludeTrack: true})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("got\n%s\nwant\n%s", prototext.Format(got), prototext.Format(want))
		}
	})
}
