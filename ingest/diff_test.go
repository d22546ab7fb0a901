package ingest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
)

// diffT0 is the feed time of the state every case of TestDiff starts from.
var diffT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const diffGrace = time.Minute

var diffLogon = diffT0.Add(-time.Hour)

func diffPilot(lat float64, plan *feed.FlightPlan) feed.Pilot {
	return feed.Pilot{CID: 1001, Callsign: "P01", Name: "Member", Latitude: lat, Altitude: 1000,
		LogonTime: diffLogon, LastUpdated: diffT0, FlightPlan: plan}
}

// diffFlight is diffPilot as tracked, with id 1.
func diffFlight(lat float64, firstSeen, lastSeen time.Time) domain.Flight {
	return domain.Flight{ID: 1, CID: 1001, Callsign: "P01", Name: "Member", Latitude: lat, Altitude: 1000,
		LogonTime: diffLogon, LastUpdated: diffT0, FirstSeen: firstSeen, LastSeen: lastSeen}
}

func diffPosition(lat float64, at time.Time) domain.Position {
	return domain.Position{FlightID: 1, ObservedAt: at, Latitude: lat, Altitude: 1000, LastUpdated: diffT0}
}

func diffPoint(lat float64) *domain.Point { return &domain.Point{Latitude: lat, Altitude: 1000} }

func diffVisit(id int64, sector string, entered time.Time, lat float64) domain.Visit {
	return domain.Visit{ID: id, FlightID: 1, Sector: band(sector), EnteredAt: entered, Entry: *diffPoint(lat)}
}

func diffFlightRef(visit int64) *domain.FlightRef {
	return &domain.FlightRef{ID: 1, CID: 1001, Callsign: "P01", VisitID: visit}
}

func diffPlan(rev int) *feed.FlightPlan {
	return &feed.FlightPlan{FlightRules: "I", Aircraft: "A320", Departure: "EGLL", Arrival: "LFPG", RevisionID: &rev}
}

func diffStoredPlan(rev int, updated time.Time) domain.FlightPlan {
	return planFrom(1, diffPlan(rev), updated)
}

func diffController(callsign string) feed.Controller {
	return feed.Controller{CID: 2001, Callsign: callsign, Name: "Member", Frequency: "123.450",
		Facility: feed.FacilityCenter, Rating: 5, LogonTime: diffLogon, LastUpdated: diffT0}
}

func diffTrackedController(firstSeen time.Time) domain.Controller {
	return domain.Controller{ID: 1, CID: 2001, Callsign: "B50_CTR", Kind: domain.KindController, Name: "Member",
		Frequency: "123.450", Facility: feed.FacilityCenter, Rating: 5, Sectors: []domain.SectorRef{band("B50")},
		LogonTime: diffLogon, LastUpdated: diffT0, FirstSeen: firstSeen}
}

// diffState is a database after one cycle at diffT0 that tracks the flight at latitude lat with the open
// visits given, and allocated ids up to 1 of everything but visits (up to the last one given).
func diffState(lat float64, visits ...domain.Visit) *domain.State {
	st := &domain.State{
		Flights:    []domain.Flight{diffFlight(lat, diffT0.Add(-time.Minute), diffT0)},
		OpenVisits: visits,
		LastCycle:  &domain.Cycle{ID: 1, UpdateTimestamp: diffT0},
		MaxIDs:     domain.MaxIDs{Flight: 1, Sequence: 5, Cycle: 1},
	}
	for _, v := range visits {
		st.MaxIDs.Visit = max(st.MaxIDs.Visit, v.ID)
	}
	return st
}

func ptrTo[T any](v T) *T { return &v }

// record is the cycle record Diff makes for a write: the counts are those of the rows.
func record(id int64, at time.Time, pilots, controllers int, w domain.CycleWrite) domain.Cycle {
	c := domain.Cycle{ID: id, UpdateTimestamp: at, Pilots: pilots, Controllers: controllers,
		FlightsWritten: len(w.Flights), FlightPlansWritten: len(w.FlightPlans), PositionsWritten: len(w.Positions),
		VisitsOpened: len(w.OpenedVisits), VisitsClosed: len(w.ClosedVisits), EventsWritten: len(w.Events),
		ControllersWritten: len(w.Controllers)}
	if n := len(w.Events); n > 0 {
		c.FirstSequence, c.LastSequence = ptrTo(w.Events[0].Sequence), ptrTo(w.Events[n-1].Sequence)
	}
	return c
}

