package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
)

// Publisher receives every committed cycle. Publish is called from the ingest loop after the commit and must
// not block: a slow subscriber is the publisher's problem, never ingest's.
type Publisher interface {
	Publish(c *domain.Committed)
}

// Config wires a Runner.
type Config struct {
	Source feed.Source
	Store  Store
	// Sectors returns the airspace to classify with; it is asked once per cycle so a refreshed sector set is
	// picked up between cycles.
	Sectors func() Sectors
	// Interval between polls; zero polls again as soon as a cycle is done (replay as fast as possible).
	Interval time.Duration
	// Grace is how long a connection may be missing before it is disconnected (DefaultGrace when zero).
	Grace time.Duration
	// WriteTimeout bounds a cycle's transaction (DefaultWriteTimeout when zero).
	WriteTimeout time.Duration
	// Attempts is how often one snapshot is tried, while the database answers, before it is given up (3 when
	// zero). Tries while the database is unreachable do not count: the snapshot waits in the backlog.
	Attempts int
	// Backlog is how many snapshots are kept, in order, while they cannot be written (DefaultBacklog when zero).
	// Past it the oldest is dropped, and logged, unless the source waits for its reader (a replay): then
	// fetching pauses instead.
	Backlog int
	// FutureTolerance is how far past the clock a snapshot's update_timestamp may be before it is refused
	// (DefaultFutureTolerance when zero).
	FutureTolerance time.Duration
	// Now is the clock that judges feed times (time.Now when nil).
	Now       func() time.Time
	Publisher Publisher
	Logger    *slog.Logger
	// Registerer receives the ingest metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Instance identifies this process as the database's ingest writer (the host name when empty): an instance
	// with the same identity takes over at once, another one waits until this one's claim is older than Lease.
	Instance string
	// Lease is how long the claim of a writer that stopped committing holds (DefaultLease when zero).
	Lease time.Duration
	// FollowInterval is how often a standby reads the cycles the writer committed since, to publish them to its
	// own streams (DefaultFollowInterval when zero; negative: it does not follow). See follow.
	FollowInterval time.Duration
}

// DefaultFollowInterval: a standby's streams lag the writer's by at most this, plus one read. It is what a
// standby that reads a hot standby database waits between its reads (no notification reaches it there): one
// indexed read of the cycles after the last one, four a second, for a quarter of a second of added delivery
// latency at most; on the primary a commit's notification wakes it first.
const DefaultFollowInterval = 250 * time.Millisecond

// DefaultLease is eight cycles of the feed: long enough that a slow cycle or a short database outage does not
// hand ingest over, short enough that a standby takes over a dead writer within minutes.
const DefaultLease = 2 * time.Minute

// DefaultBacklog is ten minutes of the feed's 15 s cadence: a database failover or restart takes less.
const DefaultBacklog = 40

// FeedCadence is how often the VATSIM feed regenerates, whatever the poll interval.
const FeedCadence = 15 * time.Second

// DefaultFutureTolerance is how far a feed time may run ahead of this machine's clock. The feed is stamped
// when generated and fetched seconds later, so a real snapshot is never ahead by more than the two clocks'
// disagreement; one dated further ahead (a mirror's broken clock, a test file) would, once committed, make every
// real snapshot after it look old.
const DefaultFutureTolerance = 2 * time.Minute

// Paced is implemented by sources that wait for their reader (a replay): while the backlog is full the
// runner stops fetching from them, where a live feed would move on, and loses nothing.
type Paced interface {
	Paced() bool
}

// DefaultWriteTimeout bounds a cycle's transaction: several cycles' worth of the 15 s cadence would be
// pointless to wait for, a newer snapshot will be there.
const DefaultWriteTimeout = 30 * time.Second

// Runner is the ingest loop.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	tracker *Tracker
	// adopted is set once the stored rows without a sector set were given theirs (adopt).
	adopted bool
	// followed is the last cycle a standby published of the writer's (follow); 0 before it followed any.
	followed int64
	// epoch is this instance's writer claim, renewed by every cycle.
	epoch int64

	mu     sync.Mutex
	status Status
	// backlog holds the snapshots fetched but not yet committed, oldest first; used by the loop only.
	backlog []*fetched
	// reload says the tracked state must be read from the database before the next write: a cycle failed, and
	// only the database knows whether its commit happened.
	reload bool
}

