package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/shareddata"
)

// liveCycle is a committed cycle with its online flights.
func liveCycle(id int64, at time.Time, flights ...domain.LiveFlight) *domain.Committed {
	return &domain.Committed{Cycle: domain.Cycle{ID: id, UpdateTimestamp: at}, Flights: flights}
}

func live(id int64, lat, lon float64) domain.LiveFlight {
	return domain.LiveFlight{ID: id, Callsign: fmt.Sprintf("TST%d", id), Latitude: lat, Longitude: lon, Altitude: 30000 + int(id),
		Groundspeed: 400, Heading: 90, Aircraft: "A320", Departure: "EGLL", Arrival: "LFPG"}
}

func liveIDs(m *vatsectorv1.WatchFlightsResponse) []int64 {
	out := make([]int64, len(m.GetFlights()))
	for i, f := range m.GetFlights() {
		out[i] = f.GetId()
	}
	return out
}

// A WatchFlights stream starts from the newest published cycle, then gets every cycle, each with the flights
// of its box only; a box across the antimeridian keeps both sides.
func TestWatchFlights(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{})
	t1 := t0.Add(time.Hour)
	e.hub.Publish(liveCycle(100, t1, live(1, 51, -1), live(2, 10, 179.5), live(3, 10, -179.5), live(4, -40, 20)))
	boxes := []struct {
		name string
		box  *vatsectorv1.BoundingBox
		want []int64
	}{
		{"everything", nil, []int64{1, 2, 3, 4}},
		{"Europe", &vatsectorv1.BoundingBox{MinLatitude: 35, MinLongitude: -15, MaxLatitude: 70, MaxLongitude: 40}, []int64{1}},
		{"across the antimeridian", &vatsectorv1.BoundingBox{MinLatitude: 0, MinLongitude: 170, MaxLatitude: 20, MaxLongitude: -170}, []int64{2, 3}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	streams := make([]vatsectorv1.FlightService_WatchFlightsClient, len(boxes))
	for i, b := range boxes {
		s, err := e.flightClient.WatchFlights(ctx, &vatsectorv1.WatchFlightsRequest{Bounds: b.box})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := liveIDs(m); !slices.Equal(got, b.want) || !m.GetAsOf().AsTime().Equal(t1) {
			t.Errorf("%s, first message: flights %v as of %v, want %v as of %v", b.name, got, m.GetAsOf().AsTime(), b.want, t1)
		}
	}
	t2 := t1.Add(15 * time.Second)
	e.hub.Publish(liveCycle(101, t2, live(1, 51.1, -0.9), live(4, -40, 20.1), live(5, 60, 10)))
	next := [][]int64{{1, 4, 5}, {1, 5}, {}}
	for i, s := range streams {
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := liveIDs(m); !slices.Equal(got, next[i]) || !m.GetAsOf().AsTime().Equal(t2) {
			t.Errorf("%s, second message: flights %v as of %v, want %v as of %v", boxes[i].name, got, m.GetAsOf().AsTime(), next[i], t2)
		}
	}
	want := liveFlightProto(&domain.LiveFlight{ID: 1, Callsign: "TST1", Latitude: 51.1, Longitude: -0.9, Altitude: 30001,
		Groundspeed: 400, Heading: 90, Aircraft: "A320", Departure: "EGLL", Arrival: "LFPG"})
	if len(next[0]) > 0 {
		s, _ := e.flightClient.WatchFlights(ctx, &vatsectorv1.WatchFlightsRequest{})
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m.GetFlights()[0], want) {
			t.Errorf("flight: %v, want %v", m.GetFlights()[0], want)
		}
	}
}

// A cycle's message for a box is encoded once, whatever the number of streams that send it.
func TestWatchFlightsEncodesACycleOncePerBox(t *testing.T) {
	p := newPublishedCycle(liveCycle(1, t0, live(1, 51, -1), live(2, 10, 20)))
	box := domain.BoundingBox{MinLat: 0, MinLon: 0, MaxLat: 20, MaxLon: 30}
	a, err := p.flights.encoded(box)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.flights.encoded(box)
	whole, _ := p.flights.encoded(domain.BoundingBox{})
	if &a[0] != &b[0] {
		t.Error("the same box was encoded twice")
	}
	if &a[0] == &whole[0] || len(whole) <= len(a) {
		t.Error("another box shares the encoding of a smaller one")
	}
}

