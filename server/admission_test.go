package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/repository"
)

// wantRetryHint fails unless err is RESOURCE_EXHAUSTED with a google.rpc.RetryInfo of a positive delay, which
// its message states too.
func wantRetryHint(t *testing.T, err error, fragments ...string) time.Duration {
	t.Helper()
	wantStatus(t, err, codes.ResourceExhausted, append(fragments, "retry in")...)
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("%v has no RetryInfo with a delay (details %v)", err, st.Details())
	return 0
}

// asStatus maps a domain error as the server does, for tests of the admission alone.
func asStatus(err error) error { return errorMapper{}.status(context.Background(), err) }

func TestAdmissionBoundsStreamsPerClientAndInAll(t *testing.T) {
	cases := []struct {
		name                   string
		maxStreams, maxPerHost int
		opens                  []string // clients, in order
		refused                int      // index of the first open refused
		msg                    string
	}{
		{"per client", 10, 2, []string{"10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1"}, 3, "10.0.0.1 has 2 streams open"},
		{"in all", 3, 10, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}, 3, "too many streams are open (3)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdmission(Config{MaxOpenStreams: tc.maxStreams, MaxStreamsPerClient: tc.maxPerHost,
				ClientRequestRate: 1, ClientRequestBurst: 1, Now: time.Now})
			var releases []func()
			for i, client := range tc.opens {
				release, err := a.openStream(client, "/m")
				if i < tc.refused {
					if err != nil {
						t.Fatalf("open %d (%s): %v", i, client, err)
					}
					releases = append(releases, release)
					continue
				}
				wantRetryHint(t, asStatus(err), tc.msg)
			}
			// A stream that ends frees its place, once however often release is called.
			releases[0]()
			releases[0]()
			if n, _ := a.openStreams(); n != tc.refused-1 {
				t.Errorf("%d streams open after one ended, want %d", n, tc.refused-1)
			}
			if _, err := a.openStream(tc.opens[0], "/m"); err != nil {
				t.Errorf("after a stream ended: %v", err)
			}
		})
	}
}

func TestAdmissionRateLimitsEachClient(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAdmission(Config{MaxOpenStreams: 1, MaxStreamsPerClient: 1, ClientRequestRate: 2, ClientRequestBurst: 3,
		Now: func() time.Time { return now }})
	steps := []struct {
		advance time.Duration
		client  string
		ok      bool
		delay   time.Duration // of a refusal
	}{
		{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, // the burst
		{0, "a", false, 500 * time.Millisecond}, // one token every 500 ms
		{0, "b", true, 0},                       // another client has its own bucket
		{250 * time.Millisecond, "a", false, 250 * time.Millisecond},
		{250 * time.Millisecond, "a", true, 0},
		{0, "a", false, 500 * time.Millisecond},
		{2 * time.Minute, "a", true, 0}, // quiet clients are forgotten: a full bucket again
		{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		err := a.allowRequest(s.client)
		if s.ok {
			if err != nil {
				t.Fatalf("step %d (%s): %v", i, s.client, err)
			}
			continue
		}
		if d := wantRetryHint(t, asStatus(err), "too many requests from "+s.client); d != s.delay {
			t.Errorf("step %d: retry in %v, want %v", i, d, s.delay)
		}
	}
	if n := len(a.buckets); n != 1 {
		t.Errorf("%d buckets kept, want only the active client's", n)
	}
}

// Over the wire: a client over its rate gets RESOURCE_EXHAUSTED with the hint, for unary calls and streams.
func TestClientOverItsRateIsRefusedWithARetryHint(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{config: func(c *Config) {
		c.ClientRequestRate, c.ClientRequestBurst = 0.001, 1
	}})
	ctx := context.Background()
	if _, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.flightClient.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{})
	wantRetryHint(t, err, "too many requests from 127.0.0.1")
	s, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{})
	if err == nil {
		_, err = s.Recv()
	}
	wantRetryHint(t, err, "too many requests")
}

