package main

// The map page in a real browser: the service binary serves it (and the API it calls) on its HTTP port, fed a
// simulated feed the test advances itself, and web/e2e/map.mjs drives Debian's headless Chromium through it.
// What the page shows is checked against the API as of the same cycle.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/sim"
)

const chromiumPath = "/usr/bin/chromium"

// browserTools returns node's path, or skips (fails under CI=true) when node, web/node_modules or Debian's
// Chromium is missing.
func browserTools(t *testing.T) string {
	t.Helper()
	missing := func(what, fix string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("the browser test needs %s in CI (%s)", what, fix)
		}
		t.Skipf("browser test skipped: %s is missing (%s)", what, fix)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node", "install Node.js 20+")
	}
	if _, err := os.Stat(filepath.Join("web", "node_modules", "playwright-core")); err != nil {
		missing("web/node_modules", "run: cd web && npm ci")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(chromiumPath, "run: apt-get install -y chromium")
	}
	return node
}

// steppedFeed serves simulated snapshots over HTTP, the same one until the test advances it, so the stored
// state holds still while the test compares the page with the API. Each snapshot's transceivers file is served
// beside it (transceivers-data.json in the same folder, where the service looks for it), so the service knows
// which flights work which controller.
type steppedFeed struct {
	snaps [][]byte
	radio [][]byte
	times []time.Time
	cur   atomic.Int32
}

func newSteppedFeed(t *testing.T, n, pilots int) *steppedFeed {
	t.Helper()
	// Dated just before now: the service refuses snapshots from the future, and the health is OK, not STALE.
	start := time.Now().UTC().Add(-time.Duration(n) * sim.DefaultStep).Truncate(time.Second)
	s := sim.New(sim.Config{Seed: 12, Pilots: pilots, Start: start})
	f := &steppedFeed{}
	for range n {
		snap, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		f.snaps = append(f.snaps, s.AppendJSON(nil))
		f.radio = append(f.radio, s.AppendTransceiversJSON(nil))
		f.times = append(f.times, snap.General.UpdateTimestamp)
	}
	return f
}

func (f *steppedFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/transceivers-data.json") {
		_, _ = w.Write(f.radio[f.cur.Load()])
		return
	}
	_, _ = w.Write(f.snaps[f.cur.Load()])
}

// mapPage is the browser script, run with --interactive: one JSON command a line on its stdin, one JSON
// answer a line on its stdout.
type mapPage struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers chan map[string]any
	stderr  *syncBuffer
}

func startMapPage(t *testing.T, node, baseURL string) *mapPage {
	t.Helper()
	p := &mapPage{t: t, answers: make(chan map[string]any, 16), stderr: &syncBuffer{}}
	p.cmd = exec.Command(node, filepath.Join("web", "e2e", "map.mjs"), "--interactive", baseURL)
	p.cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromiumPath)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.answers)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var a map[string]any
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				a = map[string]any{"event": "error", "message": "not JSON: " + sc.Text()}
			}
			p.answers <- a
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
	})
	p.expect("loaded")
	return p
}

// expect reads the next answer and fails unless it is the event named, or when the page reported errors.
func (p *mapPage) expect(event string) map[string]any {
	p.t.Helper()
	select {
	case a, ok := <-p.answers:
		if !ok {
			p.t.Fatalf("map.mjs ended before answering %q\nstderr:\n%s", event, p.stderr.String())
		}
		if a["event"] != event {
			p.t.Fatalf("map.mjs answered %v, want %q\nstderr:\n%s", render(a), event, p.stderr.String())
		}
		if errs, _ := a["pageErrors"].([]any); len(errs) > 0 {
			p.t.Fatalf("the page reported errors: %v", errs)
		}
		return a
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("map.mjs gave no %q answer within 2 minutes\nstderr:\n%s", event, p.stderr.String())
		return nil
	}
}

