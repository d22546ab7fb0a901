package ingest

import (
	"strings"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/repository"
)

// flightRow is a pilot's state as stored; ID and FirstSeen are the tracker's to fill.
func flightRow(p *feed.Pilot, ts time.Time) repository.Flight {
	return repository.Flight{
		CID: p.CID, Callsign: p.Callsign, LogonTime: feedTime(p.LogonTime),
		Name: p.Name, Server: p.Server, PilotRating: p.PilotRating, MilitaryRating: p.MilitaryRating,
		Latitude: p.Latitude, Longitude: p.Longitude, Altitude: p.Altitude, Groundspeed: p.Groundspeed,
		Heading: p.Heading, Transponder: p.Transponder, QNHInHg: p.QNHInHg, QNHMb: p.QNHMb,
		LastUpdated: feedTime(p.LastUpdated), LastSeen: ts,
	}
}

func planRow(flightID int64, fp *feed.FlightPlan, ts time.Time) repository.FlightPlan {
	return repository.FlightPlan{
		FlightID: flightID, FlightRules: fp.FlightRules, Aircraft: fp.Aircraft, AircraftFAA: fp.AircraftFAA,
		AircraftShort: fp.AircraftShort, Departure: fp.Departure, Arrival: fp.Arrival, Alternate: fp.Alternate,
		CruiseTAS: fp.CruiseTAS, Altitude: fp.Altitude, DepTime: fp.DepTime, EnrouteTime: fp.EnrouteTime,
		FuelTime: fp.FuelTime, Remarks: fp.Remarks, Route: fp.Route, RevisionID: fp.RevisionID,
		AssignedTransponder: fp.AssignedTransponder, UpdatedAt: ts,
	}
}

// samePlan compares every field, not only the revision: older feeds have no revision_id.
func samePlan(stored *repository.FlightPlan, fp *feed.FlightPlan) bool {
	next := planRow(stored.FlightID, fp, stored.UpdatedAt)
	return equalPtr(stored.RevisionID, next.RevisionID) && *withoutRevision(stored) == *withoutRevision(&next)
}

func withoutRevision(fp *repository.FlightPlan) *repository.FlightPlan {
	c := *fp
	c.RevisionID = nil
	return &c
}

func controllerRow(c *feed.Controller, kind string) repository.Controller {
	row := repository.Controller{
		CID: c.CID, Callsign: c.Callsign, LogonTime: feedTime(c.LogonTime), Kind: kind, Name: c.Name,
		Frequency: c.Frequency, Facility: c.Facility, Rating: c.Rating, Server: c.Server,
		VisualRange: c.VisualRange, ATISCode: c.ATISCode, LastUpdated: feedTime(c.LastUpdated),
	}
	if c.TextATIS != nil {
		text := strings.Join(c.TextATIS, "\n")
		row.TextATIS = &text
	}
	return row
}

// sameController reports whether a stored controller row needs no rewrite. Pointers are compared by value.
func sameController(a, b *repository.Controller) bool {
	if !equalPtr(a.ATISCode, b.ATISCode) || !equalPtr(a.TextATIS, b.TextATIS) ||
		!a.LastUpdated.Equal(b.LastUpdated) || (a.DisconnectedAt == nil) != (b.DisconnectedAt == nil) ||
		!equalTime(a.LastSeen, b.LastSeen) {
		return false
	}
	x, y := *a, *b
	x.LastSeen, y.LastSeen = nil, nil
	x.ATISCode, x.TextATIS, y.ATISCode, y.TextATIS = nil, nil, nil, nil
	x.LastUpdated, y.LastUpdated = time.Time{}, time.Time{}
	x.DisconnectedAt, y.DisconnectedAt = nil, nil
	x.LogonTime, y.LogonTime = time.Time{}, time.Time{}
	x.FirstSeen, y.FirstSeen = time.Time{}, time.Time{}
	return x == y
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
