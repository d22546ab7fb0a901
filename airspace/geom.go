package airspace

import (
	"fmt"
	"math"
)

// point is a position in degrees: x is longitude, y is latitude (GeoJSON order).
type point struct{ x, y float64 }

// edge is one non-horizontal segment of a ring, stored flat so the hot loop reads contiguous memory: its lower
// end (x1, y1), the latitude of its upper end y2 > y1, and its inverse slope k = dx/dy, so a crossing test needs
// no division. Edges are always built by makeEdge from the end with the lower latitude: two polygons sharing an
// edge then compute its crossing with the very same arithmetic whichever direction their rings run, which is
// what makes a point on a shared edge belong to exactly one of them.
type edge struct{ x1, y1, y2, k float64 }

// makeEdge orders a segment's ends by latitude. ok is false for a horizontal segment, which no ray crosses.
func makeEdge(a, b point) (e edge, ok bool) {
	switch {
	case a.y < b.y:
	case a.y > b.y:
		a, b = b, a
	default:
		return edge{}, false
	}
	return edge{a.x, a.y, b.y, (b.x - a.x) / (b.y - a.y)}, true
}

// crosses reports whether a ray from (x, y) towards +x crosses e. It is the only crossing test in the package:
// the indexed and the brute-force paths both call it, so they agree exactly, also for points on an edge. The
// half-open latitude test y1 <= y < y2 counts a vertex on the ray once, and x < intersection leaves a point on
// an edge outside the polygon to its west and inside the one to its east. The explicit float64 conversion
// forbids the compiler to fuse the multiply-add, which it could otherwise do in one inlined copy and not another.
func (e *edge) crosses(x, y float64) bool {
	return e.y1 <= y && y < e.y2 && x < e.x1+float64((y-e.y1)*e.k)
}

// maxBands caps a polygon's band table. A polygon gets one band per two edges, so the largest VATSpy polygons
// (~1,200 vertices) get ~600; the cap only bounds memory for huge custom polygons, where long edges would be
// copied into ever more bands.
const maxBands = 1024

// polygon is one polygon of a sector's MultiPolygon: rings[0] is the exterior, the rest are holes; every ring is
// closed (first point repeated last).
//
// Point-in-polygon is an even-odd count of edge crossings. FIRs have up to ~1,200 vertices, so instead of testing
// every edge the polygon keeps its edges bucketed into horizontal bands (slabs) over its bounding box: a ray at
// latitude y can only cross edges whose latitude range covers y, and those are all in y's band. A query then
// touches a handful of edges instead of all of them.
type polygon struct {
	rings                  [][]point
	minX, minY, maxX, maxY float64

	bandY0    float64 // minY
	bandScale float64 // bands per degree of latitude; 0 with a single band
	nBands    int
	bandStart []int32 // edges of band b are bandEdges[bandStart[b]:bandStart[b+1]]
	bandEdges []edge
}

// newPolygon builds a polygon from closed rings, already validated by the loader.
func newPolygon(rings [][]point) *polygon {
	p := &polygon{rings: rings}
	p.minX, p.minY = math.Inf(1), math.Inf(1)
	p.maxX, p.maxY = math.Inf(-1), math.Inf(-1)
	var edges []edge
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			a := r[i]
			p.minX, p.maxX = min(p.minX, a.x), max(p.maxX, a.x)
			p.minY, p.maxY = min(p.minY, a.y), max(p.maxY, a.y)
			if e, ok := makeEdge(a, r[i+1]); ok {
				edges = append(edges, e)
			}
		}
	}
	p.bandY0 = p.minY
	p.nBands = min(max(len(edges)/2, 1), maxBands)
	if h := p.maxY - p.minY; p.nBands > 1 && h > 0 {
		p.bandScale = float64(p.nBands) / h
	} else {
		p.nBands = 1
	}
	// Two passes (count, then fill) give one exact-size allocation. An edge goes into every band its latitude
	// range touches; band() is monotonic in y, so any y the edge can cross maps to one of those bands.
	p.bandStart = make([]int32, p.nBands+1)
	for i := range edges {
		lo, hi := p.bandRange(&edges[i])
		for b := lo; b <= hi; b++ {
			p.bandStart[b+1]++
		}
	}
	for b := 1; b <= p.nBands; b++ {
		p.bandStart[b] += p.bandStart[b-1]
	}
	p.bandEdges = make([]edge, p.bandStart[p.nBands])
	fill := make([]int32, p.nBands)
	copy(fill, p.bandStart[:p.nBands])
	for i := range edges {
		lo, hi := p.bandRange(&edges[i])
		for b := lo; b <= hi; b++ {
			p.bandEdges[fill[b]] = edges[i]
			fill[b]++
		}
	}
	return p
}