func (p *mapPage) do(cmd map[string]any, event string) map[string]any {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("map.mjs: %v\nstderr:\n%s", err, p.stderr.String())
	}
	return p.expect(event)
}

// apiView is what the API says of the current cycle, to compare with the page.
type apiView struct {
	health         vatsectorv1.HealthState
	feedTime       time.Time
	sectors        []*vatsectorv1.Sector
	flights        int
	sectorFlights  int // flight counts summed over sectors
	busiestSectors []string
	live           []*vatsectorv1.LiveFlight // the first WatchFlights message: the last committed cycle
	working        int                       // of live, the flights in contact with a controller
}

func readAPI(t *testing.T, ctx context.Context, conn *grpc.ClientConn) apiView {
	t.Helper()
	var v apiView
	status, err := vatsectorv1.NewIngestServiceClient(conn).GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v.feedTime = status.GetLastCommittedCycle().GetUpdateTimestamp().AsTime()
	v.health = status.GetHealth().GetState()
	sectors := vatsectorv1.NewSectorServiceClient(conn)
	for token := ""; ; {
		res, err := sectors.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{PageSize: 5000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		v.sectors = append(v.sectors, res.Sectors...)
		if token = res.NextPageToken; token == "" {
			break
		}
	}
	busiest := slices.Clone(v.sectors)
	slices.SortStableFunc(busiest, func(a, b *vatsectorv1.Sector) int { return int(b.FlightCount - a.FlightCount) })
	for _, s := range v.sectors {
		v.sectorFlights += int(s.FlightCount)
	}
	for _, s := range busiest {
		if s.FlightCount > 0 && len(v.busiestSectors) < 60 {
			v.busiestSectors = append(v.busiestSectors, s.ResourceName)
		}
	}
	flights := vatsectorv1.NewFlightServiceClient(conn)
	for token := ""; ; {
		res, err := flights.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		v.flights += len(res.Flights)
		if token = res.NextPageToken; token == "" {
			break
		}
	}
	// WatchFlights' first message is the last committed cycle's flights, as the page reads them.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := flights.WatchFlights(wctx, &vatsectorv1.WatchFlightsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.GetAsOf().AsTime(); !got.Equal(v.feedTime) {
		t.Fatalf("WatchFlights' first message is as of %s, the last committed cycle %s", got, v.feedTime)
	}
	v.live = msg.Flights
	for _, f := range v.live {
		if f.Working != nil {
			v.working++
		}
	}
	return v
}

// sectorShape is a sector of the GeoJSON the page draws (GetSectorGeometry), for recomputing coverage.
type sectorShape struct {
	name                           string
	floor, ceiling                 *float64
	polygons                       [][][][2]float64
	minLon, minLat, maxLon, maxLat float64
}

