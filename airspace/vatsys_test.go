package airspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// vatSys fixtures, written in the published files' layout (attributes on <Sector>, comma-separated lists,
// points separated by "/" and newlines).

type vsBoundary struct {
	name   string
	points []string
}

type vsVolume struct {
	name, lower, upper string
	boundaries         []string // one <Boundaries> element each
}

type vsSector struct {
	name, fullName, callsign string
	volumes, responsible     []string
}

// dec writes a point in signed decimal degrees, as the published files do.
func dec(lat, lon float64) string { return fmt.Sprintf("%+.6f%+.6f", lat, lon) }

// boxPoints is a closed ring around a lat/lon box.
func boxPoints(minLat, minLon, maxLat, maxLon float64) []string {
	return []string{dec(minLat, minLon), dec(minLat, maxLon), dec(maxLat, maxLon), dec(maxLat, minLon), dec(minLat, minLon)}
}

// writeVatSys writes Volumes.xml and Sectors.xml into a new folder named set and returns it.
func writeVatSys(t testing.TB, set string, bs []vsBoundary, vs []vsVolume, ss []vsSector) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), set)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<Volumes>\n")
	for _, x := range bs {
		fmt.Fprintf(&b, "  <Boundary Name=%q>\n    %s\n  </Boundary>\n", x.name, strings.Join(x.points, "/\n    "))
	}
	for _, v := range vs {
		fmt.Fprintf(&b, "  <Volume Name=%q LowerLimit=%q UpperLimit=%q>\n", v.name, v.lower, v.upper)
		for _, list := range v.boundaries {
			fmt.Fprintf(&b, "    <Boundaries>%s</Boundaries>\n", list)
		}
		b.WriteString("  </Volume>\n")
	}
	b.WriteString("</Volumes>\n")
	writeFile(t, dir, VatSysVolumesFile, b.String())

	b.Reset()
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Sectors xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n")
	for _, s := range ss {
		fmt.Fprintf(&b, "  <Sector FullName=%q Frequency=\"130.000\" Callsign=%q Name=%q>\n", s.fullName, s.callsign, s.name)
		if s.volumes != nil {
			fmt.Fprintf(&b, "    <Volumes>%s</Volumes>\n", strings.Join(s.volumes, ","))
		}
		if s.responsible != nil {
			fmt.Fprintf(&b, "    <ResponsibleSectors>%s</ResponsibleSectors>\n", strings.Join(s.responsible, ","))
		}
		b.WriteString("  </Sector>\n")
	}
	b.WriteString("</Sectors>\n")
	writeFile(t, dir, VatSysSectorsFile, b.String())
	return dir
}

