package airspace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
)

// Fixtures are generated here, into t.TempDir(), never committed.

type obj = map[string]any

// rect is a closed counter-clockwise ring around a lon/lat box.
func rect(minLon, minLat, maxLon, maxLat float64) [][]float64 {
	return [][]float64{{minLon, minLat}, {maxLon, minLat}, {maxLon, maxLat}, {minLon, maxLat}, {minLon, minLat}}
}

func polygonGeom(rings ...[][]float64) obj {
	return obj{"type": "Polygon", "coordinates": rings}
}

func multiPolygonGeom(polys ...[][][]float64) obj {
	return obj{"type": "MultiPolygon", "coordinates": polys}
}

func feature(id any, props obj, geom any) obj {
	f := obj{"type": "Feature", "properties": props, "geometry": geom}
	if id != nil {
		f["id"] = id
	}
	if props == nil {
		f["properties"] = obj{}
	}
	return f
}

func collection(features ...obj) obj {
	return obj{"type": "FeatureCollection", "features": features}
}

// writeJSON writes v as JSON into dir/name and returns the path.
func writeJSON(t testing.TB, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(b))
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoadGeoJSON(t testing.TB, path string) *Set {
	t.Helper()
	set, err := LoadGeoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func mustNew(t testing.TB, sets ...*Set) *Airspace {
	t.Helper()
	a, err := New(sets...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vatspyAirspace loads the real VATSpy data from the shared folder.
func vatspyAirspace(t testing.TB) *Airspace {
	t.Helper()
	set, err := LoadVATSpy(shareddata.VATSpyDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return mustNew(t, set)
}

type namedSnapshot struct {
	name string
	feed.Snapshot
}

// snapshots decodes every recorded feed snapshot.
func snapshots(t testing.TB) []namedSnapshot {
	t.Helper()
	var out []namedSnapshot
	for _, path := range shareddata.Feeds(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := namedSnapshot{name: filepath.Base(path)}
		if err := json.Unmarshal(b, &s.Snapshot); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(s.Pilots) == 0 {
			t.Fatalf("%s: no pilots decoded", path)
		}
		out = append(out, s)
	}
	return out
}

func ids(sectors []*Sector) []string {
	out := make([]string, 0, len(sectors))
	for _, s := range sectors {
		out = append(out, s.ID)
	}
	return out
}

func sameIDs(got []*Sector, want []string) bool {
	if want == nil {
		want = []string{}
	}
	return slices.Equal(ids(got), want)
}
