package server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// transport is how a test reaches the server: in memory (bufconn) or over a real TCP socket.
type transport struct {
	name   string
	listen func(t *testing.T) (net.Listener, string, rawDialer)
}

// rawDialer opens a connection to the server's listener, as gRPC's context dialer does.
type rawDialer func(ctx context.Context, addr string) (net.Conn, error)

func transports() []transport {
	return []transport{
		{"bufconn", func(t *testing.T) (net.Listener, string, rawDialer) {
			lis := bufconn.Listen(1 << 20)
			return lis, "passthrough:///bufnet", func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
		}},
		{"tcp", func(t *testing.T) (net.Listener, string, rawDialer) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var d net.Dialer
			return lis, lis.Addr().String(), func(ctx context.Context, addr string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			}
		}},
	}
}

// env is a running server with its clients.
type env struct {
	store  *repository.Store
	hub    *hub.Hub
	srv    *Server
	status *fakeStatus
	logs   *logBuffer
	conn   *grpc.ClientConn
	// target and dialOpts reach the server, for tests that need a connection of their own.
	target   string
	dialOpts []grpc.DialOption
	// dialRaw opens a bare connection to the server, for tests that wrap it.
	dialRaw rawDialer

	ingestClient     vatsectorv1.IngestServiceClient
	flightClient     vatsectorv1.FlightServiceClient
	sectorClient     vatsectorv1.SectorServiceClient
	controllerClient vatsectorv1.ControllerServiceClient

	serveDone chan error
	shutdown  sync.Once
}

// envOptions adjust a server for a test; the zero value is the defaults with a short heartbeat.
type envOptions struct {
	hub        hub.Config
	hubInst    *hub.Hub                        // used instead of a new hub built from hub
	storage    func(*repository.Store) Storage // wraps the store, e.g. to inject failures
	sectors    SectorsProvider                 // default: testAirspace
	status     StatusSource                    // default: a fakeStatus
	notReady   bool                            // do not call Ready
	heartbeat  time.Duration
	now        func() time.Time
	interval   time.Duration
	registerer prometheus.Registerer
	dialOpts   []grpc.DialOption
	keepalive  time.Duration // the server's keepalive time and timeout; default: the server's defaults
	config     func(*Config) // adjusts the server's configuration last, e.g. its limits
}

// eachEnv runs fn on a fresh server over each transport, each with a fresh database of each dialect holding
// the fixture.
func eachEnv(t *testing.T, opts envOptions, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			for _, tr := range transports() {
				t.Run(tr.name, func(t *testing.T) {
					store := dbtest.Open(t, d, repository.Pool{})
					writeFixture(t, store)
					fn(t, startEnv(t, store, tr, opts))
				})
			}
		})
	}
}

// openFixtureStore is a fresh SQLite store holding the fixture, for tests about the server itself.
func openFixtureStore(t *testing.T) *repository.Store {
	t.Helper()
	store := dbtest.Open(t, migrations.SQLite, repository.Pool{})
	writeFixture(t, store)
	return store
}

