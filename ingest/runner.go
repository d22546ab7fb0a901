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

	"github.com/vatsector/vatsector/ingest/feed"
	"github.com/vatsector/vatsector/repository"
)

// Publisher receives every committed cycle. Publish is called from the ingest loop after the commit and must
// not block: a slow subscriber is the publisher's problem, never ingest's.
type Publisher interface {
	Publish(c *Committed)
}

// Committed is a cycle as stored: its record and its events in sequence order.
type Committed struct {
	Cycle  repository.Cycle
	Events []repository.Event
}

// Config wires a Runner.
type Config struct {
	Source feed.Source
	Store  *repository.Store
	// Sectors returns the airspace to classify with; it is asked once per cycle so a refreshed sector set is
	// picked up between cycles.
	Sectors func() Sectors
	// Interval between polls; zero polls again as soon as a cycle is done (replay as fast as possible).
	Interval time.Duration
	// Grace is how long a connection may be missing before it is disconnected (DefaultGrace when zero).
	Grace time.Duration
	// WriteTimeout bounds a cycle's transaction (DefaultWriteTimeout when zero).
	WriteTimeout time.Duration
	// Attempts is how often one snapshot is tried before it is given up (3 when zero).
	Attempts  int
	Publisher Publisher
	Logger    *slog.Logger
	// Registerer receives the ingest metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Instance identifies this process as the database's ingest writer (the host name when empty): an instance
	// with the same identity takes over at once, another one waits until this one's claim is older than Lease.
	Instance string
	// Lease is how long the claim of a writer that stopped committing holds (DefaultLease when zero).
	Lease time.Duration
}

// DefaultLease is eight cycles of the feed: long enough that a slow cycle or a short database outage does not
// hand ingest over, short enough that a standby takes over a dead writer within minutes.
const DefaultLease = 2 * time.Minute

// DefaultWriteTimeout bounds a cycle's transaction: several cycles' worth of the 15 s cadence would be
// pointless to wait for, a newer snapshot will be there.
const DefaultWriteTimeout = 30 * time.Second

// Runner is the ingest loop.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	tracker *Tracker
	// epoch is this instance's writer claim, renewed by every cycle.
	epoch int64

	mu     sync.Mutex
	status Status
}

// Status is what the ingestion status serves.
type Status struct {
	Source string
	// Last is the last cycle attempted, committed or failed; nil before the first.
	Last *repository.Cycle
	// LastCommitted is the last committed cycle, possibly loaded from the database at start.
	LastCommitted *repository.Cycle
	// LastError is the last failure of any kind (feed, decode, write), with when it happened.
	LastError   string
	LastErrorAt time.Time
	// Writer is this instance's claim on ingesting into the database; nil while another instance holds it.
	Writer *repository.Writer
	// StandbyFor is the other instance's claim while this one waits for it (standby); nil otherwise.
	StandbyFor *repository.Writer
	// LastCheckpoint is how long the SQLite log checkpoint after the last cycle's publish took (0 on
	// PostgreSQL, and before the first).
	LastCheckpoint time.Duration
	Totals         Totals
	Started        time.Time
}

// Totals count since start.
type Totals struct {
	Cycles, Skipped, Failures, FeedErrors, DecodeErrors int64
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
	if err := r.load(ctx); err != nil {
		return err
	}
	var pending *fetched
	attempts := 0
	for {
		if pending == nil {
			f, err := r.fetch(ctx)
			switch {
			case errors.Is(err, io.EOF):
				r.log.Info("feed exhausted", "source", r.cfg.Source.String())
				return nil
			case ctx.Err() != nil:
				return nil
			case err == nil:
				pending, attempts = f, 0
			}
		}
		if pending != nil {
			attempts++
			if err := r.cycle(ctx, pending); err != nil {
				if errors.Is(err, repository.ErrSuperseded) {
					return fmt.Errorf("ingest stopped: %w", err)
				}
				if attempts >= r.cfg.Attempts {
					r.log.Error("snapshot given up", "update_timestamp", pending.snap.General.UpdateTimestamp, "attempts", attempts)
					pending = nil
				}
				// The database is the truth after a failure: normally the same state (the transaction rolled
				// back), but a commit whose acknowledgement was lost would otherwise be written twice.
				if err := r.load(ctx); err != nil {
					r.log.Error("reload state after failed cycle", "err", err)
				}
			} else {
				pending = nil
			}
		}
		if !r.wait(ctx, pending != nil) {
			return nil
		}
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
		case errors.Is(err, repository.ErrWriterBusy):
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
		t := time.NewTimer(r.cfg.Lease / 4)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, nil
		case <-t.C:
		}
	}
}

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

func (r *Runner) load(ctx context.Context) error {
	st, err := r.cfg.Store.LoadState(ctx, departedRetention)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	r.tracker = NewTracker(st, r.cfg.Grace)
	r.mu.Lock()
	r.status.LastCommitted = st.LastCycle
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
	if g, err := feed.ReadGeneral(bytes.NewReader(data)); err == nil && r.ingested(g.UpdateTimestamp) {
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
	if r.ingested(snap.General.UpdateTimestamp) {
		return nil, nil
	}
	return &fetched{snap: snap, fetchedAt: fetchedAt, decode: decode}, nil
}

// ingested reports, and counts, a snapshot whose update_timestamp was already ingested.
func (r *Runner) ingested(updateTimestamp time.Time) bool {
	ts := feedTime(updateTimestamp)
	if ts.After(r.tracker.LastTimestamp()) {
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
	if errors.Is(err, repository.ErrSuperseded) {
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
	r.mu.Unlock()
	r.log.Info("cycle committed", "update_timestamp", c.UpdateTimestamp, "pilots", c.Pilots,
		"events", c.EventsWritten, "visits_opened", c.VisitsOpened, "visits_closed", c.VisitsClosed,
		"statements", c.Statements, "total_ms", float64(c.TotalUS)/1000)
	if r.cfg.Publisher != nil {
		r.cfg.Publisher.Publish(&Committed{Cycle: last, Events: plan.Write.Events})
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
