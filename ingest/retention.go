package ingest

import (
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
	// Every is how often it prunes (DefaultRetentionEvery when zero): often enough that each run deletes a
	// small slice, so it never holds a lock for long beside the cycles.
	Every time.Duration
	// FeedNow returns the feed time of the last committed cycle, zero before the first.
	FeedNow func() time.Time
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultRetentionEvery is how often Retention prunes by default.
const DefaultRetentionEvery = time.Hour

// Run prunes every Every until ctx ends.
func (r Retention) Run(ctx context.Context) {
	if r.Positions == 0 && r.Events == 0 {
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
	now := r.FeedNow()
	if now.IsZero() {
		return
	}
	clock := time.Now
	if r.Now != nil {
		clock = r.Now
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
	p, err := r.Store.Prune(ctx, positions, events)
	if err != nil {
		log.Error("prune", "err", err)
		return
	}
	log.Info("pruned", "positions", p.Positions, "events", p.Events, "positions_before", positions, "events_before", events)
}
