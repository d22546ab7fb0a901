package airspace

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files of a vatSys sector folder (a vatSys profile's own folder, as the VATSIM divisions publish them: e.g.
// github.com/vatSys/australia-dataset).
const (
	VatSysVolumesFile = "Volumes.xml"
	VatSysSectorsFile = "Sectors.xml"
)

// KindVatSys is the kind of every sector LoadVatSys loads.
const KindVatSys = "sector"

// The XML of Volumes.xml:
//
//	<Volumes>
//	  <Boundary Name="BINDOOK">-333060.000+1510000.000/-34.5+150.25/...</Boundary>
//	  <Volume Name="BIK" LowerLimit="0" UpperLimit="60000">
//	    <Boundaries>BINDOOK,OTHER</Boundaries>
//	  </Volume>
//	</Volumes>
type vatsysVolumesXML struct {
	XMLName    xml.Name            `xml:"Volumes"`
	Boundaries []vatsysBoundaryXML `xml:"Boundary"`
	Volumes    []vatsysVolumeXML   `xml:"Volume"`
}

type vatsysBoundaryXML struct {
	Name   string `xml:"Name,attr"`
	Points string `xml:",chardata"`
}

type vatsysVolumeXML struct {
	Name       string   `xml:"Name,attr"`
	LowerLimit *string  `xml:"LowerLimit,attr"`
	UpperLimit *string  `xml:"UpperLimit,attr"`
	Boundaries []string `xml:"Boundaries"`
}

// The XML of Sectors.xml:
//
//	<Sectors>
//	  <Sector FullName="Bindook" Frequency="129.800" Callsign="ML-BIK_CTR" Name="BIK">
//	    <Volumes>BIK,BIK_SY_TMA_CAP</Volumes>
//	    <ResponsibleSectors>KAT,GTH</ResponsibleSectors>
//	  </Sector>
//	</Sectors>
//
// The published files give Name, FullName, Callsign and Frequency as attributes; a child element of the same name
// is read when the attribute is absent. Some files write "Fullname".
type vatsysSectorsXML struct {
	XMLName xml.Name          `xml:"Sectors"`
	Sectors []vatsysSectorXML `xml:"Sector"`
}

type vatsysSectorXML struct {
	Name          string   `xml:"Name,attr"`
	FullName      string   `xml:"FullName,attr"`
	FullNameLower string   `xml:"Fullname,attr"`
	Callsign      string   `xml:"Callsign,attr"`
	Frequency     string   `xml:"Frequency,attr"`
	NameElem      string   `xml:"Name"`
	FullNameElem  string   `xml:"FullName"`
	CallsignElem  string   `xml:"Callsign"`
	FrequencyElem string   `xml:"Frequency"`
	Volumes       []string `xml:"Volumes"`
	Responsible   []string `xml:"ResponsibleSectors"`
}

// LoadVatSys loads a vatSys sector folder: Volumes.xml (boundaries and volumes) and Sectors.xml (sectors) in dir.
// The set is named after the folder (filepath.Base of dir), every sector has kind KindVatSys.
//
// Boundaries. A <Boundary Name="..."> holds its points separated by "/" (with any whitespace, newlines
// included, around them; a trailing "/" is allowed), each a latitude and longitude written together: ISO 6709
// degrees, minutes and seconds ±DDMMSS.sss±DDDMMSS.sss (-333060.000+1510000.000; 60 seconds is read as the next
// minute, as the published files use it; minutes must be below 60), or signed decimal degrees ±DD.ddd±DDD.ddd
// (-23.426358+133.878056). A ring left open is closed. A boundary crossing the antimeridian (written as a jump
// from +179 to -179) is unwrapped and split at ±180 into polygons that each lie within [-180, 180]; one that
// encircles a pole is closed over that pole.
//
// Volumes. A <Volume Name="..." LowerLimit="..." UpperLimit="..."> is the boundaries its <Boundaries> elements
// name (comma-separated; a volume may have several such elements) between its limits, whole feet, lower below
// upper: LowerLimit <= altitude < UpperLimit. A LowerLimit of 0 or less (the surface) has no floor, so an
// aircraft reporting a slightly negative altitude on the ground is still inside.
//
// Sectors. A <Sector Name="..." FullName="..." Callsign="..." Frequency="..."> is the union of the volumes its
// <Volumes> element names: a position is inside when it is inside one of them within that volume's limits. Its
// ID is its Name with each space replaced by "_" (vatSys names such as "AY ADC" have spaces, which a sector id
// cannot hold), its Boundary the Name as written, its Name the FullName (the Name when there is none). A sector
// without volumes (most clearance, ground and tower positions, and top-down positions such as Brisbane Upper) has
// nothing to locate and is left out of the set; it may still be named in <ResponsibleSectors>, which then skips
// it.
//
// Staffing (see Airspace.Staffs and Airspace.StaffAll). A controller connection staffs the sectors whose Callsign
// equals its own, compared case-insensitively with empty "_" segments ignored (ML-BIK__CTR relieves ML-BIK_CTR).
// When no sector has that callsign, a relief callsign with one segment inserted before the facility suffix
// (ML-BIK_1_CTR) staffs the sectors of the callsign without it (ML-BIK_CTR). An exact callsign always wins:
// published files give distinct sectors callsigns that differ by such a segment (the Oakland dataset's
// HNL_03_CTR ... HNL_08_CTR), and those match themselves only. A staffed sector also covers its
// <ResponsibleSectors> (comma-separated Names) that no connection staffs on its own callsign, and theirs in turn.
//
// Everything is read and checked before LoadVatSys returns: every problem found (a missing or malformed file, a
// malformed point, naming the boundary, the point's index from 0 and its text, a boundary, volume or sector
// name used twice, a volume naming an unknown boundary, limits that are not whole feet or not lower < upper, a
// sector naming an unknown volume or responsible sector) is reported in one *LoadError, and no Set is returned.
func LoadVatSys(dir string) (*Set, error) {
	p := &problems{path: dir}
	setName := filepath.Base(filepath.Clean(dir))
	if err := checkSetName(setName); err != nil {
		p.add("%s cannot name the set: %v", setName, strings.TrimPrefix(err.Error(), "airspace: "))
	}
	var vf vatsysVolumesXML
	var sf vatsysSectorsXML
	readVatSysXML(p, dir, VatSysVolumesFile, &vf)
	readVatSysXML(p, dir, VatSysSectorsFile, &sf)

	boundaries := vatsysBoundaries(p, vf.Boundaries)
	volumes := vatsysVolumes(p, vf.Volumes, boundaries)
	set := vatsysSectors(p, setName, sf.Sectors, volumes)
	if err := p.err(); err != nil {
		return nil, err
	}
	return set, nil
}

// readVatSysXML decodes dir/name into v, recording a missing or malformed file.
func readVatSysXML(p *problems, dir, name string, v any) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			p.add("%s: missing", name)
		} else {
			p.add("%s: %v", name, err)
		}
		return
	}
	if err := xml.Unmarshal(b, v); err != nil {
		p.add("%s: %v", name, err)
	}
}

