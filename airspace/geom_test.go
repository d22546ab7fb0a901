package airspace

import (
	"math"
	"math/rand/v2"
	"testing"
)

func square(minX, minY, maxX, maxY float64) []point {
	return []point{{minX, minY}, {maxX, minY}, {maxX, maxY}, {minX, maxY}, {minX, minY}}
}

func TestPolygonBoundaryRule(t *testing.T) {
	p := newPolygon([][]point{square(0, 0, 1, 1)})
	tests := []struct {
		name string
		x, y float64
		want bool
	}{
		{"interior", 0.5, 0.5, true},
		{"west edge is inside", 0, 0.5, true},
		{"south edge is inside", 0.5, 0, true},
		{"south-west corner is inside", 0, 0, true},
		{"east edge is outside", 1, 0.5, false},
		{"north edge is outside", 0.5, 1, false},
		{"north-east corner is outside", 1, 1, false},
		{"south-east corner is outside", 1, 0, false},
		{"north-west corner is outside", 0, 1, false},
		{"beyond", 1.5, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.contains(tt.x, tt.y); got != tt.want {
				t.Errorf("contains(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
			}
			if got := p.containsBruteForce(tt.x, tt.y); got != tt.want {
				t.Errorf("containsBruteForce(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

// A point on an edge shared by two polygons (a slanted one included) is in exactly one of them.
func TestPolygonSharedEdgeBelongsToExactlyOne(t *testing.T) {
	// Two triangles splitting the unit square along its diagonal, and two boxes sharing x = 1.
	pairs := [][2]*polygon{
		{newPolygon([][]point{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}), newPolygon([][]point{{{0, 0}, {1, 1}, {0, 1}, {0, 0}}})},
		{newPolygon([][]point{square(0, 0, 1, 1)}), newPolygon([][]point{square(1, 0, 2, 1)})},
		{newPolygon([][]point{square(0, 0, 1, 1)}), newPolygon([][]point{square(0, 1, 1, 2)})},
	}
	for i, pair := range pairs {
		for k := 1; k < 100; k++ {
			f := float64(k) / 100
			var x, y float64
			switch i {
			case 0:
				x, y = f, f
			case 1:
				x, y = 1, f
			case 2:
				x, y = f, 1
			}
			a, b := pair[0].contains(x, y), pair[1].contains(x, y)
			if a == b {
				t.Fatalf("pair %d: point (%v, %v) on the shared edge: in first %v, in second %v; want exactly one", i, x, y, a, b)
			}
		}
	}
}

func TestPolygonHoles(t *testing.T) {
	p := newPolygon([][]point{square(0, 0, 10, 10), square(2, 2, 4, 4), square(6, 6, 8, 8)})
	tests := []struct {
		x, y float64
		want bool
	}{
		{1, 1, true},
		{3, 3, false},
		{7, 7, false},
		{5, 5, true},
		{2, 3, false}, // on the hole's west edge: in the hole, so outside the polygon
		{4, 3, true},  // on the hole's east edge: out of the hole
	}
	for _, tt := range tests {
		if got := p.contains(tt.x, tt.y); got != tt.want {
			t.Errorf("contains(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

// star returns a closed star-shaped ring with n vertices around (cx, cy), radii in [rMin, rMax).
func star(rng *rand.Rand, cx, cy float64, n int, rMin, rMax float64) []point {
	r := make([]point, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		rad := rMin + rng.Float64()*(rMax-rMin)
		r = append(r, point{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
	}
	return append(r, r[0])
}

// The banded test must agree with the full edge scan everywhere, including on vertices and edges, for polygons
// from a few vertices (one band) to far more than maxBands edges.
func TestPolygonBandsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{3, 4, 7, 30, 300, 1500, 5000} {
		outer := star(rng, 10, 20, n, 3, 8)
		hole := star(rng, 10, 20, max(n/3, 3), 0.5, 2.5)
		p := newPolygon([][]point{outer, hole})
		if n >= 30 && p.nBands < 2 {
			t.Fatalf("n=%d: %d bands, want the slab index in use", n, p.nBands)
		}
		var pts []point
		for range 5000 {
			pts = append(pts, point{1 + rng.Float64()*18, 11 + rng.Float64()*18})
		}
		for _, r := range [][]point{outer, hole} {
			for i := 0; i+1 < len(r); i++ {
				pts = append(pts, r[i], point{(r[i].x + r[i+1].x) / 2, (r[i].y + r[i+1].y) / 2})
			}
		}
		inside := 0
		for _, q := range pts {
			fast, slow := p.contains(q.x, q.y), p.containsBruteForce(q.x, q.y)
			if fast != slow {
				t.Fatalf("n=%d: point %v: banded %v, brute force %v", n, q, fast, slow)
			}
			if fast {
				inside++
			}
		}
		if inside == 0 || inside == len(pts) {
			t.Fatalf("n=%d: %d of %d points inside; the test points do not straddle the polygon", n, inside, len(pts))
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		lat, lon float64
		x        float64
		ok       bool
	}{
		{10, 0, 0, true},
		{10, 179.5, 179.5, true},
		{10, 180, -180, true},
		{10, -180, -180, true},
		{10, 181, -179, true},
		{10, -181, 179, true},
		{10, 540, -180, true},
		{90, 0, 0, true},
		{-90, 0, 0, true},
		{90.5, 0, 0, false},
		{math.NaN(), 0, 0, false},
		{0, math.NaN(), 0, false},
		{0, math.Inf(1), 0, false},
	}
	for _, tt := range tests {
		x, y, ok := normalize(tt.lat, tt.lon)
		if ok != tt.ok || (ok && (x != tt.x || y != tt.lat)) {
			t.Errorf("normalize(%v, %v) = (%v, %v, %v), want (%v, %v, %v)", tt.lat, tt.lon, x, y, ok, tt.x, tt.lat, tt.ok)
		}
	}
}
