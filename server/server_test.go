package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/repository"
)

func TestUnexpectedErrorsAreMaskedAndLogged(t *testing.T) {
	cases := []struct {
		name  string
		store func(*repository.Store) Storage
		call  func(e *env) error
		cause string
	}{
		{name: "storage error", cause: "relation flights: secret detail",
			store: func(s *repository.Store) Storage {
				return failingStore{Store: s, listFlights: errors.New("relation flights: secret detail")}
			},
			call: func(e *env) error {
				_, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{})
				return err
			}},
		{name: "panic", cause: "panic: index out of range: secret detail",
			store: func(s *repository.Store) Storage {
				return failingStore{Store: s, listControllers: func() { panic("index out of range: secret detail") }}
			},
			call: func(e *env) error {
				_, err := e.controllerClient.ListControllers(context.Background(), &vatsectorv1.ListControllersRequest{})
				return err
			}},
	}
	masked := regexp.MustCompile(`^internal error \(id ([0-9a-f]{8})\)$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEnv(t, envOptions{storage: tc.store}, func(t *testing.T, e *env) {
				err := tc.call(e)
				st, _ := status.FromError(err)
				m := masked.FindStringSubmatch(st.Message())
				if st.Code() != codes.Internal || m == nil {
					t.Fatalf("got %v, want INTERNAL \"internal error (id …)\"", err)
				}
				logs := e.logs.String()
				var line string
				for _, l := range strings.Split(logs, "\n") {
					if strings.Contains(l, "error_id="+m[1]) {
						line = l
					}
				}
				if !strings.Contains(line, tc.cause) {
					t.Errorf("no log line with error_id=%s and the cause %q in:\n%s", m[1], tc.cause, logs)
				}
				// The server still serves.
				if _, err := e.sectorClient.ListSectors(context.Background(), &vatsectorv1.ListSectorsRequest{}); err != nil {
					t.Errorf("after the failure: %v", err)
				}
			})
		})
	}
}

func TestDatabaseTroubleIsUnavailable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"query timeout", fmt.Errorf("repository: list flights: %w", context.DeadlineExceeded), "did not answer in time"},
		{"connection refused", fmt.Errorf("repository: list flights: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), "unreachable"},
		{"standby conflict with recovery", fmt.Errorf("repository: list flights: %w", repository.ErrConflict),
			"the database cancelled the query to apply a concurrent change"},
		{"read standby behind", fmt.Errorf("repository: list flights: %w", &repository.StaleReadError{
			Status: repository.ReplicaStatus{Lag: 20 * time.Second, CyclesBehind: 2, MaxLag: 15 * time.Second,
				MeasuredAt: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
			Now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}),
			"the read standby is 20s behind the primary (2 committed cycles it has not replayed; the limit is 15s); retry later"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEnv(t, envOptions{storage: func(s *repository.Store) Storage { return failingStore{Store: s, listFlights: tc.err} }},
				func(t *testing.T, e *env) {
					_, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{})
					wantStatus(t, err, codes.Unavailable, tc.msg)
					var stale *repository.StaleReadError
					if !errors.As(tc.err, &stale) {
						return
					}
					// The lag is the client's to hear; a retry hint says when the standby is measured again.
					var retry *errdetails.RetryInfo
					for _, d := range status.Convert(err).Details() {
						if r, ok := d.(*errdetails.RetryInfo); ok {
							retry = r
						}
					}
					if retry == nil || retry.GetRetryDelay().AsDuration() != time.Second {
						t.Errorf("retry hint %v; want 1s", retry)
					}
				})
		})
	}
}

func TestHealth(t *testing.T) {
	eachEnv(t, envOptions{notReady: true}, func(t *testing.T, e *env) {
		client := healthpb.NewHealthClient(e.conn)
		check := func(step, service string, want healthpb.HealthCheckResponse_ServingStatus) {
			t.Helper()
			resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil || resp.GetStatus() != want {
				t.Errorf("%s: %q is %v (%v), want %v", step, service, resp.GetStatus(), err, want)
			}
		}
		services := []string{"", "vatsector.v1.SectorService", "vatsector.v1.IngestService"}
		for _, s := range services {
			check("before Ready", s, healthpb.HealthCheckResponse_NOT_SERVING)
		}
		if err := e.srv.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, s := range services {
			check("after Ready", s, healthpb.HealthCheckResponse_SERVING)
		}
		e.srv.Drain()
		for _, s := range services {
			check("after Drain", s, healthpb.HealthCheckResponse_NOT_SERVING)
		}
		if err := e.srv.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("Ready after Drain", "", healthpb.HealthCheckResponse_NOT_SERVING)
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope.Service"})
		wantStatus(t, err, codes.NotFound)
	})
}

func TestReflectionDescribesTheAPI(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		stream, err := reflectionpb.NewServerReflectionClient(e.conn).ServerReflectionInfo(streamCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer stream.CloseSend()
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		for _, want := range []string{"vatsector.v1.IngestService", "vatsector.v1.FlightService", "vatsector.v1.SectorService",
			"vatsector.v1.ControllerService", "grpc.health.v1.Health"} {
			if !slices.Contains(names, want) {
				t.Errorf("services %v lack %s", names, want)
			}
		}
		// grpcurl describes a method from the descriptors alone.
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "vatsector.v1.SectorService"},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err = stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
			t.Errorf("no file descriptor for vatsector.v1.SectorService: %v", resp)
		}
	})
}

func TestMetricsCountCallsAndStreams(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{registerer: reg})
	if _, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{PageSize: -1}); err == nil {
		t.Fatal("negative page size accepted")
	}
	if _, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	handled := map[string]float64{}
	var streams bool
	for _, f := range families {
		switch f.GetName() {
		case "grpc_server_handled_total":
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["grpc_method"] == "ListFlights" {
					handled[labels["grpc_code"]] = m.GetCounter().GetValue()
				}
			}
		case "vatsector_api_streams":
			streams = true
		}
	}
	if handled["OK"] != 1 || handled["InvalidArgument"] != 1 {
		t.Errorf("ListFlights handled %v, want one OK and one InvalidArgument", handled)
	}
	if !streams {
		t.Error("vatsector_api_streams is not registered")
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	store := openFixtureStore(t)
	full := Config{Store: store, Status: &fakeStatus{}, Sectors: testAirspace(t), Hub: hub.New(hub.Config{})}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no store", func(c *Config) { c.Store = nil }, "no store"},
		{"no status", func(c *Config) { c.Status = nil }, "no ingestion status"},
		{"no sectors", func(c *Config) { c.Sectors = nil }, "no sectors"},
		{"no hub", func(c *Config) { c.Hub = nil }, "no hub"},
		{"negative limit", func(c *Config) { c.HeartbeatInterval = -1 }, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := full
			tc.change(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
