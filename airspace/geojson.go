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

// rawGeometry is a GeoJSON geometry whose coordinates are decoded once the type is known.
type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// polygons decodes a Polygon or MultiPolygon. It reports every bad polygon of a MultiPolygon, not only the
// first; the polygons are nil when there is any error.
func (g *rawGeometry) polygons(opt ringOptions) ([]*polygon, []error) {
	if g == nil {
		return nil, []error{errors.New("geometry is missing (null)")}
	}
	switch g.Type {
	case "Polygon":
		var c [][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, []error{fmt.Errorf("Polygon coordinates: %w", err)}
		}
		p, err := buildPolygon(c, opt)
		if err != nil {
			return nil, []error{err}
		}
		return []*polygon{p}, nil
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, []error{fmt.Errorf("MultiPolygon coordinates: %w", err)}
		}
		if len(c) == 0 {
			return nil, []error{errors.New("MultiPolygon has no polygons")}
		}
		polys := make([]*polygon, len(c))
		var errs []error
		for i := range c {
			p, err := buildPolygon(c[i], opt)
			if err != nil {
				errs = append(errs, fmt.Errorf("polygon %d: %w", i, err))
			}
			polys[i] = p
		}
		if len(errs) > 0 {
			return nil, errs
		}
		return polys, nil
	default:
		return nil, []error{fmt.Errorf("unsupported geometry type %q, want Polygon or MultiPolygon", g.Type)}
	}
}

// readFeatureCollection reads a GeoJSON FeatureCollection, keeping features raw so that each is checked on its
// own and a broken one is reported with its index. Its errors do not name the file; the caller's LoadError does.
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
		return nil, fmt.Errorf("not GeoJSON: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("GeoJSON type is %q, want FeatureCollection", fc.Type)
	}
	if len(fc.Features) == 0 {
		return nil, errors.New("FeatureCollection has no features")
	}
	return fc.Features, nil
}

// featureWhere names a feature in a problem: its index, and its id once known.
func featureWhere(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("feature %d", i)
	}
	return fmt.Sprintf("feature %d (id %q)", i, id)
}

// idUses records the features using each id, to report every duplicate with all its features at once.
type idUses struct {
	order []string
	uses  map[string][]int
}

func (u *idUses) add(id string, feature int) {
	if u.uses == nil {
		u.uses = make(map[string][]int)
	}
	if _, ok := u.uses[id]; !ok {
		u.order = append(u.order, id)
	}
	u.uses[id] = append(u.uses[id], feature)
}

// report adds one problem per id used by more than one feature, in the order the ids first appear:
// `duplicate id "X": features 3, 7 and 12`.
func (u *idUses) report(pr *problems) {
	for _, id := range u.order {
		if fs := u.uses[id]; len(fs) > 1 {
			pr.add("duplicate id %q: features %s", id, listInts(fs))
		}
	}
}

