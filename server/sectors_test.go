package server

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// sectorSummary is "ID:flights[staffing callsigns]".
func sectorSummary(s *vatsectorv1.Sector) string {
	var staff []string
	for _, c := range s.GetStaffedBy() {
		staff = append(staff, c.GetCallsign())
	}
	return fmt.Sprintf("%s:%d%v", s.GetId(), s.GetFlightCount(), staff)
}

func TestListSectors(t *testing.T) {
	cases := []struct {
		name string
		req  *vatsectorv1.ListSectorsRequest
		want []string
		code codes.Code
		msg  string
	}{
		{name: "all, by id, with counts and staffing", req: &vatsectorv1.ListSectorsRequest{},
			want: []string{"EGTT:2[EGTT_1_CTR EGTT_CTR]", "EGTT_S:1[EGTT_S_CTR]", "LFFF:0[]"}},
		{name: "set", req: &vatsectorv1.ListSectorsRequest{Set: "test"}, want: []string{"EGTT:2[EGTT_1_CTR EGTT_CTR]", "EGTT_S:1[EGTT_S_CTR]", "LFFF:0[]"}},
		{name: "unknown set", req: &vatsectorv1.ListSectorsRequest{Set: "vatspy"}, want: []string{}},
		{name: "kind", req: &vatsectorv1.ListSectorsRequest{Kind: "sector"}, want: []string{"EGTT_S:1[EGTT_S_CTR]"}},
		{name: "negative page size", req: &vatsectorv1.ListSectorsRequest{PageSize: -5}, code: codes.InvalidArgument, msg: "page_size"},
		{name: "bad page token", req: &vatsectorv1.ListSectorsRequest{PageToken: "AAAA"}, code: codes.InvalidArgument, msg: "page_token"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.ListSectors(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, s := range resp.GetSectors() {
					got = append(got, sectorSummary(s))
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("sectors %v, want %v", got, tc.want)
				}
			})
		}
	})
}

func TestListSectorsPaging(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		var ids []string
		token := ""
		for page := 0; ; page++ {
			if page > 3 {
				t.Fatal("paging does not end")
			}
			resp, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range resp.GetSectors() {
				ids = append(ids, s.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(ids, []string{"EGTT", "EGTT_S", "LFFF"}) {
			t.Errorf("pages of 2 give %v", ids)
		}
	})
}

func TestSectorConvertsEveryField(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		resp, err := e.sectorClient.ListSectors(context.Background(), &vatsectorv1.ListSectorsRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		want := []*vatsectorv1.Sector{
			{Id: "EGTT", Name: "London", Set: "test", ResourceName: "sets/test/sectors/EGTT", Source: vatsectorv1.SectorSource_SECTOR_SOURCE_CUSTOM, Kind: "fir",
				Region: "EMEA", Division: "VATUK", FlightCount: 2, StaffedBy: []*vatsectorv1.ControllerRef{
					{Id: 7, Cid: 2007, Callsign: "EGTT_1_CTR"}, {Id: 1, Cid: 2001, Callsign: "EGTT_CTR"}}},
			{Id: "EGTT_S", Name: "London South", Set: "test", ResourceName: "sets/test/sectors/EGTT_S", Source: vatsectorv1.SectorSource_SECTOR_SOURCE_CUSTOM, Kind: "sector",
				CeilingFt: ptr[int32](24500), FlightCount: 1, StaffedBy: []*vatsectorv1.ControllerRef{{Id: 2, Cid: 2002, Callsign: "EGTT_S_CTR"}}},
		}
		if len(resp.GetSectors()) != 2 {
			t.Fatalf("%d sectors, want 2", len(resp.GetSectors()))
		}
		for i, w := range want {
			if got := resp.GetSectors()[i]; !proto.Equal(got, w) {
				t.Errorf("got\n%s\nwant\n%s", prototext.Format(got), prototext.Format(w))
			}
		}
	})
}

