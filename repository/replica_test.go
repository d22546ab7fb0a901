package repository_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/tcpproxy"
	"github.com/vatsector/vatsector/repository"
)

// openWithStandby is a store on a fresh database whose queries read the real hot standby of the shared server.
func openWithStandby(t *testing.T, maxLag time.Duration) *repository.Store {
	t.Helper()
	url := dbtest.URL(t)
	s, err := repository.Open(context.Background(), repository.Config{
		DatabaseURL: url, ReadDatabaseURL: dbtest.StandbyURL(t, url), MaxReadLag: maxLag, QueryTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sequences(events []domain.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Sequence
	}
	return out
}

func cycleIDs(cs []domain.Committed) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Cycle.ID
	}
	return out
}

// With the standby's replay paused, what a query answers is what the standby had: the queries read it, not the
// primary. A stream's replay still gets every event, the part the standby lacks from the primary; a query the
// standby is too far behind for is refused, naming the lag; once replay resumes, the standby answers again.
func TestReadStandbyServesQueriesAndSaysWhenItIsStale(t *testing.T) {
	dbtest.UseStandby(t, true)
	ctx := context.Background()
	s := openWithStandby(t, 10*time.Second)
	ts := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	one, two := cycleOf(1, ts, 3), cycleOf(2, ts.Add(15*time.Second), 2)
	if _, err := s.WriteCycle(ctx, one); err != nil {
		t.Fatal(err)
	}
	if err := s.CatchUpReplica(ctx); err != nil {
		t.Fatal(err)
	}
	if st, ok := s.ReplicaStatus(); !ok || st.CyclesBehind != 0 || st.Lag != 0 || st.Err != nil || !st.Serving(time.Now().UTC()) {
		t.Fatalf("caught up: status %+v (%v); want no lag, serving", st, ok)
	}

	resume := dbtest.PauseReplay(t)
	if _, err := s.WriteCycle(ctx, two); err != nil {
		t.Fatal(err)
	}
	repository.MeasureReplica(ctx, s)
	st, _ := s.ReplicaStatus()
	if st.CyclesBehind != 1 || st.Err != nil {
		t.Fatalf("paused: status %+v; want one cycle behind", st)
	}
	firstOf := func(w *domain.CycleWrite) int64 { return *w.Cycle.FirstSequence }
	lastOf := func(w *domain.CycleWrite) int64 { return *w.Cycle.LastSequence }
	want1 := []int64{firstOf(one), firstOf(one) + 1, lastOf(one)}
	all := append(slices.Clone(want1), firstOf(two), lastOf(two))

	events, err := s.ListEvents(ctx, repository.EventFilter{}, 0, lastOf(two), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := sequences(events); !slices.Equal(got, want1) {
		t.Errorf("ListEvents on the paused standby: %v; want cycle 1's %v only (the standby's, not the primary's)", got, want1)
	}
	replayed, _, err := s.ReplayEvents(ctx, repository.EventFilter{}, 0, lastOf(two), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := sequences(replayed); !slices.Equal(got, all) {
		t.Errorf("ReplayEvents through cycle 2: %v; want %v, the tail from the primary", got, all)
	}
	// A page that ends inside what the standby has, and one that starts where it ends.
	for _, tc := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 2, all[:2]}, {all[1], 2, all[2:4]}, {all[2], 10, all[3:]}, {lastOf(one), 1, all[3:4]},
	} {
		page, _, err := s.ReplayEvents(ctx, repository.EventFilter{}, tc.after, lastOf(two), tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := sequences(page); !slices.Equal(got, tc.want) {
			t.Errorf("ReplayEvents after %d, limit %d: %v; want %v", tc.after, tc.limit, got, tc.want)
		}
	}
	followed, err := s.CommittedAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	onPrimary, err := s.CommittedAfterOnPrimary(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cycleIDs(followed), cycleIDs(onPrimary); !slices.Equal(a, []int64{1}) || !slices.Equal(b, []int64{1, 2}) {
		t.Errorf("committed cycles on the standby %v, on the primary %v; want [1] and [1 2]", a, b)
	}

	// A minute on: the standby has lacked cycle 2 for longer than the limit.
	later := func() time.Time { return time.Now().UTC().Add(time.Minute) }
	repository.SetReplicaClock(s, later)
	repository.MeasureReplica(ctx, s)
	_, err = s.ListEvents(ctx, repository.EventFilter{}, 0, lastOf(two), 100)
	var stale *repository.StaleReadError
	if !errors.As(err, &stale) {
		t.Fatalf("a query with the standby a minute behind: %v; want a StaleReadError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "behind the primary (1 committed cycles") || !strings.Contains(msg, "the limit is 10s") {
		t.Errorf("refusal %q: want the lag, the cycles behind and the limit", msg)
	}
	if _, err := s.SectorFlightCounts(ctx, []domain.SectorRef{vs("SECTOR1")}); !errors.As(err, &stale) {
		t.Errorf("SectorFlightCounts with the standby a minute behind: %v; want a StaleReadError", err)
	}
	// Streams do not refuse: they read by sequence and take the rest from the primary.
	if replayed, _, err := s.ReplayEvents(ctx, repository.EventFilter{}, 0, lastOf(two), 100); err != nil || len(replayed) != len(all) {
		t.Errorf("ReplayEvents with the standby a minute behind: %d events, %v; want all %d", len(replayed), err, len(all))
	}

	resume()
	repository.SetReplicaClock(s, func() time.Time { return time.Now().UTC() })
	if err := s.CatchUpReplica(ctx); err != nil {
		t.Fatal(err)
	}
	events, err = s.ListEvents(ctx, repository.EventFilter{}, 0, lastOf(two), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := sequences(events); !slices.Equal(got, all) {
		t.Errorf("ListEvents after the standby caught up: %v; want %v", got, all)
	}
}

// A measurement that fails refuses nothing by itself: only once the last good one is older than the limit.
func TestReadStandbyRefusesOnlyOnceItsLagIsUnknownForTooLong(t *testing.T) {
	measured := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		status  repository.ReplicaStatus
		at      time.Duration // after measured
		serving bool
		msg     string
	}{
		{name: "never measured", status: repository.ReplicaStatus{MaxLag: 15 * time.Second}, serving: false,
			msg: "the read standby's lag behind the primary has not been measured yet (the limit is 15s)"},
		{name: "caught up, just measured", status: repository.ReplicaStatus{MeasuredAt: measured, MaxLag: 15 * time.Second},
			at: time.Second, serving: true},
		{name: "behind within the limit", status: repository.ReplicaStatus{MeasuredAt: measured, Lag: 10 * time.Second,
			CyclesBehind: 1, MaxLag: 15 * time.Second}, at: 4 * time.Second, serving: true},
		{name: "behind past the limit since the measurement", status: repository.ReplicaStatus{MeasuredAt: measured,
			Lag: 10 * time.Second, CyclesBehind: 1, MaxLag: 15 * time.Second}, at: 6 * time.Second, serving: false,
			msg: "the read standby is 16s behind the primary (1 committed cycles it has not replayed; the limit is 15s)"},
		{name: "measurement failing, last good one recent", status: repository.ReplicaStatus{MeasuredAt: measured,
			MaxLag: 15 * time.Second, Err: errors.New("read standby: connection refused")}, at: 5 * time.Second, serving: true},
		{name: "measurement failing for too long", status: repository.ReplicaStatus{MeasuredAt: measured,
			MaxLag: 15 * time.Second, Err: errors.New("read standby: connection refused")}, at: 20 * time.Second, serving: false,
			msg: "the read standby's lag behind the primary was last measured 20s ago, 0s then (the limit is 15s): read standby: connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := measured.Add(tc.at)
			if got := tc.status.Serving(now); got != tc.serving {
				t.Errorf("serving %v, want %v", got, tc.serving)
			}
			if tc.msg != "" {
				if got := (&repository.StaleReadError{Status: tc.status, Now: now}).Error(); got != tc.msg {
					t.Errorf("refusal %q\nwant      %q", got, tc.msg)
				}
			}
		})
	}
}

// A read database that is not a standby, or one without a PostgreSQL primary, is a configuration error at Open.
func TestOpenRefusesAReadDatabaseThatIsNoStandby(t *testing.T) {
	dbtest.RequirePostgres(t)
	url := dbtest.URL(t)
	cases := []struct {
		name string
		cfg  repository.Config
		want string
	}{
		{name: "the primary itself", cfg: repository.Config{DatabaseURL: url, ReadDatabaseURL: url},
			want: "not a hot standby (pg_is_in_recovery() is false)"},
		{name: "no primary", cfg: repository.Config{SQLitePath: t.TempDir() + "/x.db", ReadDatabaseURL: url},
			want: "a read database URL needs a PostgreSQL database URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := repository.Open(context.Background(), tc.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want it to say %q", err, tc.want)
			}
		})
	}
}

