package airspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
)

// simawareFixture has: one facility id T80 with four areas (prefix AAA; AAA's DEP area; BBB; a two-prefix DEP
// area) and AAA's area repeated with the same geometry; SOLO, an id of its own; a multi-part suffix (EETT +
// H_APP); a tower area; an unclosed ring, as the published file has.
func simawareFixture() []obj {
	f := func(props obj, ring [][]float64) obj {
		return feature(nil, props, multiPolygonGeom([][][]float64{ring}))
	}
	return []obj{
		f(obj{"id": "T80", "prefix": []string{"AAA"}, "name": "Test Approach"}, rect(0, 0, 2, 2)),
		f(obj{"id": "T80", "prefix": []string{"AAA"}, "suffix": "DEP", "name": "Test Departure"}, rect(0, 0, 1, 1)),
		f(obj{"id": "T80", "prefix": []string{"BBB"}, "name": "Test Approach"}, rect(2, 0, 4, 2)),
		f(obj{"id": "T80", "prefix": []string{"DDD", "CCC"}, "suffix": "DEP", "name": "Test Departure"}, rect(4, 0, 6, 2)),
		f(obj{"id": "T80", "prefix": []string{"AAA"}, "name": "Test Approach", "label_lat": 1, "label_lon": 1}, rect(0, 0, 2, 2)),
		f(obj{"id": "SOLO", "prefix": []string{"SOL", "SOLO_X"}, "name": "Solo Radar"}, [][]float64{{10, 10}, {12, 10}, {12, 12}, {10, 12}}),
		f(obj{"id": "EETT_H", "prefix": []string{"EETT"}, "suffix": "H_APP", "name": "Tallinn H"}, rect(20, 0, 22, 2)),
		f(obj{"id": "EETT", "prefix": []string{"EETT"}, "name": "Tallinn Approach"}, rect(20, 0, 24, 4)),
		f(obj{"id": "TOWR", "prefix": []string{"TOWR"}, "suffix": "TWR", "name": "Tower"}, rect(30, 0, 31, 1)),
	}
}

