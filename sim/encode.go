package sim

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vatsector/vatsector/feed"
)

// The encoder writes JSON by hand rather than through encoding/json: it lays the document out like the real
// feed (compact, the feed's key order, atis_code only in the atis list, non-ASCII escaped as \u00e4), and a
// 30,000-pilot snapshot is about 30 MB, which reflection-based marshalling takes several times longer to
// write. TestEncodingMatchesTypes decodes the output into feed.Snapshot to keep the two in step.

func appendSnapshot(b []byte, s *feed.Snapshot, extra *snapshotExtra) []byte {
	g := &s.General
	b = append(b, `{"general":{"version":`...)
	b = strconv.AppendInt(b, int64(g.Version), 10)
	b = append(b, `,"reload":1,"update":`...)
	b = appendString(b, g.Update)
	b = append(b, `,"update_timestamp":`...)
	b = appendTime(b, g.UpdateTimestamp)
	b = append(b, `,"connected_clients":`...)
	b = strconv.AppendInt(b, int64(g.ConnectedClients), 10)
	b = append(b, `,"unique_users":`...)
	b = strconv.AppendInt(b, int64(g.UniqueUsers), 10)

	b = append(b, `},"pilots":[`...)
	for i := range s.Pilots {
		if i > 0 {
			b = append(b, ',')
		}
		var plan encodedPlan
		if i < len(extra.plans) {
			plan = extra.plans[i]
		}
		b = appendPilot(b, &s.Pilots[i], plan)
	}
	b = append(b, `],"controllers":[`...)
	for i := range s.Controllers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendController(b, &s.Controllers[i], false)
	}
	b = append(b, `],"atis":[`...)
	for i := range s.ATIS {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendController(b, &s.ATIS[i], true)
	}

	b = append(b, `],"servers":[`...)
	for i := range servers {
		sv := &servers[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ident":`...)
		b = appendString(b, sv.ident)
		b = append(b, `,"hostname_or_ip":`...)
		b = appendString(b, sv.ip)
		b = append(b, `,"location":`...)
		b = appendString(b, sv.location)
		b = append(b, `,"name":`...)
		b = appendString(b, sv.ident)
		b = append(b, `,"clients_connection_allowed":1,"client_connections_allowed":true,"is_sweatbox":false}`...)
	}

	b = append(b, `],"prefiles":[`...)
	for i := range extra.prefiles {
		p := &extra.prefiles[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"cid":`...)
		b = strconv.AppendInt(b, p.cid, 10)
		b = append(b, `,"name":`...)
		b = appendString(b, p.name)
		b = append(b, `,"callsign":`...)
		b = appendString(b, p.callsign)
		b = append(b, `,"flight_plan":`...)
		b = appendPlan(b, p.plan.fp, p.plan)
		b = append(b, `,"last_updated":`...)
		b = appendTime(b, p.updated)
		b = append(b, '}')
	}

	b = append(b, `],"facilities":`...)
	b = appendIDNames(b, facilities[:], `"short":`, `"long":`)
	b = append(b, `,"ratings":`...)
	b = appendIDNames(b, ratings[:], `"short":`, `"long":`)
	b = append(b, `,"pilot_ratings":`...)
	b = appendIDNames(b, pilotRatings[:], `"short_name":`, `"long_name":`)
	b = append(b, `,"military_ratings":`...)
	b = appendIDNames(b, militaryRatings[:], `"short_name":`, `"long_name":`)
	return append(b, '}')
}

// appendPilot writes a pilots entry; plan is the flight plan already encoded when the caller has it.
func appendPilot(b []byte, p *feed.Pilot, plan encodedPlan) []byte {
	b = append(b, `{"cid":`...)
	b = strconv.AppendInt(b, p.CID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"callsign":`...)
	b = appendString(b, p.Callsign)
	b = append(b, `,"server":`...)
	b = appendString(b, p.Server)
	b = append(b, `,"pilot_rating":`...)
	b = strconv.AppendInt(b, int64(p.PilotRating), 10)
	b = append(b, `,"military_rating":`...)
	b = appendIntPtr(b, p.MilitaryRating)
	b = append(b, `,"latitude":`...)
	b = appendFloat(b, p.Latitude)
	b = append(b, `,"longitude":`...)
	b = appendFloat(b, p.Longitude)
	b = append(b, `,"altitude":`...)
	b = strconv.AppendInt(b, int64(p.Altitude), 10)
	b = append(b, `,"groundspeed":`...)
	b = strconv.AppendInt(b, int64(p.Groundspeed), 10)
	b = append(b, `,"transponder":`...)
	b = appendString(b, p.Transponder)
	b = append(b, `,"heading":`...)
	b = strconv.AppendInt(b, int64(p.Heading), 10)
	b = append(b, `,"qnh_i_hg":`...)
	b = appendFloat(b, p.QNHInHg) // 30 prints as 30: the integer qnh_i_hg of the real feed
	b = append(b, `,"qnh_mb":`...)
	b = strconv.AppendInt(b, int64(p.QNHMb), 10)
	b = append(b, `,"flight_plan":`...)
	b = appendPlan(b, p.FlightPlan, plan)
	b = append(b, `,"logon_time":`...)
	b = appendTime(b, p.LogonTime)
	b = append(b, `,"last_updated":`...)
	b = appendTime(b, p.LastUpdated)
	return append(b, '}')
}

// appendPlan writes fp, from its encoding when plan holds that of the same plan (plans are never modified,
// so the pointer identifies the content).
func appendPlan(b []byte, fp *feed.FlightPlan, plan encodedPlan) []byte {
	if fp != nil && plan.fp == fp {
		return append(b, plan.json...)
	}
	return appendFlightPlan(b, fp)
}

func appendFlightPlan(b []byte, fp *feed.FlightPlan) []byte {
	if fp == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"flight_rules":`...)
	b = appendString(b, fp.FlightRules)
	b = append(b, `,"aircraft":`...)
	b = appendString(b, fp.Aircraft)
	b = append(b, `,"aircraft_faa":`...)
	b = appendString(b, fp.AircraftFAA)
	b = append(b, `,"aircraft_short":`...)
	b = appendString(b, fp.AircraftShort)
	b = append(b, `,"departure":`...)
	b = appendString(b, fp.Departure)
	b = append(b, `,"arrival":`...)
	b = appendString(b, fp.Arrival)
	b = append(b, `,"alternate":`...)
	b = appendString(b, fp.Alternate)
	b = append(b, `,"cruise_tas":`...)
	b = appendString(b, fp.CruiseTAS)
	b = append(b, `,"altitude":`...)
	b = appendString(b, fp.Altitude)
	b = append(b, `,"deptime":`...)
	b = appendString(b, fp.DepTime)
	b = append(b, `,"enroute_time":`...)
	b = appendString(b, fp.EnrouteTime)
	b = append(b, `,"fuel_time":`...)
	b = appendString(b, fp.FuelTime)
	b = append(b, `,"remarks":`...)
	b = appendString(b, fp.Remarks)
	b = append(b, `,"route":`...)
	b = appendString(b, fp.Route)
	b = append(b, `,"revision_id":`...)
	b = appendIntPtr(b, fp.RevisionID)
	b = append(b, `,"assigned_transponder":`...)
	b = appendString(b, fp.AssignedTransponder)
	return append(b, '}')
}

// appendController writes a controllers or atis entry; only the atis list carries atis_code, as in the
// real feed.
func appendController(b []byte, c *feed.Controller, atis bool) []byte {
	b = append(b, `{"cid":`...)
	b = strconv.AppendInt(b, c.CID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"callsign":`...)
	b = appendString(b, c.Callsign)
	b = append(b, `,"frequency":`...)
	b = appendString(b, c.Frequency)
	b = append(b, `,"facility":`...)
	b = strconv.AppendInt(b, int64(c.Facility), 10)
	b = append(b, `,"rating":`...)
	b = strconv.AppendInt(b, int64(c.Rating), 10)
	b = append(b, `,"server":`...)
	b = appendString(b, c.Server)
	b = append(b, `,"visual_range":`...)
	b = strconv.AppendInt(b, int64(c.VisualRange), 10)
	if atis {
		b = append(b, `,"atis_code":`...)
		if c.ATISCode == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *c.ATISCode)
		}
	}
	b = append(b, `,"text_atis":`...)
	if c.TextATIS == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range c.TextATIS {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, l)
		}
		b = append(b, ']')
	}
	b = append(b, `,"last_updated":`...)
	b = appendTime(b, c.LastUpdated)
	b = append(b, `,"logon_time":`...)
	b = appendTime(b, c.LogonTime)
	return append(b, '}')
}