// TestDiff computes one cycle from a known state and checks everything it would write, with no database.
func TestDiff(t *testing.T) {
	ts := diffT0.Add(15 * time.Second)
	late := diffT0.Add(2 * diffGrace)
	cases := []struct {
		name  string
		state *domain.State
		at    time.Time
		snap  feed.Snapshot
		want  domain.CycleWrite
		// pilots and controllers are the snapshot's counts in the record.
		pilots, controllers int
	}{
		{
			name: "a new flight enters a sector", at: diffT0, pilots: 1,
			snap: feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.5, nil)}},
			want: domain.CycleWrite{
				Flights:      []domain.Flight{diffFlight(50.5, diffT0, diffT0)},
				Positions:    []domain.Position{diffPosition(50.5, diffT0)},
				OpenedVisits: []domain.Visit{diffVisit(1, "B50", diffT0, 50.5)},
				Events: []domain.Event{{Sequence: 1, Kind: domain.EventEntry, Sector: band("B50"), OccurredAt: diffT0, CycleID: 1,
					Flight: diffFlightRef(1), Position: diffPoint(50.5)}},
			},
		},
		{
			name: "a flight moves to the next sector: exit, then entry; only its position is written", at: ts, pilots: 1,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5)),
			snap:  feed.Snapshot{Pilots: []feed.Pilot{diffPilot(51.5, nil)}},
			want: domain.CycleWrite{
				Positions: []domain.Position{diffPosition(51.5, ts)},
				ClosedVisits: []domain.Visit{{ID: 3, FlightID: 1, Sector: band("B50"), EnteredAt: diffT0, Entry: *diffPoint(50.5),
					Exit: &domain.VisitExit{At: ts, Position: *diffPoint(51.5), Reason: domain.ExitLeft, DurationSeconds: 15}}},
				OpenedVisits: []domain.Visit{diffVisit(4, "B51", ts, 51.5)},
				Events: []domain.Event{
					{Sequence: 6, Kind: domain.EventExit, Sector: band("B50"), OccurredAt: ts, CycleID: 2, Flight: diffFlightRef(3),
						Position: diffPoint(51.5), Exit: &domain.VisitEnd{Reason: domain.ExitLeft, DurationSeconds: 15}},
					{Sequence: 7, Kind: domain.EventEntry, Sector: band("B51"), OccurredAt: ts, CycleID: 2, Flight: diffFlightRef(4),
						Position: diffPoint(51.5)},
				},
			},
		},
		{
			name: "a flight missing within the grace period is kept and nothing is written", at: ts,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5)),
		},
		{
			name: "a flight missing past the grace period disconnects when it was last seen", at: late,
			state: diffState(50.5, diffVisit(3, "B50", diffT0.Add(-time.Minute), 50.5)),
			want: domain.CycleWrite{
				Flights: []domain.Flight{func() domain.Flight {
					f := diffFlight(50.5, diffT0.Add(-time.Minute), diffT0)
					f.DisconnectedAt = ptrTo(diffT0)
					return f
				}()},
				ClosedVisits: []domain.Visit{{ID: 3, FlightID: 1, Sector: band("B50"), EnteredAt: diffT0.Add(-time.Minute),
					Entry: *diffPoint(50.5), Exit: &domain.VisitExit{At: diffT0, Position: *diffPoint(50.5),
						Reason: domain.ExitDisconnected, DurationSeconds: 60}}},
				Events: []domain.Event{{Sequence: 6, Kind: domain.EventExit, Sector: band("B50"), OccurredAt: diffT0, CycleID: 2,
					Flight: diffFlightRef(3), Position: diffPoint(50.5),
					Exit: &domain.VisitEnd{Reason: domain.ExitDisconnected, DurationSeconds: 60}}},
			},
		},
		{
			name: "a flight back after its disconnection continues its row and keeps its plan", at: late, pilots: 1,
			state: func() *domain.State {
				st := diffState(50.5)
				st.Departed, st.Flights = st.Flights, nil
				st.Departed[0].DisconnectedAt = ptrTo(diffT0)
				st.FlightPlans = []domain.FlightPlan{diffStoredPlan(1, diffT0.Add(-time.Minute))}
				st.MaxIDs.Visit = 3
				return st
			}(),
			snap: feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.5, diffPlan(1))}},
			want: domain.CycleWrite{
				Flights:      []domain.Flight{diffFlight(50.5, diffT0.Add(-time.Minute), late)},
				Positions:    []domain.Position{diffPosition(50.5, late)},
				OpenedVisits: []domain.Visit{diffVisit(4, "B50", late, 50.5)},
				Events: []domain.Event{{Sequence: 6, Kind: domain.EventEntry, Sector: band("B50"), OccurredAt: late, CycleID: 2,
					Flight: diffFlightRef(4), Position: diffPoint(50.5)}},
			},
		},
		{
			name: "a visit of a sector no longer loaded ends as sector_removed", at: ts, pilots: 1,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5), diffVisit(4, "X9", diffT0, 50.5)),
			snap:  feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.5, nil)}},
			want: domain.CycleWrite{
				Positions: []domain.Position{diffPosition(50.5, ts)},
				ClosedVisits: []domain.Visit{{ID: 4, FlightID: 1, Sector: band("X9"), EnteredAt: diffT0, Entry: *diffPoint(50.5),
					Exit: &domain.VisitExit{At: ts, Position: *diffPoint(50.5), Reason: domain.ExitSectorRemoved, DurationSeconds: 15}}},
				Events: []domain.Event{{Sequence: 6, Kind: domain.EventExit, Sector: band("X9"), OccurredAt: ts, CycleID: 2,
					Flight: diffFlightRef(4), Position: diffPoint(50.5),
					Exit: &domain.VisitEnd{Reason: domain.ExitSectorRemoved, DurationSeconds: 15}}},
			},
		},
		{
			name: "a controller logging on staffs its sector", at: diffT0, controllers: 1,
			snap: feed.Snapshot{Controllers: []feed.Controller{diffController("B50_CTR")}},
			want: domain.CycleWrite{
				Controllers: []domain.Controller{diffTrackedController(diffT0)},
				Events: []domain.Event{{Sequence: 1, Kind: domain.EventStaffed, Sector: band("B50"), OccurredAt: diffT0, CycleID: 1,
					Controller: &domain.ControllerRef{ID: 1, CID: 2001, Callsign: "B50_CTR"}}},
			},
		},
		{
			name: "a controller gone past the grace period unstaffs when it was last seen", at: late,
			state: &domain.State{
				Controllers: []domain.Controller{diffTrackedController(diffT0.Add(-time.Minute))},
				LastCycle:   &domain.Cycle{ID: 1, UpdateTimestamp: diffT0},
				MaxIDs:      domain.MaxIDs{Controller: 1, Sequence: 5, Cycle: 1},
			},
			want: domain.CycleWrite{
				Controllers: []domain.Controller{func() domain.Controller {
					c := diffTrackedController(diffT0.Add(-time.Minute))
					c.LastSeen, c.DisconnectedAt = ptrTo(diffT0), ptrTo(diffT0)
					return c
				}()},
				Events: []domain.Event{{Sequence: 6, Kind: domain.EventUnstaffed, Sector: band("B50"), OccurredAt: diffT0, CycleID: 2,
					Controller: &domain.ControllerRef{ID: 1, CID: 2001, Callsign: "B50_CTR"}}},
			},
		},
		{
			name: "a connection repeated in one snapshot is written once, as first shown", at: ts, pilots: 2,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5)),
			snap:  feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.6, nil), diffPilot(52.5, nil)}},
			want: domain.CycleWrite{
				Positions: []domain.Position{diffPosition(50.6, ts)},
			},
		},
		{
			name: "a flight whose transponder and QNH changed is rewritten with its position", at: ts, pilots: 1,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5)),
			snap: feed.Snapshot{Pilots: []feed.Pilot{func() feed.Pilot {
				p := diffPilot(50.6, nil)
				p.Transponder, p.QNHInHg, p.QNHMb = "7000", 29.8, 1009
				p.LastUpdated = ts
				return p
			}()}},
			want: domain.CycleWrite{
				Flights: []domain.Flight{func() domain.Flight {
					f := diffFlight(50.6, diffT0.Add(-time.Minute), ts)
					f.Transponder, f.QNHInHg, f.QNHMb, f.LastUpdated = "7000", 29.8, 1009, ts
					return f
				}()},
				Positions: []domain.Position{func() domain.Position {
					p := diffPosition(50.6, ts)
					p.LastUpdated = ts
					return p
				}()},
			},
		},
		{
			name: "a flight that only moved and reported again has only its position written", at: ts, pilots: 1,
			state: diffState(50.5, diffVisit(3, "B50", diffT0, 50.5)),
			snap: feed.Snapshot{Pilots: []feed.Pilot{func() feed.Pilot {
				p := diffPilot(50.7, nil)
				p.Longitude, p.Altitude, p.Groundspeed, p.Heading, p.LastUpdated = 1.5, 3000, 250, 180, ts
				return p
			}()}},
			want: domain.CycleWrite{
				Positions: []domain.Position{{FlightID: 1, ObservedAt: ts, Latitude: 50.7, Longitude: 1.5, Altitude: 3000,
					Groundspeed: 250, Heading: 180, LastUpdated: ts}},
			},
		},
		{
			name: "an amended plan is written", at: ts, pilots: 1,
			state: func() *domain.State {
				st := diffState(50.5, diffVisit(3, "B50", diffT0, 50.5))
				st.FlightPlans = []domain.FlightPlan{diffStoredPlan(1, diffT0)}
				return st
			}(),
			snap: feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.5, diffPlan(2))}},
			want: domain.CycleWrite{
				FlightPlans: []domain.FlightPlan{diffStoredPlan(2, ts)},
				Positions:   []domain.Position{diffPosition(50.5, ts)},
			},
		},
		{
			name: "an unchanged plan is not written again", at: ts, pilots: 1,
			state: func() *domain.State {
				st := diffState(50.5, diffVisit(3, "B50", diffT0, 50.5))
				st.FlightPlans = []domain.FlightPlan{diffStoredPlan(1, diffT0)}
				return st
			}(),
			snap: feed.Snapshot{Pilots: []feed.Pilot{diffPilot(50.5, diffPlan(1))}},
			want: domain.CycleWrite{
				Positions: []domain.Position{diffPosition(50.5, ts)},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tracker := NewTracker(tc.state, diffGrace)
			snap := tc.snap
			snap.General = feed.General{Version: 3, UpdateTimestamp: tc.at}
			plan := tracker.Diff(&snap, Classify(&snap, bandSectors{}), bandSectors{})
			plan.Write.SectorHours, plan.Write.ObservedHours, plan.Write.SectorDays = nil, nil, nil // rollups_test.go checks them
			cycleID := int64(1)
			if tc.state != nil {
				cycleID = tc.state.MaxIDs.Cycle + 1
			}
			want := tc.want
			want.Cycle = record(cycleID, tc.at, tc.pilots, tc.controllers, tc.want)
			if got := withoutEmpty(plan.Write); !reflect.DeepEqual(got, withoutEmpty(want)) {
				t.Errorf("Diff writes\n%s\nwant\n%s", describeWrite(got), describeWrite(withoutEmpty(want)))
			}
		})
	}
}

