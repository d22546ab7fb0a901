package airspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// SimAware TRACON Project names.
const (
	// SimAwareFile is the file the SimAware TRACON Project publishes with each release.
	SimAwareFile = "TRACONBoundaries.geojson"
	// SetSimAware is the Set name of data loaded by LoadSimAware.
	SetSimAware = "simaware"
	// KindTRACON is the kind of a SimAware approach area.
	KindTRACON = "tracon"
)

// simawareFacility is the feed facility that staffs SimAware areas: 5, "Approach/Departure" (feed.FacilityApproach).
// The network gives _APP and _DEP connections both this facility.
const simawareFacility = 5

// simawareDefaultSuffix is the callsign suffix of an area without "suffix".
const simawareDefaultSuffix = "APP"

// simawareFeature is one feature of TRACONBoundaries.geojson.
type simawareFeature struct {
	Type       string                     `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   *rawGeometry               `json:"geometry"`
}

// traconPair is what a callsign is matched on: the callsign without its last segment (key) and that last
// segment (suffix), upper case. Prefix LAX with suffix DEP is {LAX, DEP}; prefix EETT with suffix H_APP is
// {EETT_H, APP}, so that EETT_H_APP matches it like any callsign with a middle part.
type traconPair struct{ key, suffix string }

// qualifier writes the pair as it appears in a derived sector ID: the key, followed by _suffix unless the suffix
// is APP.
func (p traconPair) qualifier() string {
	if p.suffix == simawareDefaultSuffix {
		return p.key
	}
	return p.key + "_" + p.suffix
}

func compareTraconPairs(a, b traconPair) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.suffix, b.suffix)
}

// traconArea is one area being built: the features of one id with the same callsign pairs.
type traconArea struct {
	id       string
	pairs    []traconPair // sorted, without duplicates
	name     string
	polys    []*polygon
	features []int
}

// LoadSimAware loads the SimAware TRACON Project's TRACONBoundaries.geojson from dir as the "simaware" set
// (github.com/vatsimnetwork/simaware-tracon-project, licence CC BY-SA 4.0; output derived from it must say so).
//
// Each feature is one approach area: properties id (string, required), prefix (callsign prefixes: an array of
// strings, or one string, required), suffix (optional string, APP when absent), name (optional string, the
// area's radio name); other properties (label_lat, label_lon) are ignored. Its geometry is a Polygon or
// MultiPolygon; unclosed rings are closed implicitly, as SimAware draws them (about 90 features of the published
// file have one). Areas become sectors of kind "tracon" with no altitude band, Name from name (else the id) and
// Boundary the feature's id.
//
// Sector IDs. Features share ids: the id is the facility (A80, Atlanta) and each feature is one of its areas,
// told apart by the callsigns that light it up (A80's four have the prefixes AHN, ATL, CSG and MCN). So:
//
//   - an id whose features all have the same callsign pairs (see below) is one area, whose ID is the id; its
//     features' polygons are merged, exact repeats dropped (the published file repeats LEMD and UUYY's UUYY_R
//     area with the same geometry);
//   - an id with several areas gives each the ID id-qualifier, where qualifier is the area's pairs, sorted, each
//     written as its prefix, followed by _suffix unless the suffix is APP, joined by "+": A80-AHN, A80-ATL,
//     NCT-NCT, NCT-NCT_DEP, NCT-OAK_DEP+SFO_DEP.
//
// The IDs depend only on each feature's own properties, never on the order of the file. Areas of one id have
// different pairs, so their IDs differ; a derived ID that equals another sector's ID (a real id "A80-ATL", say)
// is a problem, reported, never resolved by file order.
//
// Staffing (see Airspace.Staffs), as SimAware does it (maiuswong/simaware-express, traconSearch in
// src/js/simaware_app/simaware-map.js; the project README, "How SimAware Determines TRACON Boundaries"). Only
// facility 5 (Approach/Departure, the facility of both _APP and _DEP connections) staffs an area; observers and
// every other facility staff none. A feature's pairs are, for each prefix, prefix_suffix cut at its last "_":
// {prefix, suffix}, or for a suffix with a middle part such as H_APP, {prefix_H, APP}. A callsign is cut the same
// way into its last segment and the rest; the rest is tried whole, then shortened by one segment at a time
// (LAX_U_APP: LAX_U, then LAX; the README's Note 1), and at each length the areas with that key and the
// callsign's suffix staff it, else, for a suffix other than APP, the areas with that key and APP (SimAware's
// fallback: MSP_DEP lights MSP's area when MSP has no DEP area; maintainer's answer in simaware-tracon-project
// issue #149). Matching is case-insensitive and ignores doubled "_". The README asks for unique prefix/suffix
// pairs; where the file repeats one across different areas (LEZL: ids LEZL and LECS-APT), the callsign staffs
// all of them, where SimAware would pick the last in the file. Areas with suffix TWR (tower areas, which the
// project does not intend: simaware-tracon-project PR #214) can be located but are staffed by nobody, as in
// SimAware, since only approach connections are matched.
//
// The whole file is read and checked first: with any problem LoadSimAware returns a *LoadError listing all of
// them, each naming the feature's index and id, and no Set.
func LoadSimAware(dir string) (*Set, error) {
	path := filepath.Join(dir, SimAwareFile)
	pr := &problems{path: path}
	raws, err := readFeatureCollection(path)
	if err != nil {
		pr.add("%v", err)
		return nil, pr.err()
	}
	byID := make(map[string][]*traconArea)
	var idOrder []string
	for i, raw := range raws {
		a, errs := parseSimAwareFeature(raw)
		for _, err := range errs {
			pr.add("%s: %v", featureWhere(i, a.id), err)
		}
		if len(errs) > 0 {
			continue
		}
		a.features = []int{i}
		areas, seen := byID[a.id]
		if !seen {
			idOrder = append(idOrder, a.id)
		}
		if j := slices.IndexFunc(areas, func(o *traconArea) bool { return slices.Equal(o.pairs, a.pairs) }); j >= 0 {
			areas[j].merge(a)
			continue
		}
		byID[a.id] = append(areas, a)
	}

	var sectors []*Sector
	owner := make(map[string][]int) // sector ID → features of the area that has it
	for _, id := range idOrder {
		areas := byID[id]
		for _, a := range areas {
			s := newSector(a.polys)
			s.ID, s.Boundary, s.Set, s.Kind, s.Name = a.sectorID(len(areas) > 1), id, SetSimAware, KindTRACON, a.name
			s.Source = SourceSimAware
			if first, dup := owner[s.ID]; dup {
				pr.add("sector id %q of features %s is also the id of features %s", s.ID, listInts(a.features), listInts(first))
				continue
			}
			owner[s.ID] = a.features
			sectors = append(sectors, s)
		}
	}
	if err := pr.err(); err != nil {
		return nil, err
	}
	sortSectors(sectors)

	st := &simawareStaffing{byPair: make(map[traconPair][]*Sector)}
	byRef := make(map[string]*Sector, len(sectors))
	for _, s := range sectors {
		byRef[s.ID] = s
	}
	for _, id := range idOrder {
		areas := byID[id]
		for _, a := range areas {
			s := byRef[a.sectorID(len(areas) > 1)]
			for _, p := range a.pairs {
				if !slices.Contains(st.byPair[p], s) {
					st.byPair[p] = append(st.byPair[p], s)
				}
			}
		}
	}
	for p := range st.byPair {
		sortSectors(st.byPair[p])
	}
	return &Set{Name: SetSimAware, Sectors: sectors, staff: st}, nil
}

// sectorID is the area's ID: its id, or, when its id has several areas, id-qualifier (see LoadSimAware).
func (a *traconArea) sectorID(shared bool) string {
	if !shared {
		return a.id
	}
	q := make([]string, len(a.pairs))
	for k, p := range a.pairs {
		q[k] = p.qualifier()
	}
	return a.id + "-" + strings.Join(q, "+")
}

// merge adds the polygons of another feature of the same area, dropping exact repeats. The name is the
// smallest of the features' names, so it does not depend on their order.
func (a *traconArea) merge(o *traconArea) {
	a.features = append(a.features, o.features...)
	if o.name < a.name {
		a.name = o.name
	}
next:
	for _, p := range o.polys {
		for _, old := range a.polys {
			if old.equal(p) {
				continue next
			}
		}
		a.polys = append(a.polys, p)
	}
}

// parseSimAwareFeature reads one feature into an area of its own, or returns every problem it has. The area's
// id is set as soon as it is known, so that problems can name it.
func parseSimAwareFeature(raw json.RawMessage) (*traconArea, []error) {
	a := &traconArea{}
	var f simawareFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return a, []error{fmt.Errorf("not a GeoJSON Feature: %w", err)}
	}
	var errs []error
	if f.Type != "Feature" {
		errs = append(errs, fmt.Errorf("type is %q, want Feature", f.Type))
	}
	if err := decodeProp(f.Properties, "id", &a.id); err != nil {
		errs = append(errs, err)
	} else if a.id = strings.TrimSpace(a.id); a.id == "" {
		errs = append(errs, errors.New("missing properties.id"))
	}
	if err := decodeProp(f.Properties, "name", &a.name); err != nil {
		errs = append(errs, err)
	}
	if a.name = strings.TrimSpace(a.name); a.name == "" {
		a.name = a.id
	}
	prefixes, err := simawarePrefixes(f.Properties)
	if err != nil {
		errs = append(errs, err)
	}
	suffix := simawareDefaultSuffix
	if raw, ok := f.Properties["suffix"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		var s string
		if err := decodeProp(f.Properties, "suffix", &s); err != nil {
			errs = append(errs, err)
		} else if suffix = strings.ToUpper(strings.TrimSpace(s)); !isCallsignPart(suffix) {
			errs = append(errs, fmt.Errorf("suffix %q is not a callsign suffix like \"APP\" or \"DEP\"", s))
		}
	}
	for _, p := range prefixes {
		segs := strings.Split(p+"_"+suffix, "_")
		a.pairs = append(a.pairs, traconPair{key: strings.Join(segs[:len(segs)-1], "_"), suffix: segs[len(segs)-1]})
	}
	slices.SortFunc(a.pairs, compareTraconPairs)
	a.pairs = slices.Compact(a.pairs)
	polys, gerrs := f.Geometry.polygons(ringOptions{closeOpenRings: true})
	for _, err := range gerrs {
		errs = append(errs, fmt.Errorf("geometry: %w", err))
	}
	a.polys = polys
	return a, errs
}

// simawarePrefixes reads the prefix property: an array of callsign prefixes, or a single one (SimAware and
// vatsim-radar accept both), upper-cased.
func simawarePrefixes(props map[string]json.RawMessage) ([]string, error) {
	raw, ok := props["prefix"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("missing properties.prefix: the callsign prefixes that staff the area")
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, fmt.Errorf("property prefix: %s is not an array of strings", raw)
		}
		list = []string{one}
	}
	if len(list) == 0 {
		return nil, errors.New("property prefix is empty: an area needs a callsign prefix")
	}
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = strings.ToUpper(strings.TrimSpace(p))
		if !isCallsignPart(out[i]) {
			return nil, fmt.Errorf("prefix[%d] %q is not a callsign prefix like \"LAX\" or \"A90_N\"", i, p)
		}
	}
	return out, nil
}

// isCallsignPart reports whether s is "_"-separated segments, none empty, without spaces.
func isCallsignPart(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t") {
		return false
	}
	for seg := range strings.SplitSeq(s, "_") {
		if seg == "" {
			return false
		}
	}
	return true
}

// simawareStaffing resolves approach callsigns to SimAware areas (see LoadSimAware).
type simawareStaffing struct {
	byPair map[traconPair][]*Sector
}

func (st *simawareStaffing) staffs(callsign string, facility int) []*Sector {
	if facility != simawareFacility {
		return nil
	}
	segs := callsignSegments(callsign)
	if len(segs) < 2 {
		return nil
	}
	suffix := segs[len(segs)-1]
	for n := len(segs) - 1; n > 0; n-- {
		key := strings.Join(segs[:n], "_")
		if s := st.byPair[traconPair{key, suffix}]; len(s) > 0 {
			return s
		}
		if suffix != simawareDefaultSuffix {
			if s := st.byPair[traconPair{key, simawareDefaultSuffix}]; len(s) > 0 {
				return s
			}
		}
	}
	return nil
}
