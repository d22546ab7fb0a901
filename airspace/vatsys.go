package airspace

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
// It is LoadVatSysWithWarnings without the warnings.
func LoadVatSys(dir string) (*Set, error) {
	set, _, err := LoadVatSysWithWarnings(dir)
	return set, err
}

// LoadVatSysWithWarnings loads a vatSys sector folder: Volumes.xml (boundaries and volumes) and Sectors.xml
// (sectors) in dir. The set is named after the folder (filepath.Base of dir), every sector has kind KindVatSys.
// Besides the set it returns warnings: quirks of the published files that it loads anyway, each a sentence
// naming its file and elements (see below); they are returned with or without an error.
//
// Boundaries. A <Boundary Name="..."> holds its points separated by "/" (with any whitespace, newlines
// included, around them; a trailing "/" is allowed), each a latitude and longitude written together: ISO 6709
// degrees, minutes and seconds ±DDMMSS.sss±DDDMMSS.sss (-333060.000+1510000.000; 60 seconds is read as the next
// minute, as the published files use it; minutes must be below 60), or signed decimal degrees ±DD.ddd±DDD.ddd
// (-23.426358+133.878056). A ring left open is closed. A boundary crossing the antimeridian (written as a jump
// from +179 to -179) is unwrapped and split at ±180 into polygons that each lie within [-180, 180]; one that
// encircles a pole is closed over that pole. A boundary defined again with the same points (the text compared
// without whitespace and trailing "/"; the Australia and Pacific datasets repeat some) is kept once, with a
// warning; defined again with other points, it is a problem.
//
// Volumes. A <Volume Name="..." LowerLimit="..." UpperLimit="..."> is the boundaries its <Boundaries> elements
// name (comma-separated; a volume may have several such elements) between its limits, whole feet, lower below
// upper: LowerLimit <= altitude < UpperLimit. A LowerLimit of 0 or less (the surface) has no floor, so an
// aircraft reporting a slightly negative altitude on the ground is still inside. A volume defined again with
// the same limits and the same boundaries (in any order) is kept once, with a warning; otherwise it is a
// problem.
//
// Sectors. A <Sector Name="..." FullName="..." Callsign="..." Frequency="..."> is the union of the volumes its
// <Volumes> element names: a position is inside when it is inside one of them within that volume's limits. Its
// ID is its Name with each space replaced by "_" (vatSys names such as "AY ADC" have spaces, which a sector id
// cannot hold), its Boundary the Name as written, its Name the FullName ("Fullname" is read too; the Name when
// there is none).
//
// One Name, several <Sector> elements. <ResponsibleSectors> refers to sectors by Name, so a Name is one sector.
// The Oakland dataset gives a neighbouring unit's Name to several elements: one with the unit's volumes, the
// others with only another Callsign and Frequency (HN: the Honolulu volume under HNL_02_CTR, and HNL_03_CTR ...
// HNL_08_CTR without volumes). Such elements merge into one sector: the <Volumes> and <ResponsibleSectors> of
// the elements that have either, which must all name the same volumes and the same responsible sectors (in any
// order; otherwise it is a problem), staffed by the Callsign of every element. Its FullName is that of the
// element with volumes or responsible sectors whose callsign (then FullName) sorts first, so the result does not depend on the
// order of the elements. Each merged Name is reported in a warning.
//
// Positions without airspace. A sector without volumes but with <ResponsibleSectors> and a Callsign (a
// top-down position, such as the UK dataset's EGAA_APP over EGAA_TWR) is not in the set's Sectors, as it has
// nothing to locate, but its callsign staffs it and it covers the sectors it is responsible for (see
// Airspace.StaffAll, which never returns it). A folder must still have one sector with volumes. One with neither volumes nor responsible sectors (a clearance,
// ground or tower position without airspace) has nothing to staff and is left out: one warning lists them. One
// with responsible sectors but no Callsign cannot be staffed and is left out with a warning. A name in
// <ResponsibleSectors> that is left out is skipped where it is named.
//
// Staffing (see Airspace.Staffs and Airspace.StaffAll). A controller connection staffs the sectors whose Callsign
// equals its own, compared case-insensitively with empty "_" segments ignored (ML-BIK__CTR relieves ML-BIK_CTR).
// When no sector has that callsign, a relief callsign with one segment inserted before the facility suffix
// (ML-BIK_1_CTR) staffs the sectors of the callsign without it (ML-BIK_CTR). An exact callsign always wins:
// published files give distinct sectors callsigns that differ by such a segment (the Australia dataset's
// ZAK_FSS, ZAK_E_FSS and ZAK_3_FSS), and those match themselves only. A staffed sector also covers its
// <ResponsibleSectors> (comma-separated Names) that no connection staffs on its own callsign, and theirs in turn.
// A responsible Name that no <Sector> of the folder has is a position outside this dataset (a neighbouring
// FIR's: the New Zealand dataset names AARR, the Oakland one PKWA, the Pacific one HWE): it is skipped, and one
// warning per such Name lists the sectors naming it.
//
// Everything is read and checked before LoadVatSysWithWarnings returns: every problem found (a missing or
// malformed file, a malformed point, naming the boundary, the point's index from 0 and its text, a boundary or
// volume defined twice differently, one Name given different volumes or responsible sectors, two Names with
// the same id, a volume naming an unknown boundary, limits that are not whole feet or not lower < upper, a
// sector naming an unknown volume) is reported in one *LoadError, and no Set is returned.
func LoadVatSysWithWarnings(dir string) (*Set, []string, error) {
	p := &problems{path: dir}
	var w vatsysWarnings
	setName := filepath.Base(filepath.Clean(dir))
	if err := checkSetName(setName); err != nil {
		p.add("%s cannot name the set: %v", setName, strings.TrimPrefix(err.Error(), "airspace: "))
	}
	var vf vatsysVolumesXML
	var sf vatsysSectorsXML
	readVatSysXML(p, dir, VatSysVolumesFile, &vf)
	readVatSysXML(p, dir, VatSysSectorsFile, &sf)

	boundaries := vatsysBoundaries(p, &w, vf.Boundaries)
	volumes := vatsysVolumes(p, &w, vf.Volumes, boundaries)
	set := vatsysSectors(p, &w, setName, sf.Sectors, volumes)
	if err := p.err(); err != nil {
		return nil, w, err
	}
	return set, w, nil
}

