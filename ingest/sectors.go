package ingest

import (
	"sync/atomic"

	"github.com/vatsector/vatsector/airspace"
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

func (v *sectorView) Locate(lat, lon float64, altitudeFt int, dst []string) []string {
	v.buf = v.a.Locate(lat, lon, altitudeFt, v.buf[:0])
	for _, s := range v.buf {
		dst = append(dst, s.ID)
	}
	return dst
}

func (v *sectorView) Staffs(callsign string, facility int) []string {
	sectors := v.a.Staffs(callsign, facility)
	if len(sectors) == 0 {
		return nil
	}
	ids := make([]string, len(sectors))
	for i, s := range sectors {
		ids[i] = s.ID
	}
	return ids
}

func (v *sectorView) Has(id string) bool {
	return len(v.a.Lookup(id)) > 0
}
