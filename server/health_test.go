package server

import (
	"context"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/ingest"
)

// testClock is the server's clock in a test: it moves only when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The health of vatsector.v1.IngestService is NOT_SERVING while this instance ingests but committed nothing for
// longer than the STALE limit (3 poll intervals, 45 s here), SERVING otherwise; the overall health stays
// SERVING. It is updated by the server's ticker (whose step is refresh) and on each published cycle.
func TestIngestServiceHealthFollowsIngestion(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{now: start}
	status := &fakeStatus{}
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{status: status, now: clock.Now, interval: 15 * time.Second})
	committed := func(at, feed time.Time) *domain.Cycle {
		return &domain.Cycle{ID: 10, UpdateTimestamp: feed, FetchedAt: at, CommittedAt: &at}
	}
	steps := []struct {
		name    string
		status  ingest.Status
		now     time.Duration // since start
		publish bool          // a cycle is published (else the ticker's refresh runs)
		want    healthpb.HealthCheckResponse_ServingStatus
	}{
		{name: "not started yet", now: time.Hour, want: healthpb.HealthCheckResponse_SERVING},
		{name: "started, within the limit", status: ingest.Status{Started: start}, now: 44 * time.Second,
			want: healthpb.HealthCheckResponse_SERVING},
		{name: "started, nothing committed past the limit", status: ingest.Status{Started: start}, now: 46 * time.Second,
			want: healthpb.HealthCheckResponse_NOT_SERVING},
		{name: "a cycle commits", status: ingest.Status{Started: start, LastCommitted: committed(start.Add(50*time.Second), start.Add(50*time.Second))},
			now: 50 * time.Second, publish: true, want: healthpb.HealthCheckResponse_SERVING},
		{name: "wedged after it", status: ingest.Status{Started: start, LastCommitted: committed(start.Add(50*time.Second), start.Add(50*time.Second))},
			now: 96 * time.Second, want: healthpb.HealthCheckResponse_NOT_SERVING},
		{name: "standby", status: ingest.Status{Started: start, StandbyFor: &domain.WriterClaim{Holder: "other", RenewedAt: start}},
			now: time.Hour, want: healthpb.HealthCheckResponse_SERVING},
		{name: "the feed stopped updating, ingest commits", status: ingest.Status{Started: start,
			LastCommitted: committed(start.Add(time.Hour), start.Add(-24*time.Hour))},
			now: time.Hour + time.Second, want: healthpb.HealthCheckResponse_SERVING},
	}
	client := healthpb.NewHealthClient(e.conn)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	for i, s := range steps {
		status.set(s.status)
		clock.set(start.Add(s.now))
		if s.publish {
			e.hub.Publish(committedCycle(int64(10+i), 1, 0)) // no events
		} else {
			e.srv.ingest.refresh()
		}
		if got := check("vatsector.v1.IngestService"); got != s.want {
			t.Errorf("%s: IngestService is %v, want %v", s.name, got, s.want)
		}
		if got := check(""); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s: the overall health is %v, want SERVING", s.name, got)
		}
	}
	// Drained, it stays NOT_SERVING whatever ingestion does.
	e.srv.Drain()
	status.set(ingest.Status{})
	e.srv.ingest.refresh()
	if got := check("vatsector.v1.IngestService"); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("after Drain: IngestService is %v, want NOT_SERVING", got)
	}
}
