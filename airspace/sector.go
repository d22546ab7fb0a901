package airspace

import (
	"math"
	"slices"
	"strings"
)

// Sector kinds.
const (
	KindFIR    = "fir"    // a VATSpy boundary: a FIR, or one of its published sub-sectors
	KindCustom = "custom" // a feature of a custom GeoJSON file without its own "kind"
)

// SetVATSpy is the Set name of data loaded by LoadVATSpy.
const SetVATSpy = "vatspy"

// Sector is one airspace volume. It is immutable once loaded and may be shared by several Airspaces.
type Sector struct {
	// ID is unique across everything loaded into one Airspace and stable across restarts and data reloads: it is
	// derived from the source's own identifier, never from file order (see LoadVATSpy for duplicate VATSpy ids).
	ID string
	// Boundary is the identifier in the source file (the VATSpy boundary id, or the custom feature's id). It
	// equals ID except for the oceanic half of a VATSpy id that has both a domestic and an oceanic boundary.
	Boundary string
	Name     string
	// Set is the loaded set the sector came from: "vatspy", or a custom file's base name without extension.
	Set  string
	Kind string
	// FloorFt and CeilingFt bound the altitude band, FloorFt <= altitude < CeilingFt; nil is unbounded.
	FloorFt   *int
	CeilingFt *int
	Oceanic   bool
	Region    string
	Division  string

	polys                  []*polygon
	minX, minY, maxX, maxY float64
}

func newSector(polys []*polygon) *Sector {
	s := &Sector{polys: polys}
	s.minX, s.minY = math.Inf(1), math.Inf(1)
	s.maxX, s.maxY = math.Inf(-1), math.Inf(-1)
	for _, p := range polys {
		s.minX, s.minY = min(s.minX, p.minX), min(s.minY, p.minY)
		s.maxX, s.maxY = max(s.maxX, p.maxX), max(s.maxY, p.maxY)
	}
	return s
}

// Bounds returns the sector's lateral bounding box in degrees.
func (s *Sector) Bounds() (minLat, minLon, maxLat, maxLon float64) {
	return s.minY, s.minX, s.maxY, s.maxX
}

// Polygons returns how many polygons the sector's MultiPolygon has.
func (s *Sector) Polygons() int { return len(s.polys) }

// inBand reports whether altitudeFt is within [FloorFt, CeilingFt).
func (s *Sector) inBand(altitudeFt int) bool {
	return (s.FloorFt == nil || altitudeFt >= *s.FloorFt) && (s.CeilingFt == nil || altitudeFt < *s.CeilingFt)
}

// Contains reports whether the position is in the sector (lateral shape and altitude band, with the package's
// boundary rules).
func (s *Sector) Contains(lat, lon float64, altitudeFt int) bool {
	x, y, ok := normalize(lat, lon)
	if !ok || !s.inBand(altitudeFt) {
		return false
	}
	for _, p := range s.polys {
		if p.contains(x, y) {
			return true
		}
	}
	return false
}

// Set is the result of loading one sector source.
type Set struct {
	Name    string
	Sectors []*Sector // sorted by ID
	staff   *staffing
}

func compareByID(a, b *Sector) int { return strings.Compare(a.ID, b.ID) }

func sortSectors(s []*Sector) { slices.SortFunc(s, compareByID) }
