package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/repository"
)

// t0 is the feed time of the fixture's first cycle; t1 of its second.
var (
	t0 = time.Date(2024, 2, 20, 23, 0, 0, 123456000, time.UTC)
	t1 = t0.Add(15 * time.Second)
)

// Fixture flights, by id. UAL7 is a ghost: two online connections of the callsign, the second logged on later.
const (
	baw123 = 1 // online, EGLL→KJFK, inside EGTT
	baw9   = 2 // online, EGKK→LFPG, outside every sector
	dlh4   = 3 // online, EDDF→EGLL, inside EGTT and EGTT_S
	aal1   = 4 // offline since t1, was in EGTT from t0 to t1
	ual7a  = 5 // online, logon t0-2h
	ual7b  = 6 // online, logon t0-1h
)

// fixtureLastSeq is the last event sequence of the fixture.
const fixtureLastSeq = 9

func ptr[T any](v T) *T { return &v }

// writeFixture stores two committed cycles and a failed one. Controllers: EGTT_CTR (1) and EGTT_1_CTR (7)
// staff EGTT, EGTT_S_CTR (2) staffs EGTT_S, LON_OBS (3) observes, EGLL_ATIS (4) is an ATIS with two lines of
// text, EGTT_N_CTR (5) staffed EGTT_N (not loaded) and left at t1. Events: 1-4 entries (BAW123 EGTT, DLH4 EGTT,
// DLH4 EGTT_S, AAL1 EGTT), 5-7 staffed (EGTT, EGTT_S, EGTT_N) at t0; 8 exit of AAL1 from EGTT (disconnected)
// and 9 unstaffed EGTT_N at t1.
func writeFixture(t *testing.T, s *repository.Store) {
	t.Helper()
	ctx := context.Background()
	flight := func(id int64, callsign string, logon time.Time) domain.Flight {
		return domain.Flight{
			ID: id, CID: 1000 + id, Callsign: callsign, LogonTime: logon, Name: fmt.Sprintf("Member %d", 1000+id),
			Server: "UK-1", PilotRating: 1, Latitude: 51 + float64(id)/10, Longitude: -1, Altitude: 20000 + int(id),
			Groundspeed: 450, Heading: 90, Transponder: "2200", QNHInHg: 29.92, QNHMb: 1013,
			LastUpdated: t1, FirstSeen: t0, LastSeen: t1,
		}
	}
	plan := func(id int64, dep, arr string) domain.FlightPlan {
		return domain.FlightPlan{FlightID: id, FlightRules: "I", Aircraft: "B738/M-SDE3FGHIRWY/LB1", AircraftShort: "B738",
			Departure: dep, Arrival: arr, Altitude: "FL350", Route: "DCT", RevisionID: ptr(2), UpdatedAt: t0}
	}
	ctl := func(id int64, callsign string, kind domain.ControllerKind, sectors string, facility int) domain.Controller {
		return domain.Controller{
			ID: id, CID: 2000 + id, Callsign: callsign, LogonTime: t0.Add(-time.Hour), Kind: kind, Name: fmt.Sprintf("Member %d", 2000+id),
			Facility: facility, Rating: 5, Frequency: "132.600", Server: "UK-1", VisualRange: 300, Sectors: testRefs(strings.Fields(sectors)...),
			LastUpdated: t0, FirstSeen: t0,
		}
	}
	entry := func(seq, cycle, flightID, visit int64, callsign, sector string) domain.Event {
		return domain.Event{Sequence: seq, Kind: domain.EventEntry, Sector: testRef(sector), OccurredAt: t0, CycleID: cycle,
			Flight:   &domain.FlightRef{ID: flightID, CID: 1000 + flightID, Callsign: callsign, VisitID: visit},
			Position: &domain.Point{Latitude: 51 + float64(flightID)/10, Longitude: -1.0, Altitude: 20000 + int(flightID)}}
	}
	staff := func(seq, cycle int64, kind domain.EventKind, ctlID int64, callsign, sector string, at time.Time) domain.Event {
		return domain.Event{Sequence: seq, Kind: kind, Sector: testRef(sector), OccurredAt: at, CycleID: cycle,
			Controller: &domain.ControllerRef{ID: ctlID, CID: 2000 + ctlID, Callsign: callsign}}
	}
	atis := ctl(4, "EGLL_ATIS", domain.KindATIS, "", 4)
	atis.ATISCode, atis.TextATIS = ptr("K"), ptr("HEATHROW INFORMATION K\nRWY 27L")
	obs := ctl(3, "LON_OBS", domain.KindObserver, "", 0)
	obs.Frequency = "199.998"
	c1 := &domain.CycleWrite{
		Flights: []domain.Flight{
			flight(baw123, "BAW123", t0.Add(-time.Hour)), flight(baw9, "BAW9", t0.Add(-time.Hour)),
			flight(dlh4, "DLH4", t0.Add(-time.Hour)), flight(aal1, "AAL1", t0.Add(-time.Hour)),
			flight(ual7a, "UAL7", t0.Add(-2*time.Hour)), flight(ual7b, "UAL7", t0.Add(-time.Hour)),
		},
		FlightPlans: []domain.FlightPlan{
			plan(baw123, "EGLL", "KJFK"), plan(baw9, "EGKK", "LFPG"), plan(dlh4, "EDDF", "EGLL"), plan(aal1, "KJFK", "EGLL"),
		},
		OpenedVisits: []domain.Visit{
			{ID: 1, FlightID: baw123, Sector: testRef("EGTT"), EnteredAt: t0, Entry: domain.Point{Latitude: 51.1, Longitude: -1, Altitude: 20001}},
			{ID: 2, FlightID: dlh4, Sector: testRef("EGTT"), EnteredAt: t0, Entry: domain.Point{Latitude: 51.3, Longitude: -1, Altitude: 20003}},
			{ID: 3, FlightID: dlh4, Sector: testRef("EGTT_S"), EnteredAt: t0, Entry: domain.Point{Latitude: 51.3, Longitude: -1, Altitude: 20003}},
			{ID: 4, FlightID: aal1, Sector: testRef("EGTT"), EnteredAt: t0, Entry: domain.Point{Latitude: 51.4, Longitude: -1, Altitude: 20004}},
		},
		Events: []domain.Event{
			entry(1, 1, baw123, 1, "BAW123", "EGTT"), entry(2, 1, dlh4, 2, "DLH4", "EGTT"),
			entry(3, 1, dlh4, 3, "DLH4", "EGTT_S"), entry(4, 1, aal1, 4, "AAL1", "EGTT"),
			staff(5, 1, domain.EventStaffed, 1, "EGTT_CTR", "EGTT", t0),
			staff(6, 1, domain.EventStaffed, 2, "EGTT_S_CTR", "EGTT_S", t0),
			staff(7, 1, domain.EventStaffed, 5, "EGTT_N_CTR", "EGTT_N", t0),
		},
		Controllers: []domain.Controller{
			ctl(1, "EGTT_CTR", domain.KindController, "EGTT", 6), ctl(2, "EGTT_S_CTR", domain.KindController, "EGTT_S", 6),
			obs, atis, ctl(5, "EGTT_N_CTR", domain.KindController, "EGTT_N", 6),
			ctl(7, "EGTT_1_CTR", domain.KindController, "EGTT", 6),
		},
		Cycle: domain.Cycle{ID: 1, UpdateTimestamp: t0, FetchedAt: t0, Pilots: 6, Controllers: 5, ATIS: 1,
			FlightsWritten: 6, EventsWritten: 7, FirstSequence: ptr[int64](1), LastSequence: ptr[int64](7)},
	}
	for _, f := range c1.Flights {
		c1.Positions = append(c1.Positions, domain.Position{FlightID: f.ID, ObservedAt: t0, Latitude: f.Latitude - 0.05,
			Longitude: f.Longitude, Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading})
	}
	if _, err := s.WriteCycle(ctx, c1); err != nil {
		t.Fatalf("fixture cycle 1: %v", err)
	}

	gone := flight(aal1, "AAL1", t0.Add(-time.Hour))
	gone.DisconnectedAt = &t1
	reason, dur := domain.ExitDisconnected, 15.0
	closed := c1.OpenedVisits[3]
	exitAt := domain.Point{Latitude: 51.4, Longitude: -1.0, Altitude: 20004}
	closed.Exit = &domain.VisitExit{At: t1, Position: exitAt, Reason: reason, DurationSeconds: dur}
	goneCtl := ctl(5, "EGTT_N_CTR", domain.KindController, "EGTT_N", 6)
	goneCtl.DisconnectedAt = &t1
	c2 := &domain.CycleWrite{
		Flights:      []domain.Flight{gone},
		ClosedVisits: []domain.Visit{closed},
		Events: []domain.Event{
			{Sequence: 8, Kind: domain.EventExit, Sector: testRef("EGTT"), OccurredAt: t1, CycleID: 2,
				Flight: &domain.FlightRef{ID: aal1, CID: 1000 + aal1, Callsign: "AAL1", VisitID: 4}, Position: &exitAt,
				Exit: &domain.VisitEnd{Reason: reason, DurationSeconds: dur}},
			staff(9, 2, domain.EventUnstaffed, 5, "EGTT_N_CTR", "EGTT_N", t1),
		},
		Controllers: []domain.Controller{goneCtl},
		Cycle: domain.Cycle{ID: 2, UpdateTimestamp: t1, FetchedAt: t1, Pilots: 5, FlightsWritten: 1, EventsWritten: 2,
			FirstSequence: ptr[int64](8), LastSequence: ptr[int64](fixtureLastSeq)},
	}
	for _, f := range c1.Flights {
		if f.ID != aal1 {
			c2.Positions = append(c2.Positions, domain.Position{FlightID: f.ID, ObservedAt: t1, Latitude: f.Latitude,
				Longitude: f.Longitude, Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading})
		}
	}
	if _, err := s.WriteCycle(ctx, c2); err != nil {
		t.Fatalf("fixture cycle 2: %v", err)
	}
	msg := "write: boom"
	if err := s.RecordFailedCycle(ctx, &domain.Cycle{ID: 3, UpdateTimestamp: t1.Add(15 * time.Second), FetchedAt: t1, Error: &msg}); err != nil {
		t.Fatal(err)
	}
}

