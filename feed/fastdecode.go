package feed

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The fast path decodes the feed's schema straight from the bytes, three to five times faster than
// encoding/json and with half its allocations (BenchmarkDecode against BenchmarkDecodeStd). It is deliberately narrow: whenever the input
// strays from what encoding/json would decode in the obvious way (a type mismatch, a duplicate or case-folded
// key, an escaped key, a number that is not a plain integer where an int is expected, a time that is not plain
// RFC 3339, deep nesting, invalid JSON...) it gives up with errBail and Decode starts again with encoding/json,
// whose result or error is authoritative. So the fast path only has to be right on the inputs it accepts, and
// the tests check that on those it yields exactly what encoding/json yields.

// errBail means "decode this with encoding/json instead"; it never reaches a caller.
var errBail = errors.New("feed: fast decoder bailed out")

// maxSkipDepth bounds the recursion when skipping unknown values; deeper input goes to encoding/json, which has
// its own limit.
const maxSkipDepth = 512

type scanner struct {
	b      []byte
	i      int
	intern *[internSlots]string
}

// maxIntern is the longest string worth interning: short values (servers, airports, aircraft types, flight
// rules, squawks, times) repeat across thousands of entries, so one allocation serves them all, halving the
// allocations of a decode; long ones (names, routes, remarks) rarely repeat. The table is direct-mapped (a
// collision just allocates) and per decode: a map cost more time than it saved.
const (
	maxIntern   = 8
	internSlots = 4096
)

func decodeFast(b []byte, s *Snapshot) error {
	d := scanner{b: b, intern: new([internSlots]string)}
	err := d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "general":
			return 1 << 0, d.general(&s.General)
		case "pilots":
			return 1 << 1, d.pilots(&s.Pilots)
		case "controllers":
			return 1 << 2, d.controllers(&s.Controllers)
		case "atis":
			return 1 << 3, d.controllers(&s.ATIS)
		default:
			return 0, d.unknown(key, snapshotKeys)
		}
	})
	if err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return errBail
	}
	return nil
}

// The field names of each object, for unknown: encoding/json matches keys case-insensitively, so a key that
// only differs from a field name in case must go to it. Constants, so that they cannot be changed.
const (
	snapshotKeys   = "general,pilots,controllers,atis"
	generalKeys    = "version,update,update_timestamp,connected_clients,unique_users"
	pilotKeys      = "cid,name,callsign,server,pilot_rating,military_rating,latitude,longitude,altitude,groundspeed,transponder,heading,qnh_i_hg,qnh_mb,flight_plan,logon_time,last_updated"
	flightPlanKeys = "flight_rules,aircraft,aircraft_faa,aircraft_short,departure,arrival,alternate,cruise_tas,altitude,deptime,enroute_time,fuel_time,remarks,route,revision_id,assigned_transponder"
	controllerKeys = "cid,name,callsign,frequency,facility,rating,server,visual_range,atis_code,text_atis,last_updated,logon_time"
)

func (d *scanner) general(g *General) error {
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "version":
			return 1 << 0, d.intField(&g.Version)
		case "update":
			return 1 << 1, d.strField(&g.Update)
		case "update_timestamp":
			return 1 << 2, d.timeField(&g.UpdateTimestamp)
		case "connected_clients":
			return 1 << 3, d.intField(&g.ConnectedClients)
		case "unique_users":
			return 1 << 4, d.intField(&g.UniqueUsers)
		default:
			return 0, d.unknown(key, generalKeys)
		}
	})
}

func (d *scanner) pilots(dst *[]Pilot) error { return decodeList(d, dst, 64, d.pilot) }

