package server

import (
	"fmt"
	"strings"

	"github.com/vatsector/vatsector/domain"
)

// A sector's resource name (AIP-122) is "sets/{set}/sectors/{id}": ids are unique only within their set.

const (
	setsPrefix        = "sets/"
	sectorsCollection = "/sectors/"
)

// sectorName is the resource name of a sector; empty for a sector stored before sectors had sets whose id no
// loaded set has (set "").
func sectorName(r domain.SectorRef) string {
	if r.Set == "" {
		return ""
	}
	return setsPrefix + r.Set + sectorsCollection + r.ID
}

func sectorNames(refs []domain.SectorRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = sectorName(r)
	}
	return out
}

func sectorIDs(refs []domain.SectorRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

// parseSectorName reads a resource name; isName is false for anything that does not start with "sets/" (a bare
// id), and err says what is wrong with one that does but is malformed. The id is everything after the set's
// "/sectors/", so an id may hold a "/"; a set name never does.
func parseSectorName(field, s string) (ref domain.SectorRef, isName bool, err error) {
	rest, ok := strings.CutPrefix(s, setsPrefix)
	if !ok {
		return domain.SectorRef{}, false, nil
	}
	set, id, ok := strings.Cut(rest, "/")
	if !ok || set == "" || !strings.HasPrefix("/"+id, sectorsCollection) || len(id) <= len(sectorsCollection)-1 {
		return domain.SectorRef{}, true, invalidf("%s %q is not a sector resource name: want sets/{set}/sectors/{id}, "+
			"for example sets/vatspy/sectors/EGTT", field, s)
	}
	return domain.SectorRef{Set: set, ID: id[len(sectorsCollection)-1:]}, true, nil
}

// resolveSector reads a request's sector: a resource name, or a bare id that one loaded set alone has. loaded
// says whether the sector is loaded now. A bare id no loaded set has resolves to set "", which the filters
// take as that id in any set: the history of a sector no longer loaded, or one loaded later. A bare id
// several loaded sets have is INVALID_ARGUMENT naming each sector it could be.
func (q *queryService) resolveSector(field, s string) (ref domain.SectorRef, loaded bool, err error) {
	ref, isName, err := parseSectorName(field, s)
	if err != nil {
		return domain.SectorRef{}, false, err
	}
	a := q.sectors.Airspace()
	if isName {
		if a != nil {
			_, loaded = a.Sector(ref.Set, ref.ID)
		}
		return ref, loaded, nil
	}
	if a == nil {
		return domain.SectorRef{ID: s}, false, nil
	}
	same := a.Lookup(s)
	switch len(same) {
	case 0:
		return domain.SectorRef{ID: s}, false, nil
	case 1:
		return domain.SectorRef{Set: same[0].Set, ID: s}, true, nil
	}
	names := make([]string, len(same))
	for i, c := range same {
		names[i] = sectorName(domain.SectorRef{Set: c.Set, ID: c.ID})
	}
	return domain.SectorRef{}, false, invalidf("%s %q is ambiguous: %d loaded sets have a sector with this id; name one of %s",
		field, s, len(same), strings.Join(names, ", "))
}

// resolveSectors resolves each of a filter's sectors (resolveSector), naming the element that is wrong.
func (q *queryService) resolveSectors(field string, ss []string) ([]domain.SectorRef, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]domain.SectorRef, len(ss))
	for i, s := range ss {
		ref, _, err := q.resolveSector(fmt.Sprintf("%s[%d]", field, i), s)
		if err != nil {
			return nil, err
		}
		out[i] = ref
	}
	return out, nil
}
