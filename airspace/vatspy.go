package airspace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OceanicSuffix is appended to the ID of the oceanic sector of a VATSpy boundary id that has both a domestic and
// an oceanic boundary (KZNY and KZNY-OCEANIC).
const OceanicSuffix = "-OCEANIC"

// vatspyFeature is one feature of Boundaries.geojson. Properties are strings in the published file; oceanic is
// read leniently.
type vatspyFeature struct {
	Properties struct {
		ID       string          `json:"id"`
		Oceanic  json.RawMessage `json:"oceanic"`
		Region   string          `json:"region"`
		Division string          `json:"division"`
	} `json:"properties"`
	Geometry *rawGeometry `json:"geometry"`
}

// datFIR is a [FIRs] row: ICAO|NAME|CALLSIGN PREFIX|FIR BOUNDARY.
type datFIR struct {
	icao, name, prefix, boundary string
}

// datUIR is a [UIRs] row: ID|NAME|FIR,FIR,...
type datUIR struct {
	id, name string
	firs     []string
}

// LoadVATSpy loads the VATSpy Data Project files from dir (Boundaries.geojson and VATSpy.dat) as the "vatspy" set.
//
// Each boundary becomes a sector of kind "fir" with no altitude band, named after its [FIRs] row.
//
// Duplicate boundary ids. The published file repeats some ids (AIRAC 2608: CZQM, CZQX, KZNY, NZOH, SUEO, ZBAA).
// Looking at them: NZOH and ZBAA are the same polygon twice; CZQM and CZQX each have two different non-oceanic
// polygons (the combined Moncton/Gander airspace, with and without the Sept-Iles area), which VATSpy lights
// together for one controller; KZNY and SUEO each have a domestic and an oceanic boundary, far apart (KZNY's
// oceanic part around Bermuda). So features are grouped by (id, oceanic flag), never by file position:
//
//   - features sharing id and oceanic flag are one sector whose MultiPolygon is all their polygons, exact
//     duplicate polygons dropped (as vatsim-radar merges them);
//   - when an id has both a domestic and an oceanic group, the domestic sector keeps the id and the oceanic one
//     gets ID id+OceanicSuffix (KZNY-OCEANIC), name suffixed " Oceanic"; Boundary stays the original id for both.
//
// The IDs therefore do not depend on the order of features in the file, and a boundary that is the only one of
// its id keeps its id whatever its oceanic flag. A derived ID that collides with a real id is a problem.
//
// Staffing (see Airspace.Staffs), as VATSpy and vatsim-radar do it: a CTR or FSS connection's callsign minus its
// facility suffix (EGTT_S_CTR → EGTT_S, then EGTT) is tried longest key first; at each key, in this order, a
// [FIRs] row with that CALLSIGN PREFIX, a [FIRs] row with that ICAO, a [UIRs] id. The first match staffs the FIR
// BOUNDARY of every matching row (the ICAO when the column is empty), or, for a UIR, the boundaries of every
// [FIRs] row of each listed FIR (a listed name without rows is taken as a boundary id). A boundary id staffs all
// sectors made from it, so NY_CTR staffs KZNY and KZNY-OCEANIC. The ICAO column is consulted although the
// prefix column is set because callsigns use it: CZQX_CTR is online in the recorded feeds, and CZQX's rows only
// list the prefixes GAND and YQX. The prefix column wins at equal length: LPPO_CTR is Santa Maria Radar
// (prefix LPPO → LPPO-TMA), not the oceanic FIR whose ICAO is LPPO.
//
// Both files are read and checked in full before LoadVATSpy returns: with any problem it returns a *LoadError
// for dir listing all of them, each naming its file (and feature index and id), and no Set.
func LoadVATSpy(dir string) (*Set, error) {
	pr := &problems{path: dir}
	raws, err := readFeatureCollection(filepath.Join(dir, BoundariesFile))
	if err != nil {
		pr.add("%s: %v", BoundariesFile, err)
	}
	firs, uirs, err := readVATSpyDat(filepath.Join(dir, VATSpyDatFile))
	if err != nil {
		pr.add("%s: %v", VATSpyDatFile, err)
	}
	sectors := vatspySectors(pr, raws, firs)
	if err := pr.err(); err != nil {
		return nil, err
	}
	set := &Set{Name: SetVATSpy, Sectors: sectors, staff: vatspyStaffing(sectors, firs, uirs)}
	return set, nil
}