func (d *scanner) pilot(p *Pilot) error {
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "cid":
			return 1 << 0, d.int64Field(&p.CID)
		case "name":
			return 1 << 1, d.strField(&p.Name)
		case "callsign":
			return 1 << 2, d.strField(&p.Callsign)
		case "server":
			return 1 << 3, d.strField(&p.Server)
		case "pilot_rating":
			return 1 << 4, d.intField(&p.PilotRating)
		case "military_rating":
			return 1 << 5, d.intPtrField(&p.MilitaryRating)
		case "latitude":
			return 1 << 6, d.floatField(&p.Latitude)
		case "longitude":
			return 1 << 7, d.floatField(&p.Longitude)
		case "altitude":
			return 1 << 8, d.intField(&p.Altitude)
		case "groundspeed":
			return 1 << 9, d.intField(&p.Groundspeed)
		case "transponder":
			return 1 << 10, d.strField(&p.Transponder)
		case "heading":
			return 1 << 11, d.intField(&p.Heading)
		case "qnh_i_hg":
			return 1 << 12, d.floatField(&p.QNHInHg)
		case "qnh_mb":
			return 1 << 13, d.intField(&p.QNHMb)
		case "flight_plan":
			return 1 << 14, d.flightPlan(&p.FlightPlan)
		case "logon_time":
			return 1 << 15, d.timeField(&p.LogonTime)
		case "last_updated":
			return 1 << 16, d.timeField(&p.LastUpdated)
		default:
			return 0, d.unknown(key, pilotKeys)
		}
	})
}

func (d *scanner) flightPlan(dst **FlightPlan) error {
	if d.null() {
		*dst = nil
		return nil
	}
	fp := new(FlightPlan)
	*dst = fp
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "flight_rules":
			return 1 << 0, d.strField(&fp.FlightRules)
		case "aircraft":
			return 1 << 1, d.strField(&fp.Aircraft)
		case "aircraft_faa":
			return 1 << 2, d.strField(&fp.AircraftFAA)
		case "aircraft_short":
			return 1 << 3, d.strField(&fp.AircraftShort)
		case "departure":
			return 1 << 4, d.strField(&fp.Departure)
		case "arrival":
			return 1 << 5, d.strField(&fp.Arrival)
		case "alternate":
			return 1 << 6, d.strField(&fp.Alternate)
		case "cruise_tas":
			return 1 << 7, d.strField(&fp.CruiseTAS)
		case "altitude":
			return 1 << 8, d.strField(&fp.Altitude)
		case "deptime":
			return 1 << 9, d.strField(&fp.DepTime)
		case "enroute_time":
			return 1 << 10, d.strField(&fp.EnrouteTime)
		case "fuel_time":
			return 1 << 11, d.strField(&fp.FuelTime)
		case "remarks":
			return 1 << 12, d.strField(&fp.Remarks)
		case "route":
			return 1 << 13, d.strField(&fp.Route)
		case "revision_id":
			return 1 << 14, d.intPtrField(&fp.RevisionID)
		case "assigned_transponder":
			return 1 << 15, d.strField(&fp.AssignedTransponder)
		default:
			return 0, d.unknown(key, flightPlanKeys)
		}
	})
}

func (d *scanner) controllers(dst *[]Controller) error { return decodeList(d, dst, 16, d.controller) }

// decodeList reads a JSON array whose elements elem decodes in place. null leaves the slice nil, as
// encoding/json does.
func decodeList[T any](d *scanner, dst *[]T, capHint int, elem func(*T) error) error {
	null, err := d.openArray()
	if err != nil || null {
		return err
	}
	list := make([]T, 0, capHint)
	for n := 0; ; {
		more, err := d.nextElem(&n)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		var zero T
		list = append(list, zero)
		if err := elem(&list[len(list)-1]); err != nil {
			return err
		}
	}
	*dst = list
	return nil
}