func TestGetSectorOccupancy(t *testing.T) {
	cases := []struct {
		name      string
		sector    string
		occupants []string // callsign/visit
		summary   string
		code      codes.Code
		msg       string
	}{
		{name: "two flights, two controllers", sector: "EGTT", occupants: []string{"BAW123/1", "DLH4/2"},
			summary: "EGTT:2[EGTT_1_CTR EGTT_CTR]"},
		{name: "empty and unstaffed", sector: "LFFF", occupants: []string{}, summary: "LFFF:0[]"},
		{name: "not loaded", sector: "EGTT_N", code: codes.NotFound, msg: `"EGTT_N" is not loaded`},
		{name: "missing id", sector: "", code: codes.InvalidArgument, msg: "a sector is required"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.GetSectorOccupancy(context.Background(), &vatsectorv1.GetSectorOccupancyRequest{SectorId: tc.sector})
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, o := range resp.GetOccupants() {
					got = append(got, fmt.Sprintf("%s/%d", o.GetFlight().GetCallsign(), o.GetVisitId()))
				}
				if !slices.Equal(got, tc.occupants) {
					t.Errorf("occupants %v, want %v", got, tc.occupants)
				}
				if s := sectorSummary(resp.GetSector()); s != tc.summary {
					t.Errorf("sector %s, want %s", s, tc.summary)
				}
				if !resp.GetAsOf().AsTime().Equal(t1) {
					t.Errorf("as of %v, want the last committed cycle's %v", resp.GetAsOf().AsTime(), t1)
				}
			})
		}
		t.Run("occupant fields", func(t *testing.T) {
			resp, err := e.sectorClient.GetSectorOccupancy(context.Background(), &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT_S"})
			if err != nil {
				t.Fatal(err)
			}
			want := &vatsectorv1.SectorOccupant{
				Flight: &vatsectorv1.FlightRef{Id: dlh4, Cid: 1003, Callsign: "DLH4"}, VisitId: 3, EnteredAt: timestamppb.New(t0),
				Position: &vatsectorv1.TrackPoint{ObservedAt: timestamppb.New(t1), Latitude: 51 + float64(dlh4)/10, Longitude: -1,
					AltitudeFt: 20003, GroundspeedKt: 450, HeadingDeg: 90},
			}
			if len(resp.GetOccupants()) != 1 || !proto.Equal(resp.GetOccupants()[0], want) {
				t.Errorf("occupants %v, want only\n%s", resp.GetOccupants(), prototext.Format(want))
			}
		})
	})
}

func TestListSectorEvents(t *testing.T) {
	entry, exit := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_EXIT
	staffed, unstaffed := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	cases := []struct {
		name string
		req  *vatsectorv1.ListSectorEventsRequest
		want []int64
		code codes.Code
		msg  string
	}{
		{name: "all", req: &vatsectorv1.ListSectorEventsRequest{}, want: seqRange(1, 9)},
		{name: "sectors, unknown ones included", req: &vatsectorv1.ListSectorEventsRequest{SectorIds: []string{"EGTT_N", "NOPE"}},
			want: []int64{7, 9}},
		{name: "kinds", req: &vatsectorv1.ListSectorEventsRequest{Kinds: []vatsectorv1.SectorEventKind{exit, unstaffed}}, want: []int64{8, 9}},
		{name: "sector and kind", want: []int64{5},
			req: &vatsectorv1.ListSectorEventsRequest{SectorIds: []string{"EGTT"}, Kinds: []vatsectorv1.SectorEventKind{staffed}}},
		{name: "occurred range", want: []int64{8, 9},
			req: &vatsectorv1.ListSectorEventsRequest{Occurred: &vatsectorv1.TimeRange{Start: timestamppb.New(t1)}}},
		{name: "unspecified kind", code: codes.InvalidArgument, msg: "kinds[1]",
			req: &vatsectorv1.ListSectorEventsRequest{Kinds: []vatsectorv1.SectorEventKind{entry, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSPECIFIED}}},
		{name: "unknown kind", code: codes.InvalidArgument, msg: "kinds[0]",
			req: &vatsectorv1.ListSectorEventsRequest{Kinds: []vatsectorv1.SectorEventKind{42}}},
		{name: "empty sector id", code: codes.InvalidArgument, msg: "sector_ids[0]",
			req: &vatsectorv1.ListSectorEventsRequest{SectorIds: []string{""}}},
		{name: "too many sector ids", code: codes.InvalidArgument, msg: "at most 1000",
			req: &vatsectorv1.ListSectorEventsRequest{SectorIds: slices.Repeat([]string{"EGTT"}, 1001)}},
		{name: "range ending before it starts", code: codes.InvalidArgument, msg: "occurred.end",
			req: &vatsectorv1.ListSectorEventsRequest{Occurred: &vatsectorv1.TimeRange{Start: timestamppb.New(t1), End: timestamppb.New(t0)}}},
		{name: "negative page size", code: codes.InvalidArgument, msg: "page_size",
			req: &vatsectorv1.ListSectorEventsRequest{PageSize: -1}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := e.sectorClient.ListSectorEvents(context.Background(), tc.req)
				if tc.code != codes.OK {
					wantStatus(t, err, tc.code, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := sequences(resp.GetEvents()); !slices.Equal(got, tc.want) {
					t.Errorf("events %v, want %v", got, tc.want)
				}
			})
		}
	})
}