func loadSimAwareFixture(t *testing.T, features []obj) *Set {
	t.Helper()
	dir := t.TempDir()
	writeJSON(t, dir, SimAwareFile, collection(features...))
	set, err := LoadSimAware(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// describeSector is what must not depend on file order: the geometry and the properties.
func describeSector(s *Sector) string {
	minLat, minLon, maxLat, maxLon := s.Bounds()
	return fmt.Sprintf("%s|%s|%s|%s|%d|%v,%v,%v,%v", s.ID, s.Boundary, s.Name, s.Kind, s.Polygons(), minLat, minLon, maxLat, maxLon)
}

// Features sharing an id get distinct IDs from their callsign pairs, the same whatever the order of the file.
func TestSimAwareSharedIDs(t *testing.T) {
	features := simawareFixture()
	base := loadSimAwareFixture(t, features)
	wantIDs := "EETT,EETT_H,SOLO,T80-AAA,T80-AAA_DEP,T80-BBB,T80-CCC_DEP+DDD_DEP,TOWR"
	if got := strings.Join(ids(base.Sectors), ","); got != wantIDs {
		t.Fatalf("IDs %s, want %s", got, wantIDs)
	}
	if base.Name != SetSimAware {
		t.Errorf("set name %q", base.Name)
	}
	for _, s := range base.Sectors {
		if s.Set != SetSimAware || s.Kind != KindTRACON || s.FloorFt != nil || s.CeilingFt != nil {
			t.Errorf("%s: %+v", s.ID, *s)
		}
	}
	a := mustNew(t, base)
	aaa, _ := a.Sector(SetSimAware, "T80-AAA")
	if aaa.Boundary != "T80" || aaa.Name != "Test Approach" || aaa.Polygons() != 1 {
		t.Errorf("T80-AAA (the repeat merged away): %+v, %d polygons", *aaa, aaa.Polygons())
	}
	want := make([]string, len(base.Sectors))
	for i, s := range base.Sectors {
		want[i] = describeSector(s)
	}
	orders := map[string][]obj{"reversed": slices.Clone(features)}
	slices.Reverse(orders["reversed"])
	for seed := range int64(5) {
		fs := slices.Clone(features)
		rand.New(rand.NewSource(seed)).Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
		orders[fmt.Sprintf("shuffle %d", seed)] = fs
	}
	for name, fs := range orders {
		t.Run(name, func(t *testing.T) {
			set := loadSimAwareFixture(t, fs)
			got := make([]string, len(set.Sectors))
			for i, s := range set.Sectors {
				got[i] = describeSector(s)
			}
			if !slices.Equal(got, want) {
				t.Errorf("sectors differ with the file order:\n got %v\nwant %v", got, want)
			}
			b := mustNew(t, set)
			for _, tt := range []struct {
				callsign string
				want     []string
			}{{"AAA_APP", []string{"T80-AAA"}}, {"CCC_DEP", []string{"T80-CCC_DEP+DDD_DEP"}}, {"EETT_H_APP", []string{"EETT_H"}}} {
				if got := b.Staffs(tt.callsign, 5); !sameIDs(got, tt.want) {
					t.Errorf("Staffs(%s) = %v, want %v", tt.callsign, ids(got), tt.want)
				}
			}
		})
	}
}

func TestSimAwareStaffing(t *testing.T) {
	a := mustNew(t, loadSimAwareFixture(t, simawareFixture()))
	tests := []struct {
		name     string
		callsign string
		facility int
		want     []string
	}{
		{"prefix, default suffix APP", "AAA_APP", 5, []string{"T80-AAA"}},
		{"prefix with its own DEP area", "AAA_DEP", 5, []string{"T80-AAA_DEP"}},
		{"DEP falls back to the prefix's APP area", "BBB_DEP", 5, []string{"T80-BBB"}},
		{"APP does not fall back to a DEP area", "CCC_APP", 5, nil},
		{"second prefix of an area", "DDD_DEP", 5, []string{"T80-CCC_DEP+DDD_DEP"}},
		{"middle part, no area of its own: first part", "AAA_N_APP", 5, []string{"T80-AAA"}},
		{"middle parts shortened one at a time", "SOLO_X_1_APP", 5, []string{"SOLO"}},
		{"a prefix with a middle part", "SOLO_X_APP", 5, []string{"SOLO"}},
		{"multi-part suffix H_APP", "EETT_H_APP", 5, []string{"EETT_H"}},
		{"the same prefix without the middle part", "EETT_APP", 5, []string{"EETT"}},
		{"other middle part falls back", "EETT_W_APP", 5, []string{"EETT"}},
		{"wrong suffix falls back to APP as SimAware does", "AAA_CTR", 5, []string{"T80-AAA"}},
		{"wrong suffix, no APP area", "CCC_XXX", 5, nil},
		{"case-insensitive and doubled separators", "aaa__dep", 5, []string{"T80-AAA_DEP"}},
		{"observer", "AAA_APP", 0, nil},
		{"tower facility", "AAA_APP", 4, nil},
		{"centre facility", "AAA_APP", 6, nil},
		{"tower area: tower connections are not matched", "TOWR_TWR", 4, nil},
		{"prefix is a whole segment", "AAAA_APP", 5, nil},
		{"unknown prefix", "ZZZ_APP", 5, nil},
		{"no suffix", "AAA", 5, nil},
	}
	for _, tt := range tests {
		if got := a.Staffs(tt.callsign, tt.facility); !sameIDs(got, tt.want) {
			t.Errorf("%s: Staffs(%q, %d) = %v, want %v", tt.name, tt.callsign, tt.facility, ids(got), tt.want)
		}
	}
}

func TestSimAwareLocate(t *testing.T) {
	a := mustNew(t, loadSimAwareFixture(t, simawareFixture()))
	tests := []struct {
		name     string
		lat, lon float64
		want     []string
	}{
		{"inside the APP and the DEP area", 0.5, 0.5, []string{"T80-AAA", "T80-AAA_DEP"}},
		{"inside the APP area only", 1.5, 1.5, []string{"T80-AAA"}},
		{"east edge belongs to the next area", 1, 2, []string{"T80-BBB"}},
		{"inside a ring the file leaves open", 11, 11, []string{"SOLO"}},
		{"nested areas", 1, 21, []string{"EETT", "EETT_H"}},
		{"outside every area", 50, 50, nil},
		{"between areas", 5, 5, nil},
	}
	for _, tt := range tests {
		if got := a.Locate(tt.lat, tt.lon, 3000, nil); !sameIDs(got, tt.want) {
			t.Errorf("%s: Locate(%v, %v) = %v, want %v", tt.name, tt.lat, tt.lon, ids(got), tt.want)
		}
		if got := a.locateBruteForce(tt.lat, tt.lon, 3000, nil); !sameIDs(got, tt.want) {
			t.Errorf("%s: locateBruteForce = %v, want %v", tt.name, ids(got), tt.want)
		}
	}
}

func TestSimAwareEveryProblemAtOnce(t *testing.T) {
	mp := multiPolygonGeom([][][]float64{rect(0, 0, 1, 1)})
	dir := t.TempDir()
	writeJSON(t, dir, SimAwareFile, collection(
		feature(nil, obj{"id": "OK", "prefix": []string{"OK"}}, mp),                                                 // 0
		feature(nil, obj{"prefix": []string{"X"}}, mp),                                                              // 1
		feature(nil, obj{"id": "P1", "prefix": []string{}}, mp),                                                     // 2
		feature(nil, obj{"id": "P2", "prefix": 7, "suffix": 3}, mp),                                                 // 3: two problems
		feature(nil, obj{"id": "P3", "prefix": []string{"A_"}}, mp),                                                 // 4
		feature(nil, obj{"id": "G", "prefix": []string{"G"}}, obj{"type": "Point", "coordinates": []float64{0, 0}}), // 5
		feature(nil, obj{"id": "S", "prefix": []string{"S"}, "suffix": "_APP"}, mp),                                 // 6
		feature(nil, obj{"id": "C", "prefix": []string{"ATL"}}, mp),                                                 // 7: C-ATL
		feature(nil, obj{"id": "C", "prefix": []string{"MCN"}}, mp),                                                 // 8
		feature(nil, obj{"id": "C-ATL", "prefix": []string{"ZZZ"}}, mp),                                             // 9: collides
	))
	set, err := LoadSimAware(dir)
	var le *LoadError
	if set != nil || !errors.As(err, &le) {
		t.Fatalf("LoadSimAware = %v, %v; want no set and a *LoadError", set, err)
	}
	want := []string{
		"feature 1: missing properties.id",
		`feature 2 (id "P1"): property prefix is empty`,
		`feature 3 (id "P2"): property prefix: 7 is not an array of strings`,
		`feature 3 (id "P2"): property suffix: 3 is not a string`,
		`feature 4 (id "P3"): prefix[0] "A_" is not a callsign prefix`,
		`feature 5 (id "G"): geometry: unsupported geometry type "Point"`,
		`feature 6 (id "S"): suffix "_APP" is not a callsign suffix`,
		`sector id "C-ATL" of features 9 is also the id of features 7`,
	}
	for _, w := range want {
		n := 0
		for _, p := range le.Problems {
			if strings.Contains(p, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d problems contain %q, want 1", n, w)
		}
	}
	if len(le.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(le.Problems), len(want), strings.Join(le.Problems, "\n"))
	}
	if _, err := LoadSimAware(t.TempDir()); !errors.As(err, &le) || !strings.Contains(err.Error(), SimAwareFile) {
		t.Errorf("missing file: %v", err)
	}
}

func simawareRealDir(t *testing.T) string {
	t.Helper()
	return shareddata.Path(t, "airspace", "simaware")
}

// The published file: every feature is a sector, except exact repeats of an area (same id, prefixes, suffix and
// geometry), which are merged.
func TestSimAwareRealData(t *testing.T) {
	dir := simawareRealDir(t)
	set, err := LoadSimAware(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, set)

	// Independently of the loader: group the raw features by id, prefixes and suffix.
	b, err := os.ReadFile(filepath.Join(dir, SimAwareFile))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ID     string   `json:"id"`
				Prefix []string `json:"prefix"`
				Suffix string   `json:"suffix"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) != 1281 {
		t.Errorf("%d features, want the 1,281 of the stored release", len(fc.Features))
	}
	groups := make(map[string][]int)
	byBoundary := make(map[string]int)
	for i, f := range fc.Features {
		p := slices.Clone(f.Properties.Prefix)
		slices.Sort(p)
		suffix := f.Properties.Suffix
		if suffix == "" {
			suffix = "APP"
		}
		k := f.Properties.ID + "|" + strings.Join(p, ",") + "|" + suffix
		if len(groups[k]) == 0 {
			byBoundary[f.Properties.ID]++
		}
		groups[k] = append(groups[k], i)
	}
	merged := 0
	for k, fs := range groups {
		for _, i := range fs[1:] {
			merged++
			if string(fc.Features[i].Geometry) != string(fc.Features[fs[0]].Geometry) {
				t.Errorf("%s: features %v are one area but their geometries differ", k, fs)
			}
		}
	}
	if n := len(set.Sectors); n != len(groups) || n != len(fc.Features)-merged || n != 1279 {
		t.Errorf("%d sectors, want one per area: %d (1,281 features, %d exact repeats)", n, len(groups), merged)
	}
	for _, s := range set.Sectors {
		byBoundary[s.Boundary]--
	}
	for id, n := range byBoundary {
		if n != 0 {
			t.Errorf("id %s: %d areas without a sector", id, n)
		}
	}

	for _, tt := range []struct{ id, name string }{
		{"A80-AHN", "Atlanta Approach"}, {"A80-ATL", "Atlanta Approach"}, {"A80-CSG", "Atlanta Approach"}, {"A80-MCN", "Atlanta Approach"},
		{"SCT-LAX_DEP", "SoCal Departure"}, {"NCT-OAK_DEP+SFO_DEP", "NorCal Departure"}, {"EETT_H", "Tallinn Control"},
		{"LEMD", "Madrid Approach"}, {"UUYY-UUYY_R", "Sivkar Krug"},
	} {
		s, ok := a.Sector(SetSimAware, tt.id)
		if !ok {
			t.Errorf("sector %s missing", tt.id)
			continue
		}
		if s.Name != tt.name {
			t.Errorf("%s name %q, want %q", tt.id, s.Name, tt.name)
		}
	}
	if _, ok := a.Sector(SetSimAware, "A80"); ok {
		t.Error("A80 has four areas; none may keep the bare id")
	}
	// Hartsfield-Jackson is in the ATL area of A80, and EETT_H_APP staffs the H_APP area.
	if got := a.Staffs("EETT_H_APP", 5); !sameIDs(got, []string{"EETT_H"}) {
		t.Errorf("EETT_H_APP staffs %v", ids(got))
	}
	if got := a.Locate(33.6367, -84.4281, 3000, nil); !slices.Contains(ids(got), "A80-ATL") {
		t.Errorf("KATL: %v", ids(got))
	}
	if got := a.Staffs("ATL_N_APP", 5); !sameIDs(got, []string{"A80-ATL"}) {
		t.Errorf("ATL_N_APP staffs %v", ids(got))
	}
	if got := a.Staffs("LAX_DEP", 5); !sameIDs(got, []string{"SCT-LAX_DEP"}) {
		t.Errorf("LAX_DEP staffs %v", ids(got))
	}
	if got := a.Staffs("LEZL_APP", 5); !sameIDs(got, []string{"LECS-APT", "LEZL"}) {
		t.Errorf("LEZL_APP (a pair the file gives two areas) staffs %v", ids(got))
	}
}

// The approach connections of a recorded snapshot staff their TRACON areas.
func TestSimAwareRecordedApproachControllers(t *testing.T) {
	set, err := LoadSimAware(simawareRealDir(t))
	if err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, set)
	b, err := os.ReadFile(shareddata.Path(t, "feeds", "vatsim-data-2023-08-07T232929Z.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap feed.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	// Checked by hand against the file: WMKK and RZC have no area in this release (SimAware draws a circle).
	want := map[string][]string{
		"NY_APP":    {"N90-NY"},
		"EGKK_APP":  {"EGKK"},
		"CYUL_APP":  {"CYUL"},
		"I90_D_APP": {"I90"}, // middle part: I90_D has no area, I90 has
		"TPA_E_APP": {"TPA"}, //
		"MEM_E_APP": {"M03"}, // Memphis is id M03, prefix MEM
		"MEM_V_DEP": {"M03"}, // DEP without a DEP area: the APP area
		"WMKK_APP":  nil,
		"RZC_S_APP": nil,
	}
	var approach, staffing int
	seen := make(map[string]bool)
	for _, c := range snap.Controllers {
		got := a.Staffs(c.Callsign, c.Facility)
		if c.Facility != feed.FacilityApproach {
			if got != nil {
				t.Errorf("%s (facility %d) staffs %v", c.Callsign, c.Facility, ids(got))
			}
			continue
		}
		approach++
		if len(got) > 0 {
			staffing++
		}
		if w, ok := want[c.Callsign]; ok {
			seen[c.Callsign] = true
			if !sameIDs(got, w) {
				t.Errorf("%s staffs %v, want %v", c.Callsign, ids(got), w)
			}
		}
	}
	for cs := range want {
		if !seen[cs] {
			t.Errorf("%s is not in the snapshot", cs)
		}
	}
	t.Logf("%d of %d approach connections (facility 5) staff a TRACON area (%.0f%%)", staffing, approach, 100*float64(staffing)/float64(approach))
	if approach != 16 || staffing != 14 {
		t.Errorf("%d of %d approach connections staff an area, want 14 of 16", staffing, approach)
	}
}