func (d *scanner) controller(c *Controller) error {
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "cid":
			return 1 << 0, d.int64Field(&c.CID)
		case "name":
			return 1 << 1, d.strField(&c.Name)
		case "callsign":
			return 1 << 2, d.strField(&c.Callsign)
		case "frequency":
			return 1 << 3, d.strField(&c.Frequency)
		case "facility":
			return 1 << 4, d.intField(&c.Facility)
		case "rating":
			return 1 << 5, d.intField(&c.Rating)
		case "server":
			return 1 << 6, d.strField(&c.Server)
		case "visual_range":
			return 1 << 7, d.intField(&c.VisualRange)
		case "atis_code":
			return 1 << 8, d.strPtrField(&c.ATISCode)
		case "text_atis":
			return 1 << 9, d.strSliceField(&c.TextATIS)
		case "last_updated":
			return 1 << 10, d.timeField(&c.LastUpdated)
		case "logon_time":
			return 1 << 11, d.timeField(&c.LogonTime)
		default:
			return 0, d.unknown(key, controllerKeys)
		}
	})
}

// ws skips JSON whitespace.
func (d *scanner) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// null consumes a null literal if one comes next.
func (d *scanner) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// object decodes the members of an object in the input. field decodes the value of one member and returns the
// member's bit (each known key has its own; 0 for a key it skipped). A key seen twice bails to encoding/json,
// which merges a repeated key into the first value.
func (d *scanner) object(field func(key []byte) (uint32, error)) error {
	if err := d.openObject(); err != nil {
		return err
	}
	var seen uint32
	for n := 0; ; {
		key, more, err := d.nextKey(&n)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		bit, err := field(key)
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return errBail
		}
		seen |= bit
	}
}

func (d *scanner) openObject() error {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '{' {
		d.i++
		return nil
	}
	return errBail
}

// openArray consumes '[' or a null literal.
func (d *scanner) openArray() (null bool, err error) {
	d.ws()
	if d.null() {
		return true, nil
	}
	if d.i < len(d.b) && d.b[d.i] == '[' {
		d.i++
		return false, nil
	}
	return false, errBail
}

// nextKey moves to the next member of an object, returning its key with the ':' consumed, or more=false after
// the closing '}'. n counts the members read so far (a ',' is required before all but the first). Keys with
// escapes or non-ASCII bytes bail out: encoding/json unescapes and case-folds keys before matching them.
func (d *scanner) nextKey(n *int) (key []byte, more bool, err error) { return d.member(n, true) }

func (d *scanner) member(n *int, strict bool) (key []byte, more bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, false, errBail
	}
	switch c := d.b[d.i]; {
	case c == '}':
		d.i++
		return nil, false, nil
	case *n > 0 && c != ',':
		return nil, false, errBail
	case *n > 0:
		d.i++
		d.ws()
	}
	*n++
	raw, plain, err := d.stringToken()
	if err != nil || strict && !plain {
		return nil, false, errBail
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return nil, false, errBail
	}
	d.i++
	d.ws()
	return raw[1 : len(raw)-1], true, nil
}

// nextElem moves to the next element of an array, or returns more=false after the closing ']'.
func (d *scanner) nextElem(n *int) (more bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, errBail
	}
	switch c := d.b[d.i]; {
	case c == ']':
		d.i++
		return false, nil
	case *n > 0 && c != ',':
		return false, errBail
	case *n > 0:
		d.i++
		d.ws()
	}
	*n++
	return true, nil
}

// unknown skips the value of a key the types do not model, unless encoding/json would fold it onto one they do.
func (d *scanner) unknown(key []byte, names string) error {
	for name := range strings.SplitSeq(names, ",") {
		if asciiEqualFold(key, name) {
			return errBail
		}
	}
	return d.skip(0)
}