// Before this process published anything (it restarted), a stream starts from the stored online flights as
// of the last committed cycle, in the same form as a published cycle.
func TestWatchFlightsStartsFromStorageAfterARestart(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.flightClient.WatchFlights(ctx, &vatsectorv1.WatchFlightsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, f := range list.GetFlights() {
		want = append(want, f.GetId())
		if f.GetId() == dlh4 {
			got := m.GetFlights()[slices.IndexFunc(m.GetFlights(), func(l *vatsectorv1.LiveFlight) bool { return l.GetId() == dlh4 })]
			if got.GetLatitude() != f.GetPosition().GetLatitude() || got.GetArrival() != f.GetFlightPlan().GetArrival() ||
				got.GetAircraft() != f.GetFlightPlan().GetAircraftShort() {
				t.Errorf("DLH4: %v, ListFlights: %v", got, f)
			}
		}
	}
	slices.Sort(want)
	if got := liveIDs(m); !slices.Equal(got, want) {
		t.Errorf("flights %v, want the online ones %v", got, want)
	}
	// The next published cycle follows.
	e.hub.Publish(liveCycle(50, t0.Add(time.Hour), live(9, 1, 1)))
	if m, err = s.Recv(); err != nil || !slices.Equal(liveIDs(m), []int64{9}) {
		t.Fatalf("next: %v, %v", m, err)
	}
}

// A stream that falls behind is not ended: it skips to the newest cycle, and goes on from there.
func TestWatchFlightsSkipsToTheNewestCycleWhenBehind(t *testing.T) {
	h := hub.New(hub.Config{Buffer: 2})
	prepareWith(h)
	h.Seed(nil, 0)
	q := &queryService{hub: h, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sent := make(chan *vatsectorv1.WatchFlightsResponse)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- q.watchFlights(ctx, domain.BoundingBox{}, func(b encodedResponse) error {
			m := &vatsectorv1.WatchFlightsResponse{}
			if err := proto.Unmarshal(b, m); err != nil {
				return err
			}
			sent <- m
			<-release // the client reads nothing more until the test says so
			return nil
		})
	}()
	waitSubscribers(t, h, 1)
	h.Publish(liveCycle(1, t0, live(1, 1, 1)))
	if m := <-sent; !slices.Equal(liveIDs(m), []int64{1}) {
		t.Fatalf("first: %v", liveIDs(m))
	}
	// While the client is stuck, more cycles than its buffer holds: the hub drops it from live delivery.
	for id := int64(2); id <= 6; id++ {
		h.Publish(liveCycle(id, t0.Add(time.Duration(id)*15*time.Second), live(id, 1, 1)))
	}
	if h.Lagged() == 0 {
		t.Fatal("the stream was not dropped for falling behind; the test does not test skipping")
	}
	close(release)
	// The cycles it had buffered (2 and 3) may come first; then the newest, 6, and nothing after it is lost.
	var got []int64
	for len(got) == 0 || got[len(got)-1] != 6 {
		got = append(got, liveIDs(<-sent)[0])
	}
	if !slices.IsSorted(got) || got[len(got)-1] != 6 {
		t.Fatalf("cycles after the stall: %v", got)
	}
	h.Publish(liveCycle(7, t0.Add(2*time.Minute), live(7, 1, 1)))
	if m := <-sent; !slices.Equal(liveIDs(m), []int64{7}) {
		t.Fatalf("after catching up: %v", liveIDs(m))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watchFlights: %v", err)
	}
}

// ListFlights' box keeps exactly the online flights whose position is inside it, compared with a brute-force
// filter of every online flight, boxes across the antimeridian included.
func TestListFlightsInABoundingBox(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := context.Background()
		all, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		boxes := []*vatsectorv1.BoundingBox{
			{MinLatitude: 51.15, MinLongitude: -2, MaxLatitude: 51.35, MaxLongitude: 0},
			{MinLatitude: 50, MinLongitude: 170, MaxLatitude: 60, MaxLongitude: -0.5}, // across the antimeridian, with -1
			{MinLatitude: 50, MinLongitude: 170, MaxLatitude: 60, MaxLongitude: -1.5}, // across, without
		}
		for range 20 {
			lat := 50.9 + rng.Float64()*0.8
			boxes = append(boxes, &vatsectorv1.BoundingBox{MinLatitude: lat, MaxLatitude: lat + rng.Float64()*0.5,
				MinLongitude: -1.5 + rng.Float64(), MaxLongitude: -1 + rng.Float64()})
		}
		for _, b := range boxes {
			box := boundsOf(b)
			var want []int64
			for _, f := range all.GetFlights() {
				if box.Contains(f.GetPosition().GetLatitude(), f.GetPosition().GetLongitude()) {
					want = append(want, f.GetId())
				}
			}
			got, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{Bounds: b, PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, f := range got.GetFlights() {
				ids = append(ids, f.GetId())
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("box %v: flights %v, want %v", b, ids, want)
			}
		}
	})
}

