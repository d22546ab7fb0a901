package server

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// Conversions between the domain and the API messages. Only handlers call them.

// timeFormat is how times appear in error messages.
const timeFormat = time.RFC3339Nano

// ts is a timestamp, unset for the zero time.
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// timeRange converts an optional half-open range; zero bounds are open. It was validated already.
func timeRange(r *vatsectorv1.TimeRange) (from, until time.Time) {
	if r.GetStart() != nil {
		from = r.GetStart().AsTime()
	}
	if r.GetEnd() != nil {
		until = r.GetEnd().AsTime()
	}
	return from, until
}

func micros(us int64) *durationpb.Duration {
	return durationpb.New(time.Duration(us) * time.Microsecond)
}

func seconds(s *float64) *durationpb.Duration {
	if s == nil {
		return nil
	}
	return durationpb.New(time.Duration(*s * float64(time.Second)))
}

func int32Ptr(v *int) *int32 {
	if v == nil {
		return nil
	}
	n := int32(*v)
	return &n
}

// eventKindName is the stored name of an event kind; false for UNSPECIFIED and unknown values.
func eventKindName(k vatsectorv1.SectorEventKind) (domain.EventKind, bool) {
	switch k {
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY:
		return domain.EventEntry, true
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_EXIT:
		return domain.EventExit, true
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED:
		return domain.EventStaffed, true
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED:
		return domain.EventUnstaffed, true
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_CONTACT_STARTED:
		return domain.EventContactStarted, true
	case vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_CONTACT_ENDED:
		return domain.EventContactEnded, true
	}
	return "", false
}

func eventKind(k domain.EventKind) vatsectorv1.SectorEventKind {
	switch k {
	case domain.EventEntry:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY
	case domain.EventExit:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_EXIT
	case domain.EventStaffed:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED
	case domain.EventUnstaffed:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	case domain.EventContactStarted:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_CONTACT_STARTED
	case domain.EventContactEnded:
		return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_CONTACT_ENDED
	}
	return vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSPECIFIED
}

// eventKindNames converts a validated filter.
func eventKindNames(kinds []vatsectorv1.SectorEventKind) []domain.EventKind {
	out := make([]domain.EventKind, 0, len(kinds))
	for _, k := range kinds {
		if n, ok := eventKindName(k); ok {
			out = append(out, n)
		}
	}
	return out
}

func controllerKindName(k vatsectorv1.ControllerKind) (domain.ControllerKind, bool) {
	switch k {
	case vatsectorv1.ControllerKind_CONTROLLER_KIND_CONTROLLER:
		return domain.KindController, true
	case vatsectorv1.ControllerKind_CONTROLLER_KIND_OBSERVER:
		return domain.KindObserver, true
	case vatsectorv1.ControllerKind_CONTROLLER_KIND_ATIS:
		return domain.KindATIS, true
	}
	return "", false
}

func controllerKind(k domain.ControllerKind) vatsectorv1.ControllerKind {
	switch k {
	case domain.KindController:
		return vatsectorv1.ControllerKind_CONTROLLER_KIND_CONTROLLER
	case domain.KindObserver:
		return vatsectorv1.ControllerKind_CONTROLLER_KIND_OBSERVER
	case domain.KindATIS:
		return vatsectorv1.ControllerKind_CONTROLLER_KIND_ATIS
	}
	return vatsectorv1.ControllerKind_CONTROLLER_KIND_UNSPECIFIED
}

func controllerKindNames(kinds []vatsectorv1.ControllerKind) []domain.ControllerKind {
	out := make([]domain.ControllerKind, 0, len(kinds))
	for _, k := range kinds {
		if n, ok := controllerKindName(k); ok {
			out = append(out, n)
		}
	}
	return out
}

func exitReason(r domain.ExitReason) vatsectorv1.ExitReason {
	switch r {
	case domain.ExitLeft:
		return vatsectorv1.ExitReason_EXIT_REASON_LEFT_SECTOR
	case domain.ExitDisconnected:
		return vatsectorv1.ExitReason_EXIT_REASON_DISCONNECTED
	case domain.ExitSectorRemoved:
		return vatsectorv1.ExitReason_EXIT_REASON_SECTOR_REMOVED
	}
	return vatsectorv1.ExitReason_EXIT_REASON_UNSPECIFIED
}

