package ingest_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// reference is an independent brute-force classifier over the raw VATSpy Boundaries.geojson: no index, no
// precomputation, even-odd ray casting over every ring of every polygon of every feature. It shares nothing
// with package airspace but the documented id rule for repeated ids: features are grouped by (id, oceanic);
// when an id has a domestic and an oceanic group, the oceanic one is id + "-OCEANIC".
type reference struct {
	ids   []string
	polys [][][][][2]float64 // per sector: polygons → rings → points (lon, lat)
}

func loadReference(t testing.TB, path string) *reference {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ID      string `json:"id"`
				Oceanic string `json:"oceanic"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	type group struct {
		id      string
		oceanic bool
	}
	groups := map[group][][][][2]float64{}
	oceanicIDs, domesticIDs := map[string]bool{}, map[string]bool{}
	for _, f := range fc.Features {
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				t.Fatal(err)
			}
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				t.Fatal(err)
			}
			polys = [][][][2]float64{p}
		default:
			t.Fatalf("feature %s: geometry %s", f.Properties.ID, f.Geometry.Type)
		}
		g := group{f.Properties.ID, f.Properties.Oceanic == "1"}
		groups[g] = append(groups[g], polys...)
		if g.oceanic {
			oceanicIDs[g.id] = true
		} else {
			domesticIDs[g.id] = true
		}
	}
	r := &reference{}
	for g, polys := range groups {
		id := g.id
		if g.oceanic && domesticIDs[g.id] {
			id += "-OCEANIC"
		}
		r.ids = append(r.ids, id)
		r.polys = append(r.polys, polys)
	}
	return r
}

// sectors returns the sorted ids of the sectors containing the point.
func (r *reference) sectors(lat, lon float64) []string {
	var out []string
	for i, polys := range r.polys {
		for _, rings := range polys {
			inside := false
			for _, ring := range rings {
				for a, b := 0, len(ring)-1; a < len(ring); b, a = a, a+1 {
					xa, ya, xb, yb := ring[a][0], ring[a][1], ring[b][0], ring[b][1]
					if (ya > lat) != (yb > lat) && lon < (xb-xa)*(lat-ya)/(yb-ya)+xa {
						inside = !inside
					}
				}
			}
			if inside {
				out = append(out, r.ids[i])
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