// Status is what the ingestion status serves.
type Status struct {
	Source string
	// Last is the last cycle attempted, committed or failed; nil before the first.
	Last *domain.Cycle
	// LastCommitted is the last committed cycle, possibly loaded from the database at start.
	LastCommitted *domain.Cycle
	// LastError is the last failure of any kind (feed, decode, write), with when it happened.
	LastError   string
	LastErrorAt time.Time
	// Writer is this instance's claim on ingesting into the database; nil while another instance holds it.
	Writer *domain.WriterClaim
	// StandbyFor is the other instance's claim while this one waits for it (standby); nil otherwise.
	StandbyFor *domain.WriterClaim
	// LastCheckpoint is how long the SQLite log checkpoint after the last cycle's publish took (0 on
	// PostgreSQL, and before the first).
	LastCheckpoint time.Duration
	// Backlog is how many snapshots wait to be written (the database is failing), Oldest the feed time of the
	// first of them.
	Backlog       int
	BacklogOldest time.Time
	// FutureFeedTime is set when the database's last committed cycle is dated past the clock (a snapshot with a
	// wrong date was committed before such snapshots were refused): newer snapshots are ingested all the same.
	FutureFeedTime time.Time
	Totals         Totals
	Started        time.Time
}

// Totals count since start.
type Totals struct {
	Cycles, Skipped, Failures, FeedErrors, DecodeErrors int64
	// Refused counts snapshots dated too far past the clock; Dropped, snapshots lost because the backlog was
	// full; GivenUp, snapshots that the database refused Attempts times while it answered.
	Refused, Dropped, GivenUp int64
	// RejectedEntries and DuplicateEntries count the entries of ingested snapshots that were left out.
	RejectedEntries, DuplicateEntries int64
}

// NewRunner checks the configuration; Run loads the state and loops.
func NewRunner(cfg Config) (*Runner, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("ingest: no feed source")
	case cfg.Store == nil:
		return nil, errors.New("ingest: no store")
	case cfg.Sectors == nil:
		return nil, errors.New("ingest: no sectors")
	case cfg.Interval < 0:
		return nil, fmt.Errorf("ingest: negative interval %v", cfg.Interval)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = DefaultBacklog
	}
	if cfg.FutureTolerance <= 0 {
		cfg.FutureTolerance = DefaultFutureTolerance
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FollowInterval == 0 {
		cfg.FollowInterval = DefaultFollowInterval
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Instance == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("ingest: no instance identity and no host name: %w", err)
		}
		cfg.Instance = host
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, log: cfg.Logger, metrics: m, status: Status{Source: cfg.Source.String()}}, nil
}

// Status returns a copy of the current status.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Run loads the stored state and ingests until ctx is cancelled or a finite source is exhausted (then it
// returns nil). A cycle in flight when ctx is cancelled is finished, not abandoned: its transaction runs on a
// context of its own, bounded by WriteTimeout.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	r.status.Started = time.Now().UTC()
	r.mu.Unlock()
	claimed, err := r.claim(ctx)
	if err != nil || !claimed {
		return err
	}
	defer r.release()
	// A standby that takes over: its streams get what the old writer committed last before its own cycles (a
	// writer that claimed at once reads that nothing was committed since the server seeded its hub), read
	// from the primary: a read standby may not have all of it yet.
	r.followFrom(ctx, true)
	if err := r.adopt(ctx); err != nil {
		return err
	}
	if err := r.load(ctx); err != nil {
		return err
	}
	paced := false
	if p, ok := r.cfg.Source.(Paced); ok {
		paced = p.Paced()
	}
	exhausted := false
	for {
		if !exhausted && (len(r.backlog) < r.cfg.Backlog || !paced) {
			f, err := r.fetch(ctx)
			switch {
			case errors.Is(err, io.EOF):
				exhausted = true
				r.log.Info("feed exhausted", "source", r.cfg.Source.String(), "backlog", len(r.backlog))
			case ctx.Err() != nil:
				r.abandon()
				return nil
			case f != nil:
				r.enqueue(f)
			}
		}
		if err := r.drain(ctx); err != nil {
			return err
		}
		if exhausted && len(r.backlog) == 0 {
			return nil
		}
		if !r.wait(ctx, len(r.backlog) > 0) {
			r.abandon()
			return nil
		}
	}
}