// facility maps a feed facility code to the API enum, whose numbers are shifted by one because the feed uses
// 0 for observers.
func facility(code int) vatsectorv1.Facility {
	if code < 0 || code > 6 {
		return vatsectorv1.Facility_FACILITY_UNSPECIFIED
	}
	return vatsectorv1.Facility(code + 1)
}

func flightProto(f *domain.FlightSummary) *vatsectorv1.Flight {
	r := &f.Flight
	out := &vatsectorv1.Flight{
		Id: r.ID, Cid: r.CID, Callsign: r.Callsign, Name: r.Name, Server: r.Server,
		PilotRating: int32(r.PilotRating), MilitaryRating: int32Ptr(r.MilitaryRating),
		LogonTime: ts(r.LogonTime), FirstSeen: ts(r.FirstSeen), LastSeen: ts(r.LastSeen),
		Online: r.DisconnectedAt == nil, DisconnectedAt: tsPtr(r.DisconnectedAt),
		Position: &vatsectorv1.FlightPosition{
			UpdatedAt: ts(r.LastUpdated), Latitude: r.Latitude, Longitude: r.Longitude,
			AltitudeFt: int32(r.Altitude), GroundspeedKt: int32(r.Groundspeed), HeadingDeg: int32(r.Heading),
			Transponder: r.Transponder, QnhInhg: r.QNHInHg, QnhMb: int32(r.QNHMb),
		},
		CurrentSectorIds: sectorIDs(f.Sectors), CurrentSectors: sectorNames(f.Sectors),
	}
	if p := f.Plan; p != nil {
		out.FlightPlan = &vatsectorv1.FlightPlan{
			FlightRules: p.FlightRules, Aircraft: p.Aircraft, AircraftFaa: p.AircraftFAA, AircraftShort: p.AircraftShort,
			Departure: p.Departure, Arrival: p.Arrival, Alternate: p.Alternate, CruiseTas: p.CruiseTAS,
			Altitude: p.Altitude, Deptime: p.DepTime, EnrouteTime: p.EnrouteTime, FuelTime: p.FuelTime,
			Route: p.Route, Remarks: p.Remarks, RevisionId: int32Ptr(p.RevisionID),
			AssignedTransponder: p.AssignedTransponder, UpdatedAt: ts(p.UpdatedAt),
		}
	}
	return out
}

func pointProto(p domain.Point) *vatsectorv1.Point {
	return &vatsectorv1.Point{Latitude: p.Latitude, Longitude: p.Longitude, AltitudeFt: int32(p.Altitude)}
}

func visitProto(v *domain.Visit) *vatsectorv1.Visit {
	out := &vatsectorv1.Visit{
		Id: v.ID, FlightId: v.FlightID, SectorId: v.Sector.ID, SectorSet: v.Sector.Set, Sector: sectorName(v.Sector),
		EnteredAt: ts(v.EnteredAt), EntryPosition: pointProto(v.Entry),
	}
	if x := v.Exit; x != nil {
		out.ExitedAt, out.Duration = ts(x.At), seconds(&x.DurationSeconds)
		out.ExitReason, out.ExitPosition = exitReason(x.Reason), pointProto(x.Position)
	}
	return out
}

func trackPointProto(p *domain.Position) *vatsectorv1.TrackPoint {
	return &vatsectorv1.TrackPoint{
		ObservedAt: ts(p.ObservedAt), Latitude: p.Latitude, Longitude: p.Longitude, AltitudeFt: int32(p.Altitude),
		GroundspeedKt: int32(p.Groundspeed), HeadingDeg: int32(p.Heading),
	}
}

func eventProto(e *domain.Event) *vatsectorv1.SectorEvent {
	out := &vatsectorv1.SectorEvent{
		Sequence: e.Sequence, Kind: eventKind(e.Kind), SectorId: e.Sector.ID, SectorSet: e.Sector.Set,
		Sector: sectorName(e.Sector), OccurredAt: ts(e.OccurredAt), CycleId: e.CycleID,
	}
	if f := e.Flight; f != nil {
		out.Flight = &vatsectorv1.FlightRef{Id: f.ID, Cid: f.CID, Callsign: f.Callsign}
		out.VisitId = f.VisitID
	}
	if p := e.Position; p != nil {
		out.Position = &vatsectorv1.Point{Latitude: p.Latitude, Longitude: p.Longitude, AltitudeFt: int32(p.Altitude)}
	}
	if x := e.Exit; x != nil {
		out.ExitReason = exitReason(x.Reason)
		if e.Kind == domain.EventExit {
			out.VisitDuration = seconds(&x.DurationSeconds)
		}
	}
	if c := e.Controller; c != nil {
		out.Controller = &vatsectorv1.ControllerRef{Id: c.ID, Cid: c.CID, Callsign: c.Callsign}
	}
	return out
}