// vatsysBoundaries parses every boundary. A boundary with problems maps to nil (known, but without geometry),
// so that the volumes naming it are not also reported.
func vatsysBoundaries(p *problems, bs []vatsysBoundaryXML) map[string][]*polygon {
	out := make(map[string][]*polygon, len(bs))
	first := make(map[string]int, len(bs))
	for i, b := range bs {
		name := strings.TrimSpace(b.Name)
		if name == "" {
			p.add("%s: boundary %d has no Name", VatSysVolumesFile, i)
			continue
		}
		if j, dup := first[name]; dup {
			p.add("%s: boundary %q is defined twice (boundaries %d and %d)", VatSysVolumesFile, name, j, i)
			continue
		}
		first[name] = i
		out[name] = vatsysBoundary(p, name, b.Points)
	}
	return out
}

// vatsysBoundary parses one boundary's points into polygons split at the antimeridian; nil when it has problems.
func vatsysBoundary(p *problems, name, text string) []*polygon {
	parts := strings.Split(text, "/")
	if len(parts) > 1 && strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1] // a trailing "/"
	}
	ok := true
	ring := make([]point, 0, len(parts)+1)
	for i, s := range parts {
		s = strings.TrimSpace(s)
		pt, err := parseVatSysPoint(s)
		if err != nil {
			p.add("%s: boundary %q: point %d %q: %v", VatSysVolumesFile, name, i, s, err)
			ok = false
			continue
		}
		ring = append(ring, pt)
	}
	if !ok {
		return nil
	}
	if len(ring) > 0 && ring[0] != ring[len(ring)-1] {
		ring = append(ring, ring[0])
	}
	if len(dropRepeats(ring)) < 4 {
		p.add("%s: boundary %q has %d distinct points, want at least 3", VatSysVolumesFile, name, max(len(dropRepeats(ring))-1, 0))
		return nil
	}
	var polys []*polygon
	for _, r := range splitAntimeridian(ring) {
		polys = append(polys, newPolygon([][]point{r}))
	}
	if len(polys) == 0 {
		p.add("%s: boundary %q encloses no area", VatSysVolumesFile, name)
		return nil
	}
	return polys
}