// listInts writes 3 and 7, or 3, 7 and 12.
func listInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
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
// The whole file is read and checked before LoadGeoJSON returns: a file with problems returns a *LoadError
// listing every one of them (each naming the feature's index and id; duplicate ids with all the features using
// them) and no Set, so it never loads in part. The Set is named after the file's base name without extension.
func LoadGeoJSON(path string) (*Set, error) {
	pr := &problems{path: path}
	raws, err := readFeatureCollection(path)
	if err != nil {
		pr.add("%v", err)
		return nil, pr.err()
	}
	setName := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	st := &staffing{tables: []map[string][]staffEntry{make(map[string][]staffEntry)}}
	set := &Set{Name: setName, staff: st}
	var ids idUses
	for i, raw := range raws {
		id, s, prefixes, facilities, errs := parseCustomFeature(raw)
		for _, err := range errs {
			pr.add("%s: %v", featureWhere(i, id), err)
		}
		if id != "" {
			ids.add(id, i)
		}
		if len(errs) > 0 {
			continue
		}
		s.Set, s.Source = setName, SourceGeoJSON
		set.Sectors = append(set.Sectors, s)
		for _, p := range prefixes {
			addEntry(st.tables[0], p, staffEntry{sector: s, facilities: facilities})
		}
	}
	ids.report(pr)
	if err := pr.err(); err != nil {
		return nil, err
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

// parseCustomFeature returns the feature's id (as soon as it is known, so that problems can name it), the
// sector, its upper-cased callsign prefixes and the facilities that may staff it, or every problem found in the
// feature (then the sector is nil).
func parseCustomFeature(raw json.RawMessage) (string, *Sector, []string, facilityMask, []error) {
	var f customFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", nil, nil, 0, []error{fmt.Errorf("not a GeoJSON Feature: %w", err)}
	}
	var errs []error
	id, err := customID(&f)
	if err != nil {
		errs = append(errs, err)
	}
	if f.Type != "Feature" {
		errs = append(errs, fmt.Errorf("type is %q, want Feature", f.Type))
	}
	cp, perrs := parseCustomProps(f.Properties)
	errs = append(errs, perrs...)
	polys, gerrs := f.Geometry.polygons(ringOptions{})
	for _, err := range gerrs {
		errs = append(errs, fmt.Errorf("geometry: %w", err))
	}
	if len(errs) > 0 {
		return id, nil, nil, 0, errs
	}
	s := newSector(polys)
	s.ID, s.Boundary, s.Name, s.Kind = id, id, cp.name, cp.kind
	s.setBand(cp.floor, cp.ceiling)
	s.Oceanic = cp.oceanic
	s.Region, s.Division = cp.region, cp.division
	return id, s, cp.prefixes, cp.facilities, nil
}

// parseCustomProps reads the properties, reporting every bad one.
func parseCustomProps(props map[string]json.RawMessage) (customProps, []error) {
	cp := customProps{kind: KindCustom, facilities: enrouteFacilities}
	var errs []error
	for _, p := range []struct {
		key string
		dst any
	}{
		{"name", &cp.name}, {"kind", &cp.kind}, {"region", &cp.region}, {"division", &cp.division},
		{"oceanic", &cp.oceanic}, {"callsign_prefixes", &cp.prefixes},
	} {
		if err := decodeProp(props, p.key, p.dst); err != nil {
			errs = append(errs, err)
		}
	}
	if cp.kind == "" {
		cp.kind = KindCustom
	}
	var err error
	floorOK, ceilingOK := true, true
	if cp.floor, err = feetProp(props, "floor_ft"); err != nil {
		errs, floorOK = append(errs, err), false
	}
	if cp.ceiling, err = feetProp(props, "ceiling_ft"); err != nil {
		errs, ceilingOK = append(errs, err), false
	}
	if floorOK && ceilingOK && cp.floor != nil && cp.ceiling != nil && *cp.floor >= *cp.ceiling {
		errs = append(errs, fmt.Errorf("floor_ft %d is not below ceiling_ft %d", *cp.floor, *cp.ceiling))
	}
	for j, p := range cp.prefixes {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" || strings.HasPrefix(p, "_") || strings.HasSuffix(p, "_") {
			errs = append(errs, fmt.Errorf("callsign_prefixes[%d] %q is not a callsign prefix like \"EGTT\" or \"LON_S\"", j, cp.prefixes[j]))
			continue
		}
		cp.prefixes[j] = p
	}
	var codes []int
	if raw, ok := props["facilities"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := decodeProp(props, "facilities", &codes); err != nil {
			return cp, append(errs, err)
		}
		cp.facilities = 0
		bad := false
		for _, c := range codes {
			if c < facilityFSS || c > facilityCTR {
				errs, bad = append(errs, fmt.Errorf("facilities: %d is not a facility that can staff a sector (1 FSS ... 6 CTR)", c)), true
				continue
			}
			cp.facilities |= maskOf(c)
		}
		if cp.facilities == 0 && !bad {
			errs = append(errs, errors.New("facilities is empty: leave it out for the default [1, 6] (FSS, CTR)"))
		}
	}
	return cp, errs
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
