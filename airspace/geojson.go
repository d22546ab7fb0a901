package airspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// VATSpy file names, as the VATSpy Data Project publishes them.
const (
	BoundariesFile = "Boundaries.geojson"
	VATSpyDatFile  = "VATSpy.dat"
)

// Load loads a sector source: a folder holding Boundaries.geojson and VATSpy.dat (LoadVATSpy), or a .geojson
// file (LoadGeoJSON).
func Load(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("airspace: sector source: %w", err)
	}
	if fi.IsDir() {
		var missing []string
		for _, name := range []string{BoundariesFile, VATSpyDatFile} {
			if _, err := os.Stat(filepath.Join(path, name)); err != nil {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("airspace: sector folder %s lacks %s: a sector folder holds both %s and %s (VATSpy Data Project)",
				path, strings.Join(missing, " and "), BoundariesFile, VATSpyDatFile)
		}
		return LoadVATSpy(path)
	}
	if strings.EqualFold(filepath.Ext(path), ".geojson") {
		return LoadGeoJSON(path)
	}
	return nil, fmt.Errorf("airspace: unsupported sector source %s: want a folder holding %s and %s, or a .geojson file",
		path, BoundariesFile, VATSpyDatFile)
}

// rawGeometry is a GeoJSON geometry whose coordinates are decoded once the type is known.
type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// polygons decodes a Polygon or MultiPolygon.
func (g *rawGeometry) polygons(opt ringOptions) ([]*polygon, error) {
	if g == nil {
		return nil, errors.New("geometry is missing (null)")
	}
	switch g.Type {
	case "Polygon":
		var c [][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("Polygon coordinates: %w", err)
		}
		p, err := buildPolygon(c, opt)
		if err != nil {
			return nil, err
		}
		return []*polygon{p}, nil
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("MultiPolygon coordinates: %w", err)
		}
		if len(c) == 0 {
			return nil, errors.New("MultiPolygon has no polygons")
		}
		polys := make([]*polygon, len(c))
		for i := range c {
			p, err := buildPolygon(c[i], opt)
			if err != nil {
				return nil, fmt.Errorf("polygon %d: %w", i, err)
			}
			polys[i] = p
		}
		return polys, nil
	default:
		return nil, fmt.Errorf("unsupported geometry type %q, want Polygon or MultiPolygon", g.Type)
	}
}

// featureCollection reads a GeoJSON FeatureCollection, keeping features raw so a broken one is reported with its
// index.
func readFeatureCollection(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("%s: not GeoJSON: %w", path, err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("%s: GeoJSON type is %q, want FeatureCollection", path, fc.Type)
	}
	if len(fc.Features) == 0 {
		return nil, fmt.Errorf("%s: FeatureCollection has no features", path)
	}
	return fc.Features, nil
}

// customFeature is one feature of a custom sector file.
type customFeature struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   *rawGeometry               `json:"geometry"`
}

// LoadGeoJSON loads a custom sector file: a GeoJSON FeatureCollection whose features are sectors. Per feature:
//
//   - id: the feature's "id" (string or integer), else properties.id (string); required, unique in the file.
//     When both are present they must agree.
//   - geometry: Polygon or MultiPolygon, closed rings of at least 4 positions, holes allowed.
//   - properties, all optional: name (string), floor_ft and ceiling_ft (whole feet, null = unbounded, floor below
//     ceiling), callsign_prefixes (strings; controllers whose callsign key matches staff the sector, see
//     Airspace.Staffs), facilities (feed facility codes 1-6 allowed to staff it; default [1, 6], FSS and CTR),
//     kind (string, default "custom"), oceanic (bool), region and division (strings). Other properties are
//     ignored.
//
// Any invalid input is an error naming the file and the feature's index and id. The Set is named after the
// file's base name without extension.
func LoadGeoJSON(path string) (*Set, error) {
	raws, err := readFeatureCollection(path)
	if err != nil {
		return nil, fmt.Errorf("airspace: %w", err)
	}
	setName := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	st := &staffing{tables: []map[string][]staffEntry{make(map[string][]staffEntry)}}
	set := &Set{Name: setName, staff: st}
	seen := make(map[string]int)
	for i, raw := range raws {
		id, s, prefixes, facilities, err := parseCustomFeature(raw)
		where := fmt.Sprintf("feature %d", i)
		if id != "" {
			where = fmt.Sprintf("feature %d (id %q)", i, id)
		}
		if err != nil {
			return nil, fmt.Errorf("airspace: %s: %s: %w", path, where, err)
		}
		if first, dup := seen[id]; dup {
			return nil, fmt.Errorf("airspace: %s: %s: duplicate id, already used by feature %d", path, where, first)
		}
		seen[id] = i
		s.Set = setName
		set.Sectors = append(set.Sectors, s)
		for _, p := range prefixes {
			addEntry(st.tables[0], p, staffEntry{sector: s, facilities: facilities})
		}
	}
	sortSectors(set.Sectors)
	return set, nil
}

// customProps are the properties of a custom feature that vatsector reads.
type customProps struct {
	name, kind, region, division string
	oceanic                      bool
	floor, ceiling               *int
	prefixes                     []string
	facilities                   facilityMask
}