func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// skip consumes one JSON value, validating its syntax as strictly as encoding/json does, so that accepting
// a document here never accepts one encoding/json rejects.
func (d *scanner) skip(depth int) error {
	if depth > maxSkipDepth {
		return errBail
	}
	d.ws()
	if d.i >= len(d.b) {
		return errBail
	}
	switch c := d.b[d.i]; {
	case c == '{':
		d.i++
		for n := 0; ; {
			_, more, err := d.member(&n, false) // any key: the value is skipped whatever it is called
			if err != nil || !more {
				return err
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		d.i++
		for n := 0; ; {
			more, err := d.nextElem(&n)
			if err != nil || !more {
				return err
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '"':
		_, _, err := d.stringToken()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, _, err := d.numberToken()
		return err
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
				d.i += len(lit)
				return nil
			}
		}
		return errBail
	}
}

// stringToken consumes a JSON string and returns its raw bytes including the quotes, and whether it needs
// unquoting (escapes) or UTF-8 checking (non-ASCII bytes, which encoding/json replaces when invalid).
func (d *scanner) stringToken() (raw []byte, plain bool, err error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false, errBail
	}
	start := d.i
	plain = true
	for j := start + 1; j < len(d.b); j++ {
		// Most of a snapshot is string content: skip it eight bytes at a time while no byte needs a look.
		for j+8 <= len(d.b) && !special8(binary.LittleEndian.Uint64(d.b[j:])) {
			j += 8
		}
		if j >= len(d.b) {
			break
		}
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return d.b[start:d.i], plain, nil
		case c < 0x20:
			return nil, false, errBail
		case c == '\\':
			plain = false
			if j+1 >= len(d.b) {
				return nil, false, errBail
			}
			switch d.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(d.b) {
					return nil, false, errBail
				}
				for _, h := range d.b[j+2 : j+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, errBail
					}
				}
				j += 5
			default:
				return nil, false, errBail
			}
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return nil, false, errBail
}

// special8 reports whether any of the eight bytes in x is '"', '\\', a control character or non-ASCII: the
// bytes a string scan must stop at. (Bit tricks from "Bit Twiddling Hacks": exact as to whether such a byte
// exists.)
func special8(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x|(q-lsb)&^q|(bs-lsb)&^bs|x)&msb != 0
}

// numberToken consumes a JSON number (RFC 8259 grammar) and reports whether it is a plain integer.
func (d *scanner) numberToken() (raw []byte, integer bool, err error) {
	b, start := d.b, d.i
	j := start
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && '1' <= b[j] && b[j] <= '9':
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	default:
		return nil, false, errBail
	}
	integer = true
	if j < len(b) && b[j] == '.' {
		integer = false
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return nil, false, errBail
		}
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		integer = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return nil, false, errBail
		}
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	}
	d.i = j
	return b[start:j], integer, nil
}

