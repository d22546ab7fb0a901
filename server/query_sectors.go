package server

import (
	"context"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/repository"
)

// sectorView is a loaded sector with its live figures.
type sectorView struct {
	sector *airspace.Sector
	state  domain.SectorState
}

// loaded returns the sectors loaded now, sorted by id; none before any is loaded.
func (q *queryService) loaded() []*airspace.Sector {
	a := q.sectors.Airspace()
	if a == nil {
		return nil
	}
	return a.Sectors()
}

func (q *queryService) listSectors(ctx context.Context, set, kind string, size int32, token string) ([]sectorView, string, error) {
	fp := fingerprint("ListSectors", set, kind)
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(size, defaultSectorsPageSize, maxSectorsPageSize)
	var page []*airspace.Sector
	more := false
	// Sectors come sorted by id from memory, so the keyset is the last id.
	for _, s := range q.loaded() {
		if (set != "" && s.Set != set) || (kind != "" && s.Kind != kind) || (tok != nil && s.ID <= tok.Key) {
			continue
		}
		if len(page) == n {
			more = true
			break
		}
		page = append(page, s)
	}
	ids := make([]string, len(page))
	for i, s := range page {
		ids[i] = s.ID
	}
	states, err := q.store.SectorStates(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]sectorView, len(page))
	for i, s := range page {
		out[i] = sectorView{sector: s, state: states[s.ID]}
	}
	next := ""
	if more {
		next = encodePageToken(fp, page[len(page)-1].ID, 0)
	}
	return out, next, nil
}

// Occupants per GetSectorOccupancy page: a busy FIR held 1,728 flights at once, a 700 KB answer.
const (
	defaultOccupantsPageSize = 500
	maxOccupantsPageSize     = 1000
)

func (q *queryService) sectorOccupancy(ctx context.Context, id string, size int32, token string) (
	*airspace.Sector, *domain.Occupancy, string, error,
) {
	fp := fingerprint("GetSectorOccupancy", id)
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, nil, "", err
	}
	a := q.sectors.Airspace()
	var s *airspace.Sector
	ok := false
	if a != nil {
		if same := a.Lookup(id); len(same) == 1 {
			s, ok = same[0], true
		}
	}
	if !ok {
		return nil, nil, "", notFoundf("sector %q is not loaded", id)
	}
	var after *repository.OccupantKey
	if tok != nil {
		after = &repository.OccupantKey{EnteredAt: time.Unix(0, tok.At).UTC(), Callsign: tok.Key, VisitID: tok.ID}
	}
	n := pageSize(size, defaultOccupantsPageSize, maxOccupantsPageSize)
	occ, err := q.store.SectorOccupancy(ctx, id, after, n+1)
	if err != nil {
		return nil, nil, "", err
	}
	next := ""
	if len(occ.Occupants) > n {
		occ.Occupants = occ.Occupants[:n]
		last := occ.Occupants[n-1]
		next = encodeToken(pageToken{Filter: fp, Key: last.Flight.Callsign, ID: last.VisitID, At: last.EnteredAt.UnixNano()})
	}
	return s, occ, next, nil
}

func (q *queryService) listEvents(ctx context.Context, f repository.EventFilter, size int32, token string) ([]domain.Event, string, error) {
	f.SectorIDs, f.Kinds = canonicalSet(f.SectorIDs), canonicalSet(f.Kinds)
	fp := fingerprint("ListSectorEvents", f.SectorIDs, f.Kinds, unixMicro(f.From), unixMicro(f.Until))
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	var after int64
	if tok != nil {
		after = tok.ID
	}
	n := pageSize(size, defaultPageSize, maxPageSize)
	events, err := q.store.ListEvents(ctx, f, after, 0, n+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(events) > n {
		events = events[:n]
		next = encodePageToken(fp, "", events[n-1].Sequence)
	}
	return events, next, nil
}