func mustLoadVatSys(t testing.TB, dir string) *Set {
	t.Helper()
	set, err := LoadVatSys(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// checkLocate checks Locate against the brute-force scan and Sector.Contains for one position.
func checkLocate(t *testing.T, a *Airspace, lat, lon float64, alt int, want []string) {
	t.Helper()
	got := a.Locate(lat, lon, alt, nil)
	if !sameIDs(got, want) {
		t.Errorf("Locate(%v, %v, %d) = %v, want %v", lat, lon, alt, ids(got), want)
	}
	bf := a.locateBruteForce(lat, lon, alt, nil)
	slices.SortFunc(bf, compareSectors)
	if !slices.Equal(got, bf) {
		t.Errorf("Locate(%v, %v, %d) = %v, brute force %v", lat, lon, alt, ids(got), ids(bf))
	}
	for _, s := range a.Sectors() {
		if in := slices.Contains(want, s.ID); s.Contains(lat, lon, alt) != in {
			t.Errorf("%s.Contains(%v, %v, %d) = %v, want %v", s.ID, lat, lon, alt, !in, in)
		}
	}
}

func TestVatSysVolumes(t *testing.T) {
	dir := writeVatSys(t, "vatsys-test",
		[]vsBoundary{
			{"WIDE", boxPoints(-36, 148, -32, 152)},
			{"EAST", boxPoints(-36, 150, -32, 154)},
			// Open ring (the files leave some open), DMS points.
			{"GAPBOX", []string{"-400000.000+1400000.000", "-400000.000+1420000.000", "-380000.000+1420000.000", "-380000.000+1400000.000"}},
		},
		[]vsVolume{
			{"LOW", "0", "24500", []string{"WIDE"}},
			{"HIGH", "24500", "60000", []string{"EAST"}},
			{"GAPLOW", "0", "10000", []string{"GAPBOX"}},
			{"GAPHIGH", "20000", "60000", []string{"GAPBOX"}},
		},
		[]vsSector{
			{name: "STK", fullName: "Stacked", callsign: "ML-STK_CTR", volumes: []string{"LOW", "HIGH"}},
			{name: "GAP", fullName: "Gap", callsign: "ML-GAP_CTR", volumes: []string{"GAPLOW", "GAPHIGH"}},
			{name: "AY ADC", fullName: "Tower", callsign: "AY_TWR", volumes: []string{"GAPLOW"}},
			{name: "GND", fullName: "Ground", callsign: "AY_GND"}, // no volumes: not a sector
		})
	set := mustLoadVatSys(t, dir)
	if set.Name != "vatsys-test" {
		t.Errorf("set name %q", set.Name)
	}
	a := mustNew(t, set)
	if got := ids(a.Sectors()); !slices.Equal(got, []string{"AY_ADC", "GAP", "STK"}) {
		t.Fatalf("sectors %v", got)
	}
	stk, _ := a.Sector("vatsys-test", "STK")
	if stk.Name != "Stacked" || stk.Kind != KindVatSys || stk.Boundary != "STK" || stk.Volumes() != 2 ||
		stk.FloorFt != nil || stk.CeilingFt == nil || *stk.CeilingFt != 60000 {
		t.Errorf("STK = %+v", stk)
	}
	if twr, _ := a.Sector("vatsys-test", "AY_ADC"); twr.Boundary != "AY ADC" {
		t.Errorf("AY_ADC boundary %q", twr.Boundary)
	}
	tests := []struct {
		name     string
		lat, lon float64
		alt      int
		want     []string
	}{
		{"low volume only, low", -34, 149, 10000, []string{"STK"}},
		{"low volume only, high", -34, 149, 30000, nil},
		{"both laterally, low", -34, 151, 10000, []string{"STK"}},
		{"both laterally, high", -34, 151, 30000, []string{"STK"}},
		{"at the shared level: the upper volume", -34, 153, 24500, []string{"STK"}},
		{"high volume only, just below", -34, 153, 24499, nil},
		{"above the ceiling", -34, 151, 60000, nil},
		{"on the ground, below 0", -34, 149, -40, []string{"STK"}},
		{"gap: low volume", -39, 141, 5000, []string{"AY_ADC", "GAP"}},
		{"gap: between the volumes", -39, 141, 15000, nil},
		{"gap: high volume", -39, 141, 25000, []string{"GAP"}},
		{"outside laterally", -30, 141, 5000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLocate(t, a, tt.lat, tt.lon, tt.alt, tt.want) })
	}
}

func TestParseVatSysPoint(t *testing.T) {
	tests := []struct {
		in       string
		lat, lon float64
		err      string
	}{
		{"-333060.000+1510000.000", -33.5167, 151, ""}, // 60 s: the next minute
		{"-333100.000+1510000.000", -33.5167, 151, ""},
		{"-335960.000+1505960.000", -34, 151, ""}, // 60 s carrying into the next degree
		{"+000000.000+1800000.000", 0, 180, ""},
		{"-23.426358+133.878056", -23.426358, 133.878056, ""},
		{"-25.000000+180.000000", -25, 180, ""},
		{"+5-170", 5, -170, ""},
		{"-336000.000+1510000.000", 0, 0, "60 minutes"},
		{"-333061.000+1510000.000", 0, 0, "61 seconds"},
		{"-333000.000+1810000.000", 0, 0, "out of range"},
		{"-91.0+10.0", 0, 0, "out of range"},
		{"333000.000+1510000.000", 0, 0, "no sign"},
		{"-333000.000", 0, 0, "no signed longitude"},
		{"-33300.000+1510000.000", 0, 0, "want"},
		{"-33.5+1e2", 0, 0, "want"},
		{"", 0, 0, "empty"},
	}
	for _, tt := range tests {
		p, err := parseVatSysPoint(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if d := max(p.y-tt.lat, tt.lat-p.y, p.x-tt.lon, tt.lon-p.x); d > 1e-4 {
			t.Errorf("%q = (%v, %v), want (%v, %v)", tt.in, p.y, p.x, tt.lat, tt.lon)
		}
	}
	// 60 seconds is exactly the next minute, bit for bit.
	a, _ := parseVatSysPoint("-333060.000+1505960.000")
	b, _ := parseVatSysPoint("-333100.000+1510000.000")
	if a != b {
		t.Errorf("60 seconds: %v, next minute %v", a, b)
	}
}

func TestVatSysAntimeridian(t *testing.T) {
	// Written as the files write it: a jump from +175 to -175, DMS points, a trailing "/".
	dir := writeVatSys(t, "pac",
		[]vsBoundary{{"ACROSS", []string{
			"-200000.000+1750000.000", "-200000.000-1750000.000", "-300000.000-1750000.000",
			"-300000.000+1750000.000", "-200000.000+1750000.000", "",
		}}},
		[]vsVolume{{"ACROSS", "0", "60000", []string{"ACROSS"}}},
		[]vsSector{{name: "OCN", fullName: "Oceanic", callsign: "NZZO_FSS", volumes: []string{"ACROSS"}}})
	a := mustNew(t, mustLoadVatSys(t, dir))
	s, _ := a.Sector("pac", "OCN")
	if s.Polygons() != 2 {
		t.Errorf("%d polygons, want 2 (split at 180)", s.Polygons())
	}
	for _, v := range s.volumes {
		for _, p := range v.polys {
			if p.minX < -180 || p.maxX > 180 || p.maxX-p.minX > 10 {
				t.Errorf("polygon spans %v..%v", p.minX, p.maxX)
			}
		}
	}
	tests := []struct {
		name     string
		lat, lon float64
		want     []string
	}{
		{"just west of 180", -25, 179.99, []string{"OCN"}},
		{"just east of -180", -25, -179.99, []string{"OCN"}},
		{"on 180", -25, 180, []string{"OCN"}},
		{"on -180", -25, -180, []string{"OCN"}},
		{"longitude 0", -25, 0, nil},
		{"inside the unwrapped box's complement", -25, 170, nil},
		{"north of it", -19, 179.99, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkLocate(t, a, tt.lat, tt.lon, 30000, tt.want) })
	}
}

func TestVatSysStaffing(t *testing.T) {
	dir := writeVatSys(t, "vs",
		[]vsBoundary{{"B", boxPoints(0, 0, 1, 1)}},
		[]vsVolume{{"V", "0", "60000", []string{"B"}}},
		[]vsSector{
			{name: "BIK", callsign: "ML-BIK_CTR", volumes: []string{"V"}},
			{name: "H3", callsign: "HNL_03_CTR", volumes: []string{"V"}},
			{name: "H", callsign: "HNL_CTR", volumes: []string{"V"}},
			{name: "SY", callsign: "SY_APP", volumes: []string{"V"}},
			{name: "SYD", callsign: "SY_APP", volumes: []string{"V"}}, // two sectors, one callsign
		})
	a := mustNew(t, mustLoadVatSys(t, dir))
	tests := []struct {
		callsign string
		facility int
		want     []string
	}{
		{"ML-BIK_CTR", 6, []string{"BIK"}},
		{"ml-bik_ctr", 6, []string{"BIK"}},
		{"ML-BIK__CTR", 6, []string{"BIK"}},  // relief: doubled "_"
		{"ML-BIK_1_CTR", 6, []string{"BIK"}}, // relief: a segment before the suffix
		{"ML-BIK_1_2_CTR", 6, nil},           // only one segment is dropped
		{"ML-BIK_CTR", 0, nil},               // observers never staff
		{"ML-BIK_APP", 5, nil},
		{"ML-BIK", 6, nil},
		{"HNL_03_CTR", 6, []string{"H3"}}, // an exact callsign wins over the relief rule
		{"HNL_04_CTR", 6, []string{"H"}},  // no such sector: relief of HNL_CTR
		{"HNL_CTR", 6, []string{"H"}},
		{"SY_APP", 5, []string{"SY", "SYD"}},
		{"", 6, nil},
	}
	for _, tt := range tests {
		if got := a.Staffs(tt.callsign, tt.facility); !sameIDs(got, tt.want) {
			t.Errorf("Staffs(%q, %d) = %v, want %v", tt.callsign, tt.facility, ids(got), tt.want)
		}
	}
}

func TestVatSysResponsibleSectors(t *testing.T) {
	dir := writeVatSys(t, "vs",
		[]vsBoundary{{"B", boxPoints(0, 0, 1, 1)}},
		[]vsVolume{{"V", "0", "60000", []string{"B"}}},
		[]vsSector{
			// TOP covers MID and SIDE; MID covers LEAF; LEAF lists TOP back (a cycle) and itself.
			{name: "TOP", callsign: "TOP_CTR", volumes: []string{"V"}, responsible: []string{"MID", "SIDE", "TWR"}},
			{name: "MID", callsign: "MID_CTR", volumes: []string{"V"}, responsible: []string{"LEAF"}},
			{name: "SIDE", callsign: "SIDE_CTR", volumes: []string{"V"}},
			{name: "LEAF", callsign: "LEAF_CTR", volumes: []string{"V"}, responsible: []string{"TOP", "LEAF"}},
			// Without volumes: a position without airspace over TOP (see TestVatSysTopDownPosition).
			{name: "UPPER", callsign: "UPPER_FSS", responsible: []string{"TOP"}},
			// Neither volumes nor responsible sectors: left out, skipped where named.
			{name: "TWR", callsign: "TWR_TWR", responsible: nil},
		})
	a := mustNew(t, mustLoadVatSys(t, dir))
	tests := []struct {
		name     string
		stations []Station
		want     [][]string
	}{
		{"parent alone covers its children and grandchildren",
			[]Station{{"TOP_CTR", 6}}, [][]string{{"LEAF", "MID", "SIDE", "TOP"}}},
		{"a child's own controller keeps the child and its children",
			[]Station{{"TOP_CTR", 6}, {"MID_CTR", 6}}, [][]string{{"SIDE", "TOP"}, {"LEAF", "MID"}}},
		{"a grandchild's own controller keeps only the grandchild",
			[]Station{{"LEAF_CTR", 6}, {"TOP_CTR", 6}}, [][]string{{"LEAF"}, {"MID", "SIDE", "TOP"}}},
		{"a leaf covers its parent only while nobody staffs it (the file's cycle)",
			[]Station{{"LEAF_CTR", 6}}, [][]string{{"LEAF", "MID", "SIDE", "TOP"}}},
		{"a relief callsign counts as the position",
			[]Station{{"TOP_CTR", 6}, {"MID_1_CTR", 6}}, [][]string{{"SIDE", "TOP"}, {"LEAF", "MID"}}},
		{"an observer covers nothing",
			[]Station{{"TOP_CTR", 0}}, [][]string{nil}},
		{"a position without volumes covers what it is responsible for",
			[]Station{{"UPPER_FSS", 1}}, [][]string{{"LEAF", "MID", "SIDE", "TOP"}}},
		{"a left-out position covers nothing",
			[]Station{{"TWR_TWR", 4}}, [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.StaffAll(tt.stations)
			for i := range tt.stations {
				if !sameIDs(got[i], tt.want[i]) {
					t.Errorf("%s: %v, want %v", tt.stations[i].Callsign, ids(got[i]), tt.want[i])
				}
			}
		})
	}
}

func TestVatSysProblems(t *testing.T) {
	dir := writeVatSys(t, "broken",
		[]vsBoundary{
			{"GOOD", boxPoints(0, 0, 1, 1)},
			{"BADPT", []string{dec(0, 0), "-003000.000+0006000.000", dec(1, 1), "junk", dec(0, 0)}},
			{"GOOD", boxPoints(2, 2, 3, 3)},
			{"LINE", []string{dec(0, 0), dec(1, 1), dec(0, 0)}},
		},
		[]vsVolume{
			{"V", "0", "60000", []string{"GOOD"}},
			{"INVERTED", "24500", "24500", []string{"GOOD"}},
			{"FL", "0", "FL245", []string{"GOOD"}},
			{"NOBOUNDARY", "0", "1000", []string{"GOOD,MISSING"}},
			{"USESBAD", "0", "1000", []string{"BADPT"}},
			{"V", "0", "1000", []string{"GOOD"}},
		},
		[]vsSector{
			{name: "A", callsign: "A_CTR", volumes: []string{"V", "NOPE"}, responsible: []string{"GHOST"}},
			{name: "DUP", callsign: "D1_CTR", volumes: []string{"V"}},
			{name: "DUP", callsign: "D2_CTR", volumes: []string{"V"}, responsible: []string{"A"}},
			{name: "DUP", callsign: "D3_CTR"}, // an alias would merge, but the two above differ
			{name: "B", callsign: "B_CTR", volumes: []string{"INVERTED", "USESBAD"}},
			{name: "X Y", callsign: "X_CTR", volumes: []string{"V"}},
			{name: "X_Y", callsign: "XY_CTR", volumes: []string{"V"}},
		})
	set, err := LoadVatSys(dir)
	if set != nil {
		t.Errorf("a set was returned: %d sectors", len(set.Sectors))
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *LoadError", err)
	}
	if le.Path != dir {
		t.Errorf("path %q, want %q", le.Path, dir)
	}
	want := []string{
		`Volumes.xml: boundary "BADPT": point 1 "-003000.000+0006000.000": longitude: 60 minutes, want 0-59`,
		`Volumes.xml: boundary "BADPT": point 3 "junk": latitude has no sign, want ±DDMMSS.sss±DDDMMSS.sss or signed decimal degrees ±DD.ddd±DDD.ddd`,
		`Volumes.xml: boundary "GOOD" is defined twice with different points (boundaries 0 and 2)`,
		`Volumes.xml: boundary "LINE" has 2 distinct points, want at least 3`,
		`Volumes.xml: volume "INVERTED": LowerLimit 24500 is not below UpperLimit 24500`,
		`Volumes.xml: volume "FL": UpperLimit "FL245" is not whole feet`,
		`Volumes.xml: volume "NOBOUNDARY" names unknown boundary "MISSING"`,
		`Volumes.xml: volume "V" is defined twice with different limits or boundaries (volumes 0 and 5)`,
		`Sectors.xml: sector name "DUP" is used by 3 sectors with different volumes or responsible sectors: 1, 2, 3`,
		`Sectors.xml: sector "A" names unknown volume "NOPE"`,
		`Sectors.xml: sectors "X Y" and "X_Y" both have id "X_Y" (spaces become "_")`,
	}
	for _, w := range want {
		if !slices.Contains(le.Problems, w) {
			t.Errorf("missing problem %s", w)
		}
	}
	if len(le.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(le.Problems), len(want), strings.Join(le.Problems, "\n"))
	}
	if !strings.Contains(err.Error(), "11 problems") {
		t.Errorf("message: %v", err)
	}
	// An unknown responsible sector is a position outside the folder: a warning, returned with the error.
	_, warnings, _ := LoadVatSysWithWarnings(dir)
	ghost := `Sectors.xml: responsible sector "GHOST" (of A) is no sector of this folder, a position outside it; skipped`
	if !slices.Contains(warnings, ghost) {
		t.Errorf("warnings %q, want %s", warnings, ghost)
	}
}

