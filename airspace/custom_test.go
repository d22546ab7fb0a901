package airspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stackFixture is a custom file with stacked sectors over one box, a sector with a hole, a two-part
// MultiPolygon and staffing properties.
func stackFixture(t *testing.T) string {
	t.Helper()
	box := rect(0, 50, 2, 52)
	return writeJSON(t, t.TempDir(), "event-sectors.geojson", collection(
		feature("LOW", obj{"name": "Low", "ceiling_ft": 10000, "callsign_prefixes": []string{"EVT_L"}},
			polygonGeom(box)),
		feature(nil, obj{"id": "MID", "floor_ft": 10000, "ceiling_ft": 24500, "callsign_prefixes": []string{"evt"}},
			polygonGeom(box)),
		feature("HIGH", obj{"floor_ft": 24500, "callsign_prefixes": []string{"EVT_H", "EVT_U"}, "facilities": []int{5, 6}},
			polygonGeom(box)),
		feature("RING", obj{"kind": "tma", "region": "EMEA", "oceanic": true},
			polygonGeom(rect(10, 40, 14, 44), rect(11, 41, 13, 43))),
		feature(7, obj{"name": "Islands"},
			multiPolygonGeom([][][]float64{rect(20, 0, 21, 1)}, [][][]float64{rect(22, 0, 23, 1)})),
	))
}

func TestCustomAltitudeBands(t *testing.T) {
	a := mustNew(t, mustLoadGeoJSON(t, stackFixture(t)))
	tests := []struct {
		alt  int
		want []string
	}{
		{-500, []string{"LOW"}},
		{0, []string{"LOW"}},
		{9999, []string{"LOW"}},
		{10000, []string{"MID"}}, // floor inclusive, ceiling exclusive
		{24499, []string{"MID"}},
		{24500, []string{"HIGH"}},
		{60000, []string{"HIGH"}},
	}
	for _, tt := range tests {
		got := a.Locate(51, 1, tt.alt, nil)
		if !sameIDs(got, tt.want) {
			t.Errorf("alt %d: Locate = %v, want %v", tt.alt, ids(got), tt.want)
		}
		if brute := a.locateBruteForce(51, 1, tt.alt, nil); !sameIDs(brute, tt.want) {
			t.Errorf("alt %d: locateBruteForce = %v, want %v", tt.alt, ids(brute), tt.want)
		}
	}
}

func TestCustomHolesAndMultiPolygons(t *testing.T) {
	a := mustNew(t, mustLoadGeoJSON(t, stackFixture(t)))
	tests := []struct {
		name     string
		lat, lon float64
		want     []string
	}{
		{"ring body", 40.5, 10.5, []string{"RING"}},
		{"ring hole", 42, 12, nil},
		{"hole's west edge belongs to the hole", 42, 11, nil},
		{"hole's east edge belongs to the ring", 42, 13, []string{"RING"}},
		{"first island", 0.5, 20.5, []string{"7"}},
		{"second island", 0.5, 22.5, []string{"7"}},
		{"between islands", 0.5, 21.5, nil},
		{"nowhere", -40, -40, nil},
		{"west edge of the stack is in it", 51, 0, []string{"LOW"}},
		{"east edge of the stack is not", 51, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Locate(tt.lat, tt.lon, 5000, nil); !sameIDs(got, tt.want) {
				t.Errorf("Locate = %v, want %v", ids(got), tt.want)
			}
		})
	}
}

// Overlapping parts of one MultiPolygon are a union: the sector is reported once, and the overlap is not
// cancelled out as an even-odd count over all rings would do.
func TestCustomOverlappingParts(t *testing.T) {
	path := writeJSON(t, t.TempDir(), "overlap.geojson", collection(
		feature("OV", nil, multiPolygonGeom([][][]float64{rect(0, 0, 2, 2)}, [][][]float64{rect(1, 1, 3, 3)})),
		feature("AA", nil, polygonGeom(rect(1.5, 1.5, 1.8, 1.8))),
	))
	a := mustNew(t, mustLoadGeoJSON(t, path))
	for _, tt := range []struct {
		lat, lon float64
		want     []string
	}{
		{1.2, 1.2, []string{"OV"}},
		{1.6, 1.6, []string{"AA", "OV"}},
		{0.5, 0.5, []string{"OV"}},
		{2.5, 2.5, []string{"OV"}},
	} {
		if got := a.Locate(tt.lat, tt.lon, 0, nil); !sameIDs(got, tt.want) {
			t.Errorf("Locate(%v, %v) = %v, want %v", tt.lat, tt.lon, ids(got), tt.want)
		}
		if got := a.locateBruteForce(tt.lat, tt.lon, 0, nil); !sameIDs(got, tt.want) {
			t.Errorf("locateBruteForce(%v, %v) = %v, want %v", tt.lat, tt.lon, ids(got), tt.want)
		}
	}
}

