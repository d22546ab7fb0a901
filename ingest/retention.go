package ingest

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// Pruner deletes history past its retention.
type Pruner interface {
	Prune(ctx context.Context, positionsBefore, eventsBefore time.Time) (domain.Pruned, error)
}

// Retention deletes positions and events past their retention, every Every (hourly by default). It counts back
// from the feed time of the last committed cycle, not the wall clock: on the live network they are seconds
// apart, and a replay of old snapshots keeps the history it is writing. But never from past the clock: a feed
// time in the future (committed before such snapshots were refused) would delete the history retention is
// meant to keep.
type Retention struct {
	Store Pruner
	// Positions and Events are how long each is kept; zero keeps it forever.
	Positions, Events time.Duration
	// SectorHours is how long hourly rollups are kept when Store is a SectorHoursPruner; zero takes
	// DefaultSectorHoursRetention, a negative value keeps them forever.
	SectorHours time.Duration
	// Every is how often it prunes (DefaultRetentionEvery when zero): often enough that each run deletes a
	// small slice, so it never holds a lock for long beside the cycles.
	Every time.Duration
	// FeedNow returns the feed time of the last committed cycle, zero before the first.
	FeedNow func() time.Time
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// SectorHoursPruner deletes hourly rollups past their retention; a Pruner that is one prunes them too.
type SectorHoursPruner interface {
	PruneSectorHours(ctx context.Context, before time.Time) (int64, error)
}

// PartitionMaintainer creates the partitions history will be written to, ahead of time (PostgreSQL's day
// partitions); a Pruner that is one has them created on every run, before it prunes, whatever the retention.
type PartitionMaintainer interface {
	EnsurePartitions(ctx context.Context, now time.Time) error
}

// DefaultSectorHoursRetention is how long hourly rollups are kept when Retention.SectorHours is zero: longer than
// the longest range the statistics serve (366 days of daily buckets). A rollup is a row per sector and hour, a
// few hundred rows an hour.
const DefaultSectorHoursRetention = 400 * 24 * time.Hour

// DefaultRetentionEvery is how often Retention prunes by default.
const DefaultRetentionEvery = time.Hour

// Run prunes every Every until ctx ends.
func (r Retention) Run(ctx context.Context) {
	_, hours := r.Store.(SectorHoursPruner)
	_, partitions := r.Store.(PartitionMaintainer)
	if r.Positions == 0 && r.Events == 0 && (!hours || r.SectorHours < 0) && !partitions {
		return
	}
	every := r.Every
	if every <= 0 {
		every = DefaultRetentionEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.Once(ctx)
	}
}

// Once prunes once, now.
func (r Retention) Once(ctx context.Context) {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := time.Now
	if r.Now != nil {
		clock = r.Now
	}
	now := r.FeedNow()
	if pm, ok := r.Store.(PartitionMaintainer); ok {
		// The days ahead of the clock, and of the feed time when it is on an earlier day (a replay of old
		// snapshots): the days the next cycles will write to. (Truncate counts from year 1, a UTC midnight.)
		days := []time.Time{clock().UTC()}
		if !now.IsZero() && now.Before(days[0].Truncate(24*time.Hour)) {
			days = append(days, now)
		}
		for _, d := range days {
			if err := pm.EnsurePartitions(ctx, d); err != nil {
				// Not fatal: the partitions are created days ahead, and a cycle creates its own if missing.
				log.Error("ensure partitions", "err", err)
				break
			}
		}
	}
	if now.IsZero() {
		return
	}
	if c := clock().UTC(); now.After(c) {
		now = c
	}
	var positions, events time.Time
	if r.Positions > 0 {
		positions = now.Add(-r.Positions)
	}
	if r.Events > 0 {
		events = now.Add(-r.Events)
	}
	var p domain.Pruned
	if r.Positions > 0 || r.Events > 0 {
		var err error
		if p, err = r.Store.Prune(ctx, positions, events); err != nil {
			log.Error("prune", "err", err)
			return
		}
	}
	var hours time.Time
	if hp, ok := r.Store.(SectorHoursPruner); ok && r.SectorHours >= 0 {
		keep := cmp.Or(r.SectorHours, DefaultSectorHoursRetention)
		hours = now.Add(-keep).Truncate(time.Hour)
		n, err := hp.PruneSectorHours(ctx, hours)
		if err != nil {
			log.Error("prune sector hours", "err", err)
			return
		}
		p.SectorHours = n
	}
	log.Info("pruned", "positions", p.Positions, "events", p.Events, "sector_hours", p.SectorHours,
		"positions_before", positions, "events_before", events, "sector_hours_before", hours)
}
