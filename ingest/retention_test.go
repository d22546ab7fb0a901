package ingest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
)

type prunerFunc func(positionsBefore, eventsBefore time.Time) (domain.Pruned, error)

func (f prunerFunc) Prune(_ context.Context, p, e time.Time) (domain.Pruned, error) {
	return f(p, e)
}

func TestRetentionCountsBackFromTheFeedTimeButNeverFromTheFuture(t *testing.T) {
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name                string
		feed                time.Time
		positions, events   time.Duration
		wantPositions, want time.Time
		wantCall            bool
	}{
		{name: "replay of old snapshots keeps what it writes", feed: clock.AddDate(-2, 0, 0), positions: 48 * time.Hour, events: 720 * time.Hour,
			wantPositions: clock.AddDate(-2, 0, 0).Add(-48 * time.Hour), want: clock.AddDate(-2, 0, 0).Add(-720 * time.Hour), wantCall: true},
		{name: "a feed time in the future counts from the clock", feed: clock.AddDate(4, 0, 0), positions: 48 * time.Hour, events: 720 * time.Hour,
			wantPositions: clock.Add(-48 * time.Hour), want: clock.Add(-720 * time.Hour), wantCall: true},
		{name: "zero keeps that kind", feed: clock, positions: 48 * time.Hour, wantPositions: clock.Add(-48 * time.Hour), wantCall: true},
		{name: "nothing committed yet", feed: time.Time{}, positions: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			r := Retention{Positions: tt.positions, Events: tt.events, FeedNow: func() time.Time { return tt.feed },
				Now: func() time.Time { return clock },
				Store: prunerFunc(func(p, e time.Time) (domain.Pruned, error) {
					called = true
					if !p.Equal(tt.wantPositions) || !e.Equal(tt.want) {
						t.Errorf("pruned positions before %v and events before %v, want %v and %v", p, e, tt.wantPositions, tt.want)
					}
					return domain.Pruned{}, nil
				})}
			r.Once(context.Background())
			if called != tt.wantCall {
				t.Errorf("pruned %v, want %v", called, tt.wantCall)
			}
		})
	}
}

// maintainedPruner records the calls of a store that keeps partitions.
type maintainedPruner struct {
	calls []string
}

func (m *maintainedPruner) Prune(_ context.Context, p, e time.Time) (domain.Pruned, error) {
	m.calls = append(m.calls, "prune")
	return domain.Pruned{}, nil
}

func (m *maintainedPruner) EnsurePartitions(_ context.Context, now time.Time) error {
	m.calls = append(m.calls, "ensure "+now.Format(time.DateOnly))
	return nil
}

func TestRetentionEnsuresPartitionsBeforePruning(t *testing.T) {
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		feed      time.Time
		positions time.Duration
		want      []string
	}{
		{name: "live", feed: clock.Add(-15 * time.Second), positions: 48 * time.Hour,
			want: []string{"ensure 2026-12-01", "prune"}},
		{name: "replay of old snapshots: the clock's days and the feed's", feed: clock.AddDate(-2, 0, 0), positions: 48 * time.Hour,
			want: []string{"ensure 2026-12-01", "ensure 2024-12-01", "prune"}},
		{name: "nothing committed yet: partitions all the same", want: []string{"ensure 2026-12-01"}},
		{name: "retention off: partitions all the same", feed: clock, want: []string{"ensure 2026-12-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &maintainedPruner{}
			r := Retention{Store: store, Positions: tt.positions, FeedNow: func() time.Time { return tt.feed },
				Now: func() time.Time { return clock }}
			r.Once(context.Background())
			if !slices.Equal(store.calls, tt.want) {
				t.Errorf("calls %q, want %q", store.calls, tt.want)
			}
		})
	}
}
