package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
)

// streamCtx bounds a test's streams so that a hang fails the test instead of the run; generous, since a loaded
// 2-core machine under -race once took 37 s over the six cycles of TestResumeAfterDisconnectGetsEveryEventOnce.
func streamCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestWatchSectorEvents(t *testing.T) {
	staffed, unstaffed := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	cases := []struct {
		name     string
		req      *vatsectorv1.WatchSectorEventsRequest
		replayed []int64 // before the live cycle
		live     []int64 // from the live cycle, events 10..15
	}{
		{name: "whole history, then live", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0)},
			replayed: seqRange(1, 9), live: seqRange(10, 15)},
		{name: "resume after a checkpoint, filtered by kind",
			req:      &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](5), Kinds: []vatsectorv1.SectorEventKind{staffed, unstaffed}},
			replayed: []int64{6, 7, 9}, live: []int64{12, 15}},
		{name: "resume filtered by sector", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0), SectorIds: []string{"EGTT_S"}},
			replayed: []int64{3, 6}, live: []int64{12, 15}},
		{name: "resume at the latest sequence", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](fixtureLastSeq)},
			live: seqRange(10, 15)},
		{name: "live only", req: &vatsectorv1.WatchSectorEventsRequest{}, live: seqRange(10, 15)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
				s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), tc.req)
				if err != nil {
					t.Fatal(err)
				}
				if got := sequences(recvEvents(t, s, len(tc.replayed))); !slices.Equal(got, tc.replayed) {
					t.Errorf("replayed %v, want %v", got, tc.replayed)
				}
				// Registered before the cycle commits, or the cycle would be replayed instead of sent live.
				waitSubscribers(t, e.hub, 1)
				commit(t, e.store, e.hub, eventsCycle(4, fixtureLastSeq+1, 6))
				if got := sequences(recvEvents(t, s, len(tc.live))); !slices.Equal(got, tc.live) {
					t.Errorf("live %v, want %v", got, tc.live)
				}
			})
		})
	}
}

func TestWatchSectorEventsHeartbeats(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"NOPE"}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		hb := m.GetHeartbeat()
		if hb == nil || hb.GetLatestSequence() != fixtureLastSeq || !hb.GetFeedTime().AsTime().Equal(t1) || hb.GetServerTime() == nil {
			t.Fatalf("first message %v, want a heartbeat at sequence %d, feed time %v", m, fixtureLastSeq, t1)
		}
		// A cycle whose events all fail the filter moves the checkpoint on without sending anything but heartbeats.
		commit(t, e.store, e.hub, eventsCycle(4, fixtureLastSeq+1, 3))
		for {
			m, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if m.GetEvent() != nil {
				t.Fatalf("event %v sent through a filter that matches nothing", m.GetEvent())
			}
			if m.GetHeartbeat().GetLatestSequence() == fixtureLastSeq+3 {
				if !m.GetHeartbeat().GetFeedTime().AsTime().Equal(t1.Add(30 * time.Second)) {
					t.Errorf("feed time %v, want the new cycle's", m.GetHeartbeat().GetFeedTime().AsTime())
				}
				return
			}
		}
	})
}

func TestWatchSectorEventsErrors(t *testing.T) {
	cases := []struct {
		name  string
		req   *vatsectorv1.WatchSectorEventsRequest
		prune int64 // delete the events up to this sequence first
		code  codes.Code
		msg   string
	}{
		{name: "negative after_sequence", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](-1)},
			code: codes.InvalidArgument, msg: "after_sequence"},
		{name: "after_sequence ahead of the server", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](100)},
			code: codes.OutOfRange, msg: "ahead of the latest committed sequence 9"},
		{name: "after_sequence older than retained history", prune: 4,
			req:  &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](3)},
			code: codes.OutOfRange, msg: "oldest retained is 5"},
		{name: "whole history pruned", prune: fixtureLastSeq, req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0)},
			code: codes.OutOfRange, msg: "no longer retained"},
		{name: "unspecified kind", code: codes.InvalidArgument, msg: "kinds[0]",
			req: &vatsectorv1.WatchSectorEventsRequest{Kinds: []vatsectorv1.SectorEventKind{vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSPECIFIED}}},
		{name: "empty sector id", code: codes.InvalidArgument, msg: "sector_ids[1]",
			req: &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"EGTT", ""}}},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.prune > 0 {
					if _, err := e.store.SQL().Exec("DELETE FROM sector_events WHERE sequence <= $1", tc.prune); err != nil {
						t.Fatal(err)
					}
				}
				s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), tc.req)
				if err == nil {
					_, err = s.Recv()
				}
				wantStatus(t, err, tc.code, tc.msg)
			})
		}
	})
}