// vatsysWarnings collects the quirks a folder loads with.
type vatsysWarnings []string

func (w *vatsysWarnings) add(format string, args ...any) {
	*w = append(*w, fmt.Sprintf(format, args...))
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
func vatsysBoundaries(p *problems, w *vatsysWarnings, bs []vatsysBoundaryXML) map[string][]*polygon {
	out := make(map[string][]*polygon, len(bs))
	type seen struct {
		index int
		text  string // without whitespace and a trailing "/"
		count int
	}
	first := make(map[string]*seen, len(bs))
	var repeated []string
	for i, b := range bs {
		name := strings.TrimSpace(b.Name)
		if name == "" {
			p.add("%s: boundary %d has no Name", VatSysVolumesFile, i)
			continue
		}
		text := strings.TrimSuffix(strings.Join(strings.Fields(b.Points), ""), "/")
		if f, dup := first[name]; dup {
			if f.text != text {
				p.add("%s: boundary %q is defined twice with different points (boundaries %d and %d)", VatSysVolumesFile, name, f.index, i)
			} else if f.count++; f.count == 2 {
				repeated = append(repeated, name)
			}
			continue
		}
		first[name] = &seen{index: i, text: text, count: 1}
		out[name] = vatsysBoundary(p, name, b.Points)
	}
	for _, name := range repeated {
		w.add("%s: boundary %q is defined %d times with the same points; loaded once", VatSysVolumesFile, name, first[name].count)
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

func vatsysVolumes(p *problems, w *vatsysWarnings, vs []vatsysVolumeXML, boundaries map[string][]*polygon) map[string]*vatsysVolumeT {
	out := make(map[string]*vatsysVolumeT, len(vs))
	type seen struct {
		index int
		key   string // limits and sorted boundary names
		count int
	}
	first := make(map[string]*seen, len(vs))
	var repeated []string
	for i, v := range vs {
		name := strings.TrimSpace(v.Name)
		if name == "" {
			p.add("%s: volume %d has no Name", VatSysVolumesFile, i)
			continue
		}
		var names []string
		for _, list := range v.Boundaries {
			names = append(names, splitNames(list)...)
		}
		key := vatsysLimitKey(v.LowerLimit) + " " + vatsysLimitKey(v.UpperLimit) + " " + strings.Join(sortedUnique(names), ",")
		if f, dup := first[name]; dup {
			if f.key != key {
				p.add("%s: volume %q is defined twice with different limits or boundaries (volumes %d and %d)", VatSysVolumesFile, name, f.index, i)
			} else if f.count++; f.count == 2 {
				repeated = append(repeated, name)
			}
			continue
		}
		first[name] = &seen{index: i, key: key, count: 1}
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
		for _, b := range names {
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
		if len(names) == 0 {
			p.add("%s: volume %q names no boundaries", VatSysVolumesFile, name)
			t.ok = false
		}
	}
	for _, name := range repeated {
		w.add("%s: volume %q is defined %d times with the same limits and boundaries; loaded once", VatSysVolumesFile, name, first[name].count)
	}
	return out
}

// vatsysLimitKey is a limit as compared between two definitions of a volume.
func vatsysLimitKey(s *string) string {
	if s == nil {
		return "-"
	}
	return strings.TrimSpace(*s)
}

// sortedUnique returns the names sorted, without repeats.
func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
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

// vatsysDef is one <Sector> element.
type vatsysDef struct {
	index                int
	x                    *vatsysSectorXML
	callsign             string   // vatsysCallsignKey
	volumes, responsible []string // sorted, unique
}

// vatsysName is the elements sharing one Name: one sector, or one position without airspace (see
// LoadVatSysWithWarnings).
type vatsysName struct {
	name   string
	defs   []*vatsysDef
	main   *vatsysDef // the element with volumes or responsible sectors whose callsign, then FullName, sorts first; nil for none
	sector *Sector    // nil when left out or with problems
}

func vatsysSectors(p *problems, w *vatsysWarnings, setName string, xs []vatsysSectorXML, volumes map[string]*vatsysVolumeT) *Set {
	byName := make(map[string]*vatsysName)
	var order []*vatsysName
	for i := range xs {
		x := &xs[i]
		name := firstNonEmpty(x.Name, x.NameElem)
		if name == "" {
			p.add("%s: sector %d has no Name", VatSysSectorsFile, i)
			continue
		}
		d := &vatsysDef{index: i, x: x, callsign: vatsysCallsignKey(firstNonEmpty(x.Callsign, x.CallsignElem))}
		for _, list := range x.Volumes {
			d.volumes = append(d.volumes, splitNames(list)...)
		}
		for _, list := range x.Responsible {
			d.responsible = append(d.responsible, splitNames(list)...)
		}
		d.volumes, d.responsible = sortedUnique(d.volumes), sortedUnique(d.responsible)
		n := byName[name]
		if n == nil {
			n = &vatsysName{name: name}
			byName[name] = n
			order = append(order, n)
		}
		n.defs = append(n.defs, d)
	}

	set := &Set{Name: setName}
	st := &vatsysStaffing{byCallsign: make(map[string][]*Sector)}
	set.staff = st
	byID := make(map[string]*vatsysName)
	var leftOut []string
	for _, n := range order {
		if !vatsysMerge(p, w, n) {
			continue
		}
		var callsigns []string
		for _, d := range n.defs {
			if d.callsign != "" {
				callsigns = append(callsigns, d.callsign)
			}
		}
		callsigns = sortedUnique(callsigns)
		if n.main == nil {
			leftOut = append(leftOut, n.name)
			continue
		}
		var vols []volume
		ok := true
		for _, vn := range n.main.volumes {
			v, known := volumes[vn]
			switch {
			case !known:
				p.add("%s: sector %q names unknown volume %q", VatSysSectorsFile, n.name, vn)
				ok = false
			case !v.ok:
				ok = false // the volume's own problems are reported
			default:
				vols = append(vols, v.vol)
			}
		}
		if !ok {
			continue
		}
		if len(vols) == 0 && len(callsigns) == 0 {
			w.add("%s: sector %q has responsible sectors but neither volumes nor a Callsign, so nothing staffs it; left out", VatSysSectorsFile, n.name)
			continue
		}
		s := &Sector{} // a position without airspace
		if len(vols) > 0 {
			s = newVolumeSector(vols)
		}
		s.ID = strings.Join(strings.Fields(n.name), "_")
		s.Boundary = n.name
		s.Name = firstNonEmpty(vatsysFullName(n.main.x), n.name)
		s.Set = setName
		s.Kind = KindVatSys
		s.Source = SourceVatSys
		if other, dup := byID[s.ID]; dup {
			p.add("%s: sectors %q and %q both have id %q (spaces become \"_\")", VatSysSectorsFile, other.name, n.name, s.ID)
			continue
		}
		byID[s.ID] = n
		n.sector = s
		if len(vols) > 0 {
			set.Sectors = append(set.Sectors, s)
		}
		for _, c := range callsigns {
			st.byCallsign[c] = append(st.byCallsign[c], s)
		}
	}
	if len(leftOut) > 0 {
		w.add("%s: %d sectors have neither volumes nor responsible sectors (positions without airspace), so there is nothing to staff; left out: %s",
			VatSysSectorsFile, len(leftOut), strings.Join(leftOut, ", "))
	}

	unknown := make(map[string][]string) // responsible Name no element has → the sectors naming it
	var unknownOrder []string
	for _, n := range order {
		if n.main == nil {
			continue // left out, or its elements do not merge
		}
		var rs []*Sector
		for _, rn := range n.main.responsible {
			r, known := byName[rn]
			if !known {
				if unknown[rn] == nil {
					unknownOrder = append(unknownOrder, rn)
				}
				unknown[rn] = append(unknown[rn], n.name)
				continue
			}
			if n.sector == nil || r.sector == nil || r.sector == n.sector {
				continue // either is left out or has problems, or it is itself
			}
			rs = append(rs, r.sector)
		}
		if len(rs) > 0 {
			if set.responsible == nil {
				set.responsible = make(map[*Sector][]*Sector)
			}
			set.responsible[n.sector] = rs
		}
	}
	for _, rn := range unknownOrder {
		w.add("%s: responsible sector %q (of %s) is no sector of this folder, a position outside it; skipped",
			VatSysSectorsFile, rn, strings.Join(unknown[rn], ", "))
	}
	if len(set.Sectors) == 0 && len(p.list) == 0 {
		p.add("%s: no sector has volumes, so there is nothing to locate", VatSysSectorsFile)
	}
	sortSectors(set.Sectors)
	return set
}

// vatsysMerge sets n.main from the elements sharing n's Name, and reports whether they merge: the elements with
// volumes or responsible sectors must name the same ones.
func vatsysMerge(p *problems, w *vatsysWarnings, n *vatsysName) bool {
	var content []*vatsysDef
	for _, d := range n.defs {
		if len(d.volumes) > 0 || len(d.responsible) > 0 {
			content = append(content, d)
		}
	}
	for _, d := range content[min(1, len(content)):] {
		if !slices.Equal(d.volumes, content[0].volumes) || !slices.Equal(d.responsible, content[0].responsible) {
			idx := make([]int, len(n.defs))
			for i, d := range n.defs {
				idx[i] = d.index
			}
			p.add("%s: sector name %q is used by %d sectors with different volumes or responsible sectors: %s",
				VatSysSectorsFile, n.name, len(n.defs), joinInts(idx))
			return false
		}
	}
	for _, d := range content {
		if n.main == nil || cmp.Or(strings.Compare(d.callsign, n.main.callsign), strings.Compare(vatsysFullName(d.x), vatsysFullName(n.main.x))) < 0 {
			n.main = d
		}
	}
	if len(n.defs) > 1 {
		var cs []string
		for _, d := range n.defs {
			cs = append(cs, firstNonEmpty(d.x.Callsign, d.x.CallsignElem))
		}
		w.add("%s: sector name %q is used by %d sectors; merged into one, staffed by %s",
			VatSysSectorsFile, n.name, len(n.defs), strings.Join(sortedUnique(cs), ", "))
	}
	return true
}

// vatsysFullName is the element's FullName, however it is spelled; "" for none.
func vatsysFullName(x *vatsysSectorXML) string {
	return firstNonEmpty(x.FullName, x.FullNameLower, x.FullNameElem)
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
