package ingest

import (
	"sync/atomic"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
)

// AirspaceSectors adapts an airspace to Sectors. The current airspace can be swapped while ingest runs (VATSpy
// data refreshed); a cycle asks for it once and classifies against that one.
type AirspaceSectors struct {
	cur atomic.Pointer[airspace.Airspace]
}

// NewAirspaceSectors starts with a.
func NewAirspaceSectors(a *airspace.Airspace) *AirspaceSectors {
	s := &AirspaceSectors{}
	s.cur.Store(a)
	return s
}

// Swap replaces the airspace for the following cycles.
func (s *AirspaceSectors) Swap(a *airspace.Airspace) { s.cur.Store(a) }

// Airspace is the current airspace.
func (s *AirspaceSectors) Airspace() *airspace.Airspace { return s.cur.Load() }

// Current returns a Sectors view of the current airspace, for one cycle.
func (s *AirspaceSectors) Current() Sectors { return &sectorView{a: s.cur.Load()} }

// sectorView reuses one buffer across a cycle's Locate calls; a cycle runs on one goroutine.
type sectorView struct {
	a   *airspace.Airspace
	buf []*airspace.Sector
}

func refOf(s *airspace.Sector) domain.SectorRef { return domain.SectorRef{Set: s.Set, ID: s.ID} }

func (v *sectorView) Locate(lat, lon float64, altitudeFt int, dst []domain.SectorRef) []domain.SectorRef {
	v.buf = v.a.Locate(lat, lon, altitudeFt, v.buf[:0])
	for _, s := range v.buf {
		dst = append(dst, refOf(s))
	}
	return dst
}

func (v *sectorView) Staff(stations []Station) [][]domain.SectorRef {
	in := make([]airspace.Station, len(stations))
	for i, st := range stations {
		in[i] = airspace.Station{Callsign: st.Callsign, Facility: st.Facility}
	}
	out := make([][]domain.SectorRef, len(stations))
	for i, sectors := range v.a.StaffAll(in) {
		if len(sectors) == 0 {
			continue
		}
		out[i] = make([]domain.SectorRef, len(sectors))
		for j, s := range sectors {
			out[i][j] = refOf(s)
		}
	}
	return out
}

func (v *sectorView) Has(ref domain.SectorRef) bool {
	_, ok := v.a.Sector(ref.Set, ref.ID)
	return ok
}

func (v *sectorView) Empty() bool { return v.a.Len() == 0 }

// SetOf resolves a bare id stored before sectors had sets. Then ids were unique across everything loaded, so
// one loaded set with the id is the answer. When several have it now, VATSpy's is: VATSpy was the set loaded
// before divisions could load sets reusing its ids. Without VATSpy among them, the set loaded first is taken.
func (v *sectorView) SetOf(id string) (string, bool) {
	same := v.a.Lookup(id)
	switch {
	case len(same) == 0:
		return "", false
	case len(same) == 1:
		return same[0].Set, true
	}
	for _, s := range same {
		if s.Set == airspace.SetVATSpy {
			return s.Set, true
		}
	}
	for _, set := range v.a.Sets() {
		for _, s := range same {
			if s.Set == set.Name {
				return s.Set, true
			}
		}
	}
	return same[0].Set, true
}