func TestBadBoundsAndTolerancesAreInvalid(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"latitude past the pole", func() error {
			_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{Bounds: &vatsectorv1.BoundingBox{MaxLatitude: 91}})
			return err
		}, "bounds.max_latitude is 91"},
		{"south above north", func() error {
			s, err := e.flightClient.WatchFlights(ctx, &vatsectorv1.WatchFlightsRequest{Bounds: &vatsectorv1.BoundingBox{MinLatitude: 10, MaxLatitude: 5}})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, "bounds.min_latitude 10 is north of max_latitude 5"},
		{"negative tolerance", func() error {
			_, err := e.sectorClient.GetSectorGeometry(ctx, &vatsectorv1.GetSectorGeometryRequest{ToleranceDeg: -0.1})
			return err
		}, "tolerance_deg is -0.1"},
		{"longitude out of range", func() error {
			_, err := e.sectorClient.GetSectorGeometry(ctx, &vatsectorv1.GetSectorGeometryRequest{Bounds: &vatsectorv1.BoundingBox{MinLongitude: -181}})
			return err
		}, "bounds.min_longitude is -181"},
	} {
		err := tc.call()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT saying %q", tc.name, err, tc.want)
		}
	}
}

// geoJSON is the part of a FeatureCollection the tests read.
type geoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
		Geometry   struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func (g *geoJSON) names() []string {
	var out []string
	for _, f := range g.Features {
		out = append(out, f.Properties["name"].(string))
	}
	return out
}

func (g *geoJSON) points() int {
	n := 0
	for _, f := range g.Features {
		for _, poly := range f.Geometry.Coordinates {
			for _, ring := range poly {
				n += len(ring)
			}
		}
	}
	return n
}

