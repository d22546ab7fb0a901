package feed

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rejection is one entry Decode dropped, not the snapshot, because a database could not store one of its
// values: PostgreSQL refuses U+0000 and invalid UTF-8 in TEXT and integers beyond its 32-bit INTEGER columns,
// where SQLite stores them. Dropping the entry keeps both databases holding the same rows, and keeps one bad
// entry from failing every later write of the snapshot on PostgreSQL.
type Rejection struct {
	List     string // "pilots", "controllers" or "atis"
	Index    int    // position in that list in the feed (before de-duplication)
	Callsign string
	Reason   string // names the field and what was wrong, e.g. "altitude 3000000000 exceeds the 32-bit integer range"
}

// String is the rejection in one line, for logs: atis[3] (callsign "EDDF_ATIS"): text_atis[1] contains U+0000.
func (r Rejection) String() string {
	return fmt.Sprintf("%s[%d] (callsign %q): %s", r.List, r.Index, r.Callsign, r.Reason)
}

// storable collects the first reason an entry cannot be stored; field names are the feed's JSON keys. Nothing
// allocates until a value is bad: on a 30,000-pilot snapshot all the checks take about 3.5 ms
// (BenchmarkUnstorable), some 3% of Decode's 90-120 ms on the same machine.
type storable struct{ reason string }

func (c *storable) text(field, s string) {
	if c.reason != "" || plainText(s) {
		return
	}
	switch {
	case strings.IndexByte(s, 0) >= 0:
		c.reason = field + " contains U+0000"
	case !utf8.ValidString(s):
		// Unreachable from JSON (both decoders replace invalid bytes with U+FFFD, as encoding/json does), but
		// cheap, and it keeps the guarantee for a Snapshot built some other way.
		c.reason = field + " is not valid UTF-8"
	}
}

// plainText reports whether s is ASCII without U+0000, which is almost every string of the feed, eight bytes
// at a time: one pass instead of strings.IndexByte then utf8.ValidString, which made the checks 12 ms instead
// of 3.5 ms on 30,000 pilots (BenchmarkUnstorable).
func plainText(s string) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if ((x-lsb)&^x|x)&msb != 0 { // a zero byte, or one with the high bit set
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] == 0 || s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (c *storable) textPtr(field string, s *string) {
	if s != nil {
		c.text(field, *s)
	}
}

func (c *storable) lines(field string, list []string) {
	for i, s := range list {
		if c.reason != "" {
			return
		}
		if !plainText(s) {
			c.text(field+"["+strconv.Itoa(i)+"]", s)
		}
	}
}

func (c *storable) int32(field string, v int) {
	if c.reason == "" && (v < math.MinInt32 || v > math.MaxInt32) {
		c.reason = exceedsInt32(field, strconv.Itoa(v))
	}
}

func (c *storable) int32Ptr(field string, v *int) {
	if v != nil {
		c.int32(field, *v)
	}
}

// exceedsInt32 is the reason for an integer column's value out of range; literal is the value as the feed
// wrote it when it has no int64 form (5e9, 1e30), so both decoders phrase a rejection alike.
func exceedsInt32(field, literal string) string {
	return field + " " + literal + " exceeds the 32-bit integer range"
}

// pilotUnstorable returns why p cannot be stored, or "" (the columns of flights and flight_plans). Both
// decoders' output goes through it, in Snapshot.validate.
func pilotUnstorable(p *Pilot) string {
	var c storable
	c.text("name", p.Name)
	c.text("callsign", p.Callsign)
	c.text("server", p.Server)
	c.int32("pilot_rating", p.PilotRating)
	c.int32Ptr("military_rating", p.MilitaryRating)
	c.int32("altitude", p.Altitude)
	c.int32("groundspeed", p.Groundspeed)
	c.text("transponder", p.Transponder)
	c.int32("heading", p.Heading)
	c.int32("qnh_mb", p.QNHMb)
	if fp := p.FlightPlan; fp != nil {
		c.text("flight_plan.flight_rules", fp.FlightRules)
		c.text("flight_plan.aircraft", fp.Aircraft)
		c.text("flight_plan.aircraft_faa", fp.AircraftFAA)
		c.text("flight_plan.aircraft_short", fp.AircraftShort)
		c.text("flight_plan.departure", fp.Departure)
		c.text("flight_plan.arrival", fp.Arrival)
		c.text("flight_plan.alternate", fp.Alternate)
		c.text("flight_plan.cruise_tas", fp.CruiseTAS)
		c.text("flight_plan.altitude", fp.Altitude)
		c.text("flight_plan.deptime", fp.DepTime)
		c.text("flight_plan.enroute_time", fp.EnrouteTime)
		c.text("flight_plan.fuel_time", fp.FuelTime)
		c.text("flight_plan.remarks", fp.Remarks)
		c.text("flight_plan.route", fp.Route)
		c.int32Ptr("flight_plan.revision_id", fp.RevisionID)
		c.text("flight_plan.assigned_transponder", fp.AssignedTransponder)
	}
	return c.reason
}

// controllerUnstorable returns why a controller or ATIS cannot be stored, or "" (the columns of controllers).
func controllerUnstorable(ctl *Controller) string {
	var c storable
	c.text("name", ctl.Name)
	c.text("callsign", ctl.Callsign)
	c.text("frequency", ctl.Frequency)
	c.int32("facility", ctl.Facility)
	c.int32("rating", ctl.Rating)
	c.text("server", ctl.Server)
	c.int32("visual_range", ctl.VisualRange)
	c.textPtr("atis_code", ctl.ATISCode)
	c.lines("text_atis", ctl.TextATIS)
	return c.reason
}

// dropRejected removes from list the entries rejections names for it (sorted by index), keeping the order
// of the others.
func dropRejected[T any](list []T, name string, rejections []Rejection) []T {
	out, next := list[:0], 0
	for i := range list {
		for next < len(rejections) && (rejections[next].List != name || rejections[next].Index < i) {
			next++
		}
		if next < len(rejections) && rejections[next].Index == i {
			continue
		}
		out = append(out, list[i])
	}
	clear(list[len(out):])
	return out
}