func controllerRef(c *domain.Controller) *vatsectorv1.ControllerRef {
	return &vatsectorv1.ControllerRef{Id: c.ID, Cid: c.CID, Callsign: c.Callsign}
}

func controllerProto(c *domain.Controller) *vatsectorv1.Controller {
	out := &vatsectorv1.Controller{
		Id: c.ID, Cid: c.CID, Callsign: c.Callsign, Name: c.Name, Kind: controllerKind(c.Kind),
		Facility: facility(c.Facility), FacilityCode: int32(c.Facility), Rating: int32(c.Rating),
		Frequency: c.Frequency, Server: c.Server, VisualRange: int32(c.VisualRange),
		LogonTime: ts(c.LogonTime), LastUpdated: ts(c.LastUpdated), FirstSeen: ts(c.FirstSeen),
		SectorIds: sectorIDs(c.Sectors), Sectors: sectorNames(c.Sectors),
	}
	if c.ATISCode != nil {
		out.AtisCode = *c.ATISCode
	}
	if c.TextATIS != nil && *c.TextATIS != "" {
		out.AtisLines = strings.Split(*c.TextATIS, "\n")
	}
	return out
}

// flightSummaryProto is a flight's summary; the flight itself is converted by flightProto.
func flightSummaryProto(r *domain.FlightSummaryReport) *vatsectorv1.FlightSummary {
	f, tr := &r.Flight, &r.Track
	out := &vatsectorv1.FlightSummary{
		FirstSeen: ts(f.FirstSeen), LastSeen: ts(f.LastSeen), OnlineDuration: durationpb.New(f.LastSeen.Sub(f.FirstSeen)),
		Visits: make([]*vatsectorv1.FlightSummaryVisit, len(r.Visits)), VisitsTruncated: r.VisitsTruncated,
		Airborne: durationpb.New(tr.Airborne), DistanceNm: tr.DistanceNM, SkippedSegments: int32(tr.SkippedSegments),
		HighestAltitudeFt: int32Ptr(tr.HighestAltitude), Positions: int32(tr.Positions),
		FirstPositionAt: ts(tr.First), LastPositionAt: ts(tr.Last),
	}
	for i := range r.Visits {
		v := &r.Visits[i]
		out.Visits[i] = &vatsectorv1.FlightSummaryVisit{Visit: visitProto(&v.Visit), Duration: durationpb.New(v.Duration),
			Open: v.Exit == nil}
	}
	if c := tr.Coverage; c != nil {
		out.Coverage = &vatsectorv1.RadioCoverage{
			Known: durationpb.New(c.Known), OnFrequency: durationpb.New(c.OnFrequency), OnFrequencyShare: share(c.OnFrequency, c.Known),
			AirborneKnown: durationpb.New(c.AirborneKnown), AirborneOnFrequency: durationpb.New(c.AirborneOnFrequency),
			AirborneOnFrequencyShare: share(c.AirborneOnFrequency, c.AirborneKnown),
			Contacts:                 make([]*vatsectorv1.ControllerContact, len(c.Contacts)),
		}
		for i, k := range c.Contacts {
			out.Coverage.Contacts[i] = &vatsectorv1.ControllerContact{
				Controller: &vatsectorv1.ControllerRef{Id: k.Controller.ID, Cid: k.Controller.CID, Callsign: k.Controller.Callsign},
				Start:      ts(k.Start), End: ts(k.End), Duration: durationpb.New(k.End.Sub(k.Start)),
			}
		}
	}
	return out
}