func getGeometry(t *testing.T, e *env, req *vatsectorv1.GetSectorGeometryRequest) *geoJSON {
	t.Helper()
	resp, err := e.sectorClient.GetSectorGeometry(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.GetGeojson().GetContentType(); ct != GeoJSONContentType {
		t.Errorf("content type %q", ct)
	}
	var g geoJSON
	if err := json.Unmarshal(resp.GetGeojson().GetData(), &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// The geometry is the loaded sectors with their properties, filtered by set and box; over REST its body is
// the GeoJSON itself.
func TestSectorGeometry(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	all := getGeometry(t, e, &vatsectorv1.GetSectorGeometryRequest{})
	if want := []string{"sets/test/sectors/EGTT", "sets/test/sectors/EGTT_S", "sets/test/sectors/LFFF"}; all.Type != "FeatureCollection" || !slices.Equal(all.names(), want) {
		t.Fatalf("features %v, want %v", all.names(), want)
	}
	s := all.Features[1]
	if p := s.Properties; p["set"] != "test" || p["id"] != "EGTT_S" || p["label"] != "London South" || p["kind"] != "sector" ||
		p["floor_ft"] != nil || p["ceiling_ft"] != 24500.0 {
		t.Errorf("EGTT_S properties %v", p)
	}
	if g := s.Geometry; g.Type != "MultiPolygon" || len(g.Coordinates) != 1 || !slices.Equal(g.Coordinates[0][0],
		[][2]float64{{-2, 50}, {2, 50}, {2, 52}, {-2, 52}, {-2, 50}}) {
		t.Errorf("EGTT_S geometry %+v", g)
	}
	for _, tc := range []struct {
		name string
		req  *vatsectorv1.GetSectorGeometryRequest
		want []string
	}{
		{"other set", &vatsectorv1.GetSectorGeometryRequest{Set: "vatspy"}, nil},
		{"box over Paris only", &vatsectorv1.GetSectorGeometryRequest{Bounds: &vatsectorv1.BoundingBox{MinLatitude: 47, MinLongitude: 3, MaxLatitude: 48, MaxLongitude: 5}},
			[]string{"sets/test/sectors/LFFF"}},
		{"box touching London's north edge", &vatsectorv1.GetSectorGeometryRequest{Bounds: &vatsectorv1.BoundingBox{MinLatitude: 54, MinLongitude: -10, MaxLatitude: 60, MaxLongitude: 10}},
			[]string{"sets/test/sectors/EGTT"}},
	} {
		if got := getGeometry(t, e, tc.req).names(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	w := startWeb(t, e, HTTPConfig{})
	resp, err := httpClient(t, false).Get(w.base + "/v1/sectors:geojson?bounds.min_latitude=47&bounds.min_longitude=3&bounds.max_latitude=48&bounds.max_longitude=5")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var g geoJSON
	if err := json.Unmarshal(body, &g); err != nil || resp.Header.Get("Content-Type") != GeoJSONContentType ||
		!slices.Equal(g.names(), []string{"sets/test/sectors/LFFF"}) {
		t.Fatalf("REST: %s %q, %v: %.300s", resp.Status, resp.Header.Get("Content-Type"), err, body)
	}
}

// On the real VATSpy boundaries a tolerance shrinks the geometry without losing a sector, and every ring stays
// a closed ring within a tolerance of the original's points (Douglas-Peucker keeps a subset of them).
func TestSectorGeometrySimplifiesRealBoundaries(t *testing.T) {
	set, err := airspace.LoadVATSpy(shareddata.VATSpyDir(t))
	if err != nil {
		t.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{sectors: ingest.NewAirspaceSectors(a)})
	exact := getGeometry(t, e, &vatsectorv1.GetSectorGeometryRequest{})
	simple := getGeometry(t, e, &vatsectorv1.GetSectorGeometryRequest{ToleranceDeg: 0.02})
	if len(exact.Features) != a.Len() || !slices.Equal(exact.names(), simple.names()) {
		t.Fatalf("%d exact and %d simplified features for %d sectors", len(exact.Features), len(simple.Features), a.Len())
	}
	coarser := getGeometry(t, e, &vatsectorv1.GetSectorGeometryRequest{ToleranceDeg: 0.1})
	if !(coarser.points() < simple.points() && simple.points() < exact.points()) || !slices.Equal(exact.names(), coarser.names()) {
		t.Errorf("points: %d exact, %d at 0.02 degrees, %d at 0.1: want fewer at each, and every sector", exact.points(),
			simple.points(), coarser.points())
	}
	for i, f := range simple.Features {
		orig := exact.Features[i].Geometry.Coordinates
		if len(f.Geometry.Coordinates) != len(orig) {
			t.Fatalf("%s: %d polygons, exact %d", f.Properties["name"], len(f.Geometry.Coordinates), len(orig))
		}
		for j, poly := range f.Geometry.Coordinates {
			for k, ring := range poly {
				if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
					t.Fatalf("%s: ring %d.%d is not closed with 4 points: %v", f.Properties["name"], j, k, ring)
				}
				for _, p := range ring {
					if !slices.Contains(orig[j][k], p) {
						t.Fatalf("%s: point %v is not one of the boundary's", f.Properties["name"], p)
					}
				}
			}
		}
	}
	t.Logf("VATSpy: %d sectors, %d points exact, %d at 0.02 degrees, %d at 0.1", a.Len(), exact.points(), simple.points(), coarser.points())
}