// parseVatSysPoint parses one point: ±DDMMSS.sss±DDDMMSS.sss or ±DD.ddd±DDD.ddd (latitude, then longitude).
func parseVatSysPoint(s string) (point, error) {
	const want = "want ±DDMMSS.sss±DDDMMSS.sss or signed decimal degrees ±DD.ddd±DDD.ddd"
	if s == "" {
		return point{}, errors.New("empty point, " + want)
	}
	if s[0] != '+' && s[0] != '-' {
		return point{}, errors.New("latitude has no sign, " + want)
	}
	cut := strings.IndexAny(s[1:], "+-")
	if cut < 0 {
		return point{}, errors.New("no signed longitude after the latitude, " + want)
	}
	latS, lonS := s[:cut+1], s[cut+1:]
	latInt, okLat := unsignedDecimal(latS[1:])
	lonInt, okLon := unsignedDecimal(lonS[1:])
	if !okLat || !okLon {
		return point{}, errors.New(want)
	}
	var lat, lon float64
	var err error
	switch {
	case latInt == 6 && lonInt == 7:
		if lat, err = dms(latS, 2); err != nil {
			return point{}, fmt.Errorf("latitude: %w", err)
		}
		if lon, err = dms(lonS, 3); err != nil {
			return point{}, fmt.Errorf("longitude: %w", err)
		}
	case latInt >= 1 && latInt <= 2 && lonInt >= 1 && lonInt <= 3:
		lat, _ = strconv.ParseFloat(latS, 64)
		lon, _ = strconv.ParseFloat(lonS, 64)
	default:
		return point{}, errors.New(want)
	}
	if !(lat >= -90 && lat <= 90) {
		return point{}, fmt.Errorf("latitude %v out of range [-90, 90]", lat)
	}
	if !(lon >= -180 && lon <= 180) {
		return point{}, fmt.Errorf("longitude %v out of range [-180, 180]", lon)
	}
	return point{lon, lat}, nil
}