// The link to the standby cut (through a proxy of the test's own): the follower's read fails, retryably, and
// loses nothing, since it follows by cycle id; queries are refused once the standby's lag has been unknown for
// longer than the limit, naming why; with the link back, the follower reads every cycle committed meanwhile.
func TestReadStandbyCutOffLosesNoCycle(t *testing.T) {
	dbtest.UseStandby(t, false)
	ctx := context.Background()
	url := dbtest.URL(t)
	standbyURL := dbtest.StandbyURL(t, url)
	proxy, err := tcpproxy.New(dbtest.StandbyAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	s, err := repository.Open(ctx, repository.Config{DatabaseURL: url, QueryTimeout: 5 * time.Second, MaxReadLag: 10 * time.Second,
		ReadDatabaseURL: strings.Replace(standbyURL, dbtest.StandbyAddr(), proxy.Addr(), 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ts := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.WriteCycle(ctx, cycleOf(1, ts, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.CatchUpReplica(ctx); err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	if _, err := s.WriteCycle(ctx, cycleOf(2, ts.Add(15*time.Second), 2)); err != nil {
		t.Fatalf("a cycle with the standby cut off: %v", err)
	}
	if _, err := s.CommittedAfter(ctx, 1, 10); !errors.Is(err, repository.ErrUnavailable) {
		t.Errorf("following with the standby cut off: %v; want ErrUnavailable", err)
	}
	repository.MeasureReplica(ctx, s)
	st, _ := s.ReplicaStatus()
	if st.Err == nil {
		t.Fatalf("status with the standby cut off: %+v; want the measurement's error", st)
	}
	repository.SetReplicaClock(s, func() time.Time { return time.Now().UTC().Add(time.Minute) })
	_, err = s.ListEvents(ctx, repository.EventFilter{}, 0, 0, 10)
	var stale *repository.StaleReadError
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), "was last measured") {
		t.Errorf("a query with the standby's lag unknown for a minute: %v; want a StaleReadError saying so", err)
	}

	proxy.Restore()
	repository.SetReplicaClock(s, func() time.Time { return time.Now().UTC() })
	if err := s.CatchUpReplica(ctx); err != nil {
		t.Fatal(err)
	}
	followed, err := s.CommittedAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := cycleIDs(followed); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("cycles followed once the standby is back: %v, want [1 2]", got)
	}
	if _, err := s.ListEvents(ctx, repository.EventFilter{}, 0, 0, 10); err != nil {
		t.Errorf("a query once the standby is back: %v", err)
	}
}