// enqueue adds a fetched snapshot to the backlog, dropping the oldest when it is full. A paced source is never
// asked for more while the backlog is full, so only a live feed, which moves on anyway, loses one here.
func (r *Runner) enqueue(f *fetched) {
	if len(r.backlog) >= r.cfg.Backlog {
		lost := r.backlog[0]
		r.backlog = r.backlog[1:]
		r.log.Error("backlog full: snapshot dropped, never to be written", "update_timestamp",
			lost.snap.General.UpdateTimestamp, "pilots", len(lost.snap.Pilots), "backlog", r.cfg.Backlog)
		r.metrics.dropped.Inc()
		r.mu.Lock()
		r.status.Totals.Dropped++
		r.mu.Unlock()
	}
	r.backlog = append(r.backlog, f)
	r.noteBacklog()
}

// drain writes the backlog in order until it is empty or a cycle fails. Only an error that must stop ingest
// is returned.
func (r *Runner) drain(ctx context.Context) error {
	for len(r.backlog) > 0 && ctx.Err() == nil {
		if r.reload {
			if err := r.load(ctx); err != nil {
				r.fail("reload state", err)
				return nil
			}
			r.reload = false
			// A commit whose acknowledgement was lost is in the database: its snapshot is done.
			for len(r.backlog) > 0 && !feedTime(r.backlog[0].snap.General.UpdateTimestamp).After(r.tracker.LastTimestamp()) {
				r.log.Info("snapshot found committed after a failure", "update_timestamp", r.backlog[0].snap.General.UpdateTimestamp)
				r.backlog = r.backlog[1:]
			}
			r.noteBacklog()
			continue
		}
		f := r.backlog[0]
		err := r.cycle(ctx, f)
		if err == nil {
			r.backlog = r.backlog[1:]
			r.noteBacklog()
			continue
		}
		if errors.Is(err, domain.ErrSuperseded) {
			return fmt.Errorf("ingest stopped: %w", err)
		}
		r.reload = true
		// A database that answers but refuses the snapshot will refuse it again: after Attempts it is given up,
		// so one poisoned snapshot cannot hold back the ones behind it. One that does not answer is down, and
		// the snapshot waits for it however long the backlog allows.
		if perr := r.cfg.Store.Ping(ctx); perr == nil {
			f.attempts++
		}
		if f.attempts >= r.cfg.Attempts {
			r.log.Error("snapshot given up: the database refused it", "update_timestamp",
				f.snap.General.UpdateTimestamp, "attempts", f.attempts, "err", err)
			r.metrics.givenUp.Inc()
			r.mu.Lock()
			r.status.Totals.GivenUp++
			r.mu.Unlock()
			r.backlog = r.backlog[1:]
			r.noteBacklog()
		}
		return nil
	}
	return nil
}

// abandon reports the snapshots a stop leaves unwritten: a restart fetches the live feed anew, so they are lost
// unless the source (a replay) serves them again.
func (r *Runner) abandon() {
	if n := len(r.backlog); n > 0 {
		r.log.Warn("stopping with snapshots not written", "count", n,
			"first", r.backlog[0].snap.General.UpdateTimestamp, "last", r.backlog[n-1].snap.General.UpdateTimestamp)
	}
}

func (r *Runner) noteBacklog() {
	r.metrics.backlog.Set(float64(len(r.backlog)))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Backlog, r.status.BacklogOldest = len(r.backlog), time.Time{}
	if len(r.backlog) > 0 {
		r.status.BacklogOldest = feedTime(r.backlog[0].snap.General.UpdateTimestamp)
	}
}