// startEnv starts a server on store; it is shut down when the test ends, before dbtest checks the pool.
func startEnv(t *testing.T, store *repository.Store, tr transport, opts envOptions) *env {
	t.Helper()
	e := &env{store: store, hub: opts.hubInst, logs: &logBuffer{}, serveDone: make(chan error, 1)}
	if e.hub == nil {
		e.hub = hub.New(opts.hub)
	}
	var storage Storage = store
	if opts.storage != nil {
		storage = opts.storage(store)
	}
	status := opts.status
	if status == nil {
		e.status = &fakeStatus{}
		status = e.status
	}
	sectors := opts.sectors
	if sectors == nil {
		sectors = testAirspace(t)
	}
	if opts.heartbeat == 0 {
		opts.heartbeat = 50 * time.Millisecond
	}
	cfg := Config{
		Store: storage, Status: status, Sectors: sectors, Hub: e.hub, PollInterval: opts.interval,
		Logger:            slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HeartbeatInterval: opts.heartbeat, Now: opts.now, Registerer: opts.registerer,
		KeepaliveTime: opts.keepalive, KeepaliveTimeout: opts.keepalive,
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if !opts.notReady {
		if err := srv.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lis, target, dialRaw := tr.listen(t)
	go func() { e.serveDone <- srv.Serve(lis) }()
	e.target, e.dialRaw = target, dialRaw
	e.dialOpts = []grpc.DialOption{grpc.WithContextDialer(dialRaw), grpc.WithTransportCredentials(insecure.NewCredentials())}
	conn, err := grpc.NewClient(target, append(e.dialOpts, opts.dialOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.conn = conn
	e.ingestClient = vatsectorv1.NewIngestServiceClient(conn)
	e.flightClient = vatsectorv1.NewFlightServiceClient(conn)
	e.sectorClient = vatsectorv1.NewSectorServiceClient(conn)
	e.controllerClient = vatsectorv1.NewControllerServiceClient(conn)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// dial opens another connection to the server, closed when the test ends.
func (e *env) dial(t *testing.T, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(e.target, append(slices.Clone(e.dialOpts), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// stop shuts the server down and waits for Serve to return.
func (e *env) stop(t *testing.T) {
	e.shutdown.Do(func() {
		if err := e.conn.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-e.serveDone; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}

// testAirspace loads three custom sectors: EGTT (London, staffed by EGTT_*), EGTT_S (below FL245) and LFFF.
// testSet is the set of testAirspace's sectors: the file's base name.
const testSet = "test"

func testRef(id string) domain.SectorRef { return domain.SectorRef{Set: testSet, ID: id} }

func testRefs(ids ...string) []domain.SectorRef {
	if len(ids) == 0 {
		return nil
	}
	out := make([]domain.SectorRef, len(ids))
	for i, id := range ids {
		out[i] = testRef(id)
	}
	return out
}

func testAirspace(t testing.TB) *ingest.AirspaceSectors {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.geojson")
	const geojson = `{"type": "FeatureCollection", "features": [
	  {"type": "Feature", "id": "EGTT", "properties": {"name": "London", "kind": "fir", "callsign_prefixes": ["EGTT"],
	    "region": "EMEA", "division": "VATUK"},
	   "geometry": {"type": "Polygon", "coordinates": [[[-2, 50], [2, 50], [2, 54], [-2, 54], [-2, 50]]]}},
	  {"type": "Feature", "id": "EGTT_S", "properties": {"name": "London South", "kind": "sector", "ceiling_ft": 24500},
	   "geometry": {"type": "Polygon", "coordinates": [[[-2, 50], [2, 50], [2, 52], [-2, 52], [-2, 50]]]}},
	  {"type": "Feature", "id": "LFFF", "properties": {"name": "Paris", "kind": "fir", "oceanic": false},
	   "geometry": {"type": "Polygon", "coordinates": [[[1, 47], [4, 47], [4, 50], [1, 50], [1, 47]]]}}
	]}`
	if err := os.WriteFile(path, []byte(geojson), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := airspace.LoadGeoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.NewAirspaceSectors(a)
}

// fakeStatus is an ingestion status the test sets.
type fakeStatus struct {
	mu sync.Mutex
	st ingest.Status
}

func (f *fakeStatus) Status() ingest.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeStatus) set(st ingest.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
}

// logBuffer collects the server's log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// wantStatus fails unless err is a status with the code whose message contains every fragment.
func wantStatus(t *testing.T, err error, code codes.Code, fragments ...string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("error %v, want %v", err, code)
	}
	for _, f := range fragments {
		if !strings.Contains(st.Message(), f) {
			t.Errorf("message %q lacks %q", st.Message(), f)
		}
	}
}

// waitSubscribers blocks until the hub has n subscribers, waiting on the hub's change notifications.
func waitSubscribers(t *testing.T, h *hub.Hub, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, changed := h.SubscribersChanged()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("hub has %d subscribers, want %d", got, n)
		}
	}
}

// committedCycle is cycle id as ingest publishes it, with the events first..last (none when last < first).
func committedCycle(id, first, last int64) *domain.Committed {
	c := &domain.Committed{Cycle: domain.Cycle{ID: id}}
	if last >= first {
		c.Cycle.FirstSequence, c.Cycle.LastSequence = ptr(first), ptr(last)
		for s := first; s <= last; s++ {
			c.Events = append(c.Events, domain.Event{Sequence: s, CycleID: id})
		}
	}
	return c
}

// commit writes a cycle and publishes it as ingest does.
func commit(t *testing.T, store *repository.Store, h *hub.Hub, w *domain.CycleWrite) *domain.Committed {
	t.Helper()
	if _, err := store.WriteCycle(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	c := &domain.Committed{Cycle: w.Cycle, Events: w.Events}
	h.Publish(c)
	return c
}

// recvEvents reads a sector event stream until it has n events, skipping heartbeats.
func recvEvents(t *testing.T, s vatsectorv1.SectorService_WatchSectorEventsClient, n int) []*vatsectorv1.SectorEvent {
	t.Helper()
	var out []*vatsectorv1.SectorEvent
	for len(out) < n {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if ev := m.GetEvent(); ev != nil {
			out = append(out, ev)
		}
	}
	return out
}

func sequences(events []*vatsectorv1.SectorEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.GetSequence()
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// failingStore injects failures into chosen reads.
type failingStore struct {
	*repository.Store
	listFlights     error
	listControllers func() // runs instead of the query: may panic
}

func (f failingStore) ListFlights(ctx context.Context, flt repository.FlightFilter, after *repository.Key, limit int) (
	[]domain.FlightSummary, error,
) {
	if f.listFlights != nil {
		return nil, f.listFlights
	}
	return f.Store.ListFlights(ctx, flt, after, limit)
}

func (f failingStore) ListOnlineControllers(ctx context.Context, flt repository.ControllerFilter, after *repository.Key, limit int) (
	[]domain.Controller, error,
) {
	if f.listControllers != nil {
		f.listControllers()
	}
	return f.Store.ListOnlineControllers(ctx, flt, after, limit)
}
