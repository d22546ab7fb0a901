package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// A read standby (Config.ReadDatabaseURL) serves the API's queries, statistics and stream tails, so that read load
// grows with standbys instead of on the primary the cycles write to. PostgreSQL's streaming replication keeps it
// a consistent snapshot of the primary as of some moment: a query there answers as the primary did that long
// ago. How long is measured (replica.measure) as the time since the primary committed the first cycle the
// standby has not replayed; a query is refused with a StaleReadError when that exceeds Config.MaxReadLag, or
// when it could not be measured for that long, rather than answered stale without a word.
//
// What must be fresh reads the primary: the ingest writer's state, the hub's seed, a new writer's catch-up
// (CommittedAfterOnPrimary), and the tail of a stream replay that the standby has not reached yet.

// DefaultMaxReadLag is how far behind the primary a read standby may be before its queries are refused: one feed
// interval. The standby on this project's machine stayed within 358 ms of the primary under 32 query clients
// at 3,000 pilots (BENCHMARKS.md, scale).
const DefaultMaxReadLag = 15 * time.Second

// DefaultReplicaCheckEvery is how often a read standby's lag is measured.
const DefaultReplicaCheckEvery = time.Second

// ReplicaStatus is the read standby's lag as last measured.
type ReplicaStatus struct {
	// Lag is how long the standby has lacked a cycle the primary committed: 0 when it has every one.
	Lag time.Duration
	// CyclesBehind is how many committed cycles the primary has that the standby has not replayed.
	CyclesBehind int64
	// ReplayedAt is when the primary committed the last transaction the standby replayed
	// (pg_last_xact_replay_timestamp); zero when it replayed none since it started.
	ReplayedAt time.Time
	// MeasuredAt is when the lag was last measured; zero before the first measurement.
	MeasuredAt time.Time
	// MaxLag is the lag past which queries are refused.
	MaxLag time.Duration
	// Err is why the last measurement failed; nil when it succeeded.
	Err error
}

// StaleReadError refuses a query that the read standby cannot answer freshly enough. Retry later: a standby
// that replicates catches up by itself.
type StaleReadError struct {
	Status ReplicaStatus
	// Now is when the query was refused.
	Now time.Time
}

func (e *StaleReadError) Error() string {
	st := e.Status
	if st.MeasuredAt.IsZero() {
		msg := fmt.Sprintf("the read standby's lag behind the primary has not been measured yet (the limit is %s)", st.MaxLag)
		if st.Err != nil {
			msg += ": " + st.Err.Error()
		}
		return msg
	}
	since := e.Now.Sub(st.MeasuredAt)
	if st.Err != nil {
		return fmt.Sprintf("the read standby's lag behind the primary was last measured %s ago, %s then (the limit is %s): %v",
			since.Round(time.Millisecond), st.Lag.Round(time.Millisecond), st.MaxLag, st.Err)
	}
	return fmt.Sprintf("the read standby is %s behind the primary (%d committed cycles it has not replayed; the limit is %s)",
		(st.Lag + since).Round(time.Millisecond), st.CyclesBehind, st.MaxLag)
}

// replica is the read standby's pool and its measured lag.
type replica struct {
	db     *gorm.DB
	sqlDB  *sql.DB
	maxLag time.Duration
	now    func() time.Time

	mu     sync.Mutex
	status ReplicaStatus
}

// fresh returns nil when the standby may answer a query now, a *StaleReadError otherwise. The lag now is at
// most the lag measured plus the time since the measurement (a cycle may have committed just after it), so a
// failed measurement refuses nothing until the last good one is that old.
func (r *replica) fresh() error {
	r.mu.Lock()
	st := r.status
	r.mu.Unlock()
	now := r.now()
	if st.Serving(now) {
		return nil
	}
	return &StaleReadError{Status: st, Now: now}
}

// Serving says whether queries read the standby at now: whether the lag then is surely within MaxLag.
func (st ReplicaStatus) Serving(now time.Time) bool {
	return !st.MeasuredAt.IsZero() && st.Lag+now.Sub(st.MeasuredAt) <= st.MaxLag
}

// measure reads which committed cycle the standby has replayed, then asks the primary when it committed the
// next one: the standby has lacked it since. Two single-row reads on primary keys, once a second.
func (r *replica) measure(ctx context.Context, primary *gorm.DB) {
	st, err := r.lag(ctx, primary)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.status.Err = err
		return
	}
	r.status = st
}