// claim waits until this instance is the database's ingest writer; false when ctx ended first. While another
// instance holds the claim, this one is a standby: the API serves what is stored, and it tries again every
// quarter lease.
func (r *Runner) claim(ctx context.Context) (bool, error) {
	waiting := false
	for {
		w, err := r.cfg.Store.ClaimWriter(ctx, r.cfg.Instance, r.cfg.Lease, time.Now())
		switch {
		case err == nil:
			r.epoch = w.Epoch
			r.metrics.writer.Set(1)
			r.mu.Lock()
			r.status.Writer, r.status.StandbyFor = &w, nil
			r.mu.Unlock()
			r.log.Info("ingest writer", "instance", w.Holder, "epoch", w.Epoch)
			return true, nil
		case errors.Is(err, domain.ErrWriterBusy):
			r.mu.Lock()
			r.status.StandbyFor = &w
			r.mu.Unlock()
			if !waiting {
				r.log.Warn("standby: another instance is ingesting into this database", "writer", w.Holder,
					"renewed_at", w.RenewedAt, "lease", r.cfg.Lease)
				waiting = true
			}
		case ctx.Err() != nil:
			return false, nil
		default:
			r.fail("claim", err)
		}
		// Until the next try, follow the writer's cycles.
		if !r.followUntil(ctx, time.Now().Add(r.cfg.Lease/4)) {
			return false, nil
		}
	}
}

// followUntil follows the writer's cycles every FollowInterval until deadline; false when ctx ended first.
func (r *Runner) followUntil(ctx context.Context, deadline time.Time) bool {
	for {
		wait := time.Until(deadline)
		if r.cfg.FollowInterval > 0 && r.cfg.Publisher != nil {
			wait = min(wait, r.cfg.FollowInterval)
		}
		if wait <= 0 {
			return true
		}
		if w, ok := r.cfg.Store.(cycleWaiter); ok && r.cfg.Publisher != nil {
			// Woken by the writer's commit where the database notifies it (PostgreSQL's primary); polled
			// otherwise.
			w.WaitForCycle(ctx, wait)
			if ctx.Err() != nil {
				return false
			}
		} else {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
		}
		r.followFrom(ctx, false)
		if !time.Now().Before(deadline) {
			return true
		}
	}
}

// cycleWaiter is a store that can wait for another instance's commit (repository.Store.WaitForCycle).
type cycleWaiter interface {
	WaitForCycle(ctx context.Context, max time.Duration) bool
}

// follow publishes the cycles another instance committed since the last one this instance's streams have,
// as that instance published them: so a standby's subscribers get every event once, in sequence order, live
// (within FollowInterval), with the same resume rules as the writer's. The first position is the hub's, which
// the server seeded from the database; the runner calls it once more after winning the claim, before its own
// first cycle, so nothing the old writer committed is skipped: then from the primary (a store that reads a
// standby reads the primary for a PrimaryFollower's CommittedAfterOnPrimary).
func (r *Runner) followFrom(ctx context.Context, primary bool) {
	if r.cfg.Publisher == nil || r.cfg.FollowInterval < 0 {
		return
	}
	if r.followed == 0 {
		// Where the streams are: a publisher that cannot say (a test's recorder) is not followed for, lest it
		// get every stored cycle again.
		p, ok := r.cfg.Publisher.(interface {
			Position() (int64, *domain.Cycle)
		})
		if !ok {
			return
		}
		if _, c := p.Position(); c != nil {
			r.followed = c.ID
		}
	}
	read := r.cfg.Store.CommittedAfter
	if p, ok := r.cfg.Store.(PrimaryFollower); ok && primary {
		read = p.CommittedAfterOnPrimary
	}
	for ctx.Err() == nil {
		cycles, err := read(ctx, r.followed, followPage)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("following the writer's cycles", "err", err)
			}
			return
		}
		for i := range cycles {
			c := &cycles[i]
			r.cfg.Publisher.Publish(c)
			r.followed = c.Cycle.ID
		}
		if len(cycles) < followPage {
			return
		}
	}
}

// PrimaryFollower is a store that can read the committed cycles from the primary when it reads them from a standby
// otherwise (repository.Store with a read standby).
type PrimaryFollower interface {
	CommittedAfterOnPrimary(ctx context.Context, after int64, limit int) ([]domain.Committed, error)
}

// followPage is how many cycles follow reads at once: a standby that started long after the writer reads
// its backlog of cycles in pages.
const followPage = 100

