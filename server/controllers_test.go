package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

func TestListControllers(t *testing.T) {
	atis, obs := vatsectorv1.ControllerKind_CONTROLLER_KIND_ATIS, vatsectorv1.ControllerKind_CONTROLLER_KIND_OBSERVER
	cases := []struct {
		name  string
		req   *vatsectorv1.ListControllersRequest
		want  []string
		pages int
		code  codes.Code
		msg   string
	}{
		{name: "all online, by callsign", req: &vatsectorv1.ListControllersRequest{},
			want: []string{"EGLL_ATIS", "EGTT_1_CTR", "EGTT_CTR", "EGTT_S_CTR", "LON_OBS"}, pages: 1},
		{name: "kinds", req: &vatsectorv1.ListControllersRequest{Kinds: []vatsectorv1.ControllerKind{obs, atis}},
			want: []string{"EGLL_ATIS", "LON_OBS"}, pages: 1},
		{name: "prefix, any case", req: &vatsectorv1.ListControllersRequest{CallsignPrefix: "egtt_"},
			want: []string{"EGTT_1_CTR", "EGTT_CTR", "EGTT_S_CTR"}, pages: 1},
		{name: "sector", req: &vatsectorv1.ListControllersRequest{SectorId: "EGTT"}, want: []string{"EGTT_1_CTR", "EGTT_CTR"}, pages: 1},
		{name: "pages of two", req: &vatsectorv1.ListControllersRequest{PageSize: 2},
			want: []string{"EGLL_ATIS", "EGTT_1_CTR", "EGTT_CTR", "EGTT_S_CTR", "LON_OBS"}, pages: 3},
		{name: "unspecified kind", code: codes.InvalidArgument, msg: "kinds[0]",
			req: &vatsectorv1.ListControllersRequest{Kinds: []vatsectorv1.ControllerKind{vatsectorv1.ControllerKind_CONTROLLER_KIND_UNSPECIFIED}}},
		{name: "negative page size", req: &vatsectorv1.ListControllersRequest{PageSize: -1}, code: codes.InvalidArgument, msg: "page_size"},
		{name: "bad token", req: &vatsectorv1.ListControllersRequest{PageToken: "eyJ2IjoxfQ"}, code: codes.InvalidArgument, msg: "page_token"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := proto.Clone(tc.req).(*vatsectorv1.ListControllersRequest)
				var got []string
				pages := 0
				for {
					resp, err := e.controllerClient.ListControllers(context.Background(), req)
					if tc.code != codes.OK {
						wantStatus(t, err, tc.code, tc.msg)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					pages++
					for _, c := range resp.GetControllers() {
						got = append(got, c.GetCallsign())
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || pages > 10 {
						break
					}
				}
				if !slices.Equal(got, tc.want) || pages != tc.pages {
					t.Errorf("controllers %v in %d pages, want %v in %d", got, pages, tc.want, tc.pages)
				}
			})
		}
	})
}

func TestControllerConvertsEveryField(t *testing.T) {
	want := &vatsectorv1.Controller{
		Id: 4, Cid: 2004, Callsign: "EGLL_ATIS", Name: "Member 2004", Kind: vatsectorv1.ControllerKind_CONTROLLER_KIND_ATIS,
		Facility: vatsectorv1.Facility_FACILITY_TOWER, FacilityCode: 4, Rating: 5, Frequency: "132.600", Server: "UK-1",
		VisualRange: 300, LogonTime: timestamppb.New(t0.Add(-time.Hour)), LastUpdated: timestamppb.New(t0), FirstSeen: timestamppb.New(t0),
		AtisCode: "K", AtisLines: []string{"HEATHROW INFORMATION K", "RWY 27L"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		resp, err := e.controllerClient.ListControllers(context.Background(), &vatsectorv1.ListControllersRequest{PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetControllers()) != 1 || !proto.Equal(resp.GetControllers()[0], want) {
			t.Errorf("got %v, want\n%s", resp.GetControllers(), prototext.Format(want))
		}
	})
}