func TestListSectorEventsPaging(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		kinds := []vatsectorv1.SectorEventKind{vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY}
		var got []int64
		token := ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("paging does not end")
			}
			// The same kinds in another order are the same filter.
			if page%2 == 1 {
				kinds = []vatsectorv1.SectorEventKind{kinds[1], kinds[0]}
			}
			resp, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{Kinds: kinds, PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sequences(resp.GetEvents())...)
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, seqRange(1, 7)) {
			t.Errorf("pages of 2 give %v, want 1..7", got)
		}
		_, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{PageSize: 2, PageToken: mustFirstToken(t, e)})
		wantStatus(t, err, codes.InvalidArgument, "other filters")
	})
}

func mustFirstToken(t *testing.T, e *env) string {
	t.Helper()
	resp, err := e.sectorClient.ListSectorEvents(context.Background(), &vatsectorv1.ListSectorEventsRequest{
		SectorIds: []string{"EGTT"}, PageSize: 1})
	if err != nil || resp.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, token %q", err, resp.GetNextPageToken())
	}
	return resp.GetNextPageToken()
}

func TestSectorEventConvertsEveryField(t *testing.T) {
	want := []*vatsectorv1.SectorEvent{
		{Sequence: 8, Kind: vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_EXIT, SectorId: "EGTT", SectorSet: "test",
			Sector: "sets/test/sectors/EGTT", OccurredAt: timestamppb.New(t1),
			CycleId: 2, Flight: &vatsectorv1.FlightRef{Id: aal1, Cid: 1004, Callsign: "AAL1"},
			Position: &vatsectorv1.Point{Latitude: 51.4, Longitude: -1, AltitudeFt: 20004}, VisitId: 4,
			VisitDuration: durationpb.New(15e9), ExitReason: vatsectorv1.ExitReason_EXIT_REASON_DISCONNECTED},
		{Sequence: 9, Kind: vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED, SectorId: "EGTT_N", SectorSet: "test",
			Sector: "sets/test/sectors/EGTT_N", OccurredAt: timestamppb.New(t1),
			CycleId: 2, Controller: &vatsectorv1.ControllerRef{Id: 5, Cid: 2005, Callsign: "EGTT_N_CTR"}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		resp, err := e.sectorClient.ListSectorEvents(context.Background(), &vatsectorv1.ListSectorEventsRequest{
			Occurred: &vatsectorv1.TimeRange{Start: timestamppb.New(t1)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetEvents()) != len(want) {
			t.Fatalf("%d events, want %d", len(resp.GetEvents()), len(want))
		}
		for i, w := range want {
			if got := resp.GetEvents()[i]; !proto.Equal(got, w) {
				t.Errorf("got\n%s\nwant\n%s", prototext.Format(got), prototext.Format(w))
			}
		}
	})
}
