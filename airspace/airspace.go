package airspace

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tidwall/rtree"
)

// Airspace is a set of loaded sectors with a spatial index. It is immutable after New and safe for concurrent use.
type Airspace struct {
	sectors []*Sector // sorted by set, then ID
	byRef   map[ref]*Sector
	byID    map[string][]*Sector // bare ID → the sectors of every set using it, sorted by set
	sets    []*Set
	polys   []indexedPolygon
	// responsible is every set's hierarchy (Set.responsible) merged once, for StaffAll; nil without one.
	responsible map[*Sector][]*Sector
	// tree holds one entry per polygon of each volume (not per sector): sectors split at the antimeridian have
	// a bounding box spanning the whole globe, while each of their polygons has a tight one.
	tree rtree.RTreeG[int32]
}

// ref is a sector's identity: its set and its ID.
type ref struct{ set, id string }

type indexedPolygon struct {
	sector *Sector
	volume *volume
	poly   *polygon
}

// New indexes the sectors of the given sets. Set names must be distinct and sector IDs unique within each set;
// different sets may use the same IDs.
func New(sets ...*Set) (*Airspace, error) {
	a := &Airspace{byRef: make(map[ref]*Sector), byID: make(map[string][]*Sector)}
	setNames := make(map[string]bool)
	for i, set := range sets {
		if set == nil {
			return nil, fmt.Errorf("airspace: set %d is nil", i)
		}
		if err := checkSetName(set.Name); err != nil {
			return nil, err
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
			if s.Set != set.Name {
				return nil, fmt.Errorf("airspace: sector %q of set %q says it is of set %q", s.ID, set.Name, s.Set)
			}
			if s.Polygons() == 0 {
				return nil, fmt.Errorf("airspace: sector %q of set %q has no geometry (sectors come from the loaders)", s.ID, set.Name)
			}
			r := ref{s.Set, s.ID}
			if _, dup := a.byRef[r]; dup {
				return nil, fmt.Errorf("airspace: set %q has two sectors with id %q", set.Name, s.ID)
			}
			a.byRef[r] = s
			a.byID[s.ID] = append(a.byID[s.ID], s)
			a.sectors = append(a.sectors, s)
		}
	}
	for _, set := range a.sets {
		for s, rs := range set.responsible {
			if a.responsible == nil {
				a.responsible = make(map[*Sector][]*Sector)
			}
			a.responsible[s] = rs
		}
	}
	slices.SortFunc(a.sectors, compareSectors)
	for _, same := range a.byID {
		slices.SortFunc(same, compareSectors)
	}
	for _, s := range a.sectors {
		for vi := range s.volumes {
			v := &s.volumes[vi]
			for _, p := range v.polys {
				if len(a.polys) == math.MaxInt32 {
					return nil, errors.New("airspace: too many polygons")
				}
				a.tree.Insert([2]float64{p.minX, p.minY}, [2]float64{p.maxX, p.maxY}, int32(len(a.polys)))
				a.polys = append(a.polys, indexedPolygon{s, v, p})
			}
		}
	}
	return a, nil
}

// checkSetName keeps set names usable in a resource name (sets/{set}/sectors/{id}) and in the stored list of
// the sectors a controller staffs (space-separated set/id): not empty, no "/", no space or control character.
func checkSetName(name string) error {
	if name == "" {
		return errors.New("airspace: a set has no name")
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return r == '/' || r <= ' ' || r == 0x7f }); i >= 0 {
		return fmt.Errorf("airspace: set name %q has %q, which a set name cannot hold (no \"/\", space or control character)", name, name[i])
	}
	return nil
}

// Sectors returns every sector, sorted by set then ID. The slice is the caller's; the sectors are shared and
// must not be modified.
func (a *Airspace) Sectors() []*Sector { return slices.Clone(a.sectors) }

// Len is the number of sectors.
func (a *Airspace) Len() int { return len(a.sectors) }

// Sets returns the loaded sets, in the order they were given to New.
func (a *Airspace) Sets() []*Set { return slices.Clone(a.sets) }

// Sector returns the sector with this ID in this set.
func (a *Airspace) Sector(set, id string) (*Sector, bool) {
	s, ok := a.byRef[ref{set, id}]
	return s, ok
}

// Lookup returns the sectors of every set with this ID, sorted by set: one when the bare ID is unambiguous,
// none when no set has it.
func (a *Airspace) Lookup(id string) []*Sector { return slices.Clone(a.byID[id]) }