// eventsCycle is a cycle after the fixture's that records n events: entries of BAW9 into LFFF, with every
// third a STAFFED of EGTT_S instead. Events carry no foreign keys, so nothing else needs writing.
func eventsCycle(id, firstSeq int64, n int) *domain.CycleWrite {
	at := t1.Add(time.Duration(id-2) * 15 * time.Second)
	w := &domain.CycleWrite{Cycle: domain.Cycle{ID: id, UpdateTimestamp: at, FetchedAt: at, EventsWritten: n}}
	for i := range n {
		seq := firstSeq + int64(i)
		e := domain.Event{Sequence: seq, Kind: domain.EventEntry, Sector: testRef("LFFF"), OccurredAt: at, CycleID: id,
			Flight:   &domain.FlightRef{ID: baw9, CID: 1000 + baw9, Callsign: "BAW9", VisitID: 100 + seq},
			Position: &domain.Point{Latitude: 48.0, Longitude: 2.0, Altitude: 30000}}
		if i%3 == 2 {
			e = domain.Event{Sequence: seq, Kind: domain.EventStaffed, Sector: testRef("EGTT_S"), OccurredAt: at, CycleID: id,
				Controller: &domain.ControllerRef{ID: 2, CID: 2002, Callsign: "EGTT_S_CTR"}}
		}
		w.Events = append(w.Events, e)
	}
	if n > 0 {
		w.Cycle.FirstSequence, w.Cycle.LastSequence = ptr(firstSeq), ptr(firstSeq+int64(n)-1)
	}
	return w
}
