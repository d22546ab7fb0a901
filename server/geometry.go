package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
)

// GeoJSONContentType is the media type of GetSectorGeometry's body (RFC 7946).
const GeoJSONContentType = "application/geo+json"

// Sector boundaries change only when the sectors are reloaded, and every map asks for the same few
// tolerances; encoding 1,100 VATSpy boundaries (about 400,000 points) per request would cost every page load
// a few hundred milliseconds of CPU. So each sector's Feature is encoded once per loaded airspace and
// tolerance, and a request only picks the features its filters keep and joins them.

// geometryFeature is one sector's encoded Feature, with what the filters look at.
type geometryFeature struct {
	set                            string
	minLat, minLon, maxLat, maxLon float64
	json                           []byte
}

// geometryCache holds the encoded features of the airspace loaded now, by tolerance. A reload replaces the
// airspace, which empties it.
type geometryCache struct {
	mu sync.Mutex
	a  *airspace.Airspace
	by map[float64]func() ([]geometryFeature, error)
}

// maxCachedTolerances bounds the cache: a client asking for a new tolerance each time must not grow it.
const maxCachedTolerances = 8

func (c *geometryCache) features(a *airspace.Airspace, tolerance float64) ([]geometryFeature, error) {
	c.mu.Lock()
	if c.a != a || len(c.by) >= maxCachedTolerances && c.by[tolerance] == nil {
		c.a, c.by = a, map[float64]func() ([]geometryFeature, error){}
	}
	enc, ok := c.by[tolerance]
	if !ok {
		enc = sync.OnceValues(func() ([]geometryFeature, error) { return encodeFeatures(a.Sectors(), tolerance) })
		c.by[tolerance] = enc
	}
	c.mu.Unlock()
	return enc()
}

// sectorGeometry is the GeoJSON FeatureCollection of the loaded sectors of set ("" any) whose bounding box
// intersects box (the zero box: any), simplified to tolerance degrees (0: exact).
func (q *queryService) sectorGeometry(set string, box domain.BoundingBox, tolerance float64) ([]byte, error) {
	all, err := q.geometry.features(q.sectors.Airspace(), tolerance)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	n := 0
	for i := range all {
		f := &all[i]
		if set != "" && f.set != set || box != (domain.BoundingBox{}) && !box.Intersects(f.minLat, f.minLon, f.maxLat, f.maxLon) {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(f.json)
		n++
	}
	buf.WriteString("]}")
	return buf.Bytes(), nil
}

// encodeFeatures encodes each sector as a Feature, in the airspace's order (set, then id).
func encodeFeatures(sectors []*airspace.Sector, tolerance float64) ([]geometryFeature, error) {
	out := make([]geometryFeature, 0, len(sectors))
	for _, s := range sectors {
		f := geojson.NewFeature(outline(s, tolerance))
		f.Properties = geojson.Properties{
			"name": sectorName(domain.SectorRef{Set: s.Set, ID: s.ID}), "set": s.Set, "id": s.ID, "label": s.Name, "kind": s.Kind,
			"floor_ft": s.FloorFt, "ceiling_ft": s.CeilingFt,
		}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("encode the boundary of %s: %w", sectorName(domain.SectorRef{Set: s.Set, ID: s.ID}), err)
		}
		minLat, minLon, maxLat, maxLon := s.Bounds()
		out = append(out, geometryFeature{set: s.Set, minLat: minLat, minLon: minLon, maxLat: maxLat, maxLon: maxLon, json: b})
	}
	return out, nil
}

// outline is the sector's polygons as a MultiPolygon, each ring simplified (Douglas-Peucker) to tolerance
// degrees. A ring that would keep fewer than four points (no area left) keeps its own, so that no sector
// vanishes from a map drawn at a coarse tolerance.
func outline(s *airspace.Sector, tolerance float64) orb.MultiPolygon {
	polys := s.Outline()
	mp := make(orb.MultiPolygon, len(polys))
	dp := simplify.DouglasPeucker(tolerance)
	for i, rings := range polys {
		poly := make(orb.Polygon, len(rings))
		for j, pts := range rings {
			ring := make(orb.Ring, len(pts))
			for k, p := range pts {
				ring[k] = orb.Point(p)
			}
			if tolerance > 0 {
				if simpler := dp.Ring(ring.Clone()); len(simpler) >= 4 {
					ring = simpler
				}
			}
			poly[j] = ring
		}
		mp[i] = poly
	}
	return mp
}