func TestCustomProperties(t *testing.T) {
	path := stackFixture(t)
	set := mustLoadGeoJSON(t, path)
	if set.Name != "event-sectors" {
		t.Errorf("set name %q, want the file's base name event-sectors", set.Name)
	}
	if got := ids(set.Sectors); strings.Join(got, ",") != "7,HIGH,LOW,MID,RING" {
		t.Errorf("sectors %v, want sorted by ID", got)
	}
	a := mustNew(t, set)
	ring, ok := a.Sector("event-sectors", "RING")
	if !ok {
		t.Fatal("RING not found")
	}
	if ring.Kind != "tma" || !ring.Oceanic || ring.Region != "EMEA" || ring.Set != "event-sectors" || ring.FloorFt != nil || ring.CeilingFt != nil {
		t.Errorf("RING = %+v, want kind tma, oceanic, region EMEA, set event-sectors, unbounded", *ring)
	}
	low, _ := a.Sector("event-sectors", "LOW")
	if low.Kind != KindCustom || low.Name != "Low" || low.FloorFt != nil || low.CeilingFt == nil || *low.CeilingFt != 10000 {
		t.Errorf("LOW = %+v, want kind custom, name Low, no floor, ceiling 10000", *low)
	}
	if islands, _ := a.Sector("event-sectors", "7"); islands.Polygons() != 2 {
		t.Errorf("sector 7 has %d polygons, want 2", islands.Polygons())
	}
	if minLat, minLon, maxLat, maxLon := ring.Bounds(); minLat != 40 || minLon != 10 || maxLat != 44 || maxLon != 14 {
		t.Errorf("RING bounds %v %v %v %v", minLat, minLon, maxLat, maxLon)
	}
	if !ring.Contains(40.5, 10.5, 0) || ring.Contains(42, 12, 0) {
		t.Error("Sector.Contains disagrees with the ring and its hole")
	}
}

func TestCustomStaffing(t *testing.T) {
	a := mustNew(t, mustLoadGeoJSON(t, stackFixture(t)))
	tests := []struct {
		callsign string
		facility int
		want     []string
	}{
		{"EVT_L_CTR", 6, []string{"LOW"}},   // longest key EVT_L beats EVT
		{"EVT_L_1_CTR", 6, []string{"LOW"}}, // EVT_L_1 unknown, EVT_L found
		{"EVT_CTR", 6, []string{"MID"}},
		{"evt_x_fss", 1, []string{"MID"}},   // case-insensitive; EVT_X unknown, falls back to EVT
		{"EVT_H_APP", 5, []string{"HIGH"}},  // HIGH lists facilities 5 and 6
		{"EVT_H_FSS", 1, []string{"MID"}},   // FSS may not staff HIGH, so its key does not match and EVT does
		{"EVT_L_APP", 5, nil},               // LOW and MID default to FSS and CTR
		{"EVT_L_CTR", 0, nil},               // observers never staff
		{"EVTX_CTR", 6, nil},                // keys match whole segments
		{"EVT", 6, nil},                     // no facility suffix, no key
		{"EVT_U_CTR", 6, []string{"HIGH"}},  // second prefix of HIGH
		{"EVT__L__CTR", 6, []string{"LOW"}}, // doubled separators
	}
	for _, tt := range tests {
		got := a.Staffs(tt.callsign, tt.facility)
		if !sameIDs(got, tt.want) {
			t.Errorf("Staffs(%q, %d) = %v, want %v", tt.callsign, tt.facility, ids(got), tt.want)
		}
	}
}