// Locate appends to dst every sector containing the position (see the package documentation for the rules) and
// returns the extended slice; the appended part is sorted by set then ID and has no duplicates. It allocates
// nothing when dst has room, so a caller classifying many positions reuses one slice:
// dst = a.Locate(lat, lon, alt, dst[:0]).
func (a *Airspace) Locate(lat, lon float64, altitudeFt int, dst []*Sector) []*Sector {
	x, y, ok := normalize(lat, lon)
	if !ok {
		return dst
	}
	start := len(dst)
	pt := [2]float64{x, y}
	a.tree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		ip := &a.polys[i]
		if !ip.volume.inBand(altitudeFt) || slices.Contains(dst[start:], ip.sector) {
			return true
		}
		if ip.poly.contains(x, y) {
			dst = append(dst, ip.sector)
		}
		return true
	})
	slices.SortFunc(dst[start:], compareSectors)
	return dst
}

// locateBruteForce is Locate without the R-tree, bounding boxes or edge bands: every edge of every polygon of
// every volume of every sector is tested. It is the reference the index is checked against.
func (a *Airspace) locateBruteForce(lat, lon float64, altitudeFt int, dst []*Sector) []*Sector {
	x, y, ok := normalize(lat, lon)
	if !ok {
		return dst
	}
	for _, s := range a.sectors {
	volumes:
		for vi := range s.volumes {
			v := &s.volumes[vi]
			if !v.inBand(altitudeFt) {
				continue
			}
			for _, p := range v.polys {
				if p.containsBruteForce(x, y) {
					dst = append(dst, s)
					break volumes
				}
			}
		}
	}
	return dst
}

// Staffs returns the sectors a controller connection staffs on its callsign alone, sorted by set then ID, or
// nil. Each set resolves the callsign its own way (see the loaders) and the results are merged; observers (0)
// never staff anything. StaffAll adds the sectors a set's hierarchy hands to the controllers online.
func (a *Airspace) Staffs(callsign string, facility int) []*Sector {
	return a.located(a.staffs(callsign, facility))
}

// staffs is Staffs with the positions that have no airspace of their own (a vatSys top-down position such as
// YBBB_FSS, which only covers the sectors it is responsible for): StaffAll needs them to hand those out.
func (a *Airspace) staffs(callsign string, facility int) []*Sector {
	if facility == facilityObserver {
		return nil
	}
	var out []*Sector
	for _, set := range a.sets {
		if set.staff != nil {
			out = append(out, set.staff.staffs(callsign, facility)...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, compareSectors)
	return slices.Compact(out)
}

// located keeps the sectors that have airspace (the loaded ones), in place; nil for none.
func (a *Airspace) located(sectors []*Sector) []*Sector {
	out := sectors[:0]
	for _, s := range sectors {
		if s.Polygons() > 0 {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Station is a controller connection as staffing sees it.
type Station struct {
	Callsign string
	Facility int
}

// StaffAll returns, for each station, the sectors it staffs (sorted by set then ID; nil for none): those its
// callsign staffs (Staffs), and, in sets with a hierarchy (vatSys ResponsibleSectors), the sectors those are
// responsible for that no station staffs on its own callsign, followed down the hierarchy until a sector some
// station staffs itself. A position without airspace of its own (a set's staffer may return one; it is never
// in the results) hands out its responsible sectors the same way. Several stations can cover the same sector;
// each is given it.
func (a *Airspace) StaffAll(stations []Station) [][]*Sector {
	out := make([][]*Sector, len(stations))
	for i, st := range stations {
		out[i] = a.staffs(st.Callsign, st.Facility)
	}
	if a.responsible == nil {
		for i := range out {
			out[i] = a.located(out[i])
		}
		return out
	}
	own := make(map[*Sector]bool)
	for _, staffs := range out {
		for _, s := range staffs {
			own[s] = true
		}
	}
	for i := range out {
		covered := slices.Clone(out[i])
		var walk func(s *Sector)
		walk = func(s *Sector) {
			for _, r := range a.responsible[s] {
				if own[r] || slices.Contains(covered, r) {
					continue
				}
				covered = append(covered, r)
				walk(r)
			}
		}
		for _, s := range out[i] {
			walk(s)
		}
		slices.SortFunc(covered, compareSectors)
		out[i] = a.located(covered)
	}
	return out
}
