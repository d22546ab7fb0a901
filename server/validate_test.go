package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// Every method of every vatsector service the server registers has validation rules: a new RPC cannot ship
// with its requests let through unchecked.
func TestEveryMethodHasAValidator(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{})
	methods := 0
	for name := range e.srv.grpc.GetServiceInfo() {
		if !strings.HasPrefix(name, apiPackage+".") {
			continue
		}
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
			if err != nil {
				t.Fatalf("%s: %v", md.FullName(), err)
			}
			if _, known := requestRules(mt.New().Interface()); !known {
				t.Errorf("%s: no validation rules for its request %s (add them to requestRules)", md.FullName(), md.Input().FullName())
			}
			methods++
		}
	}
	if methods < 9 {
		t.Errorf("only %d methods found: are the services registered?", methods)
	}
}

// A message of the API without rules is refused, not let through.
func TestValidateRequestRefusesAnUnknownAPIMessage(t *testing.T) {
	if err := validateRequest(&vatsectorv1.Flight{}); err == nil {
		t.Error("a vatsector.v1 message without rules passed validation")
	}
	if err := validateRequest(&timestamppb.Timestamp{}); err != nil {
		t.Errorf("a message of another package was refused: %v", err)
	}
}

// U+0000 anywhere in a request is INVALID_ARGUMENT naming the field, in every request shape that carries a
// string; on PostgreSQL it used to reach the database and fail as INTERNAL.
func TestNULInARequestIsInvalidArgument(t *testing.T) {
	const nul = "EG\x00TT"
	cases := []struct {
		field string
		call  func(ctx context.Context, e *env) error
	}{
		{"sector_id", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{SectorId: nul})
			return err
		}},
		{"callsign_prefix", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{CallsignPrefix: nul})
			return err
		}},
		{"departure", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{Departure: nul})
			return err
		}},
		{"arrival", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{Arrival: nul})
			return err
		}},
		{"page_token", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageToken: nul})
			return err
		}},
		{"callsign", func(ctx context.Context, e *env) error {
			_, err := e.flightClient.GetFlight(ctx, &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: nul}})
			return err
		}},
		{"set", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Set: nul})
			return err
		}},
		{"kind", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Kind: nul})
			return err
		}},
		{"page_token", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{PageToken: nul})
			return err
		}},
		{"sector_id", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{SectorId: nul})
			return err
		}},
		{"page_token", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{SectorId: "EGTT", PageToken: nul})
			return err
		}},
		{"sector_ids[1]", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{SectorIds: []string{"EGTT", nul}})
			return err
		}},
		{"page_token", func(ctx context.Context, e *env) error {
			_, err := e.sectorClient.ListSectorEvents(ctx, &vatsectorv1.ListSectorEventsRequest{PageToken: nul})
			return err
		}},
		{"sector_ids[0]", func(ctx context.Context, e *env) error {
			s, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{nul}, AfterSequence: ptr[int64](0)})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
		{"callsign_prefix", func(ctx context.Context, e *env) error {
			_, err := e.controllerClient.ListControllers(ctx, &vatsectorv1.ListControllersRequest{CallsignPrefix: nul})
			return err
		}},
		{"sector_id", func(ctx context.Context, e *env) error {
			_, err := e.controllerClient.ListControllers(ctx, &vatsectorv1.ListControllersRequest{SectorId: nul})
			return err
		}},
		{"page_token", func(ctx context.Context, e *env) error {
			_, err := e.controllerClient.ListControllers(ctx, &vatsectorv1.ListControllersRequest{PageToken: nul})
			return err
		}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			ctx, cancel := context.WithCancel(context.Background())
			err := tc.call(ctx, e)
			cancel()
			wantStatus(t, err, codes.InvalidArgument, tc.field+" contains U+0000")
		}
	})
}

// The walk reaches nested messages, repeated messages and maps, naming the path.
func TestCheckNoNULNamesTheField(t *testing.T) {
	cases := []struct {
		msg  interface{ ProtoReflect() protoreflect.Message }
		want string // "" for no error
	}{
		{&vatsectorv1.ListFlightsRequest{SectorId: "EGTT"}, ""},
		{&vatsectorv1.ListSectorEventsRequest{SectorIds: []string{"A", "B\x00"}}, "sector_ids[1]"},
		{&vatsectorv1.GetSectorOccupancyResponse{Occupants: []*vatsectorv1.SectorOccupant{
			{Flight: &vatsectorv1.FlightRef{Callsign: "OK"}}, {Flight: &vatsectorv1.FlightRef{Callsign: "\x00"}},
		}}, "occupants[1].flight.callsign"},
		{&vatsectorv1.Controller{AtisLines: []string{"x", "y\x00"}}, "atis_lines[1]"},
	}
	for _, tc := range cases {
		err := checkNoNUL(tc.msg.ProtoReflect())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%T: %v, want no error", tc.msg, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+" contains U+0000")):
			t.Errorf("%T: %v, want an error naming %s", tc.msg, err, tc.want)
		}
	}
}
