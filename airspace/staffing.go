package airspace

import "strings"

// Feed facility codes that matter for staffing (see feed).
const (
	facilityObserver = 0
	facilityFSS      = 1
	facilityCTR      = 6
)

// facilityMask is a set of feed facility codes (bit n = facility n).
type facilityMask uint64

func maskOf(facilities ...int) facilityMask {
	var m facilityMask
	for _, f := range facilities {
		m |= 1 << uint(f)
	}
	return m
}

func (m facilityMask) has(f int) bool { return f >= 0 && f < 64 && m&(1<<uint(f)) != 0 }

// enrouteFacilities are the facilities that staff FIR boundaries: CTR, and FSS (oceanic and "radio" positions
// such as EGGX_FSS or CZQO_FSS, and UIR-wide positions such as RU-ESC_FSS).
const enrouteFacilities = facilityMask(1<<facilityFSS | 1<<facilityCTR)

// staffer resolves the sectors of one set a controller connection staffs on its callsign alone. Sets resolve
// differently: VATSpy and custom files by the callsign without its facility suffix (staffing), SimAware by the
// callsign's prefix (whole, then shorter) and its suffix, vatSys by the sector's callsign.
type staffer interface {
	staffs(callsign string, facility int) []*Sector
}

type staffEntry struct {
	sector     *Sector
	facilities facilityMask
}

// staffing maps callsign keys to sectors. tables are consulted in order at each key length, so an earlier table
// wins only among keys of the same length; a longer key always wins over a shorter one.
type staffing struct {
	tables []map[string][]staffEntry
}

// callsignKeys returns the keys a callsign is looked up by, longest first: its "_"-separated segments without
// the last one (the facility suffix, CTR/FSS/...), joined back with "_" and shortened one segment at a time.
// EGTT_S_CTR gives EGTT_S, EGTT. Empty segments (a doubled "__", which the network allows) are dropped, and
// matching is case-insensitive. A callsign with a single segment has no keys.
func callsignKeys(callsign string) []string {
	segs := callsignSegments(callsign)
	if len(segs) < 2 {
		return nil
	}
	segs = segs[:len(segs)-1]
	keys := make([]string, 0, len(segs))
	for n := len(segs); n > 0; n-- {
		keys = append(keys, strings.Join(segs[:n], "_"))
	}
	return keys
}

// staffs resolves a callsign by its keys (callsignKeys).
func (st *staffing) staffs(callsign string, facility int) []*Sector {
	return st.resolve(callsignKeys(callsign), facility)
}

// callsignSegments are a callsign's "_"-separated parts, upper-cased, without the empty ones (a doubled "__",
// which the network allows).
func callsignSegments(callsign string) []string {
	var segs []string
	for seg := range strings.SplitSeq(strings.ToUpper(strings.TrimSpace(callsign)), "_") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return segs
}

// resolve returns the sectors the first (longest) matching key staffs for this facility.
func (st *staffing) resolve(keys []string, facility int) []*Sector {
	for _, k := range keys {
		for _, t := range st.tables {
			var out []*Sector
			for _, e := range t[k] {
				if e.facilities.has(facility) {
					out = append(out, e.sector)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return nil
}

// addEntry appends sector to key's entries unless it is already there.
func addEntry(t map[string][]staffEntry, key string, e staffEntry) {
	for _, old := range t[key] {
		if old.sector == e.sector {
			return
		}
	}
	t[key] = append(t[key], e)
}