func readVATSpyDat(path string) ([]datFIR, []datUIR, error) {
	dat, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer dat.Close()
	return parseVATSpyDat(dat)
}

// vatspyGroup collects the features of one (id, oceanic) pair.
type vatspyGroup struct {
	polys            []*polygon
	region, division string
}

// vatspySectors makes the sectors of Boundaries.geojson, adding every problem of its features to pr; the
// sectors are meaningless when pr has any.
func vatspySectors(pr *problems, raws []json.RawMessage, firs []datFIR) []*Sector {
	type byID struct{ parts [2]*vatspyGroup } // [0] domestic, [1] oceanic
	groups := make(map[string]*byID)
	var order []string
	for i, raw := range raws {
		var f vatspyFeature
		if err := json.Unmarshal(raw, &f); err != nil {
			pr.add("%s: feature %d: %v", BoundariesFile, i, err)
			continue
		}
		id := strings.TrimSpace(f.Properties.ID)
		where := BoundariesFile + ": " + featureWhere(i, id)
		bad := false
		if id == "" {
			pr.add("%s: missing properties.id", where)
			bad = true
		}
		oceanic, err := parseFlag(f.Properties.Oceanic)
		if err != nil {
			pr.add("%s: oceanic: %v", where, err)
			bad = true
		}
		polys, errs := f.Geometry.polygons(ringOptions{closeOpenRings: true})
		for _, err := range errs {
			pr.add("%s: geometry: %v", where, err)
			bad = true
		}
		if bad {
			continue
		}
		g := groups[id]
		if g == nil {
			g = &byID{}
			groups[id] = g
			order = append(order, id)
		}
		k := 0
		if oceanic {
			k = 1
		}
		part := g.parts[k]
		if part == nil {
			part = &vatspyGroup{region: f.Properties.Region, division: f.Properties.Division}
			g.parts[k] = part
		}
	next:
		for _, p := range polys {
			for _, old := range part.polys {
				if old.equal(p) {
					continue next
				}
			}
			part.polys = append(part.polys, p)
		}
	}

	names := vatspyNames(firs)
	var sectors []*Sector
	ids := make(map[string]bool)
	for _, id := range order {
		g := groups[id]
		split := g.parts[0] != nil && g.parts[1] != nil
		for k, part := range g.parts {
			if part == nil {
				continue
			}
			s := newSector(part.polys)
			s.ID, s.Boundary, s.Set, s.Kind, s.Source = id, id, SetVATSpy, KindFIR, SourceVATSpy
			s.Oceanic = k == 1
			s.Region, s.Division = part.region, part.division
			s.Name = names[id]
			if s.Name == "" {
				s.Name = id
			}
			if split && s.Oceanic {
				s.ID = id + OceanicSuffix
				if !strings.Contains(strings.ToLower(s.Name), "oceanic") {
					s.Name += " Oceanic"
				}
			}
			sectors = append(sectors, s)
		}
	}
	for _, s := range sectors {
		if ids[s.ID] {
			pr.add("%s: sector id %q is both a boundary id and the oceanic half of boundary %q",
				BoundariesFile, s.ID, strings.TrimSuffix(s.ID, OceanicSuffix))
		}
		ids[s.ID] = true
	}
	sortSectors(sectors)
	return sectors
}

