package repository

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// domain.SectorSnapshot returns SectorStates of the sectors (all sectors when ids is nil) with the latest committed
// event sequence and cycle, all from the same snapshot of the database.
func (s *Store) SectorSnapshot(ctx context.Context, ids []domain.SectorRef) (*domain.SectorSnapshot, error) {
	out := &domain.SectorSnapshot{}
	err := s.read(ctx, func(tx *gorm.DB) error {
		var err error
		if out.States, err = s.sectorStates(tx, ids); err != nil {
			return err
		}
		last, err := lastCommitted(tx)
		if err != nil {
			return err
		}
		// The primary key answers MAX at once. Pruning only ever removes a prefix of the sequence, so the
		// latest event is kept unless every event was pruned; the last cycle's own bound covers that case.
		if err := tx.Model(&Event{}).Select("COALESCE(MAX(sequence), 0)").Scan(&out.Sequence).Error; err != nil {
			return fmt.Errorf("latest sequence: %w", err)
		}
		if last != nil {
			out.Cycle = cycleOf(last)
			if last.LastSequence != nil {
				out.Sequence = max(out.Sequence, *last.LastSequence)
			}
		}
		return nil
	})
	if err != nil {
		return nil, readError("sector snapshot", err)
	}
	return out, nil
}