// int64Val reads an integer literal; null reports null=true. Anything else that encoding/json might still
// accept or reject with a type error goes to it.
func (d *scanner) int64Val() (v int64, null bool, err error) {
	if d.null() {
		return 0, true, nil
	}
	raw, integer, err := d.numberToken()
	if err != nil || !integer || len(raw) > 18 { // 18 digits cannot overflow int64
		return 0, false, errBail
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	for _, c := range raw {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, false, nil
}

// The field setters follow encoding/json: null leaves a value field unchanged and sets a pointer or slice to nil.

func (d *scanner) int64Field(dst *int64) error {
	v, null, err := d.int64Val()
	if err == nil && !null {
		*dst = v
	}
	return err
}

func (d *scanner) intField(dst *int) error {
	v, null, err := d.int64Val()
	if err == nil && !null {
		*dst = int(v)
	}
	return err
}

func (d *scanner) intPtrField(dst **int) error {
	v, null, err := d.int64Val()
	switch {
	case err != nil:
		return err
	case null:
		*dst = nil
	default:
		n := int(v)
		*dst = &n
	}
	return nil
}

func (d *scanner) floatField(dst *float64) error {
	if d.null() {
		return nil
	}
	raw, _, err := d.numberToken()
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(raw), 64) // does not allocate: the argument does not escape
	if err != nil {
		return errBail
	}
	*dst = f
	return nil
}

func (d *scanner) strVal() (string, bool, error) {
	if d.null() {
		return "", true, nil
	}
	raw, plain, err := d.stringToken()
	if err != nil {
		return "", false, err
	}
	body := raw[1 : len(raw)-1]
	if plain {
		if len(body) > maxIntern {
			return string(body), false, nil
		}
		h := uint32(2166136261) // FNV-1a
		for _, c := range body {
			h = (h ^ uint32(c)) * 16777619
		}
		slot := &d.intern[h%internSlots]
		if *slot != string(body) { // the comparison does not allocate
			*slot = string(body)
		}
		return *slot, false, nil
	}
	if !hasEscape(body) && utf8.Valid(body) {
		return string(body), false, nil
	}
	// Rare (the real feed escapes a few quotes per snapshot): let encoding/json unquote this one token, so that
	// escapes and invalid UTF-8 come out exactly as it would make them.
	var s string // only this rare branch pays for a heap-allocated string header
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, errBail
	}
	return s, false, nil
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func (d *scanner) strField(dst *string) error {
	s, null, err := d.strVal()
	if err == nil && !null {
		*dst = s
	}
	return err
}

func (d *scanner) strPtrField(dst **string) error {
	s, null, err := d.strVal()
	switch {
	case err != nil:
		return err
	case null:
		*dst = nil
	default:
		*dst = &s
	}
	return nil
}

func (d *scanner) strSliceField(dst *[]string) error {
	null, err := d.openArray()
	if err != nil {
		return err
	}
	if null {
		*dst = nil
		return nil
	}
	list := []string{} // encoding/json makes [] an empty, non-nil slice
	for n := 0; ; {
		more, err := d.nextElem(&n)
		if err != nil {
			return err
		}
		if !more {
			*dst = list
			return nil
		}
		s, null, err := d.strVal()
		if err != nil || null {
			return errBail
		}
		list = append(list, s)
	}
}

func (d *scanner) timeField(dst *time.Time) error {
	if d.null() {
		return nil
	}
	raw, plain, err := d.stringToken()
	if err != nil {
		return err
	}
	if !plain {
		return errBail
	}
	t, ok := parseRFC3339(raw[1 : len(raw)-1])
	if !ok {
		return errBail
	}
	*dst = t
	return nil
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM), the form time.Time.UnmarshalJSON takes its fast
// way on, with the same range checks, and returns the instant in UTC. Anything else (more than 9 fractional
// digits, other layouts time accepts) is left to encoding/json.
func parseRFC3339(s []byte) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, false
	}
	ok := true
	num := func(b []byte, lo, hi int) int {
		x := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
				return lo
			}
			x = x*10 + int(c-'0')
		}
		if x < lo || x > hi {
			ok = false
			return lo
		}
		return x
	}
	year := num(s[0:4], 0, 9999)
	month := num(s[5:7], 1, 12)
	day := num(s[8:10], 1, daysIn(month, year))
	hour := num(s[11:13], 0, 23)
	minute := num(s[14:16], 0, 59)
	sec := num(s[17:19], 0, 59)
	if !ok || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	s = s[19:]
	nsec := 0
	if s[0] == '.' {
		n := 1
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		digits := n - 1
		if digits < 1 || digits > 9 {
			return time.Time{}, false
		}
		nsec = num(s[1:n], 0, 999_999_999)
		for range 9 - digits {
			nsec *= 10
		}
		s = s[n:]
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	switch {
	case len(s) == 1 && s[0] == 'Z':
		return t, true
	case len(s) == len("+07:00") && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		offset := (num(s[1:3], 0, 23)*60 + num(s[4:6], 0, 59)) * 60
		if !ok {
			return time.Time{}, false
		}
		if s[0] == '+' {
			offset = -offset
		}
		return t.Add(time.Duration(offset) * time.Second), true
	}
	return time.Time{}, false
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validJSON reports whether b is one well-formed JSON value, like json.Valid but about three times faster on a
// snapshot; it also says false for values nested deeper than maxSkipDepth, which no snapshot is.
func validJSON(b []byte) bool {
	d := scanner{b: b}
	if d.skip(0) != nil {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}