// share is part / whole, 0 when whole is 0.
func share(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

func controllerSessionProto(s *domain.ControllerSession) *vatsectorv1.ControllerSession {
	out := &vatsectorv1.ControllerSession{
		Controller: controllerProto(&s.Controller), Start: ts(s.Start), End: ts(s.End), Online: s.Online,
		Duration: durationpb.New(s.End.Sub(s.Start)), DistinctFlights: int32(s.DistinctFlights),
		PeakSimultaneousFlights: int32(s.PeakFlights), PeakAt: ts(s.PeakAt),
	}
	if r := s.Radio; r != nil {
		out.Radio = &vatsectorv1.SessionRadio{
			DistinctAircraft: int32(r.DistinctAircraft), PeakSimultaneous: int32(r.PeakSimultaneous), PeakAt: ts(r.PeakAt),
			MeanSimultaneous: share(r.Worked, r.Known), Known: durationpb.New(r.Known),
		}
	}
	return out
}

// sectorProto is a loaded sector with its live figures.
func sectorProto(s *airspace.Sector, st domain.SectorState) *vatsectorv1.Sector {
	out := &vatsectorv1.Sector{
		Id: s.ID, Name: s.Name, Set: s.Set, Source: vatsectorv1.SectorSource_SECTOR_SOURCE_CUSTOM, Kind: s.Kind,
		FloorFt: int32Ptr(s.FloorFt), CeilingFt: int32Ptr(s.CeilingFt), Oceanic: s.Oceanic,
		Region: s.Region, Division: s.Division, FlightCount: int32(st.Flights),
		ResourceName: sectorName(domain.SectorRef{Set: s.Set, ID: s.ID}),
	}
	switch s.Source {
	case airspace.SourceVATSpy:
		out.Source = vatsectorv1.SectorSource_SECTOR_SOURCE_VATSPY
	case airspace.SourceSimAware:
		out.Source = vatsectorv1.SectorSource_SECTOR_SOURCE_SIMAWARE
	case airspace.SourceVatSys:
		out.Source = vatsectorv1.SectorSource_SECTOR_SOURCE_VATSYS
	}
	for i := range st.Staffing {
		out.StaffedBy = append(out.StaffedBy, controllerRef(&st.Staffing[i]))
	}
	return out
}

func occupantProto(o *domain.Occupant) *vatsectorv1.SectorOccupant {
	f := &o.Flight
	return &vatsectorv1.SectorOccupant{
		Flight:    &vatsectorv1.FlightRef{Id: f.ID, Cid: f.CID, Callsign: f.Callsign},
		VisitId:   o.VisitID,
		EnteredAt: ts(o.EnteredAt),
		Position: &vatsectorv1.TrackPoint{
			ObservedAt: ts(f.LastSeen), Latitude: f.Latitude, Longitude: f.Longitude, AltitudeFt: int32(f.Altitude),
			GroundspeedKt: int32(f.Groundspeed), HeadingDeg: int32(f.Heading),
		},
	}
}

// cycleProto converts a cycle record. A failed cycle stored nothing, so its row counts are zero whatever it
// had planned, and it has no commit phase.
func cycleProto(c *domain.Cycle) *vatsectorv1.Cycle {
	if c == nil {
		return nil
	}
	out := &vatsectorv1.Cycle{
		Id: c.ID, UpdateTimestamp: ts(c.UpdateTimestamp), FetchedAt: ts(c.FetchedAt), CommittedAt: tsPtr(c.CommittedAt),
		Durations: &vatsectorv1.CyclePhaseDurations{
			Decode: micros(c.DecodeUS), Classify: micros(c.ClassifyUS), Diff: micros(c.DiffUS),
			Write: micros(c.WriteUS), Total: micros(c.TotalUS),
		},
		Feed: &vatsectorv1.CycleFeedCounts{Pilots: int32(c.Pilots), Controllers: int32(c.Controllers), Atis: int32(c.ATIS),
			DuplicateEntries: int32(c.DuplicateEntries), RejectedEntries: int32(c.RejectedEntries)},
		Rows:       &vatsectorv1.CycleRowCounts{},
		Statements: int32(c.Statements),
	}
	if c.Error != nil {
		out.Error = *c.Error
		return out
	}
	if c.CommittedAt != nil {
		out.Lag = durationpb.New(c.CommittedAt.Sub(c.UpdateTimestamp))
		out.Durations.Commit = micros(c.CommitUS)
	}
	out.Rows = &vatsectorv1.CycleRowCounts{
		Flights: int32(c.FlightsWritten), FlightPlans: int32(c.FlightPlansWritten), Positions: int32(c.PositionsWritten),
		VisitsOpened: int32(c.VisitsOpened), VisitsClosed: int32(c.VisitsClosed), Events: int32(c.EventsWritten),
		Controllers: int32(c.ControllersWritten),
	}
	out.FirstSequence, out.LastSequence = c.FirstSequence, c.LastSequence
	return out
}
