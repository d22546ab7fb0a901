package repository

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

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
		before, err := s.keepLatestPositions(db, positionsBefore.UTC())
		if err != nil {
			return p, fmt.Errorf("repository: prune positions: %w", err)
		}
		res := db.Where("observed_at < ?", before).Delete(&Position{})
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

// keepLatestPositions moves a positions cutoff back so that it keeps the newest position of every flight not
// disconnected, which holds the flight's latest state (latest.go). Ingest disconnects a flight missing longer
// than its grace period, so with a retention longer than that (the default: days against minutes) no such
// position is ever older than the cutoff; with a shorter one, the history waits for the flight to disconnect.
// A cycle committed meanwhile only adds newer positions, so the cutoff stays safe until the delete.
func (s *Store) keepLatestPositions(db *gorm.DB, before time.Time) (time.Time, error) {
	var oldest []time.Time
	// The column itself, not MIN(): SQLite returns a time only for a column declared as one.
	if err := s.flightsNow(db).Select("lp.observed_at").Where("flights.disconnected_at IS NULL AND lp.observed_at IS NOT NULL").
		Order("lp.observed_at").Limit(1).Scan(&oldest).Error; err != nil {
		return before, fmt.Errorf("newest positions of the flights online: %w", err)
	}
	if len(oldest) > 0 && oldest[0].Before(before) {
		return oldest[0].UTC(), nil
	}
	return before, nil
}