func appendIDNames(b []byte, list []idName, shortKey, longKey string) []byte {
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(list[i].id), 10)
		b = append(b, ',')
		b = append(b, shortKey...)
		b = appendString(b, list[i].short)
		b = append(b, ',')
		b = append(b, longKey...)
		b = appendString(b, list[i].long)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendIntPtr(b []byte, p *int) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*p), 10)
}

// appendFloat writes a number the way encoding/json does for the magnitudes the feed has: shortest
// round-tripping decimal, no exponent, so 30.0 is written 30.
func appendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		// Not reached with simulated values; written as encoding/json would (1e-7, not 1e-07).
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are: printable ASCII but quote and backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes a JSON string escaped like the real feed: quote, backslash and control characters
// escaped, other ASCII as is, everything non-ASCII (and DEL) as \uXXXX with lowercase hex, astral characters
// as surrogate pairs, invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = appendU(b, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xffff {
			r1, r2 := surrogates(r)
			b = appendU(appendU(b, r1), r2)
		} else {
			b = appendU(b, r) // utf8.RuneError for invalid bytes, i.e. \ufffd
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// appendTime writes a quoted RFC 3339 time in UTC with trailing zeros of the fraction trimmed, exactly what
// time.RFC3339Nano gives for a UTC time, without its general-purpose formatting cost (three per pilot).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	b = append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"')
}