func TestCustomBadInput(t *testing.T) {
	good := polygonGeom(rect(0, 0, 1, 1))
	tests := []struct {
		name string
		doc  any
		want []string // substrings of the error, besides the file name
	}{
		{"not a feature collection", obj{"type": "Feature", "geometry": good}, []string{`"Feature", want FeatureCollection`}},
		{"not json", "{", []string{"not GeoJSON"}},
		{"no features", collection(), []string{"no features"}},
		{"missing id", collection(feature(nil, obj{"name": "x"}, good)), []string{"feature 0", "missing id"}},
		{"disagreeing ids", collection(feature("A", obj{"id": "B"}, good)), []string{"disagree"}},
		{"fractional id", collection(feature(1.5, nil, good)), []string{"feature 0", "not a string or an integer"}},
		{"not a feature", collection(obj{"type": "Point", "id": "A", "geometry": good}), []string{`feature 0 (id "A")`, `"Point", want Feature`}},
		{"unsupported geometry", collection(feature("A", nil, obj{"type": "Point", "coordinates": []float64{0, 0}})),
			[]string{`feature 0 (id "A")`, `unsupported geometry type "Point"`}},
		{"null geometry", collection(feature("A", nil, nil)), []string{`feature 0 (id "A")`, "geometry is missing"}},
		{"floor at ceiling", collection(feature("A", obj{"floor_ft": 5000, "ceiling_ft": 5000}, good)),
			[]string{`feature 0 (id "A")`, "floor_ft 5000 is not below ceiling_ft 5000"}},
		{"floor above ceiling", collection(feature("OK", nil, good), feature("A", obj{"floor_ft": 6000, "ceiling_ft": 5000}, good)),
			[]string{`feature 1 (id "A")`, "not below"}},
		{"fractional feet", collection(feature("A", obj{"floor_ft": 100.5}, good)), []string{"floor_ft", "whole number"}},
		{"string feet", collection(feature("A", obj{"ceiling_ft": "FL245"}, good)), []string{"ceiling_ft", "not a number"}},
		{"unclosed ring", collection(feature("A", nil, polygonGeom([][]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}}))),
			[]string{`feature 0 (id "A")`, "exterior ring", "not closed"}},
		{"short ring", collection(feature("A", nil, polygonGeom([][]float64{{0, 0}, {1, 1}, {0, 0}}))),
			[]string{"exterior ring", "at least 4"}},
		{"bad hole", collection(feature("A", nil, polygonGeom(rect(0, 0, 4, 4), [][]float64{{1, 1}, {2, 1}, {2, 2}}))),
			[]string{"hole 1", "not closed"}},
		{"latitude out of range", collection(feature("A", nil, polygonGeom(rect(0, 80, 1, 91)))),
			[]string{"latitude 91 out of range"}},
		{"longitude out of range", collection(feature("A", nil, polygonGeom(rect(179, 0, 181, 1)))),
			[]string{"longitude 181 out of range"}},
		{"multipolygon part", collection(feature("A", nil, multiPolygonGeom([][][]float64{rect(0, 0, 1, 1)}, [][][]float64{{{0, 0}}}))),
			[]string{"polygon 1", "exterior ring"}},
		{"position with one number", collection(feature("A", nil, polygonGeom([][]float64{{0}, {1, 0}, {1, 1}, {0}}))),
			[]string{"position 0 has 1 numbers"}},
		{"duplicate ids", collection(feature("A", nil, good), feature("B", nil, good), feature(nil, obj{"id": "A"}, good)),
			[]string{`duplicate id "A": features 0 and 2`}},
		{"bad prefixes", collection(feature("A", obj{"callsign_prefixes": "EGTT"}, good)), []string{"callsign_prefixes", "array of strings"}},
		{"empty prefix", collection(feature("A", obj{"callsign_prefixes": []string{""}}, good)), []string{"callsign_prefixes[0]"}},
		{"observer facility", collection(feature("A", obj{"facilities": []int{0}}, good)), []string{"facilities: 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var path string
			if s, ok := tt.doc.(string); ok {
				path = writeFile(t, dir, "bad.geojson", s)
			} else {
				path = writeJSON(t, dir, "bad.geojson", tt.doc)
			}
			_, err := LoadGeoJSON(path)
			if err == nil {
				t.Fatal("LoadGeoJSON succeeded, want an error")
			}
			for _, w := range append([]string{path}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// One file with many different problems: LoadGeoJSON reports every one of them at once, as a *LoadError, and
// returns no Set.
func TestCustomEveryProblemAtOnce(t *testing.T) {
	good := polygonGeom(rect(0, 0, 1, 1))
	open := polygonGeom([][]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}})
	path := writeJSON(t, t.TempDir(), "many.geojson", collection(
		feature("X", nil, good),                        // 0
		feature("OPEN", nil, open),                     // 1
		feature("Y", nil, good),                        // 2
		feature("X", nil, good),                        // 3
		feature("FLOOR", obj{"floor_ft": "low"}, good), // 4
		feature("LINE", nil, obj{"type": "LineString", "coordinates": [][]float64{{0, 0}, {1, 1}}}), // 5
		feature("Y", nil, good),                    // 6
		feature("X", obj{"ceiling_ft": 1.5}, open), // 7: two problems of its own, and a duplicate
		feature("OK", nil, good),                   // 8
		feature("X", nil, good),                    // 9
		feature("PARTS", nil, multiPolygonGeom([][][]float64{{{0, 0}}}, [][][]float64{rect(0, 0, 1, 1)}, [][][]float64{{{5, 5}}})), // 10
	))
	set, err := LoadGeoJSON(path)
	if set != nil {
		t.Errorf("LoadGeoJSON returned a set with problems: %d sectors", len(set.Sectors))
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T) is not a *LoadError", err, err)
	}
	if le.Path != path {
		t.Errorf("LoadError.Path = %q, want %q", le.Path, path)
	}
	want := []struct{ name, text string }{
		{"open ring", `feature 1 (id "OPEN"): geometry: exterior ring: ring is not closed`},
		{"bad floor_ft", `feature 4 (id "FLOOR"): property floor_ft: "low" is not a number of feet`},
		{"bad geometry type", `feature 5 (id "LINE"): geometry: unsupported geometry type "LineString"`},
		{"second problem of one feature: bad ceiling_ft", `feature 7 (id "X"): property ceiling_ft: 1.5 is not a whole number`},
		{"second problem of one feature: open ring", `feature 7 (id "X"): geometry: exterior ring: ring is not closed`},
		{"first bad part of a MultiPolygon", `feature 10 (id "PARTS"): geometry: polygon 0: exterior ring`},
		{"second bad part of a MultiPolygon", `feature 10 (id "PARTS"): geometry: polygon 2: exterior ring`},
		{"duplicate id used four times", `duplicate id "X": features 0, 3, 7 and 9`},
		{"duplicate id used twice", `duplicate id "Y": features 2 and 6`},
	}
	for _, w := range want {
		t.Run(w.name, func(t *testing.T) {
			n := 0
			for _, p := range le.Problems {
				if strings.Contains(p, w.text) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d problems contain %q, want 1; problems:\n%s", n, w.text, strings.Join(le.Problems, "\n"))
			}
			if !strings.Contains(err.Error(), w.text) {
				t.Errorf("the error message does not list %q", w.text)
			}
		})
	}
	if len(le.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(le.Problems), len(want), strings.Join(le.Problems, "\n"))
	}
	if !strings.Contains(err.Error(), path+": 9 problems") {
		t.Errorf("error %q does not start with the file and the count", err)
	}
}