// A checkpoint taken on an instance that is ahead of this one (the writer, when this one follows it) resumes
// here: the database has it though this instance's hub has not published it yet. The stream waits for the
// cycles up to it and sends only what follows.
func TestWatchResumeFromACheckpointThisHubHasNotReached(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ahead := eventsCycle(4, fixtureLastSeq+1, 3)
		if _, err := e.store.WriteCycle(context.Background(), ahead); err != nil { // committed, not yet published here
			t.Fatal(err)
		}
		checkpoint := int64(fixtureLastSeq + 2) // the writer's subscriber had one event of the cycle
		s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), &vatsectorv1.WatchSectorEventsRequest{AfterSequence: &checkpoint})
		if err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 1)
		e.hub.Publish(&domain.Committed{Cycle: ahead.Cycle, Events: ahead.Events})
		commit(t, e.store, e.hub, eventsCycle(5, fixtureLastSeq+4, 2))
		if got := sequences(recvEvents(t, s, 3)); !slices.Equal(got, seqRange(fixtureLastSeq+3, fixtureLastSeq+5)) {
			t.Errorf("resumed after %d: %v, want %v", checkpoint, got, seqRange(fixtureLastSeq+3, fixtureLastSeq+5))
		}
	})
}

func TestWatchResumeJustAfterPrunedHistory(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		if _, err := e.store.SQL().Exec("DELETE FROM sector_events WHERE sequence <= 4"); err != nil {
			t.Fatal(err)
		}
		s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](4)})
		if err != nil {
			t.Fatal(err)
		}
		if got := sequences(recvEvents(t, s, 5)); !slices.Equal(got, seqRange(5, 9)) {
			t.Errorf("replayed %v, want 5..9: a checkpoint just before the oldest retained event is servable", got)
		}
	})
}

func TestStreamsBeforeReadyAreUnavailable(t *testing.T) {
	eachEnv(t, envOptions{notReady: true}, func(t *testing.T, e *env) {
		ctx := streamCtx(t)
		s, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{})
		if err == nil {
			_, err = s.Recv()
		}
		wantStatus(t, err, codes.Unavailable, "starting")
		w, err := e.ingestClient.WatchIngestion(ctx, &vatsectorv1.WatchIngestionRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		wantStatus(t, err, codes.Unavailable, "starting")
	})
}

func TestTooManyStreamsAreRefused(t *testing.T) {
	eachEnv(t, envOptions{hub: hub.Config{MaxSubscribers: 1}}, func(t *testing.T, e *env) {
		ctx := streamCtx(t)
		first, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 1)
		second, err := e.ingestClient.WatchIngestion(ctx, &vatsectorv1.WatchIngestionRequest{})
		if err == nil {
			_, err = second.Recv()
		}
		wantStatus(t, err, codes.ResourceExhausted, "too many streams")
		wantRetryHint(t, err)
		if m, err := first.Recv(); err != nil || m.GetHeartbeat() == nil {
			t.Errorf("the first stream: %v, %v; want it still served", m, err)
		}
	})
}

func TestWatchIngestion(t *testing.T) {
	cases := []struct {
		name        string
		includeLast bool
		want        []int64 // cycle ids
	}{
		{"next cycles only", false, []int64{4, 5}},
		{"last committed first", true, []int64{2, 4, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
				s, err := e.ingestClient.WatchIngestion(streamCtx(t), &vatsectorv1.WatchIngestionRequest{IncludeLast: tc.includeLast})
				if err != nil {
					t.Fatal(err)
				}
				waitSubscribers(t, e.hub, 1)
				commit(t, e.store, e.hub, eventsCycle(4, fixtureLastSeq+1, 2))
				commit(t, e.store, e.hub, eventsCycle(5, fixtureLastSeq+3, 0))
				var got []int64
				for range tc.want {
					m, err := s.Recv()
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, m.GetCycle().GetId())
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("cycles %v, want %v", got, tc.want)
				}
			})
		})
	}
}

func TestShutdownEndsStreamsWithUnavailable(t *testing.T) {
	// Event and ingestion streams, and health watches (which heard NOT_SERVING first, at the drain).
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := streamCtx(t)
		events, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"NOPE"}})
		if err != nil {
			t.Fatal(err)
		}
		cycles, err := e.ingestClient.WatchIngestion(ctx, &vatsectorv1.WatchIngestionRequest{})
		if err != nil {
			t.Fatal(err)
		}
		health, err := healthpb.NewHealthClient(e.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := health.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health watch first sent %v, %v; want SERVING", m, err)
		}
		waitSubscribers(t, e.hub, 2)
		// An open health watch must not hold the graceful stop until this deadline.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		var statuses []healthpb.HealthCheckResponse_ServingStatus
		for {
			m, err := health.Recv()
			if err != nil {
				wantStatus(t, err, codes.Unavailable, "shutting down")
				break
			}
			statuses = append(statuses, m.GetStatus())
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health watch sent %v before it ended, want NOT_SERVING last", statuses)
		}
		for {
			m, err := events.Recv()
			if err != nil {
				wantStatus(t, err, codes.Unavailable, "shutting down")
				break
			}
			if m.GetHeartbeat() == nil {
				t.Fatalf("unexpected %v", m)
			}
		}
		_, err = cycles.Recv()
		wantStatus(t, err, codes.Unavailable, "shutting down")
	})
}
