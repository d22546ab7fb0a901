package repository

import (
	"strings"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// The rows are the storage schema; the rest of the program speaks domain types. These functions are the only
// place the two meet. Where a row has exactly the domain type's fields, a conversion maps it, so a field added
// to one and not the other stops the build here.

// rowsOf is a cycle's write as the rows the table writes take.
func rowsOf(w *domain.CycleWrite) *CycleWrite {
	out := &CycleWrite{
		Flights:       make([]Flight, len(w.Flights)),
		FlightPlans:   make([]FlightPlan, len(w.FlightPlans)),
		Positions:     make([]Position, len(w.Positions)),
		OpenedVisits:  make([]Visit, len(w.OpenedVisits)),
		ClosedVisits:  make([]Visit, len(w.ClosedVisits)),
		Events:        make([]Event, len(w.Events)),
		Controllers:   make([]Controller, len(w.Controllers)),
		Cycle:         Cycle(w.Cycle),
		WriterEpoch:   w.WriterEpoch,
		SectorHours:   sectorHourRows(w.SectorHours),
		ObservedHours: observedHourRows(w.ObservedHours),
		SectorDays:    sectorDayRows(w.SectorDays),
	}
	for i := range w.Flights {
		out.Flights[i] = Flight(w.Flights[i])
	}
	for i := range w.FlightPlans {
		out.FlightPlans[i] = FlightPlan(w.FlightPlans[i])
	}
	updated := make([]time.Time, len(w.Positions))
	// One allocation for every position's coverage, not two per position.
	on := make([]bool, len(w.Positions))
	worked := make([]int64, len(w.Positions))
	for i := range w.Positions {
		p := &w.Positions[i]
		updated[i] = p.LastUpdated
		out.Positions[i] = Position{
			FlightID: p.FlightID, ObservedAt: p.ObservedAt, Latitude: p.Latitude, Longitude: p.Longitude,
			Altitude: p.Altitude, Groundspeed: p.Groundspeed, Heading: p.Heading, LastUpdated: &updated[i],
		}
		switch p.Coverage {
		case domain.CoverageNone:
			out.Positions[i].OnFrequency = &on[i]
		case domain.CoverageWorking:
			on[i], worked[i] = true, p.ControllerID
			out.Positions[i].OnFrequency, out.Positions[i].ControllerID = &on[i], &worked[i]
		}
	}
	for i := range w.OpenedVisits {
		out.OpenedVisits[i] = visitRow(&w.OpenedVisits[i])
	}
	for i := range w.ClosedVisits {
		out.ClosedVisits[i] = visitRow(&w.ClosedVisits[i])
	}
	for i := range w.Events {
		out.Events[i] = eventRow(&w.Events[i])
	}
	for i := range w.Controllers {
		out.Controllers[i] = controllerRow(&w.Controllers[i])
	}
	return out
}

// RowsOf is a cycle's write as rows, for tools that write them their own way (the benchmarks).
func RowsOf(w *domain.CycleWrite) *CycleWrite { return rowsOf(w) }

// positionOf is a stored position in UTC; a position stored without its last_updated has the zero time.
func positionOf(row *Position) domain.Position {
	p := domain.Position{
		FlightID: row.FlightID, ObservedAt: row.ObservedAt.UTC(), Latitude: row.Latitude, Longitude: row.Longitude,
		Altitude: row.Altitude, Groundspeed: row.Groundspeed, Heading: row.Heading,
	}
	if row.LastUpdated != nil {
		p.LastUpdated = row.LastUpdated.UTC()
	}
	switch {
	case row.OnFrequency == nil:
	case *row.OnFrequency && row.ControllerID != nil:
		p.Coverage, p.ControllerID = domain.CoverageWorking, *row.ControllerID
	default:
		p.Coverage = domain.CoverageNone
	}
	return p
}

func visitRow(v *domain.Visit) Visit {
	row := Visit{
		ID: v.ID, FlightID: v.FlightID, SectorSet: v.Sector.Set, SectorID: v.Sector.ID, EnteredAt: v.EnteredAt,
		EntryLatitude: v.Entry.Latitude, EntryLongitude: v.Entry.Longitude, EntryAltitude: v.Entry.Altitude,
	}
	if x := v.Exit; x != nil {
		at, lat, lon, alt := x.At, x.Position.Latitude, x.Position.Longitude, x.Position.Altitude
		reason, d := string(x.Reason), x.DurationSeconds
		row.ExitedAt, row.ExitLatitude, row.ExitLongitude, row.ExitAltitude = &at, &lat, &lon, &alt
		row.ExitReason, row.DurationSeconds = &reason, &d
	}
	return row
}

// visitOf is a stored visit; every exit column is written together, so one set means all are.
func visitOf(row *Visit) domain.Visit {
	v := domain.Visit{
		ID: row.ID, FlightID: row.FlightID, Sector: sectorOf(row.SectorSet, row.SectorID), EnteredAt: row.EnteredAt,
		Entry: domain.Point{Latitude: row.EntryLatitude, Longitude: row.EntryLongitude, Altitude: row.EntryAltitude},
	}
	if row.ExitedAt != nil {
		x := &domain.VisitExit{At: *row.ExitedAt}
		if row.ExitLatitude != nil && row.ExitLongitude != nil && row.ExitAltitude != nil {
			x.Position = domain.Point{Latitude: *row.ExitLatitude, Longitude: *row.ExitLongitude, Altitude: *row.ExitAltitude}
		}
		if row.ExitReason != nil {
			x.Reason = domain.ExitReason(*row.ExitReason)
		}
		if row.DurationSeconds != nil {
			x.DurationSeconds = *row.DurationSeconds
		}
		v.Exit = x
	}
	return v
}

func eventRow(e *domain.Event) Event {
	row := Event{
		Sequence: e.Sequence, Kind: string(e.Kind), SectorSet: e.Sector.Set, SectorID: e.Sector.ID, OccurredAt: e.OccurredAt, CycleID: e.CycleID,
	}
	if f := e.Flight; f != nil {
		id, visit := f.ID, f.VisitID
		row.CID, row.Callsign, row.FlightID, row.VisitID = f.CID, f.Callsign, &id, &visit
	}
	if c := e.Controller; c != nil {
		id, cid, callsign := c.ID, c.CID, c.Callsign
		row.ControllerID = &id
		if e.Flight != nil {
			row.ControllerCID, row.ControllerCallsign = &cid, &callsign
		} else {
			row.CID, row.Callsign = cid, callsign
		}
	}
	if p := e.Position; p != nil {
		lat, lon, alt := p.Latitude, p.Longitude, p.Altitude
		row.Latitude, row.Longitude, row.Altitude = &lat, &lon, &alt
	}
	if x := e.Exit; x != nil {
		reason, d := string(x.Reason), x.DurationSeconds
		row.ExitReason, row.DurationSeconds = &reason, &d
	}
	return row
}

func eventOf(row *Event) domain.Event {
	e := domain.Event{
		Sequence: row.Sequence, Kind: domain.EventKind(row.Kind), Sector: sectorOf(row.SectorSet, row.SectorID),
		OccurredAt: row.OccurredAt,
		CycleID:    row.CycleID,
	}
	if row.FlightID != nil {
		e.Flight = &domain.FlightRef{ID: *row.FlightID, CID: row.CID, Callsign: row.Callsign}
		if row.VisitID != nil {
			e.Flight.VisitID = *row.VisitID
		}
	}
	if row.ControllerID != nil {
		e.Controller = &domain.ControllerRef{ID: *row.ControllerID, CID: row.CID, Callsign: row.Callsign}
		if row.ControllerCID != nil && row.ControllerCallsign != nil {
			e.Controller.CID, e.Controller.Callsign = *row.ControllerCID, *row.ControllerCallsign
		}
	}
	if row.Latitude != nil && row.Longitude != nil && row.Altitude != nil {
		e.Position = &domain.Point{Latitude: *row.Latitude, Longitude: *row.Longitude, Altitude: *row.Altitude}
	}
	if row.ExitReason != nil || row.DurationSeconds != nil {
		e.Exit = &domain.VisitEnd{}
		if row.ExitReason != nil {
			e.Exit.Reason = domain.ExitReason(*row.ExitReason)
		}
		if row.DurationSeconds != nil {
			e.Exit.DurationSeconds = *row.DurationSeconds
		}
	}
	return e
}

func eventsOf(rows []Event) []domain.Event {
	if rows == nil {
		return nil
	}
	out := make([]domain.Event, len(rows))
	for i := range rows {
		out[i] = eventOf(&rows[i])
	}
	return out
}

// controllerRow stores the sectors space-separated: the column a LIKE finds one sector in.
func controllerRow(c *domain.Controller) Controller {
	return Controller{
		ID: c.ID, CID: c.CID, Callsign: c.Callsign, LogonTime: c.LogonTime, Kind: string(c.Kind), Name: c.Name,
		Frequency: c.Frequency, Facility: c.Facility, Rating: c.Rating, Server: c.Server, VisualRange: c.VisualRange,
		ATISCode: c.ATISCode, TextATIS: c.TextATIS, Sectors: sectorList(c.Sectors),
		LastUpdated: c.LastUpdated, FirstSeen: c.FirstSeen, LastSeen: c.LastSeen, DisconnectedAt: c.DisconnectedAt,
	}
}

func controllerOf(row *Controller) domain.Controller {
	c := domain.Controller{
		ID: row.ID, CID: row.CID, Callsign: row.Callsign, LogonTime: row.LogonTime, Kind: domain.ControllerKind(row.Kind),
		Name: row.Name, Frequency: row.Frequency, Facility: row.Facility, Rating: row.Rating, Server: row.Server,
		VisualRange: row.VisualRange, ATISCode: row.ATISCode, TextATIS: row.TextATIS,
		LastUpdated: row.LastUpdated, FirstSeen: row.FirstSeen, LastSeen: row.LastSeen, DisconnectedAt: row.DisconnectedAt,
	}
	c.Sectors = parseSectorList(row.Sectors)
	return c
}

func sectorOf(set, id string) domain.SectorRef { return domain.SectorRef{Set: set, ID: id} }

// sectorToken is one sector in a controller's sectors column: set/id with "%" and the separator (space)
// escaped, so that an id holding a space stays one token and a LIKE on " token " finds exactly that sector.
func sectorToken(r domain.SectorRef) string { return tokenEscaper.Replace(r.String()) }

var tokenEscaper = strings.NewReplacer("%", "%25", " ", "%20")
var tokenUnescaper = strings.NewReplacer("%25", "%", "%20", " ")

func sectorList(refs []domain.SectorRef) string {
	tokens := make([]string, len(refs))
	for i, r := range refs {
		tokens[i] = sectorToken(r)
	}
	return strings.Join(tokens, " ")
}

// parseSectorList reads sectorList's form; nil for none, as the tracker keeps a controller staffing nothing.
func parseSectorList(s string) []domain.SectorRef {
	tokens := strings.Fields(s)
	if len(tokens) == 0 {
		return nil
	}
	refs := make([]domain.SectorRef, len(tokens))
	for i, t := range tokens {
		refs[i] = domain.ParseSectorRef(tokenUnescaper.Replace(t))
	}
	return refs
}

func cycleOf(row *Cycle) *domain.Cycle {
	if row == nil {
		return nil
	}
	c := domain.Cycle(*row)
	return &c
}

func flightsOf(rows []Flight) []domain.Flight {
	out := make([]domain.Flight, len(rows))
	for i := range rows {
		out[i] = domain.Flight(rows[i])
	}
	return out
}

func controllersOf(rows []Controller) []domain.Controller {
	out := make([]domain.Controller, len(rows))
	for i := range rows {
		out[i] = controllerOf(&rows[i])
	}
	return out
}

func kindNames[K ~string](kinds []K) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}
