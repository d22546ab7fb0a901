package airspace

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tidwall/rtree"
)

// Airspace is a set of loaded sectors with a spatial index. It is immutable after New and safe for concurrent use.
type Airspace struct {
	sectors []*Sector // sorted by ID
	byID    map[string]*Sector
	sets    []*Set
	polys   []indexedPolygon
	// tree holds one entry per polygon (not per sector): sectors split at the antimeridian have a bounding box
	// spanning the whole globe, while each of their polygons has a tight one.
	tree rtree.RTreeG[int32]
}

type indexedPolygon struct {
	sector *Sector
	poly   *polygon
}

// New indexes the sectors of the given sets. Sector IDs must be unique across all sets and set names distinct.
func New(sets ...*Set) (*Airspace, error) {
	a := &Airspace{byID: make(map[string]*Sector)}
	setNames := make(map[string]bool)
	for i, set := range sets {
		if set == nil {
			return nil, fmt.Errorf("airspace: set %d is nil", i)
		}
		if setNames[set.Name] {
			return nil, fmt.Errorf("airspace: two sets are named %q; sector Set names must tell them apart", set.Name)
		}
		setNames[set.Name] = true
		a.sets = append(a.sets, set)
		for _, s := range set.Sectors {
			if s == nil || s.ID == "" {
				return nil, fmt.Errorf("airspace: set %q has a sector without an ID", set.Name)
			}
			if len(s.polys) == 0 {
				return nil, fmt.Errorf("airspace: sector %q of set %q has no geometry (sectors come from the loaders)", s.ID, set.Name)
			}
			if old, dup := a.byID[s.ID]; dup {
				return nil, fmt.Errorf("airspace: sector id %q is in both set %q and set %q; ids must be unique across everything loaded",
					s.ID, old.Set, set.Name)
			}
			a.byID[s.ID] = s
			a.sectors = append(a.sectors, s)
		}
	}
	sortSectors(a.sectors)
	for _, s := range a.sectors {
		for _, p := range s.polys {
			if len(a.polys) == math.MaxInt32 {
				return nil, errors.New("airspace: too many polygons")
			}
			a.tree.Insert([2]float64{p.minX, p.minY}, [2]float64{p.maxX, p.maxY}, int32(len(a.polys)))
			a.polys = append(a.polys, indexedPolygon{s, p})
		}
	}
	return a, nil
}

// Sectors returns every sector, sorted by ID. The slice is the caller's; the sectors are shared and must not be
// modified.
func (a *Airspace) Sectors() []*Sector { return slices.Clone(a.sectors) }

// Sector returns the sector with this ID.
func (a *Airspace) Sector(id string) (*Sector, bool) {
	s, ok := a.byID[id]
	return s, ok
}

// Locate appends to dst every sector containing the position (see the package documentation for the rules) and
// returns the extended slice; the appended part is sorted by ID and has no duplicates. It allocates nothing when
// dst has room, so a caller classifying many positions reuses one slice: dst = a.Locate(lat, lon, alt, dst[:0]).
func (a *Airspace) Locate(lat, lon float64, altitudeFt int, dst []*Sector) []*Sector {
	x, y, ok := normalize(lat, lon)
	if !ok {
		return dst
	}
	start := len(dst)
	pt := [2]float64{x, y}
	a.tree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		ip := &a.polys[i]
		if !ip.sector.inBand(altitudeFt) || slices.Contains(dst[start:], ip.sector) {
			return true
		}
		if ip.poly.contains(x, y) {
			dst = append(dst, ip.sector)
		}
		return true
	})
	slices.SortFunc(dst[start:], compareByID)
	return dst
}

// locateBruteForce is Locate without the R-tree, bounding boxes or edge bands: every edge of every polygon of
// every sector is tested. It is the reference the index is checked against.
func (a *Airspace) locateBruteForce(lat, lon float64, altitudeFt int, dst []*Sector) []*Sector {
	x, y, ok := normalize(lat, lon)
	if !ok {
		return dst
	}
	for _, s := range a.sectors {
		if !s.inBand(altitudeFt) {
			continue
		}
		for _, p := range s.polys {
			if p.containsBruteForce(x, y) {
				dst = append(dst, s)
				break
			}
		}
	}
	return dst
}

// Staffs returns the sectors a controller connection staffs, sorted by ID, or nil.
//
// For VATSpy (see LoadVATSpy): only CTR (6) and FSS (1) connections staff, through the callsign's longest key
// found in [FIRs] (CALLSIGN PREFIX column, then ICAO column) or [UIRs]. For custom sets: a feature's
// callsign_prefixes, longest key first, for the feature's facilities (CTR and FSS unless it says otherwise).
// Observers (0) never staff anything. Each set is resolved on its own and the results are merged.
func (a *Airspace) Staffs(callsign string, facility int) []*Sector {
	if facility == facilityObserver {
		return nil
	}
	keys := callsignKeys(callsign)
	if len(keys) == 0 {
		return nil
	}
	var out []*Sector
	for _, set := range a.sets {
		if set.staff != nil {
			out = append(out, set.staff.resolve(keys, facility)...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, compareByID)
	return slices.Compact(out)
}
