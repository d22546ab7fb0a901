package main

// The map page in a real browser: the service binary serves it (and the API it calls) on its HTTP port, fed a
// simulated feed the test advances itself, and web/e2e/map.mjs drives Debian's headless Chromium through it.
// What the page shows is checked against the API as of the same cycle.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
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
// state holds still while the test compares the page with the API.
type steppedFeed struct {
	snaps [][]byte
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
		f.times = append(f.times, snap.General.UpdateTimestamp)
	}
	return f
}

func (f *steppedFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
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
	return v
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
	addrOf := func(prefix string) string {
		t.Helper()
		i, err := svc.waitFor(0, time.Minute, func(l logLine) bool { return strings.HasPrefix(l.Msg, prefix) })
		if err != nil {
			t.Fatal(err)
		}
		var fields struct{ Addr string }
		if err := json.Unmarshal([]byte(svc.line(i).raw), &fields); err != nil || fields.Addr == "" {
			t.Fatalf("no addr in %q", svc.line(i).raw)
		}
		return fields.Addr
	}
	grpcAddr, httpAddr := addrOf("serving gRPC"), addrOf("serving HTTP")
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

	// One of the occupants: its flight summary.
	flight := page.do(map[string]any{"cmd": "clickOccupant"}, "flight")
	if flight["title"] != flight["clicked"] {
		t.Errorf("flight panel titled %v after clicking %v", flight["title"], flight["clicked"])
	}
	if errs, _ := flight["errors"].([]any); len(errs) > 0 {
		t.Errorf("the flight panel shows errors: %v", errs)
	}
	page.do(map[string]any{"cmd": "quit"}, "quit")
	t.Logf("page checked against the API over two cycles (%d sectors, %d then %d flights), panel of %s, in %v",
		len(second.sectors), first.flights, second.flights, name, time.Since(began).Round(time.Millisecond))
}