// parseCustomFeature returns the feature's id (as soon as it is known, so that errors can name it), the sector,
// its upper-cased callsign prefixes and the facilities that may staff it.
func parseCustomFeature(raw json.RawMessage) (string, *Sector, []string, facilityMask, error) {
	var f customFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", nil, nil, 0, fmt.Errorf("not a GeoJSON Feature: %w", err)
	}
	id, err := customID(&f)
	if err != nil {
		return "", nil, nil, 0, err
	}
	if f.Type != "Feature" {
		return id, nil, nil, 0, fmt.Errorf("type is %q, want Feature", f.Type)
	}
	cp, err := parseCustomProps(f.Properties)
	if err != nil {
		return id, nil, nil, 0, err
	}
	polys, err := f.Geometry.polygons(ringOptions{})
	if err != nil {
		return id, nil, nil, 0, fmt.Errorf("geometry: %w", err)
	}
	s := newSector(polys)
	s.ID, s.Boundary, s.Name, s.Kind = id, id, cp.name, cp.kind
	s.setBand(cp.floor, cp.ceiling)
	s.Oceanic = cp.oceanic
	s.Region, s.Division = cp.region, cp.division
	return id, s, cp.prefixes, cp.facilities, nil
}

func parseCustomProps(props map[string]json.RawMessage) (customProps, error) {
	cp := customProps{kind: KindCustom, facilities: enrouteFacilities}
	for _, p := range []struct {
		key string
		dst any
	}{
		{"name", &cp.name}, {"kind", &cp.kind}, {"region", &cp.region}, {"division", &cp.division},
		{"oceanic", &cp.oceanic}, {"callsign_prefixes", &cp.prefixes},
	} {
		if err := decodeProp(props, p.key, p.dst); err != nil {
			return cp, err
		}
	}
	if cp.kind == "" {
		cp.kind = KindCustom
	}
	var err error
	if cp.floor, err = feetProp(props, "floor_ft"); err != nil {
		return cp, err
	}
	if cp.ceiling, err = feetProp(props, "ceiling_ft"); err != nil {
		return cp, err
	}
	if cp.floor != nil && cp.ceiling != nil && *cp.floor >= *cp.ceiling {
		return cp, fmt.Errorf("floor_ft %d is not below ceiling_ft %d", *cp.floor, *cp.ceiling)
	}
	for j, p := range cp.prefixes {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" || strings.HasPrefix(p, "_") || strings.HasSuffix(p, "_") {
			return cp, fmt.Errorf("callsign_prefixes[%d] %q is not a callsign prefix like \"EGTT\" or \"LON_S\"", j, cp.prefixes[j])
		}
		cp.prefixes[j] = p
	}
	var codes []int
	if raw, ok := props["facilities"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := decodeProp(props, "facilities", &codes); err != nil {
			return cp, err
		}
		cp.facilities = 0
		for _, c := range codes {
			if c < facilityFSS || c > facilityCTR {
				return cp, fmt.Errorf("facilities: %d is not a facility that can staff a sector (1 FSS ... 6 CTR)", c)
			}
			cp.facilities |= maskOf(c)
		}
		if cp.facilities == 0 {
			return cp, errors.New("facilities is empty: leave it out for the default [1, 6] (FSS, CTR)")
		}
	}
	return cp, nil
}

// customID resolves a feature's id from feature.id (string or integer) or properties.id (string).
func customID(f *customFeature) (string, error) {
	var fromFeature, fromProps string
	if len(f.ID) > 0 && !bytes.Equal(f.ID, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(f.ID))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("id: %w", err)
		}
		switch v := v.(type) {
		case string:
			fromFeature = v
		case json.Number:
			if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
				return "", fmt.Errorf("id %s is not a string or an integer", v)
			}
			fromFeature = v.String()
		default:
			return "", fmt.Errorf("id %s is not a string or an integer", f.ID)
		}
	}
	if err := decodeProp(f.Properties, "id", &fromProps); err != nil {
		return "", err
	}
	fromFeature, fromProps = strings.TrimSpace(fromFeature), strings.TrimSpace(fromProps)
	switch {
	case fromFeature != "" && fromProps != "" && fromFeature != fromProps:
		return "", fmt.Errorf("feature id %q and properties.id %q disagree", fromFeature, fromProps)
	case fromFeature != "":
		return fromFeature, nil
	case fromProps != "":
		return fromProps, nil
	default:
		return "", errors.New("missing id: set the feature's \"id\" or properties.id")
	}
}

// decodeProp decodes an optional property; absent and null leave dst unchanged.
func decodeProp(props map[string]json.RawMessage, key string, dst any) error {
	raw, ok := props[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("property %s: %s is not %s", key, raw, describe(dst))
	}
	return nil
}

func describe(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *bool:
		return "a boolean"
	case *[]string:
		return "an array of strings"
	case *[]int:
		return "an array of integers"
	default:
		return fmt.Sprintf("a %T", dst)
	}
}

// maxAbsFeet keeps altitude bounds in a sane range (and within int on every platform).
const maxAbsFeet = 1_000_000

// feetProp decodes an optional whole number of feet.
func feetProp(props map[string]json.RawMessage, key string) (*int, error) {
	var v *float64
	raw, ok := props[key]
	if !ok {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("property %s: %s is not a number of feet", key, raw)
	}
	if v == nil {
		return nil, nil
	}
	if *v != math.Trunc(*v) || math.Abs(*v) > maxAbsFeet {
		return nil, fmt.Errorf("property %s: %v is not a whole number of feet within ±%d", key, *v, maxAbsFeet)
	}
	ft := int(*v)
	return &ft, nil
}