// release hands the claim back at the end of Run, so a standby need not wait for the lease.
func (r *Runner) release() {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.WriteTimeout)
	defer cancel()
	if err := r.cfg.Store.ReleaseWriter(ctx, r.epoch); err != nil {
		r.log.Warn("release ingest writer", "err", err)
	}
	r.metrics.writer.Set(0)
	r.mu.Lock()
	r.status.Writer = nil
	r.mu.Unlock()
}

// wait paces the loop; a failed snapshot is retried after at least a second even when replaying.
func (r *Runner) wait(ctx context.Context, retry bool) bool {
	d := r.cfg.Interval
	if retry && d < time.Second {
		d = time.Second
	}
	if d == 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// adopt gives the rows stored before sectors had sets the set of the loaded sector with their id, before the
// tracker loads them: otherwise their open visits would close as sector_removed and reopen in the same sector.
// Without sectors loaded yet it waits for the first cycle that has some.
func (r *Runner) adopt(ctx context.Context) error {
	sectors := r.cfg.Sectors()
	if sectors.Empty() {
		return nil
	}
	n, err := r.cfg.Store.AdoptSectorSets(ctx, sectors.SetOf)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	r.adopted = true
	if n.Visits+n.Events+n.Controllers > 0 || len(n.Unknown) > 0 {
		r.log.Info("stored sectors given their sets", "visits", n.Visits, "events", n.Events,
			"controllers", n.Controllers, "ids_no_loaded_set_has", n.Unknown)
	}
	return nil
}

func (r *Runner) load(ctx context.Context) error {
	st, err := r.cfg.Store.LoadState(ctx, departedRetention)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	r.tracker = NewTracker(st, r.cfg.Grace)
	var future time.Time
	if c := st.LastCycle; c != nil && c.UpdateTimestamp.After(r.cfg.Now().Add(r.cfg.FutureTolerance)) {
		// Committed before such snapshots were refused. Left as the reference, it would make every real
		// snapshot look already ingested, for as long as the clock takes to catch up with it.
		future = c.UpdateTimestamp
		valid, err := r.cfg.Store.LastCommittedBefore(ctx, r.cfg.Now().Add(r.cfg.FutureTolerance))
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		var resume time.Time
		if valid != nil {
			resume = valid.UpdateTimestamp
		}
		// The rollups were rebuilt for the hours after the future cycle: the next cycles write the hours after
		// resume, whose stored totals they continue from.
		rollups := &domain.State{}
		if valid != nil {
			if rollups, err = r.cfg.Store.LoadRollups(ctx, resume); err != nil {
				return fmt.Errorf("ingest: %w", err)
			}
		}
		r.tracker.last = resume
		r.tracker.rebuildRollups(rollups)
		r.log.Error("the database's last committed cycle is dated in the future; ingesting newer snapshots than "+
			"the last one dated before the clock", "future_update_timestamp", future, "cycle", c.ID,
			"resume_after", resume, "clock", r.cfg.Now().UTC())
	}
	r.mu.Lock()
	r.status.LastCommitted = st.LastCycle
	r.status.FutureFeedTime = future
	r.mu.Unlock()
	flights, controllers := r.tracker.Online()
	r.log.Info("state loaded", "flights", flights, "controllers", controllers, "open_visits", len(st.OpenVisits),
		"last_update_timestamp", r.tracker.LastTimestamp())
	return nil
}

// fetched is a decoded snapshot waiting to be ingested.
type fetched struct {
	snap      *feed.Snapshot
	fetchedAt time.Time
	decode    time.Duration
	// attempts counts the failed writes while the database answered.
	attempts int
}

// fetch returns the next new snapshot, or nil when there is none (already ingested, or a failure that was
// logged and counted).
func (r *Runner) fetch(ctx context.Context) (*fetched, error) {
	data, err := r.cfg.Source.Fetch(ctx)
	fetchedAt := time.Now().UTC()
	if err != nil {
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return nil, err
		}
		r.fail("feed", err)
		r.metrics.feedErrors.Inc()
		return nil, err
	}
	// Between regenerations the live feed serves the same snapshot again: its header says so without a decode.
	if g, err := feed.ReadGeneral(bytes.NewReader(data)); err == nil && (r.ingested(g.UpdateTimestamp) || r.future(g.UpdateTimestamp)) {
		return nil, nil
	}
	start := time.Now()
	snap, err := feed.Decode(data)
	decode := time.Since(start)
	if err != nil {
		r.fail("decode", err)
		r.metrics.decodeErrors.Inc()
		return nil, err
	}
	if r.ingested(snap.General.UpdateTimestamp) || r.future(snap.General.UpdateTimestamp) {
		return nil, nil
	}
	// An entry with a value that no database stores as it is was left out; the rest of the snapshot goes in.
	for _, rej := range snap.Rejected {
		r.log.Warn("feed entry rejected", "update_timestamp", snap.General.UpdateTimestamp, "list", rej.List,
			"index", rej.Index, "callsign", rej.Callsign, "reason", rej.Reason)
	}
	r.pairTransceivers(ctx, snap)
	return &fetched{snap: snap, fetchedAt: fetchedAt, decode: decode}, nil
}

