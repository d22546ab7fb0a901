package ingest

import (
	"slices"
	"strings"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
)

// flightFrom is a pilot's state as tracked; ID and FirstSeen are the tracker's to fill.
func flightFrom(p *feed.Pilot, ts time.Time) domain.Flight {
	return domain.Flight{
		CID: p.CID, Callsign: p.Callsign, LogonTime: feedTime(p.LogonTime),
		Name: p.Name, Server: p.Server, PilotRating: p.PilotRating, MilitaryRating: p.MilitaryRating,
		Latitude: p.Latitude, Longitude: p.Longitude, Altitude: p.Altitude, Groundspeed: p.Groundspeed,
		Heading: p.Heading, Transponder: p.Transponder, QNHInHg: p.QNHInHg, QNHMb: p.QNHMb,
		LastUpdated: feedTime(p.LastUpdated), LastSeen: ts,
	}
}

func planFrom(flightID int64, fp *feed.FlightPlan, ts time.Time) domain.FlightPlan {
	return domain.FlightPlan{
		FlightID: flightID, FlightRules: fp.FlightRules, Aircraft: fp.Aircraft, AircraftFAA: fp.AircraftFAA,
		AircraftShort: fp.AircraftShort, Departure: fp.Departure, Arrival: fp.Arrival, Alternate: fp.Alternate,
		CruiseTAS: fp.CruiseTAS, Altitude: fp.Altitude, DepTime: fp.DepTime, EnrouteTime: fp.EnrouteTime,
		FuelTime: fp.FuelTime, Remarks: fp.Remarks, Route: fp.Route, RevisionID: fp.RevisionID,
		AssignedTransponder: fp.AssignedTransponder, UpdatedAt: ts,
	}
}

// samePlan compares every field, not only the revision: older feeds have no revision_id.
func samePlan(stored *domain.FlightPlan, fp *feed.FlightPlan) bool {
	next := planFrom(stored.FlightID, fp, stored.UpdatedAt)
	return equalPtr(stored.RevisionID, next.RevisionID) && *withoutRevision(stored) == *withoutRevision(&next)
}

func withoutRevision(fp *domain.FlightPlan) *domain.FlightPlan {
	c := *fp
	c.RevisionID = nil
	return &c
}

func controllerFrom(c *feed.Controller, kind domain.ControllerKind) domain.Controller {
	row := domain.Controller{
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

// sameFlight reports whether a stored flight needs no rewrite for its next state: every field is the same
// but those its newest position holds (Latitude to Heading, LastUpdated, and LastSeen, the position's time),
// which the repository reads from the position while the flight is not disconnected. Pointers are compared by
// value. Every other field must be compared here: the tracker rewrites a flight only when this says it
// changed (TestSameFlightComparesEveryStoredField checks it).
func sameFlight(a, b *domain.Flight) bool {
	return a.ID == b.ID && a.CID == b.CID && a.Callsign == b.Callsign && a.LogonTime.Equal(b.LogonTime) &&
		a.Name == b.Name && a.Server == b.Server && a.PilotRating == b.PilotRating &&
		equalPtr(a.MilitaryRating, b.MilitaryRating) && a.Transponder == b.Transponder &&
		a.QNHInHg == b.QNHInHg && a.QNHMb == b.QNHMb && a.FirstSeen.Equal(b.FirstSeen) &&
		equalTime(a.DisconnectedAt, b.DisconnectedAt) && a.WorkingControllerID == b.WorkingControllerID
}

// sameController reports whether a stored controller needs no rewrite. Pointers are compared by value; the
// connection key and FirstSeen never change for one id, and only whether it is disconnected matters, not
// since when. Every other field must be compared here: the tracker rewrites a controller only when this says
// it changed.
func sameController(a, b *domain.Controller) bool {
	return equalPtr(a.ATISCode, b.ATISCode) && equalPtr(a.TextATIS, b.TextATIS) &&
		a.LastUpdated.Equal(b.LastUpdated) && (a.DisconnectedAt == nil) == (b.DisconnectedAt == nil) &&
		equalTime(a.LastSeen, b.LastSeen) && slices.Equal(a.Sectors, b.Sectors) &&
		a.ID == b.ID && a.CID == b.CID && a.Callsign == b.Callsign && a.Kind == b.Kind && a.Name == b.Name &&
		a.Frequency == b.Frequency && a.Facility == b.Facility && a.Rating == b.Rating && a.Server == b.Server &&
		a.VisualRange == b.VisualRange
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
