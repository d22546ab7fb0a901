package server

import (
	"context"
	"fmt"
	"testing"
	"time"

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
	flight := func(id int64, callsign string, logon time.Time) repository.Flight {
		return repository.Flight{
			ID: id, CID: 1000 + id, Callsign: callsign, LogonTime: logon, Name: fmt.Sprintf("Member %d", 1000+id),
			Server: "UK-1", PilotRating: 1, Latitude: 51 + float64(id)/10, Longitude: -1, Altitude: 20000 + int(id),
			Groundspeed: 450, Heading: 90, Transponder: "2200", QNHInHg: 29.92, QNHMb: 1013,
			LastUpdated: t1, FirstSeen: t0, LastSeen: t1,
		}
	}
	plan := func(id int64, dep, arr string) repository.FlightPlan {
		return repository.FlightPlan{FlightID: id, FlightRules: "I", Aircraft: "B738/M-SDE3FGHIRWY/LB1", AircraftShort: "B738",
			Departure: dep, Arrival: arr, Altitude: "FL350", Route: "DCT", RevisionID: ptr(2), UpdatedAt: t0}
	}
	ctl := func(id int64, callsign, kind, sectors string, facility int) repository.Controller {
		return repository.Controller{
			ID: id, CID: 2000 + id, Callsign: callsign, LogonTime: t0.Add(-time.Hour), Kind: kind, Name: fmt.Sprintf("Member %d", 2000+id),
			Facility: facility, Rating: 5, Frequency: "132.600", Server: "UK-1", VisualRange: 300, Sectors: sectors,
			LastUpdated: t0, FirstSeen: t0,
		}
	}
	entry := func(seq, cycle, flightID, visit int64, callsign, sector string) repository.Event {
		return repository.Event{Sequence: seq, Kind: repository.EventEntry, SectorID: sector, OccurredAt: t0, CycleID: cycle,
			CID: 1000 + flightID, Callsign: callsign, FlightID: ptr(flightID), VisitID: ptr(visit),
			Latitude: ptr(51 + float64(flightID)/10), Longitude: ptr(-1.0), Altitude: ptr(20000 + int(flightID))}
	}
	staff := func(seq, cycle int64, kind string, ctlID int64, callsign, sector string, at time.Time) repository.Event {
		return repository.Event{Sequence: seq, Kind: kind, SectorID: sector, OccurredAt: at, CycleID: cycle,
			CID: 2000 + ctlID, Callsign: callsign, ControllerID: ptr(ctlID)}
	}
	atis := ctl(4, "EGLL_ATIS", repository.KindATIS, "", 4)
	atis.ATISCode, atis.TextATIS = ptr("K"), ptr("HEATHROW INFORMATION K\nRWY 27L")
	obs := ctl(3, "LON_OBS", repository.KindObserver, "", 0)
	obs.Frequency = "199.998"
	c1 := &repository.CycleWrite{
		Flights: []repository.Flight{
			flight(baw123, "BAW123", t0.Add(-time.Hour)), flight(baw9, "BAW9", t0.Add(-time.Hour)),
			flight(dlh4, "DLH4", t0.Add(-time.Hour)), flight(aal1, "AAL1", t0.Add(-time.Hour)),
			flight(ual7a, "UAL7", t0.Add(-2*time.Hour)), flight(ual7b, "UAL7", t0.Add(-time.Hour)),
		},
		FlightPlans: []repository.FlightPlan{
			plan(baw123, "EGLL", "KJFK"), plan(baw9, "EGKK", "LFPG"), plan(dlh4, "EDDF", "EGLL"), plan(aal1, "KJFK", "EGLL"),
		},
		OpenedVisits: []repository.Visit{
			{ID: 1, FlightID: baw123, SectorID: "EGTT", EnteredAt: t0, EntryLatitude: 51.1, EntryLongitude: -1, EntryAltitude: 20001},
			{ID: 2, FlightID: dlh4, SectorID: "EGTT", EnteredAt: t0, EntryLatitude: 51.3, EntryLongitude: -1, EntryAltitude: 20003},
			{ID: 3, FlightID: dlh4, SectorID: "EGTT_S", EnteredAt: t0, EntryLatitude: 51.3, EntryLongitude: -1, EntryAltitude: 20003},
			{ID: 4, FlightID: aal1, SectorID: "EGTT", EnteredAt: t0, EntryLatitude: 51.4, EntryLongitude: -1, EntryAltitude: 20004},
		},
		Events: []repository.Event{
			entry(1, 1, baw123, 1, "BAW123", "EGTT"), entry(2, 1, dlh4, 2, "DLH4", "EGTT"),
			entry(3, 1, dlh4, 3, "DLH4", "EGTT_S"), entry(4, 1, aal1, 4, "AAL1", "EGTT"),
			staff(5, 1, repository.EventStaffed, 1, "EGTT_CTR", "EGTT", t0),
			staff(6, 1, repository.EventStaffed, 2, "EGTT_S_CTR", "EGTT_S", t0),
			staff(7, 1, repository.EventStaffed, 5, "EGTT_N_CTR", "EGTT_N", t0),
		},
		Controllers: []repository.Controller{
			ctl(1, "EGTT_CTR", repository.KindController, "EGTT", 6), ctl(2, "EGTT_S_CTR", repository.KindController, "EGTT_S", 6),
			obs, atis, ctl(5, "EGTT_N_CTR", repository.KindController, "EGTT_N", 6),
			ctl(7, "EGTT_1_CTR", repository.KindController, "EGTT", 6),
		},
		Cycle: repository.Cycle{ID: 1, UpdateTimestamp: t0, FetchedAt: t0, Pilots: 6, Controllers: 5, ATIS: 1,
			FlightsWritten: 6, EventsWritten: 7, FirstSequence: ptr[int64](1), LastSequence: ptr[int64](7)},
	}
	for _, f := range c1.Flights {
		c1.Positions = append(c1.Positions, repository.Position{FlightID: f.ID, ObservedAt: t0, Latitude: f.Latitude - 0.05,
			Longitude: f.Longitude, Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading})
	}
	if _, err := s.WriteCycle(ctx, c1); err != nil {
		t.Fatalf("fixture cycle 1: %v", err)
	}

	gone := flight(aal1, "AAL1", t0.Add(-time.Hour))
	gone.DisconnectedAt = &t1
	reason, dur := repository.ExitDisconnected, 15.0
	closed := c1.OpenedVisits[3]
	closed.ExitedAt, closed.ExitLatitude, closed.ExitLongitude, closed.ExitAltitude = &t1, ptr(51.4), ptr(-1.0), ptr(20004)
	closed.ExitReason, closed.DurationSeconds = &reason, &dur
	goneCtl := ctl(5, "EGTT_N_CTR", repository.KindController, "EGTT_N", 6)
	goneCtl.DisconnectedAt = &t1
	c2 := &repository.CycleWrite{
		Flights:      []repository.Flight{gone},
		ClosedVisits: []repository.Visit{closed},
		Events: []repository.Event{
			{Sequence: 8, Kind: repository.EventExit, SectorID: "EGTT", OccurredAt: t1, CycleID: 2, CID: 1000 + aal1,
				Callsign: "AAL1", FlightID: ptr[int64](aal1), VisitID: ptr[int64](4), Latitude: ptr(51.4), Longitude: ptr(-1.0),
				Altitude: ptr(20004), ExitReason: &reason, DurationSeconds: &dur},
			staff(9, 2, repository.EventUnstaffed, 5, "EGTT_N_CTR", "EGTT_N", t1),
		},
		Controllers: []repository.Controller{goneCtl},
		Cycle: repository.Cycle{ID: 2, UpdateTimestamp: t1, FetchedAt: t1, Pilots: 5, FlightsWritten: 1, EventsWritten: 2,
			FirstSequence: ptr[int64](8), LastSequence: ptr[int64](fixtureLastSeq)},
	}
	for _, f := range c1.Flights {
		if f.ID != aal1 {
			c2.Positions = append(c2.Positions, repository.Position{FlightID: f.ID, ObservedAt: t1, Latitude: f.Latitude,
				Longitude: f.Longitude, Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading})
		}
	}
	if _, err := s.WriteCycle(ctx, c2); err != nil {
		t.Fatalf("fixture cycle 2: %v", err)
	}
	msg := "write: boom"
	if err := s.RecordFailedCycle(ctx, &repository.Cycle{ID: 3, UpdateTimestamp: t1.Add(15 * time.Second), FetchedAt: t1, Error: &msg}); err != nil {
		t.Fatal(err)
	}
}