// pairTransceivers attaches to the snapshot the transceivers file its source serves with it. Without one (the
// source has none, it is stale, or it failed) the cycle still ingests, with its radio coverage unknown: a
// failure here is logged and counted, never a reason to lose the snapshot.
func (r *Runner) pairTransceivers(ctx context.Context, snap *feed.Snapshot) {
	src, ok := r.cfg.Source.(feed.TransceiverSource)
	if !ok {
		return
	}
	data, err := src.FetchTransceivers(ctx, snap.General.UpdateTimestamp)
	var tr *feed.Transceivers
	if err == nil {
		tr, err = feed.DecodeTransceivers(data)
	}
	switch {
	case errors.Is(err, feed.ErrNoTransceivers):
		r.metrics.transceivers.WithLabelValues("none").Inc()
		r.log.Debug("no transceivers file for the snapshot: radio coverage unknown", "update_timestamp",
			snap.General.UpdateTimestamp, "why", err)
	case err != nil:
		r.metrics.transceivers.WithLabelValues("failed").Inc()
		r.log.Warn("transceivers file: radio coverage of the cycle unknown", "update_timestamp",
			snap.General.UpdateTimestamp, "err", err)
	default:
		r.metrics.transceivers.WithLabelValues("paired").Inc()
		if tr.Rejected > 0 {
			r.log.Warn("transceivers entries rejected", "update_timestamp", snap.General.UpdateTimestamp, "rejected", tr.Rejected)
		}
		snap.Transceivers = tr
	}
}

// future reports, counts and logs a snapshot dated too far past the clock: it is refused.
func (r *Runner) future(updateTimestamp time.Time) bool {
	now := r.cfg.Now()
	if !updateTimestamp.After(now.Add(r.cfg.FutureTolerance)) {
		return false
	}
	r.mu.Lock()
	r.status.Totals.Refused++
	r.status.LastError = fmt.Sprintf("feed: snapshot refused: update_timestamp %s is %s past the clock (tolerance %s)",
		updateTimestamp.UTC().Format(time.RFC3339Nano), updateTimestamp.Sub(now).Round(time.Second), r.cfg.FutureTolerance)
	r.status.LastErrorAt = now.UTC()
	r.mu.Unlock()
	r.metrics.refused.Inc()
	r.log.Warn("snapshot refused: dated past the clock", "update_timestamp", updateTimestamp.UTC(),
		"ahead", updateTimestamp.Sub(now).Round(time.Second), "tolerance", r.cfg.FutureTolerance)
	return true
}

// ingested reports, and counts, a snapshot whose update_timestamp was already ingested, or is waiting in the
// backlog to be.
func (r *Runner) ingested(updateTimestamp time.Time) bool {
	ts := feedTime(updateTimestamp)
	last := r.tracker.LastTimestamp()
	if n := len(r.backlog); n > 0 {
		last = feedTime(r.backlog[n-1].snap.General.UpdateTimestamp)
	}
	if ts.After(last) {
		return false
	}
	r.mu.Lock()
	r.status.Totals.Skipped++
	r.mu.Unlock()
	r.metrics.skipped.Inc()
	r.log.Debug("snapshot already ingested", "update_timestamp", ts)
	return true
}