func TestVatSysMissingFiles(t *testing.T) {
	dir := t.TempDir()
	set, err := LoadVatSys(dir)
	var le *LoadError
	if set != nil || !errors.As(err, &le) {
		t.Fatalf("set %v, err %v", set, err)
	}
	if !slices.Equal(le.Problems, []string{"Volumes.xml: missing", "Sectors.xml: missing"}) {
		t.Errorf("problems %q", le.Problems)
	}

	// Wrong root element, and a folder whose sectors all lack volumes.
	writeFile(t, dir, VatSysVolumesFile, "<Airspace/>")
	writeFile(t, dir, VatSysSectorsFile, `<Sectors><Sector Name="A" Callsign="A_TWR"/></Sectors>`)
	_, err = LoadVatSys(dir)
	if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.Contains(le.Problems[0], "Volumes.xml: expected element type <Volumes>") {
		t.Errorf("err %v", err)
	}
	writeFile(t, dir, VatSysVolumesFile, "<Volumes/>")
	_, err = LoadVatSys(dir)
	if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.Contains(le.Problems[0], "no sector has volumes") {
		t.Errorf("err %v", err)
	}
}

func TestVatSysTopDownPosition(t *testing.T) {
	dir := writeVatSys(t, "vs",
		[]vsBoundary{{"B", boxPoints(0, 0, 1, 1)}},
		[]vsVolume{{"V", "0", "60000", []string{"B"}}},
		[]vsSector{
			// UP has no airspace of its own (like the UK dataset's approach positions); TT is above UP.
			{name: "UP", fullName: "Brisbane Upper", callsign: "YBBB_FSS", responsible: []string{"A", "B"}},
			{name: "TT", callsign: "TT_FSS", responsible: []string{"UP"}},
			{name: "A", callsign: "A_CTR", volumes: []string{"V"}, responsible: []string{"C"}},
			{name: "B", callsign: "B_CTR", volumes: []string{"V"}},
			{name: "C", callsign: "C_CTR", volumes: []string{"V"}},
			{name: "NOCS", responsible: []string{"A"}}, // nothing can staff it
		})
	set, warnings, err := LoadVatSysWithWarnings(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`Sectors.xml: sector "NOCS" has responsible sectors but neither volumes nor a Callsign, so nothing staffs it; left out`}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	a := mustNew(t, set)
	if got := ids(a.Sectors()); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Fatalf("sectors %v: positions without airspace are not sectors", got)
	}
	if got := a.Staffs("YBBB_FSS", 1); got != nil {
		t.Errorf("Staffs(YBBB_FSS) = %v, want none (a position is never returned)", ids(got))
	}
	tests := []struct {
		name     string
		stations []Station
		want     [][]string
	}{
		{"a top-down position alone covers its children and theirs",
			[]Station{{"YBBB_FSS", 1}}, [][]string{{"A", "B", "C"}}},
		{"a child's own controller keeps the child and its children",
			[]Station{{"YBBB_FSS", 1}, {"A_CTR", 6}}, [][]string{{"B"}, {"A", "C"}}},
		{"a grandchild's own controller keeps only the grandchild",
			[]Station{{"C_CTR", 6}, {"YBBB_FSS", 1}}, [][]string{{"C"}, {"A", "B"}}},
		{"a position above a position covers through it",
			[]Station{{"TT_FSS", 1}}, [][]string{{"A", "B", "C"}}},
		{"a position below, staffed, keeps everything under it",
			[]Station{{"TT_FSS", 1}, {"YBBB_FSS", 1}}, [][]string{nil, {"A", "B", "C"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.StaffAll(tt.stations)
			for i := range tt.stations {
				if !sameIDs(got[i], tt.want[i]) {
					t.Errorf("%s: %v, want %v", tt.stations[i].Callsign, ids(got[i]), tt.want[i])
				}
			}
		})
	}
}

