package airspace

import (
	"math/rand/v2"
	"testing"
)

// unwrappedContains is the reference for splitAntimeridian: the ring unwrapped by hand (longitudes continuous,
// possibly beyond ±180) contains the position when it contains it at x, x-360 or x+360.
func unwrappedContains(unwrapped *polygon, x, y float64) bool {
	return unwrapped.containsBruteForce(x, y) || unwrapped.containsBruteForce(x-360, y) ||
		unwrapped.containsBruteForce(x+360, y)
}

func wrapLon(x float64) float64 {
	x, _, _ = normalize(0, x)
	return x
}

func TestSplitAntimeridian(t *testing.T) {
	tests := []struct {
		name      string
		unwrapped []point // closed, as the ring would be without the ±360 jumps
		pieces    int
	}{
		{"box within range", []point{{10, 10}, {20, 10}, {20, 20}, {10, 20}, {10, 10}}, 1},
		{"box across 180", []point{{170, -30}, {190, -30}, {190, -20}, {170, -20}, {170, -30}}, 2},
		{"box across -180", []point{{-190, 5}, {-170, 5}, {-170, 15}, {-190, 15}, {-190, 5}}, 2},
		// A U open to the west whose two arms reach across 180: the east piece is two separate arms, the west
		// piece the bottom of the U.
		{"concave across 180", []point{
			{170, 0}, {190, 0}, {190, 10}, {175, 10}, {175, 20}, {190, 20}, {190, 30}, {170, 30}, {170, 0},
		}, 2},
		// Touching 180 without crossing stays one polygon.
		{"east edge on 180", []point{{170, 0}, {180, 0}, {180, 10}, {170, 10}, {170, 0}}, 1},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring := make([]point, len(tt.unwrapped))
			for i, p := range tt.unwrapped {
				ring[i] = point{wrapLon(p.x), p.y}
				if p.x == 180 {
					ring[i].x = 180 // as a file writes it
				}
			}
			pieces := splitAntimeridian(ring)
			if len(pieces) != tt.pieces {
				t.Fatalf("got %d pieces, want %d: %v", len(pieces), tt.pieces, pieces)
			}
			var polys []*polygon
			for _, r := range pieces {
				if r[0] != r[len(r)-1] {
					t.Errorf("piece not closed: %v", r)
				}
				for _, p := range r {
					if p.x < -180 || p.x > 180 {
						t.Errorf("piece point %v outside [-180, 180]", p)
					}
				}
				polys = append(polys, newPolygon([][]point{r}))
			}
			ref := newPolygon([][]point{tt.unwrapped})
			for range 20000 {
				x, y := -180+rng.Float64()*360, -40+rng.Float64()*80
				if rng.IntN(10) == 0 {
					x = -180 // on the antimeridian
				}
				want := unwrappedContains(ref, x, y)
				got := false
				for _, p := range polys {
					if p.contains(x, y) != p.containsBruteForce(x, y) {
						t.Fatalf("index and brute force disagree at (%v, %v)", x, y)
					}
					got = got || p.contains(x, y)
				}
				if got != want {
					t.Fatalf("at (%v, %v): split says %v, unwrapped ring %v", x, y, got, want)
				}
			}
		})
	}
}

func TestSplitAntimeridianPole(t *testing.T) {
	// A ring around the south pole at -70..-60, written as the files write it (jumping at 180).
	ring := []point{{0, -60}, {90, -60}, {180, -60}, {-90, -60}, {0, -60}}
	pieces := splitAntimeridian(ring)
	if len(pieces) == 0 {
		t.Fatal("no pieces")
	}
	var polys []*polygon
	for _, r := range pieces {
		polys = append(polys, newPolygon([][]point{r}))
	}
	in := func(x, y float64) bool {
		for _, p := range polys {
			if p.contains(x, y) {
				return true
			}
		}
		return false
	}
	for _, c := range [][2]float64{{0, -80}, {179, -65}, {-180, -89}, {-45, -61}, {0, -50}, {100, 10}, {-179, -59}} {
		if got, want := in(c[0], c[1]), c[1] < -60; got != want {
			t.Errorf("(%v, %v): got %v, want %v", c[0], c[1], got, want)
		}
	}
}