func TestLoadDispatch(t *testing.T) {
	dir := t.TempDir()
	custom := writeJSON(t, dir, "mine.GeoJSON", collection(feature("A", nil, polygonGeom(rect(0, 0, 1, 1)))))
	if set, _, err := Load(custom); err != nil || set.Name != "mine" || len(set.Sectors) != 1 {
		t.Errorf("Load(%s) = %v, %v; want the custom set \"mine\"", custom, set, err)
	}

	vatspyDir := filepath.Join(dir, "vatspy")
	writeVATSpyFixture(t, vatspyDir, vatspyFixtureFeatures(), vatspyFixtureDat)
	if set, _, err := Load(vatspyDir); err != nil || set.Name != SetVATSpy {
		t.Errorf("Load(folder) = %v, %v; want the vatspy set", set, err)
	}

	half := filepath.Join(dir, "half")
	if err := os.Mkdir(half, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, half, BoundariesFile, "{}")
	other := writeFile(t, dir, "sectors.txt", "")
	for path, want := range map[string]string{
		half:                         "lacks VATSpy.dat",
		other:                        "or Volumes.xml and Sectors.xml (vatSys), or a .geojson file",
		filepath.Join(dir, "absent"): "no such file",
	} {
		if _, _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) error = %v, want it to say %q", path, err, want)
		}
	}
}

