package server

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// These tests run the real ingest loop over the shared recorded snapshots, classified with the VATSpy sectors,
// and watch its events through the server.

// replayRig is ingest replaying the shared snapshots one at a time, when the test says so.
type replayRig struct {
	runner    *ingest.Runner
	step      chan struct{}
	committed chan domain.Cycle
	done      chan error
	snapshots int
}

// gatedSource fetches the next snapshot only when the test releases it.
type gatedSource struct {
	feed.Source
	step <-chan struct{}
}

func (g gatedSource) Fetch(ctx context.Context) ([]byte, error) {
	select {
	case <-g.step:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Source.Fetch(ctx)
}

// notifyingPublisher publishes to the hub, then tells the test; its channel is large enough never to block.
type notifyingPublisher struct {
	hub       *hub.Hub
	committed chan<- domain.Cycle
}

func (p notifyingPublisher) Publish(c *domain.Committed) {
	p.hub.Publish(c)
	p.committed <- c.Cycle
}

// replayDir is a folder of symbolic links to the shared snapshots: the replay source reads a folder, and the
// data is never copied.
func replayDir(t *testing.T, files []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.Symlink(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func vatspySectors(t *testing.T) *ingest.AirspaceSectors {
	t.Helper()
	set, err := airspace.LoadVATSpy(shareddata.VATSpyDir(t))
	if err != nil {
		t.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.NewAirspaceSectors(a)
}

// eachReplayEnv runs fn over SQLite with bufconn and PostgreSQL with TCP, with a server (Ready on an empty database) and an
// ingest loop, stopped first when the test ends, as main stops it.
func eachReplayEnv(t *testing.T, hubCfg hub.Config, fn func(t *testing.T, e *env, rig *replayRig)) {
	files := shareddata.Feeds(t)
	sectors := vatspySectors(t)
	// Ingest dominates these tests' time, so each dialect runs over one transport, the two covering both.
	trs := transports()
	for i, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			for _, tr := range trs[i : i+1] {
				t.Run(tr.name, func(t *testing.T) {
					store := dbtest.Open(t, d, repository.Pool{})
					src, err := feed.ReplaySource(replayDir(t, files), feed.ReplayOptions{})
					if err != nil {
						t.Fatal(err)
					}
					h := hub.New(hubCfg)
					rig := &replayRig{step: make(chan struct{}), committed: make(chan domain.Cycle, len(files)),
						done: make(chan error, 1), snapshots: len(files)}
					rig.runner, err = ingest.NewRunner(ingest.Config{
						Source: gatedSource{Source: src, step: rig.step}, Store: store, Sectors: sectors.Current,
						Publisher: notifyingPublisher{hub: h, committed: rig.committed},
					})
					if err != nil {
						t.Fatal(err)
					}
					e := startEnv(t, store, tr, envOptions{hubInst: h, status: rig.runner, sectors: sectors})
					ctx, stop := context.WithCancel(context.Background())
					go func() { rig.done <- rig.runner.Run(ctx) }()
					t.Cleanup(func() {
						stop()
						if err := <-rig.done; err != nil {
							t.Errorf("ingest: %v", err)
						}
					})
					fn(t, e, rig)
				})
			}
		})
	}
}

// next releases one snapshot and waits until its cycle is committed and published.
func (r *replayRig) next(t *testing.T) domain.Cycle {
	t.Helper()
	select {
	case r.step <- struct{}{}:
	case err := <-r.done:
		t.Fatalf("ingest stopped: %v", err)
	}
	select {
	case c := <-r.committed:
		if c.LastSequence == nil {
			t.Fatalf("cycle %d recorded no event: the shared data is not what these tests expect", c.ID)
		}
		return c
	case err := <-r.done:
		t.Fatalf("ingest stopped: %v", err)
	}
	return domain.Cycle{}
}

// rest releases the remaining snapshots at once and waits until ingest has committed them and stopped on the
// end of the replay; it returns the cycles committed meanwhile.
func (r *replayRig) rest(t *testing.T) []domain.Cycle {
	t.Helper()
	close(r.step)
	if err := <-r.done; err != nil {
		t.Fatalf("ingest: %v", err)
	}
	r.done <- nil // for the cleanup
	var out []domain.Cycle
	for {
		select {
		case c := <-r.committed:
			out = append(out, c)
		default:
			return out
		}
	}
}

// recvThrough reads a stream until the event with sequence last, skipping heartbeats; a batching stream is
// read whole messages at a time, as its client processes them.
func recvThrough(t *testing.T, s vatsectorv1.SectorService_WatchSectorEventsClient, last int64) []*vatsectorv1.SectorEvent {
	t.Helper()
	var out []*vatsectorv1.SectorEvent
	for len(out) == 0 || out[len(out)-1].GetSequence() < last {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, messageEvents(m)...)
	}
	return out
}

// messageEvents is the events a stream message carries, one or a batch.
func messageEvents(m *vatsectorv1.WatchSectorEventsResponse) []*vatsectorv1.SectorEvent {
	if ev := m.GetEvent(); ev != nil {
		return []*vatsectorv1.SectorEvent{ev}
	}
	return m.GetEvents().GetEvents()
}

// eachStreamMode runs fn for each way a client can receive events: one per message, and in batches.
func eachStreamMode(t *testing.T, fn func(t *testing.T, batch bool)) {
	for _, batch := range []bool{false, true} {
		name := "one event per message"
		if batch {
			name = "batches"
		}
		t.Run(name, func(t *testing.T) { fn(t, batch) })
	}
}

