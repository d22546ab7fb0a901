package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// Prune deletes positions observed before positionsBefore and the events of cycles whose feed time is before
// eventsBefore (a zero time keeps everything of that kind). Visits, flights and cycle records are history and kept. It runs on its
// own connection, outside any cycle; run it often (hourly) so each run deletes a small slice.
func (s *Store) Prune(ctx context.Context, positionsBefore, eventsBefore time.Time) (domain.Pruned, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var p domain.Pruned
	db := s.ingest.WithContext(ctx)
	if !positionsBefore.IsZero() {
		res := db.Where("observed_at < ?", positionsBefore.UTC()).Delete(&Position{})
		if res.Error != nil {
			return p, fmt.Errorf("repository: prune positions: %w", res.Error)
		}
		p.Positions = res.RowsAffected
	}
	if !eventsBefore.IsZero() {
		// Events go by whole cycles, a prefix of the sequence: a disconnection's exit carries the earlier
		// last-seen time, so cutting by occurred_at could leave a hole that a resuming stream would not notice.
		last := db.Model(&Cycle{}).Select("COALESCE(MAX(last_sequence), 0)").
			Where("error IS NULL AND update_timestamp < ?", eventsBefore.UTC())
		res := db.Where("sequence <= (?)", last).Delete(&Event{})
		if res.Error != nil {
			return p, fmt.Errorf("repository: prune events: %w", res.Error)
		}
		p.Events = res.RowsAffected
	}
	return p, nil
}
