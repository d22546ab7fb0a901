package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
)

func TestGetIngestionStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	committed := func(update, commit time.Duration) *domain.Cycle {
		at := ago(commit)
		return &domain.Cycle{ID: 7, UpdateTimestamp: ago(update), FetchedAt: ago(commit + time.Second), CommittedAt: &at,
			Pilots: 1500, FlightsWritten: 1500, EventsWritten: 40, FirstSequence: ptr[int64](100), LastSequence: ptr[int64](139),
			DecodeUS: 80_000, CommitUS: 3_000, TotalUS: 400_000}
	}
	failed := func() *domain.Cycle {
		msg := "write: connection reset"
		return &domain.Cycle{ID: 8, UpdateTimestamp: ago(5 * time.Second), FetchedAt: ago(4 * time.Second),
			FlightsWritten: 1500, EventsWritten: 40, TotalUS: 400_000, Error: &msg}
	}
	cases := []struct {
		name   string
		status ingest.Status
		state  vatsectorv1.HealthState
		reason string
	}{
		{name: "ok", state: vatsectorv1.HealthState_HEALTH_STATE_OK,
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second), Last: committed(20*time.Second, 5*time.Second)}},
		{name: "ok after a restart, within the grace", state: vatsectorv1.HealthState_HEALTH_STATE_OK,
			status: ingest.Status{Started: ago(10 * time.Second), LastCommitted: committed(30*time.Second, 30*time.Second)}},
		{name: "last cycle failed", state: vatsectorv1.HealthState_HEALTH_STATE_DEGRADED, reason: "connection reset",
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second), Last: failed()}},
		{name: "recent feed error", state: vatsectorv1.HealthState_HEALTH_STATE_DEGRADED, reason: "feed: timeout",
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second),
				LastError: "feed: timeout", LastErrorAt: ago(10 * time.Second)}},
		{name: "old feed error is forgotten", state: vatsectorv1.HealthState_HEALTH_STATE_OK,
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second),
				LastError: "feed: timeout", LastErrorAt: ago(10 * time.Minute)}},
		{name: "cycle slower than the interval", state: vatsectorv1.HealthState_HEALTH_STATE_DEGRADED, reason: "longer than the poll interval",
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second),
				Last: &domain.Cycle{ID: 7, UpdateTimestamp: ago(20 * time.Second), TotalUS: 20_000_000}}},
		{name: "not started", state: vatsectorv1.HealthState_HEALTH_STATE_STALE, reason: "not started"},
		{name: "nothing committed since start", state: vatsectorv1.HealthState_HEALTH_STATE_STALE, reason: "since ingestion started 1m0s ago",
			status: ingest.Status{Started: ago(time.Minute)}},
		{name: "nothing committed for too long", state: vatsectorv1.HealthState_HEALTH_STATE_STALE, reason: "no cycle committed for 2m0s",
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(2*time.Minute, 2*time.Minute)}},
		{name: "feed not updating", state: vatsectorv1.HealthState_HEALTH_STATE_STALE, reason: "the feed is not updating",
			status: ingest.Status{Started: ago(time.Hour), LastCommitted: committed(time.Hour, 5*time.Second)}},
		{name: "standby", state: vatsectorv1.HealthState_HEALTH_STATE_STANDBY, reason: `instance "primary" is the ingest writer (claim renewed 20s ago)`,
			status: ingest.Status{Started: ago(time.Hour), StandbyFor: &domain.WriterClaim{Holder: "primary", Epoch: 3, RenewedAt: ago(20 * time.Second)}}},
	}
	eachEnv(t, envOptions{now: func() time.Time { return now }, interval: 15 * time.Second}, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.status.set(tc.status)
				resp, err := e.ingestClient.GetIngestionStatus(context.Background(), &vatsectorv1.GetIngestionStatusRequest{})
				if err != nil {
					t.Fatal(err)
				}
				h := resp.GetHealth()
				if h.GetState() != tc.state || !strings.Contains(h.GetReason(), tc.reason) || (tc.reason == "") != (h.GetReason() == "") {
					t.Errorf("health %v %q, want %v with %q", h.GetState(), h.GetReason(), tc.state, tc.reason)
				}
			})
		}
		t.Run("report", func(t *testing.T) {
			e.status.set(ingest.Status{
				Source: "replay testdata (1/2)", Started: ago(time.Hour), LastCommitted: committed(20*time.Second, 5*time.Second),
				Last: failed(), Totals: ingest.Totals{Cycles: 10, Skipped: 3, Failures: 1, FeedErrors: 2, DecodeErrors: 4,
					Refused: 5, Dropped: 6, GivenUp: 7, RejectedEntries: 8, DuplicateEntries: 9},
				Backlog: 2, BacklogOldest: ago(30 * time.Second),
			})
			resp, err := e.ingestClient.GetIngestionStatus(context.Background(), &vatsectorv1.GetIngestionStatusRequest{})
			if err != nil {
				t.Fatal(err)
			}
			tot := resp.GetTotals()
			if tot.GetCyclesCommitted() != 10 || tot.GetDuplicatesSkipped() != 3 || tot.GetCyclesFailed() != 7 || !tot.GetStartedAt().AsTime().Equal(ago(time.Hour)) {
				t.Errorf("totals %v, want 10 committed, 3 skipped, 7 failed (write, feed and decode), started an hour ago", tot)
			}
			if tot.GetFeedErrors() != 2 || tot.GetDecodeErrors() != 4 || tot.GetSnapshotsRefused() != 5 || tot.GetSnapshotsDropped() != 6 ||
				tot.GetSnapshotsGivenUp() != 7 || tot.GetEntriesRejected() != 8 || tot.GetEntriesDuplicate() != 9 {
				t.Errorf("totals %v: want each kind of loss counted apart", tot)
			}
			if b := resp.GetBacklog(); b.GetSnapshots() != 2 || !b.GetOldestUpdateTimestamp().AsTime().Equal(ago(30*time.Second)) {
				t.Errorf("backlog %v, want 2 snapshots from 30 s ago", b)
			}
			if p := resp.GetIngestPool(); p.GetMaxOpenConnections() != int32(repository.IngestPoolSize) {
				t.Errorf("ingest pool %v, want its %d connections", p, repository.IngestPoolSize)
			}
			if resp.GetFeedSource() != "replay testdata (1/2)" || resp.GetPollInterval().AsDuration() != 15*time.Second ||
				!resp.GetServerTime().AsTime().Equal(now) {
				t.Errorf("source %q, interval %v, server time %v", resp.GetFeedSource(), resp.GetPollInterval().AsDuration(), resp.GetServerTime().AsTime())
			}
			if pool := resp.GetDatabasePool(); pool.GetMaxOpenConnections() != int32(e.store.PoolStats().MaxOpenConnections) || pool.GetMaxOpenConnections() == 0 {
				t.Errorf("pool %v, want the store's limit %d", pool, e.store.PoolStats().MaxOpenConnections)
			}
			last, good := resp.GetLastCycle(), resp.GetLastCommittedCycle()
			if last.GetId() != 8 || last.GetError() != "write: connection reset" || last.GetRows().GetFlights() != 0 ||
				last.GetCommittedAt() != nil || last.GetDurations().GetCommit() != nil || last.LastSequence != nil {
				t.Errorf("failed cycle %v: want its error, no rows, no commit", last)
			}
			if good.GetId() != 7 || good.GetRows().GetFlights() != 1500 || good.GetLag().AsDuration() != 15*time.Second ||
				good.GetLastSequence() != 139 || good.GetDurations().GetDecode().AsDuration() != 80*time.Millisecond ||
				good.GetDurations().GetCommit().AsDuration() != 3*time.Millisecond {
				t.Errorf("committed cycle %v: want rows, a lag of 15s, sequences and durations", good)
			}
		})
	})
}