// eventsCycle is a cycle after the fixture's that records n events: entries of BAW9 into LFFF, with every
// third a STAFFED of EGTT_S instead. Events carry no foreign keys, so nothing else needs writing.
func eventsCycle(id, firstSeq int64, n int) *repository.CycleWrite {
	at := t1.Add(time.Duration(id-2) * 15 * time.Second)
	w := &repository.CycleWrite{Cycle: repository.Cycle{ID: id, UpdateTimestamp: at, FetchedAt: at, EventsWritten: n}}
	for i := range n {
		seq := firstSeq + int64(i)
		e := repository.Event{Sequence: seq, Kind: repository.EventEntry, SectorID: "LFFF", OccurredAt: at, CycleID: id,
			CID: 1000 + baw9, Callsign: "BAW9", FlightID: ptr[int64](baw9), VisitID: ptr(100 + seq),
			Latitude: ptr(48.0), Longitude: ptr(2.0), Altitude: ptr(30000)}
		if i%3 == 2 {
			e = repository.Event{Sequence: seq, Kind: repository.EventStaffed, SectorID: "EGTT_S", OccurredAt: at, CycleID: id,
				CID: 2002, Callsign: "EGTT_S_CTR", ControllerID: ptr[int64](2)}
		}
		w.Events = append(w.Events, e)
	}
	if n > 0 {
		w.Cycle.FirstSequence, w.Cycle.LastSequence = ptr(firstSeq), ptr(firstSeq+int64(n)-1)
	}
	return w
}