func (r *replica) lag(ctx context.Context, primary *gorm.DB) (ReplicaStatus, error) {
	st := ReplicaStatus{MaxLag: r.maxLag}
	var standby struct {
		Replayed   int64
		ReplayedAt *time.Time
		Recovery   bool
	}
	if err := r.db.WithContext(ctx).Raw(`SELECT COALESCE((SELECT MAX(id) FROM ingest_cycles WHERE error IS NULL), 0) AS replayed,
		pg_last_xact_replay_timestamp() AS replayed_at, pg_is_in_recovery() AS recovery`).Scan(&standby).Error; err != nil {
		return st, fmt.Errorf("read standby: %w", Classify(err))
	}
	if !standby.Recovery {
		// A promoted standby, or a URL that names a primary: it has what it has, and nothing replicates into it.
		// Its lag is not what this measures; reads from it are as fresh as its writes, which are none of ours
		// unless it is the primary itself.
		return st, errors.New("read standby: the read database is not in recovery (not a hot standby, or promoted)")
	}
	var behind struct {
		Cycles int64
		Since  *time.Time
	}
	if err := primary.WithContext(ctx).Raw(`SELECT COUNT(*) AS cycles, MIN(committed_at) AS since FROM ingest_cycles
		WHERE id > ? AND error IS NULL`, standby.Replayed).Scan(&behind).Error; err != nil {
		return st, fmt.Errorf("primary: %w", Classify(err))
	}
	st.MeasuredAt = r.now()
	st.CyclesBehind = behind.Cycles
	if behind.Since != nil {
		st.Lag = max(0, st.MeasuredAt.Sub(*behind.Since))
	}
	if standby.ReplayedAt != nil {
		st.ReplayedAt = standby.ReplayedAt.UTC()
	}
	return st, nil
}

// ReplicaStatus returns the read standby's lag as last measured; false without a read standby.
func (s *Store) ReplicaStatus() (ReplicaStatus, bool) {
	if s.replica == nil {
		return ReplicaStatus{}, false
	}
	s.replica.mu.Lock()
	defer s.replica.mu.Unlock()
	return s.replica.status, true
}

// MonitorReplica measures the read standby's lag every interval until ctx ends; it returns at once without one.
func (s *Store) MonitorReplica(ctx context.Context, every time.Duration) {
	if s.replica == nil {
		return
	}
	if every <= 0 {
		every = DefaultReplicaCheckEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, cancel := context.WithTimeout(ctx, every)
		s.replica.measure(m, s.db)
		cancel()
	}
}

// queries is the handle the API's queries read: the standby when it is fresh enough, the primary without one.
func (s *Store) queries() (*gorm.DB, error) {
	if s.replica == nil {
		return s.db, nil
	}
	if err := s.replica.fresh(); err != nil {
		return nil, err
	}
	return s.replica.db, nil
}

// tails is the handle that streams read: the standby whatever its lag, as they read by sequence and take
// what the standby lacks from the primary (ReplayEvents), or wait for it (a follower, CommittedAfter).
func (s *Store) tails() *gorm.DB {
	if s.replica == nil {
		return s.db
	}
	return s.replica.db
}

// CatchUpReplica waits until the read standby has replayed everything the primary has written so far, then
// measures its lag; it returns at once without a read standby. What a start waits for after migrating, and what
// tests wait for before they read what they wrote.
func (s *Store) CatchUpReplica(ctx context.Context) error {
	if s.replica == nil {
		return nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var target string
	if err := s.db.WithContext(ctx).Raw("SELECT pg_current_wal_lsn()::text").Scan(&target).Error; err != nil {
		return fmt.Errorf("repository: the primary's WAL position: %w", Classify(err))
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var caughtUp *bool
		if err := s.replica.db.WithContext(ctx).Raw("SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn", target).
			Scan(&caughtUp).Error; err != nil {
			return fmt.Errorf("repository: the read standby's replay position: %w", Classify(err))
		}
		if caughtUp == nil {
			return errors.New("repository: the read database is not a hot standby (it has no replay position)")
		}
		if *caughtUp {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("repository: the read standby did not replay the primary's WAL up to %s: %w", target, Classify(ctx.Err()))
		case <-t.C:
		}
	}
	s.replica.measure(ctx, s.db)
	return nil
}