// standbyStore reports a read standby's lag of the test's choosing.
type standbyStore struct {
	*repository.Store
	status repository.ReplicaStatus
}

func (s standbyStore) ReplicaStatus() (repository.ReplicaStatus, bool) { return s.status, true }

func TestGetIngestionStatusShowsTheReadStandby(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	measured, replayed := now.Add(-500*time.Millisecond), now.Add(-21*time.Second)
	cases := []struct {
		name    string
		status  repository.ReplicaStatus
		serving bool
		err     string
	}{
		{name: "caught up", serving: true,
			status: repository.ReplicaStatus{MeasuredAt: measured, ReplayedAt: replayed, MaxLag: 15 * time.Second}},
		{name: "behind past the limit", serving: false,
			status: repository.ReplicaStatus{Lag: 20 * time.Second, CyclesBehind: 2, MeasuredAt: measured, ReplayedAt: replayed, MaxLag: 15 * time.Second}},
		{name: "measurement failing", serving: true, err: "read standby: connection refused",
			status: repository.ReplicaStatus{MeasuredAt: measured, MaxLag: 15 * time.Second, Err: errors.New("read standby: connection refused")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := envOptions{now: func() time.Time { return now }, interval: 15 * time.Second,
				storage: func(s *repository.Store) Storage { return standbyStore{Store: s, status: tc.status} }}
			eachEnv(t, opts, func(t *testing.T, e *env) {
				resp, err := e.ingestClient.GetIngestionStatus(context.Background(), &vatsectorv1.GetIngestionStatusRequest{})
				if err != nil {
					t.Fatal(err)
				}
				r := resp.GetReadStandby()
				if r == nil {
					t.Fatal("no read_standby in the status")
				}
				st := tc.status
				if r.GetLag().AsDuration() != st.Lag || r.GetCyclesBehind() != st.CyclesBehind || r.GetMaxLag().AsDuration() != st.MaxLag ||
					!r.GetMeasuredAt().AsTime().Equal(st.MeasuredAt) || r.GetServing() != tc.serving || r.GetError() != tc.err ||
					(st.ReplayedAt.IsZero() != (r.GetReplayedAt() == nil)) || (r.GetReplayedAt() != nil && !r.GetReplayedAt().AsTime().Equal(st.ReplayedAt)) {
					t.Errorf("read_standby %v; want %+v, serving %v", r, st, tc.serving)
				}
			})
		})
	}
	t.Run("none", func(t *testing.T) {
		eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
			resp, err := e.ingestClient.GetIngestionStatus(context.Background(), &vatsectorv1.GetIngestionStatusRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetReadStandby() != nil {
				t.Errorf("read_standby %v without a read standby", resp.GetReadStandby())
			}
		})
	})
}
