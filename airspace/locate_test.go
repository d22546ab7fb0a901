package airspace

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/vatsector/vatsector/internal/shareddata"
)

// The index must return exactly what the brute-force scan returns, for every pilot of every recorded snapshot.
func TestLocateMatchesBruteForceOnRecordedPilots(t *testing.T) {
	a := vatspyAirspace(t)
	var fast, slow []*Sector
	positions, located := 0, 0
	for _, snap := range snapshots(t) {
		for _, p := range snap.Pilots {
			fast = a.Locate(p.Latitude, p.Longitude, p.Altitude, fast[:0])
			slow = a.locateBruteForce(p.Latitude, p.Longitude, p.Altitude, slow[:0])
			if !slices.Equal(fast, slow) {
				t.Errorf("%s: %s at (%v, %v, %d ft): index %v, brute force %v",
					snap.name, p.Callsign, p.Latitude, p.Longitude, p.Altitude, ids(fast), ids(slow))
			}
			positions++
			if len(fast) > 0 {
				located++
			}
		}
	}
	t.Logf("%d pilot positions, %d in at least one sector", positions, located)
	if positions < 4000 || located < positions*3/4 {
		t.Errorf("%d positions, %d located: the snapshots or the data did not load as expected", positions, located)
	}
}

// Boundary stress: every vertex and edge midpoint of every VATSpy polygon, where the index and the scan are most
// likely to disagree, plus random points over the globe. A full scan per point would take minutes for 180,000
// points, so the reference skips polygons whose bounding box excludes the point, which cannot change the answer:
// left of the box a ray crosses the polygon an even number of times, right of or above/below it none.
func TestLocateMatchesBruteForceOnVertices(t *testing.T) {
	a := vatspyAirspace(t)
	var pts []point
	for _, s := range a.Sectors() {
		for _, p := range s.volumes[0].polys { // VATSpy sectors are one volume
			for _, r := range p.rings {
				for i := 0; i+1 < len(r); i++ {
					pts = append(pts, r[i], point{(r[i].x + r[i+1].x) / 2, (r[i].y + r[i+1].y) / 2})
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		pts = append(pts, point{rng.Float64()*360 - 180, rng.Float64()*180 - 90})
	}
	var fast, slow []*Sector
	mismatches := 0
	for _, q := range pts {
		fast = a.Locate(q.y, q.x, 0, fast[:0])
		slow = slow[:0]
		x, y, _ := normalize(q.y, q.x)
		for _, s := range a.sectors {
			for _, p := range s.volumes[0].polys {
				if x >= p.minX && x <= p.maxX && y >= p.minY && y <= p.maxY && p.containsBruteForce(x, y) {
					slow = append(slow, s)
					break
				}
			}
		}
		if !slices.Equal(fast, slow) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("(%v, %v): index %v, brute force %v", q.y, q.x, ids(fast), ids(slow))
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d points differ", mismatches, len(pts))
	}
}

func TestLocateAppendsToDst(t *testing.T) {
	a := vatspyAirspace(t)
	sentinel := &Sector{ID: "~sentinel"}
	dst := []*Sector{sentinel}
	dst = a.Locate(51.47, -0.4543, 3000, dst)
	if dst[0] != sentinel || !sameIDs(dst[1:], []string{"EGTL", "EGTL-S", "EGTT", "EGTT-D", "EGTT-S", "EGTT-SC", "EGVV"}) {
		t.Errorf("Locate with a non-empty dst = %v; want the sentinel kept and the matches appended", ids(dst))
	}
}

// In steady state (dst with capacity) Locate must not allocate.
func TestLocateDoesNotAllocate(t *testing.T) {
	a := vatspyAirspace(t)
	snap := snapshots(t)[0]
	dst := make([]*Sector, 0, 64)
	allocs := testing.AllocsPerRun(5, func() {
		for _, p := range snap.Pilots {
			dst = a.Locate(p.Latitude, p.Longitude, p.Altitude, dst[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("Locate allocated %v times per snapshot, want 0", allocs)
	}
}

// Concurrent Locate and Staffs calls (run with -race) give the same answers as serial ones.
func TestConcurrentUse(t *testing.T) {
	a := vatspyAirspace(t)
	snap := snapshots(t)[0]
	want := make([][]*Sector, len(snap.Pilots))
	for i, p := range snap.Pilots {
		want[i] = a.Locate(p.Latitude, p.Longitude, p.Altitude, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			var dst []*Sector
			for i, p := range snap.Pilots {
				dst = a.Locate(p.Latitude, p.Longitude, p.Altitude, dst[:0])
				if !slices.Equal(dst, want[i]) {
					errs <- p.Callsign
					return
				}
				_ = a.Staffs("LON_S_CTR", 6)
			}
		})
	}
	wg.Wait()
	close(errs)
	for cs := range errs {
		t.Errorf("concurrent Locate for %s differs from the serial result", cs)
	}
}

// BenchmarkLocate classifies every pilot of one recorded snapshot against VATSpy; one op is the whole snapshot.
func BenchmarkLocate(b *testing.B) {
	a := vatspyAirspace(b)
	snaps := snapshots(b)
	snap := snaps[len(snaps)-1]
	dst := make([]*Sector, 0, 64)
	matches := 0
	b.ReportAllocs()
	for b.Loop() {
		matches = 0
		for _, p := range snap.Pilots {
			dst = a.Locate(p.Latitude, p.Longitude, p.Altitude, dst[:0])
			matches += len(dst)
		}
	}
	b.ReportMetric(float64(len(snap.Pilots)), "pilots/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(snap.Pilots)), "ns/pilot")
	if matches == 0 {
		b.Fatal("no pilot located")
	}
}

// BenchmarkLocateBruteForce is the scan the index replaces, for comparison.
func BenchmarkLocateBruteForce(b *testing.B) {
	a := vatspyAirspace(b)
	snaps := snapshots(b)
	snap := snaps[len(snaps)-1]
	dst := make([]*Sector, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range snap.Pilots {
			dst = a.locateBruteForce(p.Latitude, p.Longitude, p.Altitude, dst[:0])
		}
	}
}

func BenchmarkLoadVATSpy(b *testing.B) {
	dir := shareddata.VATSpyDir(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadVATSpy(dir); err != nil {
			b.Fatal(err)
		}
	}
}