// realQuirksFolder writes a folder with each quirk of the published datasets (vatSys/australia-dataset,
// new-zealand-dataset, atop-oakland-dataset, pacific-dataset, atop-anchorage-dataset, uk-dataset), in their
// layout, with its <Sector> elements in the given order (indexes into the list below).
func realQuirksFolder(t *testing.T, order []int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "quirks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Australia: LEARMONTH_APPROACH is defined twice with the same points; its DMS points include 60 seconds
	// (-215960.000 is 22°S).
	learmonth := "  <Boundary Name=\"LEARMONTH_APPROACH\">\n" +
		"    -210000.000+1140000.000/\n    -210000.000+1150000.000/\n    -215960.000+1150000.000/\n    -220000.000+1140000.000\n" +
		"  </Boundary>\n"
	volumes := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Volumes>\n" + learmonth +
		// Anchorage: RJTG2 ends in "/"; Oakland indents with tabs and leaves spaces after "/".
		"\t<Boundary Name=\"PHZN\">\n\t+250000.000-1570000.000/ \n\t+250000.000-1540000.000/ \n\t+180000.000-1540000.000/\n\t+180000.000-1570000.000/\n\t</Boundary>\n" +
		learmonth +
		"  <Volume Name=\"LEARMONTH_APPROACH\" LowerLimit=\"0\" UpperLimit=\"8500\">\n    <Boundaries>LEARMONTH_APPROACH</Boundaries>\n  </Volume>\n" +
		"  <Volume Name=\"PHZN\" LowerLimit=\"0\" UpperLimit=\"99000\">\n    <Boundaries>PHZN</Boundaries>\n  </Volume>  \n" +
		// Not seen in the published files, but the same rule: a volume repeated as it is.
		"  <Volume Name=\"PHZN\" LowerLimit=\"0\" UpperLimit=\"99000\"><Boundaries> PHZN </Boundaries></Volume>\n" +
		"</Volumes>\n"
	sectors := []string{
		// Oakland: HN is one element with the Honolulu volume and six with only another callsign, spelt
		// "Fullname".
		`  <Sector Fullname="Molokai Center" Frequency="124.100" Callsign="HNL_03_CTR" Name="HN"/>`,
		`  <Sector FullName="Honolulu NAS" Frequency="126.500" Callsign="HNL_02_CTR" Name="HN" DisplayInSectorsWindow="False">  ` +
			"\n<Volumes>PHZN</Volumes> \n  </Sector>   ",
		`  <Sector Fullname="Honolulu East Center" Frequency="126.600" Callsign="HNL_07_CTR" Name="HN"/>`,
		// New Zealand: ATMA is responsible for AARR, which no element of the folder has; Australia: towers without
		// volumes or responsible sectors.
		"  <Sector FullName=\"Learmonth Approach\" Frequency=\"123.300\" Callsign=\"LM_APP\" Name=\"LM\">\n" +
			"    <Volumes>\n\tLEARMONTH_APPROACH\n\t</Volumes>\n    <ResponsibleSectors>AARR,LM ADC</ResponsibleSectors>\n  </Sector>",
		`  <Sector FullName="Learmonth Tower" Frequency="118.000" Callsign="LM_TWR" Name="LM ADC"/>`,
		// UK: a top-down position without volumes.
		"   <Sector FullName=\"LEARMONTH UPPER\" Frequency=\"128.500\" Callsign=\"LM_FSS\" Name=\"UPR\">\n" +
			"      <ResponsibleSectors>LM,HN</ResponsibleSectors>\n   </Sector>",
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Sectors xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n")
	for _, i := range order {
		b.WriteString(sectors[i] + "\n")
	}
	b.WriteString("</Sectors>\n")
	writeFile(t, dir, VatSysVolumesFile, volumes)
	writeFile(t, dir, VatSysSectorsFile, b.String())
	return dir
}

// TestVatSysRealQuirks loads a folder with each quirk the published datasets have (see realQuirksFolder), in
// two element orders, which must give the same result.
func TestVatSysRealQuirks(t *testing.T) {
	type result struct {
		sectors, names, hnl03, hnl02, fss string
		staffAll                          string
	}
	load := func(order []int) (result, []string) {
		set, warnings, err := LoadVatSysWithWarnings(realQuirksFolder(t, order))
		if err != nil {
			t.Fatal(err)
		}
		a := mustNew(t, set)
		var names []string
		for _, s := range a.Sectors() {
			names = append(names, s.Name)
		}
		checkLocate(t, a, -21.999, 114.5, 1000, []string{"LM"}) // inside only with 60 seconds read as 22°S
		checkLocate(t, a, 20, -155, 30000, []string{"HN"})
		all := a.StaffAll([]Station{{"LM_FSS", 1}, {"HNL_07_CTR", 6}})
		return result{
			sectors:  strings.Join(ids(a.Sectors()), " "),
			names:    strings.Join(names, "|"),
			hnl03:    strings.Join(ids(a.Staffs("HNL_03_CTR", 6)), " "),
			hnl02:    strings.Join(ids(a.Staffs("HNL_02_CTR", 6)), " "),
			fss:      strings.Join(ids(a.Staffs("LM_FSS", 1)), " "),
			staffAll: fmt.Sprint(ids(a.StaffAll([]Station{{"LM_FSS", 1}})[0]), ids(all[0]), ids(all[1])),
		}, warnings
	}
	got, w := load([]int{0, 1, 2, 3, 4, 5})
	want := result{
		sectors:  "HN LM",
		names:    "Honolulu NAS|Learmonth Approach",
		hnl03:    "HN",
		hnl02:    "HN",
		fss:      "",
		staffAll: "[HN LM] [LM] [HN]",
	}
	wantWarnings := []string{
		`Volumes.xml: boundary "LEARMONTH_APPROACH" is defined 2 times with the same points; loaded once`,
		`Volumes.xml: volume "PHZN" is defined 2 times with the same limits and boundaries; loaded once`,
		`Sectors.xml: sector name "HN" is used by 3 sectors; merged into one, staffed by HNL_02_CTR, HNL_03_CTR, HNL_07_CTR`,
		`Sectors.xml: 1 sectors have neither volumes nor responsible sectors (positions without airspace), so there is nothing to staff; left out: LM ADC`,
		`Sectors.xml: responsible sector "AARR" (of LM) is no sector of this folder, a position outside it; skipped`,
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !slices.Equal(w, wantWarnings) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(w, "\n"), strings.Join(wantWarnings, "\n"))
	}
	if reversed, _ := load([]int{5, 4, 3, 2, 1, 0}); reversed != want {
		t.Errorf("reversed element order: got %+v\nwant %+v", reversed, want)
	}
}