// unsignedDecimal reports whether s is digits with at most one ".", with at least one digit before it, and how
// many digits come before the ".".
func unsignedDecimal(s string) (intDigits int, ok bool) {
	dot := false
	frac := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if dot {
				frac++
			} else {
				intDigits++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if intDigits == 0 || (dot && frac == 0) {
		return 0, false
	}
	return intDigits, true
}

// dms reads a signed degrees-minutes-seconds value with degDigits digits of degrees, two of minutes and the
// rest seconds. 60 seconds carries into the next minute.
func dms(s string, degDigits int) (float64, error) {
	neg := s[0] == '-'
	s = s[1:]
	deg, _ := strconv.Atoi(s[:degDigits])
	minutes, _ := strconv.Atoi(s[degDigits : degDigits+2])
	sec, _ := strconv.ParseFloat(s[degDigits+2:], 64)
	if minutes >= 60 {
		return 0, fmt.Errorf("%d minutes, want 0-59", minutes)
	}
	if sec > 60 {
		return 0, fmt.Errorf("%v seconds, want under 60 (or exactly 60, read as the next minute)", sec)
	}
	if sec == 60 {
		sec = 0
		minutes++
		if minutes == 60 {
			minutes = 0
			deg++
		}
	}
	v := float64(deg) + float64(minutes)/60 + sec/3600
	if neg {
		v = -v
	}
	return v, nil
}

// vatsysVolumeT is a parsed volume; ok is false when it has problems (its sectors are then not reported again).
type vatsysVolumeT struct {
	vol volume
	ok  bool
}

func vatsysVolumes(p *problems, vs []vatsysVolumeXML, boundaries map[string][]*polygon) map[string]*vatsysVolumeT {
	out := make(map[string]*vatsysVolumeT, len(vs))
	first := make(map[string]int, len(vs))
	for i, v := range vs {
		name := strings.TrimSpace(v.Name)
		if name == "" {
			p.add("%s: volume %d has no Name", VatSysVolumesFile, i)
			continue
		}
		if j, dup := first[name]; dup {
			p.add("%s: volume %q is defined twice (volumes %d and %d)", VatSysVolumesFile, name, j, i)
			continue
		}
		first[name] = i
		t := &vatsysVolumeT{ok: true}
		out[name] = t
		lower, okL := vatsysLimit(p, name, "LowerLimit", v.LowerLimit)
		upper, okU := vatsysLimit(p, name, "UpperLimit", v.UpperLimit)
		if okL && okU && lower >= upper {
			p.add("%s: volume %q: LowerLimit %d is not below UpperLimit %d", VatSysVolumesFile, name, lower, upper)
			t.ok = false
		}
		t.ok = t.ok && okL && okU
		if lower > 0 {
			t.vol.floor = &lower
		}
		t.vol.ceiling = &upper
		n := 0
		for _, list := range v.Boundaries {
			for _, b := range splitNames(list) {
				n++
				polys, known := boundaries[b]
				switch {
				case !known:
					p.add("%s: volume %q names unknown boundary %q", VatSysVolumesFile, name, b)
					t.ok = false
				case polys == nil:
					t.ok = false // the boundary's own problems are reported
				default:
					t.vol.polys = append(t.vol.polys, polys...)
				}
			}
		}
		if n == 0 {
			p.add("%s: volume %q names no boundaries", VatSysVolumesFile, name)
			t.ok = false
		}
	}
	return out
}

// vatsysLimit parses a volume limit in whole feet.
func vatsysLimit(p *problems, volume, attr string, s *string) (int, bool) {
	if s == nil {
		p.add("%s: volume %q has no %s", VatSysVolumesFile, volume, attr)
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(*s))
	if err != nil {
		p.add("%s: volume %q: %s %q is not whole feet", VatSysVolumesFile, volume, attr, *s)
		return 0, false
	}
	return v, true
}

// splitNames splits a comma-separated list of names, dropping empty ones.
func splitNames(s string) []string {
	var out []string
	for n := range strings.SplitSeq(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func vatsysSectors(p *problems, setName string, xs []vatsysSectorXML, volumes map[string]*vatsysVolumeT) *Set {
	type parsed struct {
		x        *vatsysSectorXML
		index    int
		name     string
		sector   *Sector // nil without volumes
		callsign string
	}
	byName := make(map[string][]int) // Name → element indexes
	var order []string
	all := make([]parsed, 0, len(xs))
	for i := range xs {
		x := &xs[i]
		name := firstNonEmpty(x.Name, x.NameElem)
		if name == "" {
			p.add("%s: sector %d has no Name", VatSysSectorsFile, i)
			continue
		}
		if _, seen := byName[name]; !seen {
			order = append(order, name)
		}
		byName[name] = append(byName[name], i)
		all = append(all, parsed{x: x, index: i, name: name})
	}
	for _, name := range order {
		if idx := byName[name]; len(idx) > 1 {
			p.add("%s: sector name %q is used by %d sectors: %s", VatSysSectorsFile, name, len(idx), joinInts(idx))
		}
	}

	set := &Set{Name: setName}
	byID := make(map[string]*parsed)
	sectorOf := make(map[string]*Sector) // Name → sector (nil without volumes), for unique names
	for k := range all {
		ps := &all[k]
		x := ps.x
		var vols []volume
		ok := true
		for _, list := range x.Volumes {
			for _, vn := range splitNames(list) {
				v, known := volumes[vn]
				switch {
				case !known:
					p.add("%s: sector %q names unknown volume %q", VatSysSectorsFile, ps.name, vn)
					ok = false
				case !v.ok:
					ok = false // the volume's own problems are reported
				default:
					vols = append(vols, v.vol)
				}
			}
		}
		ps.callsign = firstNonEmpty(x.Callsign, x.CallsignElem)
		if !ok || len(vols) == 0 || len(byName[ps.name]) > 1 {
			continue
		}
		s := newVolumeSector(vols)
		s.ID = strings.Join(strings.Fields(ps.name), "_")
		s.Boundary = ps.name
		s.Name = firstNonEmpty(x.FullName, x.FullNameLower, x.FullNameElem, ps.name)
		s.Set = setName
		s.Kind = KindVatSys
		if other, dup := byID[s.ID]; dup {
			p.add("%s: sectors %q and %q both have id %q (spaces become \"_\")", VatSysSectorsFile, other.name, ps.name, s.ID)
			continue
		}
		byID[s.ID] = ps
		ps.sector = s
		sectorOf[ps.name] = s
		set.Sectors = append(set.Sectors, s)
	}

	st := &vatsysStaffing{byCallsign: make(map[string][]*Sector)}
	set.staff = st
	for k := range all {
		ps := &all[k]
		var rs []*Sector
		for _, list := range ps.x.Responsible {
			for _, rn := range splitNames(list) {
				if _, known := byName[rn]; !known {
					p.add("%s: sector %q names unknown responsible sector %q", VatSysSectorsFile, ps.name, rn)
					continue
				}
				r := sectorOf[rn]
				if r == nil || r == ps.sector || containsSector(rs, r) {
					continue // without volumes, itself, or listed twice
				}
				rs = append(rs, r)
			}
		}
		if ps.sector == nil {
			continue
		}
		if len(rs) > 0 {
			if set.responsible == nil {
				set.responsible = make(map[*Sector][]*Sector)
			}
			set.responsible[ps.sector] = rs
		}
		if key := vatsysCallsignKey(ps.callsign); key != "" {
			st.byCallsign[key] = append(st.byCallsign[key], ps.sector)
		}
	}
	if len(set.Sectors) == 0 && len(p.list) == 0 {
		p.add("%s: no sector has volumes, so there is nothing to locate", VatSysSectorsFile)
	}
	sortSectors(set.Sectors)
	return set
}

func containsSector(list []*Sector, s *Sector) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// vatsysStaffing staffs a vatSys sector by its Callsign (see LoadVatSys).
type vatsysStaffing struct {
	byCallsign map[string][]*Sector // vatsysCallsignKey → sectors
}

// vatsysCallsignKey normalises a callsign: upper case, surrounding space trimmed, empty "_" segments dropped.
func vatsysCallsignKey(callsign string) string {
	return strings.Join(callsignSegments(callsign), "_")
}

func callsignSegments(callsign string) []string {
	var segs []string
	for seg := range strings.SplitSeq(strings.ToUpper(strings.TrimSpace(callsign)), "_") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return segs
}

func (st *vatsysStaffing) staffs(callsign string, facility int) []*Sector {
	if facility == facilityObserver {
		return nil
	}
	segs := callsignSegments(callsign)
	if len(segs) == 0 {
		return nil
	}
	if out := st.byCallsign[strings.Join(segs, "_")]; len(out) > 0 {
		return out
	}
	if len(segs) >= 3 {
		// A relief callsign: one segment inserted before the facility suffix.
		n := len(segs)
		key := strings.Join(append(segs[:n-2:n-2], segs[n-1]), "_")
		return st.byCallsign[key]
	}
	return nil
}
