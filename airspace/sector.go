package airspace

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Sector kinds.
const (
	KindFIR    = "fir"    // a VATSpy boundary: a FIR, or one of its published sub-sectors
	KindCustom = "custom" // a feature of a custom GeoJSON file without its own "kind"
)

// Sources: the format a sector was loaded from (Sector.Source).
const (
	SourceVATSpy   = "vatspy"   // LoadVATSpy
	SourceSimAware = "simaware" // LoadSimAware
	SourceVatSys   = "vatsys"   // LoadVatSys
	SourceGeoJSON  = "geojson"  // LoadGeoJSON
)

// SetVATSpy is the Set name of data loaded by LoadVATSpy.
const SetVATSpy = "vatspy"

// Sector is one airspace volume, or a union of volumes each with its own altitude band (a vatSys sector). It is
// immutable once loaded and may be shared by several Airspaces.
type Sector struct {
	// ID is unique within its Set and stable across restarts and data reloads: it is derived from the source's
	// own identifier, never from file order (see LoadVATSpy for duplicate VATSpy ids). Two sets may use the
	// same ID; a sector is identified by (Set, ID).
	ID string
	// Boundary is the identifier in the source file (the VATSpy boundary id, or the custom feature's id). It
	// equals ID except for the oceanic half of a VATSpy id that has both a domestic and an oceanic boundary.
	Boundary string
	Name     string
	// Set is the loaded set the sector came from: "vatspy", or the name its loader gives the set.
	Set  string
	Kind string
	// Source is the format it was loaded from: SourceVATSpy, SourceSimAware, SourceVatSys or SourceGeoJSON. A
	// set renamed on the command line keeps its sectors' Source.
	Source string
	// FloorFt and CeilingFt bound the altitude band, FloorFt <= altitude < CeilingFt; nil is unbounded. For a
	// sector made of volumes with different bands they are the envelope (lowest floor, highest ceiling): a
	// position is inside when it is inside one volume within that volume's band.
	FloorFt   *int
	CeilingFt *int
	Oceanic   bool
	Region    string
	Division  string

	volumes                []volume
	minX, minY, maxX, maxY float64
}

// volume is polygons sharing one altitude band: FloorFt <= altitude < CeilingFt, nil unbounded.
type volume struct {
	polys          []*polygon
	floor, ceiling *int
}

func (v *volume) inBand(altitudeFt int) bool {
	return (v.floor == nil || altitudeFt >= *v.floor) && (v.ceiling == nil || altitudeFt < *v.ceiling)
}

// newSector makes a sector of one volume without an altitude band; the loader sets the band on the result
// with setBand when it has one.
func newSector(polys []*polygon) *Sector { return newVolumeSector([]volume{{polys: polys}}) }

// newVolumeSector makes a sector of volumes, setting FloorFt and CeilingFt to their envelope.
func newVolumeSector(vols []volume) *Sector {
	s := &Sector{volumes: vols}
	s.minX, s.minY = math.Inf(1), math.Inf(1)
	s.maxX, s.maxY = math.Inf(-1), math.Inf(-1)
	for i, v := range vols {
		for _, p := range v.polys {
			s.minX, s.minY = min(s.minX, p.minX), min(s.minY, p.minY)
			s.maxX, s.maxY = max(s.maxX, p.maxX), max(s.maxY, p.maxY)
		}
		if i == 0 {
			s.FloorFt, s.CeilingFt = v.floor, v.ceiling
			continue
		}
		if s.FloorFt != nil && (v.floor == nil || *v.floor < *s.FloorFt) {
			s.FloorFt = v.floor
		}
		if s.CeilingFt != nil && (v.ceiling == nil || *v.ceiling > *s.CeilingFt) {
			s.CeilingFt = v.ceiling
		}
	}
	return s
}

// setBand gives a one-volume sector its altitude band.
func (s *Sector) setBand(floor, ceiling *int) {
	s.FloorFt, s.CeilingFt = floor, ceiling
	for i := range s.volumes {
		s.volumes[i].floor, s.volumes[i].ceiling = floor, ceiling
	}
}

// Bounds returns the sector's lateral bounding box in degrees.
func (s *Sector) Bounds() (minLat, minLon, maxLat, maxLon float64) {
	return s.minY, s.minX, s.maxY, s.maxX
}

// Polygons returns how many polygons the sector's volumes have together.
func (s *Sector) Polygons() int {
	n := 0
	for _, v := range s.volumes {
		n += len(v.polys)
	}
	return n
}

// Volumes returns how many volumes (polygons sharing an altitude band) the sector is made of.
func (s *Sector) Volumes() int { return len(s.volumes) }

// Contains reports whether the position is in the sector (inside one of its volumes, laterally and within that
// volume's altitude band, with the package's boundary rules).
func (s *Sector) Contains(lat, lon float64, altitudeFt int) bool {
	x, y, ok := normalize(lat, lon)
	if !ok {
		return false
	}
	for i := range s.volumes {
		v := &s.volumes[i]
		if !v.inBand(altitudeFt) {
			continue
		}
		for _, p := range v.polys {
			if p.contains(x, y) {
				return true
			}
		}
	}
	return false
}

// Set is the result of loading one sector source.
type Set struct {
	Name    string
	Sectors []*Sector // sorted by ID
	staff   staffer
	// responsible maps a sector to the sectors its controller also covers while nobody staffs them on their
	// own (vatSys ResponsibleSectors); nil for sets without such a hierarchy.
	responsible map[*Sector][]*Sector
}

// compareSectors orders sectors by set, then ID: the order of every list the package returns.
func compareSectors(a, b *Sector) int {
	return cmp.Or(strings.Compare(a.Set, b.Set), strings.Compare(a.ID, b.ID))
}

func compareByID(a, b *Sector) int { return strings.Compare(a.ID, b.ID) }

// sortSectors sorts one set's sectors by ID.
func sortSectors(s []*Sector) { slices.SortFunc(s, compareByID) }

// Outline returns the sector's polygons, of every volume, as GeoJSON orders them: polygon, ring (the outer
// one first, then holes), point {longitude, latitude}, each ring closed. A boundary across the antimeridian
// comes as the polygons it was split into there, each within [-180, 180] (RFC 7946, 3.1.9). The slices are
// the caller's.
func (s *Sector) Outline() [][][][2]float64 {
	var out [][][][2]float64
	for _, v := range s.volumes {
		for _, p := range v.polys {
			rings := make([][][2]float64, len(p.rings))
			for i, r := range p.rings {
				pts := make([][2]float64, len(r))
				for j, pt := range r {
					pts[j] = [2]float64{pt.x, pt.y}
				}
				rings[i] = pts
			}
			out = append(out, rings)
		}
	}
	return out
}