// A stream counts against the cap until its handler returns: one that lagged and is blocked sending to a client
// that stopped reading has left the hub, and a health Watch never joins it, yet both hold their place.
func TestEveryOpenStreamCountsAgainstTheCap(t *testing.T) {
	store := openFixtureStore(t)
	e := startEnv(t, store, transports()[1], envOptions{
		hub:    hub.Config{Buffer: 1, MaxSubscribers: 100},
		config: func(c *Config) { c.MaxOpenStreams = 1 },
		// The client's windows stay at 64 KB (no BDP growth), so a stream it does not read blocks the server's Send.
		dialOpts: []grpc.DialOption{grpc.WithInitialWindowSize(1 << 16), grpc.WithInitialConnWindowSize(1 << 16)},
	})
	second := func(t *testing.T) error {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := vatsectorv1.NewSectorServiceClient(e.dial(t)).WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{})
		if err != nil {
			return err
		}
		_, err = s.Recv() // a heartbeat, or the refusal
		return err
	}
	waitOpen := func(t *testing.T, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			got, changed := e.srv.admit.openStreams()
			if got == n {
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatalf("%d streams open, want %d", got, n)
			}
		}
	}
	t.Run("lagging stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{}); err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 1)
		// Three cycles of 3,000 events (about 300 KB each) that the client never reads: the stream blocks in
		// Send on the first, and the hub drops it when the third finds its buffer of one full.
		for i := range int64(3) {
			commit(t, store, e.hub, eventsCycle(4+i, 10+3000*i, 3000))
		}
		if e.hub.Lagged() != 1 {
			t.Fatalf("lagged %d, want the stream dropped from the hub", e.hub.Lagged())
		}
		wantRetryHint(t, second(t), "too many streams are open (1)")
		cancel()
		waitOpen(t, 0)
		if err := second(t); err != nil {
			t.Errorf("once the lagging stream ended: %v", err)
		}
		waitOpen(t, 0)
	})
	t.Run("health watch", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		w, err := healthpb.NewHealthClient(e.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
		wantRetryHint(t, second(t), "too many streams are open (1)")
		cancel()
		waitOpen(t, 0)
		if err := second(t); err != nil {
			t.Errorf("once the watch ended: %v", err)
		}
	})
}

// blockingReplayStore holds every catch-up read until the test lets it go.
type blockingReplayStore struct {
	*repository.Store
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (s *blockingReplayStore) ReplayEvents(ctx context.Context, f repository.EventFilter, after, through int64, limit int) (
	[]domain.Event, int64, error,
) {
	s.calls.Add(1)
	s.entered <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	return s.Store.ReplayEvents(ctx, f, after, through, limit)
}

// With one catch-up read at a time, a second resuming stream waits (as an open stream) until the first one's
// read is done, and unary calls are answered meanwhile.
func TestCatchUpReadsAreBounded(t *testing.T) {
	blocking := &blockingReplayStore{entered: make(chan struct{}), release: make(chan struct{})}
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{
		storage: func(s *repository.Store) Storage { blocking.Store = s; return blocking },
		config:  func(c *Config) { c.MaxConcurrentCatchUpReads = 1 },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	got := make(chan []int64, 2)
	resume := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0)})
			if err != nil {
				t.Error(err)
				got <- nil
				return
			}
			var seqs []int64
			for len(seqs) < fixtureLastSeq {
				m, err := s.Recv()
				if err != nil {
					if !errors.Is(ctx.Err(), context.Canceled) {
						t.Error(err)
					}
					break
				}
				if ev := m.GetEvent(); ev != nil {
					seqs = append(seqs, ev.GetSequence())
				}
			}
			got <- seqs
		}()
	}
	resume()
	<-blocking.entered // the first stream's read holds the only slot
	resume()
	waitCatchUpWaiters(t, e.srv, 1)
	if n := blocking.calls.Load(); n != 1 {
		t.Fatalf("%d catch-up reads started, want only the first stream's", n)
	}
	if _, err := e.flightClient.ListFlights(context.Background(), &vatsectorv1.ListFlightsRequest{}); err != nil {
		t.Fatalf("a unary call while catch-up reads queue: %v", err)
	}
	blocking.release <- struct{}{} // the first read goes on; then the second stream's starts
	<-blocking.entered
	blocking.release <- struct{}{}
	for range 2 {
		if seqs := <-got; len(seqs) != fixtureLastSeq {
			t.Errorf("a stream replayed %v, want 1..%d", seqs, fixtureLastSeq)
		}
	}
}

func waitCatchUpWaiters(t *testing.T, s *Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, changed := s.catchUp.waiters()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d streams wait for a catch-up read, want %d", got, n)
		}
	}
}

// The open streams are exposed by method, and the catch-up gate's figures are registered.
func TestOpenStreamsAreExposedByMethod(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := healthpb.NewHealthClient(e.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]float64{}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetName() != "vatsector_api_open_streams" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					open[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	if open["/grpc.health.v1.Health/Watch"] != 1 {
		t.Errorf("open streams %v, want one health Watch", open)
	}
	for _, n := range []string{"vatsector_api_catchup_waiting", "vatsector_api_catchup_reading"} {
		if !names[n] {
			t.Errorf("%s is not registered", n)
		}
	}
}