// Sets may reuse each other's ids (a division's vatSys volumes reuse VATSpy FIR ids): a sector is its set and
// its id.
func TestNewKeepsSetsApart(t *testing.T) {
	dir := t.TempDir()
	a := mustLoadGeoJSON(t, writeJSON(t, dir, "a.geojson", collection(feature("X", nil, polygonGeom(rect(0, 0, 1, 1))))))
	b := mustLoadGeoJSON(t, writeJSON(t, dir, "b.geojson", collection(feature("X", nil, polygonGeom(rect(5, 5, 6, 6))))))
	ab := mustNew(t, a, b)
	if got := ab.Lookup("X"); len(got) != 2 || got[0].Set != "a" || got[1].Set != "b" {
		t.Errorf("Lookup(X) = %v, want the X of set a, then of set b", got)
	}
	if s, ok := ab.Sector("b", "X"); !ok || s.Set != "b" || !s.Contains(5.5, 5.5, 0) {
		t.Errorf("Sector(b, X) = %v, %v", s, ok)
	}
	if got := ab.Locate(5.5, 5.5, 0, nil); len(got) != 1 || got[0].Set != "b" {
		t.Errorf("Locate in b's X = %v", got)
	}
	if _, ok := ab.Sector("c", "X"); ok || len(ab.Lookup("Y")) != 0 {
		t.Error("an unknown set or id resolves to nothing")
	}
	if _, err := New(&Set{Name: "a/b"}); err == nil || !strings.Contains(err.Error(), `"/"`) {
		t.Errorf("a set name with a slash: error = %v", err)
	}
	if _, err := New(a, a); err == nil || !strings.Contains(err.Error(), `two sets are named "a"`) {
		t.Errorf("New(a, a) error = %v, want duplicate set name", err)
	}
	if _, err := New(&Set{Name: "hand", Sectors: []*Sector{{ID: "H", Set: "hand"}}}); err == nil || !strings.Contains(err.Error(), "no geometry") {
		t.Errorf("New with a hand-made sector: error = %v, want no geometry", err)
	}
	empty := mustNew(t)
	if got := empty.Locate(0, 0, 0, nil); len(got) != 0 || len(empty.Sectors()) != 0 || empty.Staffs("EGTT_CTR", 6) != nil {
		t.Error("an empty Airspace should locate and staff nothing")
	}
}

// Two sets in one Airspace: Locate and Staffs merge them, sorted by set, then ID.
func TestMultipleSets(t *testing.T) {
	dir := t.TempDir()
	a := mustLoadGeoJSON(t, writeJSON(t, dir, "a.geojson", collection(
		feature("Z1", obj{"callsign_prefixes": []string{"ZZ"}}, polygonGeom(rect(0, 0, 2, 2))))))
	b := mustLoadGeoJSON(t, writeJSON(t, dir, "b.geojson", collection(
		feature("A1", obj{"callsign_prefixes": []string{"ZZ_N"}}, polygonGeom(rect(1, 1, 3, 3))))))
	as := mustNew(t, a, b)
	if got := as.Locate(1.5, 1.5, 0, nil); !sameIDs(got, []string{"Z1", "A1"}) {
		t.Errorf("Locate = %v, want [a/Z1 b/A1]", ids(got))
	}
	if got := as.Staffs("ZZ_N_CTR", 6); !sameIDs(got, []string{"Z1", "A1"}) {
		t.Errorf("Staffs = %v, want each set's own longest match, merged: [a/Z1 b/A1]", ids(got))
	}
	if got := ids(as.Sectors()); strings.Join(got, ",") != "Z1,A1" {
		t.Errorf("Sectors = %v", got)
	}
	if s, ok := as.Sector("b", "A1"); !ok || s.Set != "b" {
		t.Errorf("Sector(b, A1) = %v, %v; want it from set b", s, ok)
	}
}