// cycle classifies, diffs, writes and, once committed, applies and publishes one snapshot.
func (r *Runner) cycle(ctx context.Context, f *fetched) error {
	start := time.Now()
	sectors := r.cfg.Sectors()
	if !r.adopted && !sectors.Empty() {
		// The sectors came after the start (a first download): the stored rows without a set can be given
		// theirs now, and the tracker must then resume from them.
		if err := r.adopt(ctx); err != nil {
			return err
		}
		if err := r.load(ctx); err != nil {
			return err
		}
	}
	cls := Classify(f.snap, sectors)
	classify := time.Since(start)
	plan := r.tracker.Diff(f.snap, cls, sectors)
	diff := time.Since(start) - classify

	plan.Write.WriterEpoch = r.epoch
	c := &plan.Write.Cycle
	c.FetchedAt = f.fetchedAt
	c.DecodeUS, c.ClassifyUS, c.DiffUS = f.decode.Microseconds(), classify.Microseconds(), diff.Microseconds()

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.WriteTimeout)
	defer cancel()
	res, err := r.cfg.Store.WriteCycle(wctx, &plan.Write)
	c.WriteUS, c.CommitUS = res.Write.Microseconds(), res.Commit.Microseconds()
	c.TotalUS = (f.decode + time.Since(start)).Microseconds()
	if errors.Is(err, domain.ErrSuperseded) {
		// The database has another writer now, allocating cycle ids from its own state: a failure record
		// from this one could take the id of its next cycle.
		r.fail("write", err)
		return err
	}
	if err != nil {
		msg := err.Error()
		failed := *c
		failed.Error, failed.FirstSequence, failed.LastSequence, failed.CommittedAt = &msg, nil, nil, nil
		if rerr := r.cfg.Store.RecordFailedCycle(wctx, &failed); rerr != nil {
			r.log.Error("record failed cycle", "err", rerr)
		} else {
			// The record took the cycle's id; the next plan must not reuse it, even when the state cannot be
			// reloaded before the next try.
			r.tracker.ReserveCycle(failed.ID)
		}
		r.fail("write", err)
		r.metrics.cycles.WithLabelValues("failed").Inc()
		r.mu.Lock()
		r.status.Last = &failed
		r.status.Totals.Failures++
		r.mu.Unlock()
		return err
	}
	committedAt := res.CommittedAt
	c.CommittedAt, c.Statements = &committedAt, res.Statements
	r.tracker.Apply(plan)
	r.metrics.observe(c)
	r.mu.Lock()
	last := *c
	r.status.Last, r.status.LastCommitted = &last, &last
	r.status.Totals.Cycles++
	r.status.Totals.DuplicateEntries += int64(c.DuplicateEntries)
	r.status.Totals.RejectedEntries += int64(c.RejectedEntries)
	r.mu.Unlock()
	r.log.Info("cycle committed", "update_timestamp", c.UpdateTimestamp, "pilots", c.Pilots,
		"events", c.EventsWritten, "visits_opened", c.VisitsOpened, "visits_closed", c.VisitsClosed,
		"statements", c.Statements, "total_ms", float64(c.TotalUS)/1000)
	if r.cfg.Publisher != nil {
		r.cfg.Publisher.Publish(&domain.Committed{Cycle: last, Events: plan.Write.Events, Flights: r.tracker.Live()})
	}
	r.checkpoint(wctx)
	return nil
}

// checkpoint runs after the publish, so streams never wait for it; a failure costs only a longer log, which the
// next cycle's checkpoint takes up.
func (r *Runner) checkpoint(ctx context.Context) {
	start := time.Now()
	ran, err := r.cfg.Store.Checkpoint(ctx)
	if !ran {
		return
	}
	took := time.Since(start)
	if err != nil {
		r.log.Warn("checkpoint after cycle", "err", err)
	}
	r.metrics.checkpoint.Observe(took.Seconds())
	r.mu.Lock()
	r.status.LastCheckpoint = took
	r.mu.Unlock()
}

func (r *Runner) fail(stage string, err error) {
	r.log.Error("ingest "+stage+" failed", "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.LastError, r.status.LastErrorAt = fmt.Sprintf("%s: %v", stage, err), time.Now().UTC()
	switch stage {
	case "feed":
		r.status.Totals.FeedErrors++
	case "decode":
		r.status.Totals.DecodeErrors++
	}
}