// readGeometry fetches the outlines as the page does (geometry.ts: the same tolerance).
func readGeometry(t *testing.T, httpAddr string) []sectorShape {
	t.Helper()
	res, err := http.Get("http://" + httpAddr + "/v1/sectors:geojson?tolerance_deg=0.02")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var fc struct {
		Features []struct {
			Properties struct {
				Name      string   `json:"name"`
				FloorFt   *float64 `json:"floor_ft"`
				CeilingFt *float64 `json:"ceiling_ft"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.NewDecoder(res.Body).Decode(&fc); err != nil {
		t.Fatalf("GET /v1/sectors:geojson: %v", err)
	}
	shapes := make([]sectorShape, 0, len(fc.Features))
	for _, f := range fc.Features {
		s := sectorShape{name: f.Properties.Name, floor: f.Properties.FloorFt, ceiling: f.Properties.CeilingFt,
			minLon: math.Inf(1), minLat: math.Inf(1), maxLon: math.Inf(-1), maxLat: math.Inf(-1)}
		var err error
		switch f.Geometry.Type {
		case "MultiPolygon":
			err = json.Unmarshal(f.Geometry.Coordinates, &s.polygons)
		case "Polygon":
			var p [][][2]float64
			err = json.Unmarshal(f.Geometry.Coordinates, &p)
			s.polygons = [][][][2]float64{p}
		default:
			err = fmt.Errorf("geometry type %q", f.Geometry.Type)
		}
		if err != nil {
			t.Fatalf("sector %s: %v", s.name, err)
		}
		for _, p := range s.polygons {
			for _, r := range p {
				for _, pt := range r {
					s.minLon, s.maxLon = min(s.minLon, pt[0]), max(s.maxLon, pt[0])
					s.minLat, s.maxLat = min(s.minLat, pt[1]), max(s.maxLat, pt[1])
				}
			}
		}
		shapes = append(shapes, s)
	}
	return shapes
}

// bruteCoverage is the page's coverage rule (web/src/coverage.ts), recomputed over every flight-sector pair: a
// flight occupies a sector when a polygon of it contains the flight's position (even-odd over the polygon's
// rings; the longitude also tried a turn either way) and its altitude band, if any, holds the altitude
// (floor inclusive, ceiling exclusive). The result is [occupants, of them in contact] by sector, for the
// sectors with occupants.
func bruteCoverage(shapes []sectorShape, live []*vatsectorv1.LiveFlight) map[string][2]int {
	inPolygon := func(p [][][2]float64, lon, lat float64) bool {
		inside := false
		for _, ring := range p {
			for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
				xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
				// The page's expression, each operation rounded as JavaScript does (no fused multiply-add).
				if (yi > lat) != (yj > lat) && lon < float64(float64(float64(xj-xi)*float64(lat-yi))/float64(yj-yi))+xi {
					inside = !inside
				}
			}
		}
		return inside
	}
	out := map[string][2]int{}
	for _, f := range live {
		lat, alt := f.Latitude, float64(f.AltitudeFt)
		for _, s := range shapes {
			if (s.floor != nil && alt < *s.floor) || (s.ceiling != nil && alt >= *s.ceiling) {
				continue
			}
			hit := false
			for _, lon := range []float64{f.Longitude, f.Longitude - 360, f.Longitude + 360} {
				if lon < s.minLon || lon > s.maxLon || lat < s.minLat || lat > s.maxLat {
					continue
				}
				if slices.ContainsFunc(s.polygons, func(p [][][2]float64) bool { return inPolygon(p, lon, lat) }) {
					hit = true
					break
				}
			}
			if hit {
				c := out[s.name]
				c[0]++
				if f.Working != nil {
					c[1]++
				}
				out[s.name] = c
			}
		}
	}
	return out
}

// checkState compares the page's status attributes with the API's view of the same cycle.
func checkState(t *testing.T, state map[string]any, want apiView) {
	t.Helper()
	status, _ := state["status"].(map[string]any)
	str := func(k string) string { s, _ := status[k].(string); return s }
	num := func(k string) int { n, _ := strconv.Atoi(str(k)); return n }
	for _, k := range []string{"feedTime", "flightsAsOf", "occupancyFeedTime"} {
		got, err := time.Parse(time.RFC3339Nano, str(k))
		if err != nil || !got.Equal(want.feedTime) {
			t.Errorf("page %s = %q, want the API's last committed cycle %s", k, str(k), want.feedTime.Format(time.RFC3339Nano))
		}
	}
	checks := []struct {
		what      string
		got, want int
	}{
		{"sectors drawn", num("sectors"), len(want.sectors)},
		{"sectors in the occupancy state", num("occupancySectors"), len(want.sectors)},
		{"flights drawn", num("flights"), want.flights},
		{"flight counts summed over sectors", num("occupancyFlights"), want.sectorFlights},
		{"flights drawn as in contact with a controller", num("flightsWorking"), want.working},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("page: %s = %d, API: %d", c.what, c.got, c.want)
		}
	}
	// The test holds the feed still between cycles while the service polls it every 200 ms, so by the server's
	// rule (no new feed data for three poll intervals) ingestion is STALE here: the page must say so too.
	pageHealth := map[vatsectorv1.HealthState]string{vatsectorv1.HealthState_HEALTH_STATE_OK: "ok",
		vatsectorv1.HealthState_HEALTH_STATE_DEGRADED: "degraded", vatsectorv1.HealthState_HEALTH_STATE_STALE: "stale",
		vatsectorv1.HealthState_HEALTH_STATE_STANDBY: "standby"}
	if got, want := str("health"), pageHealth[want.health]; got != want {
		t.Errorf("page health %q, want %q as the API says", got, want)
	}
}

func TestMapPage(t *testing.T) {
	node := browserTools(t)
	vatspy := shareddata.VATSpyDir(t)
	began := time.Now()
	// Real sectors (1,100 VATSpy FIRs) and real-sized traffic: the page must hold up at the network's scale.
	feedSrc := newSteppedFeed(t, 2, 1500)
	feedSrv := httptest.NewServer(feedSrc)
	defer feedSrv.Close()

	args := append(serviceFlags(vatspy), "--http-listen", "127.0.0.1:0", "--feed", feedSrv.URL+"/vatsim-data.json",
		"--interval", "200ms", "--data-dir", t.TempDir())
	svc := startService(t, "service", args, nil)
	grpcAddr, httpAddr := svc.addr("serving gRPC"), svc.addr("serving HTTP")
	committed := func(i int) {
		t.Helper()
		want := feedSrc.times[i]
		if _, err := svc.waitFor(0, time.Minute, func(l logLine) bool {
			return l.Msg == "cycle committed" && l.UpdateTimestamp.Sub(want).Abs() < time.Millisecond
		}); err != nil {
			t.Fatal(err)
		}
	}
	committed(0)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := t.Context()

	first := readAPI(t, ctx, conn)
	page := startMapPage(t, node, "http://"+httpAddr+"/")
	before := page.do(map[string]any{"cmd": "state", "feedTime": first.feedTime.Format(time.RFC3339Nano)}, "state")
	checkState(t, before, first)

	// The next cycle: the page must follow it through its streams, with no reload.
	feedSrc.cur.Store(1)
	committed(1)
	second := readAPI(t, ctx, conn)
	if !second.feedTime.After(first.feedTime) {
		t.Fatalf("the API's cycle did not advance: %s then %s", first.feedTime, second.feedTime)
	}
	after := page.do(map[string]any{"cmd": "state", "feedTime": second.feedTime.Format(time.RFC3339Nano)}, "state")
	checkState(t, after, second)
	if before["mapDigest"] == after["mapDigest"] {
		t.Error("the map's pixels did not change with the next cycle (the flights moved)")
	}
	if second.working == 0 {
		t.Fatalf("none of the %d live flights works a controller: the service got no transceivers?", len(second.live))
	}

	// Coverage shading: the page computes, from the live flights and the outlines, the share of each sector's
	// occupants in contact with a controller; recomputed here by brute force from the same WatchFlights
	// message and GeoJSON, every sector with occupants must agree.
	coverage := checkCoverage(t, page, readGeometry(t, httpAddr), second, after["mapDigest"])

	// A click on a busy sector opens its panel: its name, its occupants as the API counts them, 24 hours of
	// traffic and the weekly staffing grid.
	panel := page.do(map[string]any{"cmd": "click", "sectors": second.busiestSectors}, "panel")
	name, _ := panel["sector"].(string)
	if !slices.Contains(second.busiestSectors, name) {
		t.Fatalf("the panel opened for %q, not one of the sectors clicked", name)
	}
	occ, err := vatsectorv1.NewSectorServiceClient(conn).GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	title, _ := panel["title"].(string)
	subtitle, _ := panel["subtitle"].(string)
	if !strings.Contains(title, occ.Sector.Id) || !strings.Contains(title, occ.Sector.Name) || !strings.Contains(subtitle, name) {
		t.Errorf("panel title %q / %q, want the sector's name %q, id %q and resource name %q", title, subtitle, occ.Sector.Name, occ.Sector.Id, name)
	}
	if got := int(panel["occupants"].(float64)); got != int(occ.Sector.FlightCount) {
		t.Errorf("panel shows %d flights inside %s, the API %d", got, name, occ.Sector.FlightCount)
	}
	if got := panel["trafficBuckets"].(float64); got < 24 {
		t.Errorf("traffic chart of %v hourly buckets, want the 24 hours (or 25, partial ones included)", got)
	}
	if got := panel["staffingCells"].(float64); got != 168 {
		t.Errorf("staffing grid of %v cells, want 7 × 24", got)
	}
	if errs, _ := panel["errors"].([]any); len(errs) > 0 {
		t.Errorf("the panel shows errors: %v", errs)
	}

	// One of the occupants: its flight summary.
	flight := page.do(map[string]any{"cmd": "clickOccupant"}, "flight")
	if flight["title"] != flight["clicked"] {
		t.Errorf("flight panel titled %v after clicking %v", flight["title"], flight["clicked"])
	}
	if errs, _ := flight["errors"].([]any); len(errs) > 0 {
		t.Errorf("the flight panel shows errors: %v", errs)
	}

	// A staffed sector: its controller's session radio figures, the flights working it now, and one of them.
	worked := checkControllers(t, ctx, conn, page, second)

	// The screenshot: coverage shading, with the flight panel of a flight in contact open.
	page.do(map[string]any{"cmd": "shading", "mode": "coverage"}, "shading")
	shot := filepath.Join(t.TempDir(), "map.png")
	page.do(map[string]any{"cmd": "screenshot", "path": shot}, "screenshot")
	if out := os.Getenv("VATSECTOR_SCREENSHOT"); out != "" {
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", out)
	}
	page.do(map[string]any{"cmd": "quit"}, "quit")
	t.Logf("page checked against the API over two cycles (%d sectors, %d then %d flights, %d of them in contact), "+
		"panel of %s, coverage of %d sectors, %s, in %v", len(second.sectors), first.flights, second.flights, second.working,
		name, coverage, worked, time.Since(began).Round(time.Millisecond))
}

// checkCoverage switches the page to coverage shading and back, checks the pixels change and come back, and
// compares the shares the page computed with bruteCoverage's. It returns the number of sectors compared.
func checkCoverage(t *testing.T, page *mapPage, shapes []sectorShape, want apiView, occupancyDigest any) int {
	t.Helper()
	on := page.do(map[string]any{"cmd": "shading", "mode": "coverage"}, "shading")
	if on["pressed"] != "true" {
		t.Errorf("Coverage button aria-pressed %v after pressing it", on["pressed"])
	}
	if on["mapDigest"] == occupancyDigest {
		t.Error("the map's pixels did not change when switching to coverage shading")
	}
	status, _ := on["status"].(map[string]any)
	if asOf, _ := status["coverageAsOf"].(string); asOf != want.feedTime.Format(time.RFC3339Nano) {
		t.Errorf("coverage computed from the flights as of %q, want the cycle %s", asOf, want.feedTime.Format(time.RFC3339Nano))
	}
	var computed struct {
		ComputeMs float64           `json:"computeMs"`
		Flights   int               `json:"flights"`
		Sectors   map[string][2]int `json:"sectors"`
	}
	var bench struct {
		Flights, Sectors int
		MedianMs, MaxMs  float64
	}
	remarshal(t, on["coverage"], &computed)
	remarshal(t, on["bench"], &bench)
	if computed.Flights != len(want.live) {
		t.Errorf("the page computed coverage from %d flights, WatchFlights has %d", computed.Flights, len(want.live))
	}
	began := time.Now()
	brute := bruteCoverage(shapes, want.live)
	bruteTook := time.Since(began)
	var mismatches []string
	for _, name := range slices.Sorted(maps.Keys(brute)) {
		if got, ok := computed.Sectors[name]; !ok || got != brute[name] {
			mismatches = append(mismatches, fmt.Sprintf("%s: page %v (present %v), recomputed %v", name, got, ok, brute[name]))
		}
	}
	for name, got := range computed.Sectors {
		if _, ok := brute[name]; !ok {
			mismatches = append(mismatches, fmt.Sprintf("%s: page %v, recomputed no occupants", name, got))
		}
	}
	if len(mismatches) > 0 {
		t.Errorf("coverage of %d sectors differs from the recomputation:\n%s", len(mismatches), strings.Join(mismatches[:min(20, len(mismatches))], "\n"))
	}
	partial := 0
	var sample []string
	for _, name := range slices.Sorted(maps.Keys(brute)) {
		c := brute[name]
		if c[1] > 0 && c[1] < c[0] {
			partial++
			if len(sample) < 5 {
				sample = append(sample, fmt.Sprintf("%s %d/%d", name, c[1], c[0]))
			}
		}
	}
	if partial == 0 {
		t.Error("no sector has some but not all of its occupants in contact: the comparison proves little")
	}
	t.Logf("coverage: %d sectors with occupants agree (%d partly covered, e.g. %s); computed in the page in %.2f ms "+
		"for %d flights, %.2f ms median (%.2f ms slowest) for %d flights × %d sectors; brute force here %v",
		len(brute), partial, strings.Join(sample, ", "), computed.ComputeMs, computed.Flights, bench.MedianMs, bench.MaxMs,
		bench.Flights, len(shapes), bruteTook.Round(time.Millisecond))
	if bench.Flights != 3000 || !(bench.MedianMs < 50) {
		t.Errorf("coverage of 3,000 flights took %.2f ms (median), want a few tens of ms at most", bench.MedianMs)
	}

	off := page.do(map[string]any{"cmd": "shading", "mode": "occupancy"}, "shading")
	if off["pressed"] != "false" {
		t.Errorf("Coverage button aria-pressed %v after pressing it again", off["pressed"])
	}
	// Not compared with occupancyDigest: Leaflet repaints the restyled sectors' regions, not the whole canvas,
	// and the antialiased edges of a partial repaint differ from the first full one by a few pixels.
	if off["mapDigest"] == on["mapDigest"] {
		t.Error("the map's pixels did not change when switching back to occupancy shading")
	}
	return len(brute)
}

// checkControllers opens the panel of a sector staffed by a controller flights are working, expands the
// controller, compares its radio figures with ListControllerSessions and the flights listed with the
// WatchFlights message, and opens one of those flights' panel: whom it talks to and its contacts, as
// WatchFlights and GetFlightSummary say. It leaves that flight's panel open and returns what it checked.
func checkControllers(t *testing.T, ctx context.Context, conn *grpc.ClientConn, page *mapPage, want apiView) string {
	t.Helper()
	workingBy := map[int64][]string{}
	liveByID := map[int64]*vatsectorv1.LiveFlight{}
	for _, f := range want.live {
		liveByID[f.Id] = f
		if f.Working != nil {
			workingBy[f.Working.Id] = append(workingBy[f.Working.Id], f.Callsign)
		}
	}
	controllers := vatsectorv1.NewControllerServiceClient(conn)
	var online []*vatsectorv1.Controller
	for token := ""; ; {
		res, err := controllers.ListControllers(ctx, &vatsectorv1.ListControllersRequest{
			Kinds: []vatsectorv1.ControllerKind{vatsectorv1.ControllerKind_CONTROLLER_KIND_CONTROLLER}, PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		online = append(online, res.Controllers...)
		if token = res.NextPageToken; token == "" {
			break
		}
	}
	// The sectors of the controllers most flights work, busiest first.
	slices.SortStableFunc(online, func(a, b *vatsectorv1.Controller) int { return len(workingBy[b.Id]) - len(workingBy[a.Id]) })
	var candidates []string
	for _, c := range online {
		if len(workingBy[c.Id]) == 0 {
			break
		}
		for _, s := range c.Sectors {
			if !slices.Contains(candidates, s) {
				candidates = append(candidates, s)
			}
		}
	}
	if len(candidates) == 0 {
		t.Fatalf("no controller staffing a sector is worked by a flight (%d controllers online, %d worked)", len(online), len(workingBy))
	}
	panel := page.do(map[string]any{"cmd": "click", "sectors": candidates}, "panel")
	var listed []struct{ ID, Callsign string }
	remarshal(t, panel["controllers"], &listed)
	res, err := controllers.ListControllers(ctx, &vatsectorv1.ListControllersRequest{
		SectorId: panel["sector"].(string), Kinds: []vatsectorv1.ControllerKind{vatsectorv1.ControllerKind_CONTROLLER_KIND_CONTROLLER}})
	if err != nil {
		t.Fatal(err)
	}
	var wantListed []string
	for _, c := range res.Controllers {
		wantListed = append(wantListed, c.Callsign)
	}
	var gotListed []string
	var pick int64
	for _, c := range listed {
		gotListed = append(gotListed, c.Callsign)
		id, _ := strconv.ParseInt(c.ID, 10, 64)
		if pick == 0 || len(workingBy[id]) > len(workingBy[pick]) {
			pick = id
		}
	}
	if !slices.Equal(gotListed, wantListed) {
		t.Errorf("the panel of %s lists the controllers %v, ListControllers %v", panel["sector"], gotListed, wantListed)
	}
	if len(workingBy[pick]) == 0 {
		t.Fatalf("the panel of %s lists no controller a flight works: %v", panel["sector"], listed)
	}

	// Its session, as the page should pick it: by callsign, then the connection's id.
	var session *vatsectorv1.ControllerSession
	var callsign string
	for _, c := range online {
		if c.Id == pick {
			callsign = c.Callsign
		}
	}
	sessions, err := controllers.ListControllerSessions(ctx, &vatsectorv1.ListControllerSessionsRequest{CallsignPrefix: callsign, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions.Sessions {
		if s.GetController().GetId() == pick {
			session = s
		}
	}
	if session == nil || session.Radio == nil {
		t.Fatalf("ListControllerSessions has no session with radio figures for %s (id %d): %v", callsign, pick, session)
	}
	ctrl := page.do(map[string]any{"cmd": "expandController", "id": strconv.FormatInt(pick, 10)}, "controller")
	radio, _ := ctrl["radio"].(map[string]any)
	r := session.Radio
	gotMean, _ := strconv.ParseFloat(fmt.Sprint(radio["meanSimultaneous"]), 64)
	if radio["distinctAircraft"] != strconv.Itoa(int(r.DistinctAircraft)) || radio["peakSimultaneous"] != strconv.Itoa(int(r.PeakSimultaneous)) ||
		gotMean != r.MeanSimultaneous {
		t.Errorf("controller %s: the page shows radio figures %v (%q), the API aircraft %d, peak %d, mean %v", callsign, radio,
			ctrl["figures"], r.DistinctAircraft, r.PeakSimultaneous, r.MeanSimultaneous)
	}
	var gotWorking []string
	remarshal(t, ctrl["working"], &gotWorking)
	wantWorking := slices.Sorted(slices.Values(workingBy[pick]))
	if !slices.Equal(slices.Sorted(slices.Values(gotWorking)), wantWorking) {
		t.Errorf("controller %s: the page lists %v working it now, WatchFlights %v", callsign, gotWorking, wantWorking)
	}
	if errs, _ := ctrl["errors"].([]any); len(errs) > 0 {
		t.Errorf("the sector panel shows errors: %v", errs)
	}

	// The flight working it that has the most contacts (the screenshot shows its panel).
	var workingIDs []string
	remarshal(t, ctrl["workingIds"], &workingIDs)
	summaries := vatsectorv1.NewFlightServiceClient(conn)
	var best *vatsectorv1.GetFlightSummaryResponse
	for _, s := range workingIDs {
		id, _ := strconv.ParseInt(s, 10, 64)
		res, err := summaries.GetFlightSummary(ctx, &vatsectorv1.GetFlightSummaryRequest{Selector: &vatsectorv1.GetFlightSummaryRequest_Id{Id: id}, MaxVisits: 30})
		if err != nil {
			t.Fatal(err)
		}
		if best == nil || len(res.Summary.GetCoverage().GetContacts()) > len(best.Summary.GetCoverage().GetContacts()) {
			best = res
		}
	}
	if best == nil {
		t.Fatal("no flight working the controller to open")
	}
	flight := page.do(map[string]any{"cmd": "clickWorking", "flight": strconv.FormatInt(best.Flight.Id, 10)}, "flight")
	if flight["title"] != best.Flight.Callsign || flight["flightId"] != strconv.FormatInt(best.Flight.Id, 10) {
		t.Errorf("flight panel %v titled %v, want %d %s", flight["flightId"], flight["title"], best.Flight.Id, best.Flight.Callsign)
	}
	live := liveByID[best.Flight.Id]
	if flight["talkingTo"] != live.GetWorking().GetCallsign() || flight["talkingTo"] != callsign {
		t.Errorf("flight %s: the panel says it talks to %v, WatchFlights %q (the controller expanded: %s)",
			best.Flight.Callsign, flight["talkingTo"], live.GetWorking().GetCallsign(), callsign)
	}
	cov := best.Summary.GetCoverage()
	var got struct {
		Known                    string `json:"known"`
		OnFrequencyShare         string `json:"onFrequencyShare"`
		AirborneOnFrequencyShare string `json:"airborneOnFrequencyShare"`
	}
	remarshal(t, flight["coverage"], &got)
	share, _ := strconv.ParseFloat(got.OnFrequencyShare, 64)
	airShare, _ := strconv.ParseFloat(got.AirborneOnFrequencyShare, 64)
	if cov == nil || got.Known != "true" || share != cov.OnFrequencyShare || airShare != cov.AirborneOnFrequencyShare {
		t.Errorf("flight %s: the panel shows coverage %+v, GetFlightSummary %v", best.Flight.Callsign, got, cov)
	}
	var contacts []struct{ Callsign, ID, Text string }
	remarshal(t, flight["contacts"], &contacts)
	var gotContacts, wantContacts []string
	for _, c := range contacts {
		gotContacts = append(gotContacts, c.Callsign+"#"+c.ID)
	}
	for _, c := range cov.GetContacts() {
		wantContacts = append(wantContacts, fmt.Sprintf("%s#%d", c.GetController().GetCallsign(), c.GetController().GetId()))
	}
	if !slices.Equal(gotContacts, wantContacts) || len(wantContacts) == 0 {
		t.Errorf("flight %s: the panel lists the contacts %v, GetFlightSummary %v", best.Flight.Callsign, gotContacts, wantContacts)
	}
	if errs, _ := flight["errors"].([]any); len(errs) > 0 {
		t.Errorf("the flight panel shows errors: %v", errs)
	}
	return fmt.Sprintf("controller %s (%d aircraft worked, peak %d, mean %.2f; %d working it now), flight %s talking to it (%d contacts)",
		callsign, r.DistinctAircraft, r.PeakSimultaneous, r.MeanSimultaneous, len(wantWorking), best.Flight.Callsign, len(wantContacts))
}

// remarshal decodes a map.mjs answer's field into v.
func remarshal(t *testing.T, from any, v any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}