func (p *polygon) band(y float64) int {
	b := int((y - p.bandY0) * p.bandScale)
	return min(max(b, 0), p.nBands-1)
}

func (p *polygon) bandRange(e *edge) (lo, hi int) {
	return p.band(e.y1), p.band(e.y2)
}

// contains is the indexed point-in-polygon test (bounding box, then the point's band).
func (p *polygon) contains(x, y float64) bool {
	if x < p.minX || x > p.maxX || y < p.minY || y > p.maxY {
		return false
	}
	b := p.band(y)
	edges := p.bandEdges[p.bandStart[b]:p.bandStart[b+1]]
	in := false
	for i := range edges {
		if edges[i].crosses(x, y) {
			in = !in
		}
	}
	return in
}

// containsBruteForce tests every edge of every ring, with no bounding box or band shortcut: the reference the
// index is checked against.
func (p *polygon) containsBruteForce(x, y float64) bool {
	in := false
	for _, r := range p.rings {
		for i := 0; i+1 < len(r); i++ {
			if e, ok := makeEdge(r[i], r[i+1]); ok && e.crosses(x, y) {
				in = !in
			}
		}
	}
	return in
}

// equal reports whether two polygons have identical rings (used to drop exact duplicate features).
func (p *polygon) equal(q *polygon) bool {
	if len(p.rings) != len(q.rings) {
		return false
	}
	for i := range p.rings {
		if len(p.rings[i]) != len(q.rings[i]) {
			return false
		}
		for j := range p.rings[i] {
			if p.rings[i][j] != q.rings[i][j] {
				return false
			}
		}
	}
	return true
}

// normalize turns a (lat, lon) position into the planar point the polygons use, wrapping longitude into
// [-180, 180) so that 180 and -180 are the same meridian. ok is false for NaN, infinite or out-of-range latitude.
func normalize(lat, lon float64) (x, y float64, ok bool) {
	if !(lat >= -90 && lat <= 90) || math.IsNaN(lon) || math.IsInf(lon, 0) {
		return 0, 0, false
	}
	if lon < -180 || lon >= 180 {
		lon = math.Mod(lon+180, 360)
		if lon < 0 {
			lon += 360
		}
		lon -= 180
	}
	return lon, lat, true
}

// ringOptions says how strict ring validation is. Custom files must be valid GeoJSON; the VATSpy file is accepted
// as VATSpy and vatsim-radar draw it (AIRAC 2608 leaves the rings of RJDG-W and YTRT open).
type ringOptions struct {
	closeOpenRings bool
}

// buildRing validates one GeoJSON linear ring and converts it. The caller wraps errors with file and feature.
func buildRing(coords [][]float64, opt ringOptions) ([]point, error) {
	r := make([]point, 0, len(coords)+1)
	for i, c := range coords {
		if len(c) < 2 {
			return nil, fmt.Errorf("position %d has %d numbers, want [longitude, latitude]", i, len(c))
		}
		lon, lat := c[0], c[1]
		if !(lon >= -180 && lon <= 180) {
			return nil, fmt.Errorf("position %d: longitude %v out of range [-180, 180]", i, lon)
		}
		if !(lat >= -90 && lat <= 90) {
			return nil, fmt.Errorf("position %d: latitude %v out of range [-90, 90]", i, lat)
		}
		r = append(r, point{lon, lat})
	}
	if len(r) > 0 && r[0] != r[len(r)-1] {
		if !opt.closeOpenRings {
			return nil, fmt.Errorf("ring is not closed: first position %v differs from last %v",
				[2]float64{r[0].x, r[0].y}, [2]float64{r[len(r)-1].x, r[len(r)-1].y})
		}
		r = append(r, r[0])
	}
	if len(r) < 4 {
		return nil, fmt.Errorf("ring has %d positions, want at least 4 (a closed triangle)", len(r))
	}
	return r, nil
}

// buildPolygon validates a GeoJSON Polygon's coordinates (exterior ring then holes).
func buildPolygon(coords [][][]float64, opt ringOptions) (*polygon, error) {
	if len(coords) == 0 {
		return nil, fmt.Errorf("polygon has no rings")
	}
	rings := make([][]point, len(coords))
	for i, rc := range coords {
		r, err := buildRing(rc, opt)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("exterior ring: %w", err)
			}
			return nil, fmt.Errorf("hole %d: %w", i, err)
		}
		rings[i] = r
	}
	return newPolygon(rings), nil
}
