package server

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
)

// healthState is the ingestion health (IngestionHealth.state).
type healthState int

const (
	healthOK healthState = iota + 1
	healthDegraded
	healthStale
	healthStandby
)

// feedPeriod is how often VATSIM regenerates the feed; staleness is measured against it when the poll
// interval is 0 (a replay as fast as possible).
const feedPeriod = 15 * time.Second

// ingestionStatus is what GetIngestionStatus reports.
type ingestionStatus struct {
	status ingest.Status
	health healthState
	reason string
	pool   sql.DBStats
	// ingestPool is ingest's own pool; zero when the store has none.
	ingestPool sql.DBStats
	interval   time.Duration
	now        time.Time
	// replica is the read standby's lag; nil without one.
	replica *repository.ReplicaStatus
}

func (q *queryService) ingestionStatus() ingestionStatus {
	st := q.status.Status()
	now := q.now()
	health, reason := assessHealth(st, q.pollInterval, now)
	out := ingestionStatus{status: st, health: health, reason: reason, pool: q.store.PoolStats(),
		ingestPool: q.store.IngestPoolStats(), interval: q.pollInterval, now: now}
	if r, ok := q.store.(replicaReporter); ok {
		if rs, ok := r.ReplicaStatus(); ok {
			out.replica = &rs
		}
	}
	return out
}

// assessHealth says whether the stored state keeps up with the feed. STALE: nothing was committed for more
// than three poll intervals (counted from the process start at the earliest, so a restart gets a fair
// chance), or the newest feed data committed is older than that (the feed itself stopped updating). DEGRADED:
// ingestion works but the last cycle failed, a fetch or decode failed recently, or a cycle takes longer than
// the interval.
func assessHealth(st ingest.Status, interval time.Duration, now time.Time) (healthState, string) {
	if w := st.StandbyFor; w != nil {
		return healthStandby, fmt.Sprintf("instance %q is the ingest writer (claim renewed %s ago); this one serves the stored data and takes over when that claim is released or runs out",
			w.Holder, round(now.Sub(w.RenewedAt)))
	}
	staleAfter := staleLimit(interval)
	if st.LastCommitted == nil && st.Started.IsZero() {
		return healthStale, "ingestion has not started"
	}
	if age := commitAge(st, now); age > staleAfter {
		if st.LastCommitted == nil {
			return healthStale, fmt.Sprintf("no cycle committed since ingestion started %s ago", round(age))
		}
		return healthStale, fmt.Sprintf("no cycle committed for %s (more than %s)", round(age), staleAfter)
	}
	if c := st.LastCommitted; c != nil {
		if age := now.Sub(c.UpdateTimestamp); age > staleAfter {
			return healthStale, fmt.Sprintf("the newest feed data stored (update_timestamp %s) is %s old: the feed is not updating",
				c.UpdateTimestamp.Format(time.RFC3339), round(age))
		}
	}
	if c := st.Last; c != nil && c.Error != nil {
		return healthDegraded, "the last cycle failed: " + *c.Error
	}
	if !st.LastErrorAt.IsZero() && now.Sub(st.LastErrorAt) <= staleAfter {
		return healthDegraded, fmt.Sprintf("an ingest step failed %s ago: %s", round(now.Sub(st.LastErrorAt)), st.LastError)
	}
	if c := st.Last; c != nil && interval > 0 && time.Duration(c.TotalUS)*time.Microsecond > interval {
		return healthDegraded, fmt.Sprintf("the last cycle took %s, longer than the poll interval %s",
			round(time.Duration(c.TotalUS)*time.Microsecond), interval)
	}
	return healthOK, ""
}

// staleLimit is how long ingestion may go without a commit before it is STALE: three poll intervals, or three
// feed periods for a replay as fast as possible.
func staleLimit(interval time.Duration) time.Duration {
	if interval <= 0 {
		return 3 * feedPeriod
	}
	return 3 * interval
}

// commitAge is the time since the last commit, or since ingestion started when that is later (a restart gets a
// fair chance); st must have started or committed.
func commitAge(st ingest.Status, now time.Time) time.Duration {
	since := st.Started
	if c := st.LastCommitted; c != nil {
		at := c.UpdateTimestamp
		if c.CommittedAt != nil {
			at = *c.CommittedAt
		}
		if at.After(since) {
			since = at
		}
	}
	return now.Sub(since)
}

// ingestWedged says this instance ingests but committed nothing for longer than the STALE limit: what the
// health of IngestService reports as NOT_SERVING, for a container probe to restart the process. A standby
// waits for the other writer by design, ingestion not started yet has nothing to be wedged on, and a feed that
// stopped updating (also STALE in GetIngestionStatus) is not mended by a restart: none of those is wedged.
func ingestWedged(st ingest.Status, interval time.Duration, now time.Time) bool {
	if st.StandbyFor != nil || (st.LastCommitted == nil && st.Started.IsZero()) {
		return false
	}
	return commitAge(st, now) > staleLimit(interval)
}

// round keeps messages readable: seconds, or milliseconds below a second.
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
