package repository

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// AdoptSectorSets gives the rows stored before sectors had sets (migration 00007: set "") the set of the
// loaded sector with their id, which resolve returns (false when no loaded set has the id: those rows keep set
// "" and are tried again next time). Visits, events and the controllers' sector lists change in one
// transaction, so a visit and its events never end up in different sets; a database without such rows costs
// two indexed reads and a scan of the controllers whose list still holds a bare id.
func (s *Store) AdoptSectorSets(ctx context.Context, resolve func(id string) (set string, ok bool)) (domain.AdoptedSectors, error) {
	var out domain.AdoptedSectors
	err := s.ingest.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.relyOn(ctx, tx); err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, model := range []any{&Visit{}, &Event{}} {
			var found []string
			if err := tx.Model(model).Distinct("sector_id").Where("sector_set = ''").Pluck("sector_id", &found).Error; err != nil {
				return fmt.Errorf("sectors without a set: %w", err)
			}
			for _, id := range found {
				ids[id] = true
			}
		}
		bySet := map[string][]string{}
		unknown := map[string]bool{}
		for id := range ids {
			if set, ok := resolve(id); ok {
				bySet[set] = append(bySet[set], id)
			} else {
				unknown[id] = true
			}
		}
		for _, set := range slices.Sorted(maps.Keys(bySet)) {
			for _, t := range []struct {
				model any
				n     *int64
			}{{&Visit{}, &out.Visits}, {&Event{}, &out.Events}} {
				// One statement per set and table, whatever the number of ids: IN over a few hundred VATSpy ids
				// at most, answered from the (sector_set, sector_id) index.
				res := tx.Model(t.model).Where("sector_set = '' AND sector_id IN ?", bySet[set]).Update("sector_set", set)
				if res.Error != nil {
					return fmt.Errorf("adopt set %q: %w", set, res.Error)
				}
				*t.n += res.RowsAffected
			}
		}

		// The controllers' lists: each distinct list holding a bare id ("/id") is rewritten once.
		var lists []string
		if err := tx.Model(&Controller{}).Distinct("sectors").
			Where(`sectors LIKE '/%' OR sectors LIKE '% /%'`).Pluck("sectors", &lists).Error; err != nil {
			return fmt.Errorf("controllers' sectors without a set: %w", err)
		}
		for _, list := range lists {
			refs := parseSectorList(list)
			for i, r := range refs {
				if r.Set != "" {
					continue
				}
				if set, ok := resolve(r.ID); ok {
					refs[i].Set = set
				} else {
					unknown[r.ID] = true
				}
			}
			slices.SortFunc(refs, domain.SectorRef.Compare)
			adopted := sectorList(refs)
			if adopted == list {
				continue
			}
			res := tx.Model(&Controller{}).Where("sectors = ?", list).Update("sectors", adopted)
			if res.Error != nil {
				return fmt.Errorf("adopt controllers' sectors: %w", res.Error)
			}
			out.Controllers += res.RowsAffected
		}
		out.Unknown = slices.Sorted(maps.Keys(unknown))
		return nil
	})
	if err != nil {
		return domain.AdoptedSectors{}, fmt.Errorf("repository: adopt sector sets: %w", err)
	}
	return out, nil
}