// vatspyNames picks each boundary's display name: the first [FIRs] row whose ICAO is the boundary id (the FIR
// itself rather than one of its callsign variants), else the first row pointing at the boundary.
func vatspyNames(firs []datFIR) map[string]string {
	names := make(map[string]string)
	exact := make(map[string]bool)
	for _, f := range firs {
		b := f.boundaryID()
		switch {
		case f.name == "":
		case f.icao == b && !exact[b]:
			names[b], exact[b] = f.name, true
		case names[b] == "":
			names[b] = f.name
		}
	}
	return names
}

func (f datFIR) boundaryID() string {
	if f.boundary != "" {
		return f.boundary
	}
	return f.icao
}

// vatspyStaffing builds the callsign tables described on LoadVATSpy. Rows pointing at a boundary that is not in
// Boundaries.geojson staff nothing.
func vatspyStaffing(sectors []*Sector, firs []datFIR, uirs []datUIR) *staffing {
	byBoundary := make(map[string][]*Sector)
	for _, s := range sectors {
		byBoundary[s.Boundary] = append(byBoundary[s.Boundary], s)
	}
	byPrefix := make(map[string][]staffEntry)
	byICAO := make(map[string][]staffEntry)
	byUIR := make(map[string][]staffEntry)
	firBoundaries := make(map[string][]string) // FIR ICAO → boundary ids, for UIR members
	for _, f := range firs {
		b := f.boundaryID()
		firBoundaries[strings.ToUpper(f.icao)] = append(firBoundaries[strings.ToUpper(f.icao)], b)
		for _, s := range byBoundary[b] {
			e := staffEntry{sector: s, facilities: enrouteFacilities}
			if f.prefix != "" {
				addEntry(byPrefix, strings.ToUpper(f.prefix), e)
			}
			addEntry(byICAO, strings.ToUpper(f.icao), e)
		}
	}
	for _, u := range uirs {
		for _, member := range u.firs {
			bs, ok := firBoundaries[strings.ToUpper(member)]
			if !ok {
				bs = []string{member}
			}
			for _, b := range bs {
				for _, s := range byBoundary[b] {
					addEntry(byUIR, strings.ToUpper(u.id), staffEntry{sector: s, facilities: enrouteFacilities})
				}
			}
		}
	}
	return &staffing{tables: []map[string][]staffEntry{byPrefix, byICAO, byUIR}}
}

// parseVATSpyDat reads the [FIRs] and [UIRs] sections; other sections are skipped. Lines starting with ";" are
// comments. Missing trailing columns read as empty, as in VATSpy.
func parseVATSpyDat(r io.Reader) ([]datFIR, []datUIR, error) {
	var firs []datFIR
	var uirs []datUIR
	section := ""
	seen := make(map[string]bool)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\uFEFF"))
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			seen[section] = true
			continue
		}
		fields := strings.Split(line, "|")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		for len(fields) < 4 {
			fields = append(fields, "")
		}
		switch section {
		case "FIRs":
			if fields[0] == "" {
				continue
			}
			firs = append(firs, datFIR{icao: fields[0], name: fields[1], prefix: fields[2], boundary: fields[3]})
		case "UIRs":
			if fields[0] == "" {
				continue
			}
			u := datUIR{id: fields[0], name: fields[1]}
			for m := range strings.SplitSeq(fields[2], ",") {
				if m = strings.TrimSpace(m); m != "" {
					u.firs = append(u.firs, m)
				}
			}
			uirs = append(uirs, u)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if !seen["FIRs"] {
		return nil, nil, errors.New("no [FIRs] section: not a VATSpy.dat file")
	}
	return firs, uirs, nil
}

// parseFlag reads the oceanic property: "0"/"1" strings in the published file; booleans, numbers and absence
// (false) are accepted too.
func parseFlag(raw json.RawMessage) (bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return false, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, err
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case float64:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
	case string:
		if v == "" {
			return false, nil
		}
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("%s is not 0 or 1", raw)
}
