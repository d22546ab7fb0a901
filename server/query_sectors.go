package server

import (
	"context"
	"strings"
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

// loaded returns the sectors loaded now, sorted by set then id; none before any is loaded.
func (q *queryService) loaded() []*airspace.Sector {
	a := q.sectors.Airspace()
	if a == nil {
		return nil
	}
	return a.Sectors()
}

// sectorQuery is ListSectors' filters.
type sectorQuery struct {
	set, kind string
	// sectors are resource names or bare ids.
	sectors []string
}

func (q *queryService) listSectors(ctx context.Context, sq sectorQuery, size int32, token string) ([]sectorView, string, error) {
	only, err := q.resolveSectors("sectors", sq.sectors)
	if err != nil {
		return nil, "", err
	}
	only = canonicalRefs(only)
	fp := fingerprint("ListSectors", sq.set, sq.kind, only)
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	var after domain.SectorRef
	if tok != nil {
		after = domain.ParseSectorRef(tok.Key)
	}
	want := setOf(only)
	n := pageSize(size, defaultSectorsPageSize, maxSectorsPageSize)
	var page []*airspace.Sector
	more := false
	// Sectors come sorted by set then id from memory, so the keyset is the last one's set/id.
	for _, s := range q.loaded() {
		ref := domain.SectorRef{Set: s.Set, ID: s.ID}
		if (sq.set != "" && s.Set != sq.set) || (sq.kind != "" && s.Kind != sq.kind) || (want != nil && !want[ref]) ||
			(tok != nil && ref.Compare(after) <= 0) {
			continue
		}
		if len(page) == n {
			more = true
			break
		}
		page = append(page, s)
	}
	refs := make([]domain.SectorRef, len(page))
	for i, s := range page {
		refs[i] = domain.SectorRef{Set: s.Set, ID: s.ID}
	}
	states, err := q.store.SectorStates(ctx, refs)
	if err != nil {
		return nil, "", err
	}
	out := make([]sectorView, len(page))
	for i, s := range page {
		out[i] = sectorView{sector: s, state: states[refs[i]]}
	}
	next := ""
	if more {
		next = encodePageToken(fp, refs[len(refs)-1].String(), 0)
	}
	return out, next, nil
}

// Occupants per GetSectorOccupancy page: a busy FIR held 1,728 flights at once, a 700 KB answer.
const (
	defaultOccupantsPageSize = 500
	maxOccupantsPageSize     = 1000
)

// sectorOccupancy serves the sector a request names by its resource name, its sector_id, or both when they
// name the same sector.
func (q *queryService) sectorOccupancy(ctx context.Context, name, id string, size int32, token string) (
	*airspace.Sector, *domain.Occupancy, string, error,
) {
	sector, field := id, "sector_id"
	if name != "" {
		sector, field = name, "name"
	}
	ref, loaded, err := q.resolveSector(field, sector)
	if err != nil {
		return nil, nil, "", err
	}
	if name != "" && id != "" {
		other, _, err := q.resolveSector("sector_id", id)
		if err != nil {
			return nil, nil, "", err
		}
		if other != ref {
			return nil, nil, "", invalidf("name %q and sector_id %q name different sectors: set one of them", name, id)
		}
	}
	var s *airspace.Sector
	if a := q.sectors.Airspace(); loaded && a != nil {
		s, loaded = a.Sector(ref.Set, ref.ID)
	}
	if !loaded {
		return nil, nil, "", notFoundf("sector %q is not loaded", sector)
	}
	fp := fingerprint("GetSectorOccupancy", ref)
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, nil, "", err
	}
	var after *repository.OccupantKey
	if tok != nil {
		after = &repository.OccupantKey{EnteredAt: time.Unix(0, tok.At).UTC(), Callsign: tok.Key, VisitID: tok.ID}
	}
	n := pageSize(size, defaultOccupantsPageSize, maxOccupantsPageSize)
	occ, err := q.store.SectorOccupancy(ctx, ref, after, n+1)
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

func (q *queryService) listEvents(ctx context.Context, sectors []string, f repository.EventFilter, size int32, token string) (
	[]domain.Event, string, error,
) {
	var err error
	if f.Sectors, err = q.resolveSectors("sector_ids", sectors); err != nil {
		return nil, "", err
	}
	f.Sectors, f.Sets, f.Kinds = canonicalRefs(f.Sectors), canonicalSet(f.Sets), canonicalSet(f.Kinds)
	fp := fingerprint("ListSectorEvents", f.Sectors, f.Sets, f.Kinds, unixMicro(f.From), unixMicro(f.Until),
		f.FlightCID, strings.ToUpper(f.FlightCallsign))
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