// withoutEmpty makes empty lists nil: Diff allocates some of them whatever it writes.
func withoutEmpty(w domain.CycleWrite) domain.CycleWrite {
	v := reflect.ValueOf(&w).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return w
}

func describeWrite(w domain.CycleWrite) string {
	v := reflect.ValueOf(w)
	out := ""
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Slice {
			out += fmt.Sprintf("  %s:", v.Type().Field(i).Name)
			for j := range f.Len() {
				out += fmt.Sprintf("\n    %s", describe(f.Index(j).Interface()))
			}
			out += "\n"
		}
	}
	return out + fmt.Sprintf("  Cycle: %s", describe(w.Cycle))
}

// describe prints a value with its pointers followed.
func describe(x any) string {
	v := reflect.ValueOf(x)
	if t, ok := x.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	if v.Kind() != reflect.Struct {
		return fmt.Sprintf("%v", x)
	}
	out := "{"
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.IsZero() {
			continue
		}
		out += fmt.Sprintf("%s:%s ", v.Type().Field(i).Name, describe(f.Interface()))
	}
	return out + "}"
}

// TestSameFlightComparesEveryStoredField changes each field of a flight in turn: only those its position holds
// may leave the row unwritten, and a field added to domain.Flight must be compared (or be one of those).
func TestSameFlightComparesEveryStoredField(t *testing.T) {
	perPosition := map[string]bool{
		"Latitude": true, "Longitude": true, "Altitude": true, "Groundspeed": true, "Heading": true,
		"LastUpdated": true, "LastSeen": true,
	}
	base := diffFlight(50.5, diffT0.Add(-time.Minute), diffT0)
	base.MilitaryRating = ptrTo(1)
	if !sameFlight(&base, ptrTo(base)) {
		t.Fatal("a flight differs from its copy")
	}
	typ := reflect.TypeFor[domain.Flight]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		changed := base
		v := reflect.ValueOf(&changed).Elem().Field(i)
		switch x := v.Addr().Interface().(type) {
		case *int64:
			*x++
		case *int:
			*x++
		case *float64:
			*x += 0.5
		case *string:
			*x += "x"
		case *time.Time:
			*x = x.Add(time.Second)
		case **int:
			*x = ptrTo(**x + 1)
		case **time.Time:
			*x = ptrTo(diffT0)
		default:
			t.Fatalf("field %s of type %s: teach this test to change it", f.Name, f.Type)
		}
		if got, want := sameFlight(&base, &changed), perPosition[f.Name]; got != want {
			t.Errorf("%s changed: sameFlight = %v, want %v", f.Name, got, want)
		}
	}
	// The same instant in another zone, or an equal pointer target, is no change.
	other := base
	other.LogonTime, other.MilitaryRating = base.LogonTime.In(time.FixedZone("X", 3600)), ptrTo(1)
	if !sameFlight(&base, &other) {
		t.Error("equal values compare as a change")
	}
}