// storedEvents lists every stored event through the API.
func storedEvents(t *testing.T, e *env) []*vatsectorv1.SectorEvent {
	t.Helper()
	var out []*vatsectorv1.SectorEvent
	token := ""
	for {
		resp, err := e.sectorClient.ListSectorEvents(context.Background(),
			&vatsectorv1.ListSectorEventsRequest{PageSize: maxPageSize, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.GetEvents()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// checkExactlyOnce fails unless got is every stored event, once each, in order, as stored.
func checkExactlyOnce(t *testing.T, e *env, got []*vatsectorv1.SectorEvent) {
	t.Helper()
	stored := storedEvents(t, e)
	if seqs, want := sequences(got), sequences(stored); !slices.Equal(seqs, want) {
		t.Fatalf("received %d events, %d stored; sequences differ (received %v…, stored %v…)", len(seqs), len(want),
			seqs[:min(len(seqs), 10)], want[:min(len(want), 10)])
	}
	for i := range stored {
		if !proto.Equal(got[i], stored[i]) {
			t.Fatalf("event %d received as\n%s\nstored as\n%s", stored[i].GetSequence(), prototext.Format(got[i]), prototext.Format(stored[i]))
		}
	}
}

func TestResumeAfterDisconnectGetsEveryEventOnce(t *testing.T) {
	eachStreamMode(t, func(t *testing.T, batch bool) { testResumeAfterDisconnect(t, batch) })
}

func testResumeAfterDisconnect(t *testing.T, batch bool) {
	eachReplayEnv(t, hub.Config{}, func(t *testing.T, e *env, rig *replayRig) {
		if rig.snapshots < 6 {
			t.Fatalf("%d shared snapshots, the test needs 6", rig.snapshots)
		}
		ctx := streamCtx(t)
		c1 := rig.next(t)
		// The first connection replays the history from the start, then follows live.
		firstCtx, disconnect := context.WithCancel(ctx)
		defer disconnect()
		first, err := e.sectorClient.WatchSectorEvents(firstCtx, &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0), BatchEvents: batch})
		if err != nil {
			t.Fatal(err)
		}
		got := recvThrough(t, first, *c1.LastSequence)
		c2 := rig.next(t)
		got = append(got, recvThrough(t, first, *c2.LastSequence)...)
		// It drops in the middle of the third cycle's events (a batching client after a whole message: the
		// checkpoint is the last event of the last message it processed).
		c3 := rig.next(t)
		got = append(got, recvThrough(t, first, (*c3.FirstSequence+*c3.LastSequence)/2)...)
		disconnect()
		checkpoint := got[len(got)-1].GetSequence()
		// Two cycles commit while it is away.
		rig.next(t)
		rig.next(t)
		second, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{AfterSequence: &checkpoint, BatchEvents: batch})
		if err != nil {
			t.Fatal(err)
		}
		// The sixth commits while the second connection replays (or just before or after: any order is right).
		c6 := rig.next(t)
		got = append(got, recvThrough(t, second, *c6.LastSequence)...)
		checkExactlyOnce(t, e, got)
		t.Logf("%d events over 6 cycles, disconnected after sequence %d in cycle %d (%d..%d)", len(got), checkpoint,
			c3.ID, *c3.FirstSequence, *c3.LastSequence)
	})
}

func TestStuckSubscriberDelaysNeitherIngestNorOthers(t *testing.T) {
	eachReplayEnv(t, hub.Config{Buffer: 2}, func(t *testing.T, e *env, rig *replayRig) {
		ctx := streamCtx(t)
		// The stuck client never reads; the smallest flow-control windows (which also turn off window growth)
		// make the server's sends to it block after 64 KiB.
		stuckConn := e.dial(t, grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16))
		stuckCtx, leave := context.WithCancel(ctx)
		defer leave()
		if _, err := vatsectorv1.NewSectorServiceClient(stuckConn).WatchSectorEvents(stuckCtx, &vatsectorv1.WatchSectorEventsRequest{}); err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 1)
		fastCtx, stopFast := context.WithCancel(ctx)
		fast, err := e.sectorClient.WatchSectorEvents(fastCtx, &vatsectorv1.WatchSectorEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 2)
		received := make(chan *vatsectorv1.SectorEvent, 1<<16)
		readerDone := make(chan error, 1)
		go func() {
			defer close(received)
			for {
				m, err := fast.Recv()
				if err != nil {
					readerDone <- err
					return
				}
				if ev := m.GetEvent(); ev != nil {
					received <- ev
				}
			}
		}()
		defer func() {
			stopFast()
			<-readerDone
		}()

		cycles := rig.rest(t) // ingest commits every snapshot and stops while the stuck client reads nothing
		if len(cycles) != rig.snapshots || rig.runner.Status().Totals.Cycles != int64(rig.snapshots) {
			t.Fatalf("%d cycles published, %d committed, want %d", len(cycles), rig.runner.Status().Totals.Cycles, rig.snapshots)
		}
		last := *cycles[len(cycles)-1].LastSequence
		var got []*vatsectorv1.SectorEvent
		for len(got) == 0 || got[len(got)-1].GetSequence() < last {
			ev, ok := <-received
			if !ok {
				t.Fatalf("fast stream ended after %d events: %v", len(got), <-readerDone)
			}
			got = append(got, ev)
		}
		checkExactlyOnce(t, e, got)
		// The stuck stream was dropped from live delivery (its handler waits in Send, not subscribed); the fast
		// one is subscribed.
		if e.hub.Lagged() == 0 || e.hub.Subscribers() != 1 {
			t.Errorf("lagged %d, subscribers %d: want the stuck stream dropped and the fast one live", e.hub.Lagged(), e.hub.Subscribers())
		}
		t.Logf("%d cycles, %d events; streams dropped for lagging: %d", len(cycles), len(got), e.hub.Lagged())
	})
}
