package repository_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// t0 is the feed time of the fixture's first cycle.
var t0 = time.Date(2024, 2, 20, 23, 0, 0, 123456000, time.UTC)

// Fixture flights, by id. UAL7 is a ghost: two online connections of the callsign, the second logged on later.
// A_B1 and AXB1 tell a literal underscore from LIKE's wildcard (and sort bytewise: 'X' < '_').
const (
	baw123 = 1 // online, EGLL→KJFK, inside EGTT
	baw9   = 2 // online, EGKK→LFPG, outside every sector
	dlh4   = 3 // online, EDDF→EGLL, inside EGTT and EGTT_S
	aal1   = 4 // offline since t0+15s, was in EGTT from t0 to t0+15s
	ual7a  = 5 // online, logon t0-2h
	ual7b  = 6 // online, logon t0-1h
	ab1    = 7 // "A_B1", online, no plan
	axb1   = 8 // "AXB1", online, no plan
)

// fixture writes two committed cycles and one failed one; see the constants for the flights. Controllers:
// EGTT_CTR (1) and EGTT_1_CTR (7) staff EGTT, EGTT_S_CTR (2) staffs EGTT_S, LON_OBS (3) observes, EGLL_ATIS (4)
// is an ATIS, EGTT_N_CTR (5) staffed EGTT_N and is gone, AEGTT_CTR (6) staffs EGTT_X. Events 1..9, see below.
func fixture(t *testing.T, s *repository.Store) {
	t.Helper()
	ctx := context.Background()
	t1 := t0.Add(15 * time.Second)
	flight := func(id int64, callsign string, logon time.Time) domain.Flight {
		return domain.Flight{
			ID: id, CID: 1000 + id, Callsign: callsign, LogonTime: logon, Name: fmt.Sprintf("Member %d", 1000+id),
			Latitude: 51 + float64(id)/10, Longitude: -1, Altitude: 30000 + int(id), Groundspeed: 450, Heading: 90,
			LastUpdated: t1, FirstSeen: t0, LastSeen: t1,
		}
	}
	plan := func(id int64, dep, arr string) domain.FlightPlan {
		return domain.FlightPlan{FlightID: id, FlightRules: "I", Departure: dep, Arrival: arr, Route: "DCT", UpdatedAt: t0}
	}
	ctl := func(id int64, callsign string, kind domain.ControllerKind, sectors string) domain.Controller {
		return domain.Controller{
			ID: id, CID: 2000 + id, Callsign: callsign, LogonTime: t0.Add(-time.Hour), Kind: kind, Facility: 6,
			Frequency: "132.600", Sectors: vsAll(strings.Fields(sectors)...), LastUpdated: t0, FirstSeen: t0,
		}
	}
	entry := func(seq, cycle, flightID, visit int64, callsign, sector string, at time.Time) domain.Event {
		return domain.Event{Sequence: seq, Kind: domain.EventEntry, Sector: vs(sector), OccurredAt: at, CycleID: cycle,
			Flight: &domain.FlightRef{ID: flightID, CID: 1000 + flightID, Callsign: callsign, VisitID: visit}}
	}
	staff := func(seq, cycle int64, kind domain.EventKind, ctlID int64, callsign, sector string, at time.Time) domain.Event {
		return domain.Event{Sequence: seq, Kind: kind, Sector: vs(sector), OccurredAt: at, CycleID: cycle,
			Controller: &domain.ControllerRef{ID: ctlID, CID: 2000 + ctlID, Callsign: callsign}}
	}
	first, last := int64(1), int64(7)
	c1 := &domain.CycleWrite{
		Flights: []domain.Flight{
			flight(baw123, "BAW123", t0.Add(-time.Hour)), flight(baw9, "BAW9", t0.Add(-time.Hour)),
			flight(dlh4, "DLH4", t0.Add(-time.Hour)), flight(aal1, "AAL1", t0.Add(-time.Hour)),
			flight(ual7a, "UAL7", t0.Add(-2*time.Hour)), flight(ual7b, "UAL7", t0.Add(-time.Hour)),
			flight(ab1, "A_B1", t0.Add(-time.Hour)), flight(axb1, "AXB1", t0.Add(-time.Hour)),
		},
		FlightPlans: []domain.FlightPlan{
			plan(baw123, "EGLL", "KJFK"), plan(baw9, "EGKK", "LFPG"), plan(dlh4, "EDDF", "EGLL"), plan(aal1, "KJFK", "EGLL"),
		},
		OpenedVisits: []domain.Visit{
			{ID: 1, FlightID: baw123, Sector: vs("EGTT"), EnteredAt: t0},
			{ID: 2, FlightID: dlh4, Sector: vs("EGTT"), EnteredAt: t0},
			{ID: 3, FlightID: dlh4, Sector: vs("EGTT_S"), EnteredAt: t0},
			{ID: 4, FlightID: aal1, Sector: vs("EGTT"), EnteredAt: t0},
		},
		Events: []domain.Event{
			entry(1, 1, baw123, 1, "BAW123", "EGTT", t0), entry(2, 1, dlh4, 2, "DLH4", "EGTT", t0),
			entry(3, 1, dlh4, 3, "DLH4", "EGTT_S", t0), entry(4, 1, aal1, 4, "AAL1", "EGTT", t0),
			staff(5, 1, domain.EventStaffed, 1, "EGTT_CTR", "EGTT", t0),
			staff(6, 1, domain.EventStaffed, 2, "EGTT_S_CTR", "EGTT_S", t0),
			staff(7, 1, domain.EventStaffed, 5, "EGTT_N_CTR", "EGTT_N", t0),
		},
		Controllers: []domain.Controller{
			ctl(1, "EGTT_CTR", domain.KindController, "EGTT"), ctl(2, "EGTT_S_CTR", domain.KindController, "EGTT_S"),
			ctl(3, "LON_OBS", domain.KindObserver, ""), ctl(4, "EGLL_ATIS", domain.KindATIS, ""),
			ctl(5, "EGTT_N_CTR", domain.KindController, "EGTT_N"), ctl(6, "AEGTT_CTR", domain.KindController, "EGTT_X"),
			ctl(7, "EGTT_1_CTR", domain.KindController, "EGTT"),
		},
		Cycle: domain.Cycle{ID: 1, UpdateTimestamp: t0, FetchedAt: t0, FirstSequence: &first, LastSequence: &last},
	}
	for _, f := range c1.Flights {
		c1.Positions = append(c1.Positions, domain.Position{FlightID: f.ID, ObservedAt: t0, Latitude: f.Latitude, Longitude: f.Longitude})
	}
	if _, err := s.WriteCycle(ctx, c1); err != nil {
		t.Fatalf("cycle 1: %v", err)
	}

	gone := flight(aal1, "AAL1", t0.Add(-time.Hour))
	gone.LastSeen = t1
	gone.DisconnectedAt = &t1
	exitAt, at, reason, dur := t1, domain.Point{Latitude: 51.4, Longitude: -1.0, Altitude: 30004}, domain.ExitDisconnected, 15.0
	closed := c1.OpenedVisits[3]
	closed.Exit = &domain.VisitExit{At: exitAt, Position: at, Reason: reason, DurationSeconds: dur}
	goneCtl := ctl(5, "EGTT_N_CTR", domain.KindController, "EGTT_N")
	goneCtl.DisconnectedAt = &t1
	first2, last2 := int64(8), int64(9)
	c2 := &domain.CycleWrite{
		Flights:      []domain.Flight{gone},
		ClosedVisits: []domain.Visit{closed},
		Events: []domain.Event{
			{Sequence: 8, Kind: domain.EventExit, Sector: vs("EGTT"), OccurredAt: t1, CycleID: 2,
				Flight: &domain.FlightRef{ID: aal1, CID: 1000 + aal1, Callsign: "AAL1", VisitID: 4}, Position: &at,
				Exit: &domain.VisitEnd{Reason: reason, DurationSeconds: dur}},
			staff(9, 2, domain.EventUnstaffed, 5, "EGTT_N_CTR", "EGTT_N", t1),
		},
		Controllers: []domain.Controller{goneCtl},
		Cycle:       domain.Cycle{ID: 2, UpdateTimestamp: t1, FetchedAt: t1, FirstSequence: &first2, LastSequence: &last2},
	}
	for _, f := range c1.Flights {
		if f.ID != aal1 {
			c2.Positions = append(c2.Positions, domain.Position{FlightID: f.ID, ObservedAt: t1, Latitude: f.Latitude + 0.1, Longitude: f.Longitude})
		}
	}
	if _, err := s.WriteCycle(ctx, c2); err != nil {
		t.Fatalf("cycle 2: %v", err)
	}
	msg := "write: boom"
	if err := s.RecordFailedCycle(ctx, &domain.Cycle{ID: 3, UpdateTimestamp: t1.Add(15 * time.Second), FetchedAt: t1, Error: &msg}); err != nil {
		t.Fatal(err)
	}
}

func flightIDs(fs []domain.FlightSummary) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.Flight.ID
	}
	return out
}

func TestListFlights(t *testing.T) {
	t1 := t0.Add(15 * time.Second)
	cases := []struct {
		name   string
		filter repository.FlightFilter
		after  *repository.Key
		limit  int
		want   []int64
	}{
		{name: "online by default, by callsign then id", limit: 100, want: []int64{axb1, ab1, baw123, baw9, dlh4, ual7a, ual7b}},
		{name: "with offline", filter: repository.FlightFilter{IncludeOffline: true}, limit: 100,
			want: []int64{aal1, axb1, ab1, baw123, baw9, dlh4, ual7a, ual7b}},
		{name: "callsign prefix ignores case", filter: repository.FlightFilter{CallsignPrefix: "baw"}, limit: 100, want: []int64{baw123, baw9}},
		{name: "underscore in a prefix is literal", filter: repository.FlightFilter{CallsignPrefix: "A_"}, limit: 100, want: []int64{ab1}},
		{name: "percent in a prefix is literal", filter: repository.FlightFilter{CallsignPrefix: "%"}, limit: 100, want: []int64{}},
		{name: "departure", filter: repository.FlightFilter{Departure: "egll"}, limit: 100, want: []int64{baw123}},
		{name: "arrival online", filter: repository.FlightFilter{Arrival: "EGLL"}, limit: 100, want: []int64{dlh4}},
		{name: "arrival with offline", filter: repository.FlightFilter{Arrival: "EGLL", IncludeOffline: true}, limit: 100, want: []int64{aal1, dlh4}},
		{name: "inside a sector now", filter: repository.FlightFilter{Sector: vs("EGTT")}, limit: 100, want: []int64{baw123, dlh4}},
		{name: "sector with offline: any visit", filter: repository.FlightFilter{Sector: vs("EGTT"), IncludeOffline: true}, limit: 100,
			want: []int64{aal1, baw123, dlh4}},
		{name: "sector with offline, visit after the range", limit: 100,
			filter: repository.FlightFilter{Sector: vs("EGTT"), IncludeOffline: true, SeenUntil: t0}, want: []int64{}},
		{name: "sector with offline, visit ending at the range start", limit: 100,
			filter: repository.FlightFilter{Sector: vs("EGTT"), IncludeOffline: true, SeenFrom: t1},
			want:   []int64{aal1, baw123, dlh4}},
		{name: "unknown sector matches nothing", filter: repository.FlightFilter{Sector: vs("NOPE")}, limit: 100, want: []int64{}},
		{name: "seen range ending at the first sighting is empty", limit: 100,
			filter: repository.FlightFilter{IncludeOffline: true, SeenUntil: t0}, want: []int64{}},
		{name: "seen range after the last sighting is empty", limit: 100,
			filter: repository.FlightFilter{IncludeOffline: true, SeenFrom: t1.Add(time.Microsecond)}, want: []int64{}},
		{name: "seen range at the last sighting", limit: 100,
			filter: repository.FlightFilter{IncludeOffline: true, SeenFrom: t1, CallsignPrefix: "AAL"}, want: []int64{aal1}},
		{name: "limit", limit: 2, want: []int64{axb1, ab1}},
		{name: "after a key", after: &repository.Key{Callsign: "BAW9", ID: baw9}, limit: 100, want: []int64{dlh4, ual7a, ual7b}},
		{name: "after a key between two of the same callsign", after: &repository.Key{Callsign: "UAL7", ID: ual7a}, limit: 100,
			want: []int64{ual7b}},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListFlights(context.Background(), tc.filter, tc.after, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if ids := flightIDs(got); !slices.Equal(ids, tc.want) {
					t.Errorf("flights %v, want %v", ids, tc.want)
				}
			})
		}
	})
}

func TestListFlightsSummaries(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		got, err := s.ListFlights(context.Background(), repository.FlightFilter{CallsignPrefix: "DLH"}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%d flights, want DLH4 alone", len(got))
		}
		f := got[0]
		if f.Plan == nil || f.Plan.Departure != "EDDF" || f.Plan.Arrival != "EGLL" {
			t.Errorf("plan %+v, want EDDF→EGLL", f.Plan)
		}
		if !slices.Equal(f.Sectors, vsAll("EGTT", "EGTT_S")) {
			t.Errorf("sectors %v, want [EGTT EGTT_S]", f.Sectors)
		}
		if f.Flight.FirstSeen != t0 || f.Flight.FirstSeen.Location() != time.UTC {
			t.Errorf("first seen %v, want %v in UTC", f.Flight.FirstSeen, t0)
		}
		none, err := s.ListFlights(context.Background(), repository.FlightFilter{CallsignPrefix: "A_B"}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(none) != 1 || none[0].Plan != nil || len(none[0].Sectors) != 0 {
			t.Errorf("A_B1: %+v, want no plan and no sector", none)
		}
	})
}

func TestListFlightsPagesNeitherRepeatNorSkip(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		ctx := context.Background()
		all, err := s.ListFlights(ctx, repository.FlightFilter{IncludeOffline: true}, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		var paged []int64
		var after *repository.Key
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatal("paging does not end")
			}
			page, err := s.ListFlights(ctx, repository.FlightFilter{IncludeOffline: true}, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, flightIDs(page)...)
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1].Flight
			after = &repository.Key{Callsign: last.Callsign, ID: last.ID}
		}
		if want := flightIDs(all); !slices.Equal(paged, want) {
			t.Errorf("pages of 3 give %v, one page %v", paged, want)
		}
	})
}

func TestFlightDetail(t *testing.T) {
	cases := []struct {
		name    string
		get     func(*repository.Store) (*domain.FlightDetail, error)
		wantID  int64
		visits  []int64
		track   int
		missing bool
	}{
		{name: "by id, online, with track", wantID: dlh4, visits: []int64{2, 3}, track: 2,
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.FlightByID(context.Background(), dlh4, allTrack)
			}},
		{name: "by id, without track", wantID: dlh4, visits: []int64{2, 3},
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.FlightByID(context.Background(), dlh4, noTrack)
			}},
		{name: "by id, offline", wantID: aal1, visits: []int64{4}, track: 1,
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.FlightByID(context.Background(), aal1, allTrack)
			}},
		{name: "unknown id", missing: true, get: func(s *repository.Store) (*domain.FlightDetail, error) {
			return s.FlightByID(context.Background(), 999, noTrack)
		}},
		{name: "by callsign, any case", wantID: baw123, visits: []int64{1},
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.OnlineFlightByCallsign(context.Background(), "baw123", noTrack)
			}},
		{name: "by callsign, ghost: latest logon", wantID: ual7b, visits: []int64{},
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.OnlineFlightByCallsign(context.Background(), "UAL7", noTrack)
			}},
		{name: "by callsign, offline is not found", missing: true,
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.OnlineFlightByCallsign(context.Background(), "AAL1", noTrack)
			}},
		{name: "by callsign, prefix is not enough", missing: true,
			get: func(s *repository.Store) (*domain.FlightDetail, error) {
				return s.OnlineFlightByCallsign(context.Background(), "BAW", noTrack)
			}},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				d, err := tc.get(s)
				if tc.missing {
					if !errors.Is(err, repository.ErrNotFound) {
						t.Fatalf("got %v, %v; want ErrNotFound", d, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if d.Flight.ID != tc.wantID {
					t.Errorf("flight %d, want %d", d.Flight.ID, tc.wantID)
				}
				visits := make([]int64, 0, len(d.Visits))
				for _, v := range d.Visits {
					visits = append(visits, v.ID)
				}
				if !slices.Equal(visits, tc.visits) {
					t.Errorf("visits %v, want %v", visits, tc.visits)
				}
				if len(d.Track) != tc.track {
					t.Errorf("track of %d positions, want %d", len(d.Track), tc.track)
				}
				for i := 1; i < len(d.Track); i++ {
					if !d.Track[i-1].ObservedAt.Before(d.Track[i].ObservedAt) {
						t.Errorf("track not in time order: %v", d.Track)
					}
				}
			})
		}
		d, err := s.FlightByID(context.Background(), aal1, noTrack)
		if err != nil {
			t.Fatal(err)
		}
		v := d.Visits[0]
		if v.Exit == nil || !v.Exit.At.Equal(t0.Add(15*time.Second)) || v.Exit.Reason != domain.ExitDisconnected {
			t.Errorf("closed visit %+v, want exited at t0+15s, disconnected", v)
		}
		if d.Flight.DisconnectedAt == nil || d.Flight.DisconnectedAt.Location() != time.UTC {
			t.Errorf("disconnected_at %v, want a UTC time", d.Flight.DisconnectedAt)
		}
	})
}

func TestSectorOccupancy(t *testing.T) {
	cases := []struct {
		sector    string
		occupants []int64 // flight ids
		staffing  []string
	}{
		{"EGTT", []int64{baw123, dlh4}, []string{"EGTT_1_CTR", "EGTT_CTR"}},
		{"EGTT_S", []int64{dlh4}, []string{"EGTT_S_CTR"}},
		{"EGTT_N", nil, nil},
		{"NOPE", nil, nil},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.sector, func(t *testing.T) {
				occ, err := s.SectorOccupancy(context.Background(), vs(tc.sector), nil, 100)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, o := range occ.Occupants {
					got = append(got, o.Flight.ID)
					if !o.EnteredAt.Equal(t0) || o.Flight.Callsign == "" {
						t.Errorf("occupant %+v: want entered at t0 with its flight", o)
					}
				}
				if !slices.Equal(got, tc.occupants) {
					t.Errorf("occupants %v, want %v", got, tc.occupants)
				}
				var staff []string
				for _, c := range occ.Staffing {
					staff = append(staff, c.Callsign)
				}
				if !slices.Equal(staff, tc.staffing) {
					t.Errorf("staffing %v, want %v", staff, tc.staffing)
				}
				if !occ.AsOf.Equal(t0.Add(15 * time.Second)) {
					t.Errorf("as of %v, want the last committed cycle's %v (not the failed one)", occ.AsOf, t0.Add(15*time.Second))
				}
			})
		}
	})
}

// Limits of a flight's detail in the tests of the whole fixture: everything, with or without the track.
var (
	allTrack = repository.DetailLimits{Visits: 100, TrackPoints: 100}
	noTrack  = repository.DetailLimits{Visits: 100}
)

// Pages of occupants follow each other in order, each with the full count.
func TestSectorOccupancyPages(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		var (
			got   []int64
			after *repository.OccupantKey
		)
		for page := 0; ; page++ {
			occ, err := s.SectorOccupancy(context.Background(), vs("EGTT"), after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if occ.Total != 2 {
				t.Errorf("page %d: total %d, want 2", page, occ.Total)
			}
			if len(occ.Occupants) == 0 {
				break
			}
			if page > 3 || len(occ.Occupants) > 1 {
				t.Fatalf("page %d has %d occupants; pages do not end", page, len(occ.Occupants))
			}
			o := occ.Occupants[0]
			got = append(got, o.Flight.ID)
			after = &repository.OccupantKey{EnteredAt: o.EnteredAt, Callsign: o.Flight.Callsign, VisitID: o.VisitID}
		}
		if want := []int64{baw123, dlh4}; !slices.Equal(got, want) {
			t.Errorf("occupants %v, want %v once each, in order", got, want)
		}
	})
}

// A bounded detail keeps the newest visits and positions and says it left some out.
func TestFlightDetailKeepsTheNewest(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		full, err := s.FlightByID(context.Background(), dlh4, allTrack)
		if err != nil {
			t.Fatal(err)
		}
		if full.VisitsTruncated || full.TrackTruncated || len(full.Visits) < 2 || len(full.Track) < 2 {
			t.Fatalf("full detail: %d visits (cut %v), %d points (cut %v); the fixture needs 2 of each",
				len(full.Visits), full.VisitsTruncated, len(full.Track), full.TrackTruncated)
		}
		cut, err := s.FlightByID(context.Background(), dlh4, repository.DetailLimits{Visits: 1, TrackPoints: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !cut.VisitsTruncated || !cut.TrackTruncated || len(cut.Visits) != 1 || len(cut.Track) != 1 {
			t.Fatalf("cut detail: %d visits (cut %v), %d points (cut %v); want 1 of each, cut",
				len(cut.Visits), cut.VisitsTruncated, len(cut.Track), cut.TrackTruncated)
		}
		if lastV, lastP := full.Visits[len(full.Visits)-1], full.Track[len(full.Track)-1]; cut.Visits[0].ID != lastV.ID ||
			!cut.Track[0].ObservedAt.Equal(lastP.ObservedAt) {
			t.Errorf("kept visit %d and point at %v, want the newest: visit %d, point at %v",
				cut.Visits[0].ID, cut.Track[0].ObservedAt, lastV.ID, lastP.ObservedAt)
		}
	})
}

func TestSectorStates(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		empty, err := s.SectorStates(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(empty) != 0 {
			t.Errorf("empty database: %v, want no sector", empty)
		}
		fixture(t, s)
		all, err := s.SectorStates(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		summary := func(m map[domain.SectorRef]domain.SectorState) string {
			var parts []string
			for ref, st := range m {
				id := ref.ID
				if ref.Set != testSet {
					id = ref.String()
				}
				var cs []string
				for _, c := range st.Staffing {
					cs = append(cs, c.Callsign)
				}
				parts = append(parts, fmt.Sprintf("%s:%d%v", id, st.Flights, cs))
			}
			slices.Sort(parts)
			return strings.Join(parts, " ")
		}
		if got, want := summary(all), "EGTT:2[EGTT_1_CTR EGTT_CTR] EGTT_S:1[EGTT_S_CTR] EGTT_X:0[AEGTT_CTR]"; got != want {
			t.Errorf("all sectors: %s, want %s", got, want)
		}
		some, err := s.SectorStates(ctx, vsAll("EGTT_S", "NOPE"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := summary(some), "EGTT_S:1[EGTT_S_CTR]"; got != want {
			t.Errorf("EGTT_S and NOPE: %s, want %s", got, want)
		}
		counts, err := s.SectorFlightCounts(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if counts[vs("EGTT")] != 2 || counts[vs("EGTT_S")] != 1 || len(counts) != 2 {
			t.Errorf("flight counts %v, want map[EGTT:2 EGTT_S:1]", counts)
		}
		none, err := s.SectorFlightCounts(ctx, []domain.SectorRef{})
		if err != nil || len(none) != 0 {
			t.Errorf("no ids: %v, %v; want nothing", none, err)
		}
	})
}

func TestListEvents(t *testing.T) {
	t1 := t0.Add(15 * time.Second)
	cases := []struct {
		name           string
		filter         repository.EventFilter
		after, through int64
		limit          int
		want           []int64
	}{
		{name: "all", limit: 100, want: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{name: "after", after: 6, limit: 100, want: []int64{7, 8, 9}},
		{name: "after and through", after: 2, through: 5, limit: 100, want: []int64{3, 4, 5}},
		{name: "limit", after: 2, limit: 2, want: []int64{3, 4}},
		{name: "sectors", filter: repository.EventFilter{Sectors: vsAll("EGTT_S", "EGTT_N")}, limit: 100, want: []int64{3, 6, 7, 9}},
		{name: "kinds", filter: repository.EventFilter{Kinds: []domain.EventKind{domain.EventExit, domain.EventUnstaffed}}, limit: 100,
			want: []int64{8, 9}},
		{name: "sector and kind", limit: 100, want: []int64{5},
			filter: repository.EventFilter{Sectors: vsAll("EGTT"), Kinds: []domain.EventKind{domain.EventStaffed}}},
		{name: "from", filter: repository.EventFilter{From: t1}, limit: 100, want: []int64{8, 9}},
		{name: "until", filter: repository.EventFilter{Until: t1}, limit: 100, want: []int64{1, 2, 3, 4, 5, 6, 7}},
		{name: "empty range", filter: repository.EventFilter{From: t0.Add(time.Second), Until: t1}, limit: 100, want: []int64{}},
		{name: "unknown sector", filter: repository.EventFilter{Sectors: vsAll("NOPE")}, limit: 100, want: []int64{}},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListEvents(context.Background(), tc.filter, tc.after, tc.through, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				seqs := make([]int64, len(got))
				for i, e := range got {
					seqs[i] = e.Sequence
				}
				if !slices.Equal(seqs, tc.want) {
					t.Errorf("sequences %v, want %v", seqs, tc.want)
				}
			})
		}
		exit, err := s.ListEvents(context.Background(), repository.EventFilter{Kinds: []domain.EventKind{domain.EventExit}}, 0, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		e := exit[0]
		if e.Exit == nil || e.Exit.Reason != domain.ExitDisconnected || e.Exit.DurationSeconds != 15 ||
			e.Flight == nil || e.Flight.VisitID != 4 || !e.OccurredAt.Equal(t1) || e.OccurredAt.Location() != time.UTC {
			t.Errorf("exit event %+v: want visit 4 closed at t0+15s (UTC) after 15 s, disconnected", e)
		}
	})
}

func TestSequenceBounds(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		check := func(what string, wantOldest, wantLatest int64) {
			t.Helper()
			oldest, latest, err := s.SequenceBounds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if oldest != wantOldest || latest != wantLatest {
				t.Errorf("%s: bounds %d..%d, want %d..%d", what, oldest, latest, wantOldest, wantLatest)
			}
		}
		check("empty", 0, 0)
		fixture(t, s)
		check("fixture", 1, 9)
		if _, err := s.SQL().ExecContext(ctx, "DELETE FROM sector_events WHERE sequence <= 4"); err != nil {
			t.Fatal(err)
		}
		check("after pruning 1..4", 5, 9)
	})
}

func TestReplayEventsTellsTheOldestRetained(t *testing.T) {
	cases := []struct {
		name           string
		prune          int64 // delete the events up to this sequence first
		after, through int64
		limit          int
		want           []int64
		oldest         int64
	}{
		{name: "nothing pruned", after: 3, through: 6, limit: 10, want: []int64{4, 5, 6}, oldest: 1},
		{name: "pruned below the checkpoint", prune: 2, after: 3, through: 9, limit: 2, want: []int64{4, 5}, oldest: 3},
		{name: "pruned past the checkpoint", prune: 5, after: 3, through: 9, limit: 10, want: []int64{6, 7, 8, 9}, oldest: 6},
		{name: "everything pruned", prune: 9, after: 0, through: 9, limit: 10, want: []int64{}, oldest: 0},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.SQL().ExecContext(context.Background(), "DELETE FROM sector_events WHERE sequence <= $1", tc.prune); err != nil {
					t.Fatal(err)
				}
				events, oldest, err := s.ReplayEvents(context.Background(), repository.EventFilter{}, tc.after, tc.through, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				seqs := make([]int64, len(events))
				for i, e := range events {
					seqs[i] = e.Sequence
				}
				if !slices.Equal(seqs, tc.want) || oldest != tc.oldest {
					t.Errorf("events %v, oldest %d; want %v, %d", seqs, oldest, tc.want, tc.oldest)
				}
			})
		}
	})
}

func TestListOnlineControllers(t *testing.T) {
	cases := []struct {
		name   string
		filter repository.ControllerFilter
		after  *repository.Key
		limit  int
		want   []string
	}{
		{name: "all online, by callsign", limit: 100,
			want: []string{"AEGTT_CTR", "EGLL_ATIS", "EGTT_1_CTR", "EGTT_CTR", "EGTT_S_CTR", "LON_OBS"}},
		{name: "kinds", filter: repository.ControllerFilter{Kinds: []domain.ControllerKind{domain.KindATIS, domain.KindObserver}}, limit: 100,
			want: []string{"EGLL_ATIS", "LON_OBS"}},
		{name: "prefix ignores case", filter: repository.ControllerFilter{CallsignPrefix: "egtt_"}, limit: 100,
			want: []string{"EGTT_1_CTR", "EGTT_CTR", "EGTT_S_CTR"}},
		{name: "sector is matched whole", filter: repository.ControllerFilter{Sector: vs("EGTT")}, limit: 100,
			want: []string{"EGTT_1_CTR", "EGTT_CTR"}},
		{name: "sector of a controller gone", filter: repository.ControllerFilter{Sector: vs("EGTT_N")}, limit: 100, want: []string{}},
		{name: "sector id with a wildcard is literal", filter: repository.ControllerFilter{Sector: vs("EGTT_")}, limit: 100, want: []string{}},
		{name: "after and limit", after: &repository.Key{Callsign: "EGLL_ATIS", ID: 4}, limit: 2, want: []string{"EGTT_1_CTR", "EGTT_CTR"}},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListOnlineControllers(context.Background(), tc.filter, tc.after, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				names := make([]string, len(got))
				for i, c := range got {
					names[i] = c.Callsign
				}
				if !slices.Equal(names, tc.want) {
					t.Errorf("controllers %v, want %v", names, tc.want)
				}
			})
		}
	})
}

func TestLastCommittedCycle(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		none, err := s.LastCommittedCycle(ctx)
		if err != nil || none != nil {
			t.Fatalf("empty database: %v, %v; want no cycle", none, err)
		}
		fixture(t, s)
		last, err := s.LastCommittedCycle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last == nil || last.ID != 2 || last.LastSequence == nil || *last.LastSequence != 9 || last.UpdateTimestamp.Location() != time.UTC {
			t.Errorf("last committed %+v, want cycle 2 (not the failed 3) ending at sequence 9, in UTC", last)
		}
	})
}

func TestQueriesRefuseBadLimitsAndCancelledContexts(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		fixture(t, s)
		ctx := context.Background()
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		cases := []struct {
			name string
			run  func(context.Context, int) error
		}{
			{"ListFlights", func(ctx context.Context, n int) error {
				_, err := s.ListFlights(ctx, repository.FlightFilter{}, nil, n)
				return err
			}},
			{"ListEvents", func(ctx context.Context, n int) error {
				_, err := s.ListEvents(ctx, repository.EventFilter{}, 0, 0, n)
				return err
			}},
			{"ListOnlineControllers", func(ctx context.Context, n int) error {
				_, err := s.ListOnlineControllers(ctx, repository.ControllerFilter{}, nil, n)
				return err
			}},
			{"FlightByID", func(ctx context.Context, _ int) error {
				_, err := s.FlightByID(ctx, baw123, allTrack)
				return err
			}},
			{"SectorOccupancy", func(ctx context.Context, _ int) error {
				_, err := s.SectorOccupancy(ctx, vs("EGTT"), nil, 100)
				return err
			}},
			{"ListReplayEvents", func(ctx context.Context, n int) error {
				_, _, err := s.ReplayEvents(ctx, repository.EventFilter{}, 0, 0, n)
				return err
			}},
			{"SequenceBounds", func(ctx context.Context, _ int) error {
				_, _, err := s.SequenceBounds(ctx)
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.run(cancelled, 10); !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled context: %v, want context.Canceled", err)
				}
				if strings.HasPrefix(tc.name, "List") {
					if err := tc.run(ctx, 0); err == nil {
						t.Error("limit 0 accepted")
					}
				}
			})
		}
	})
}

// testSet is the set of the fixtures' sectors.
const testSet = "vatspy"

func vs(id string) domain.SectorRef { return domain.SectorRef{Set: testSet, ID: id} }

func vsAll(ids ...string) []domain.SectorRef {
	if len(ids) == 0 {
		return nil
	}
	out := make([]domain.SectorRef, len(ids))
	for i, id := range ids {
		out[i] = vs(id)
	}
	return out
}

// A sector named without its set is any set's sector with exactly that id: ids may hold a "/", and the
// controllers' stored list must not let div/A/B pass for the id B. An id holding a space stays one token.
func TestControllersOfASectorOfAnySet(t *testing.T) {
	ts := t0
	ctl := func(id int64, callsign string, sectors ...domain.SectorRef) domain.Controller {
		return domain.Controller{ID: id, CID: 3000 + id, Callsign: callsign, LogonTime: ts.Add(-time.Hour),
			Kind: domain.KindController, Facility: 6, Frequency: "132.600", Sectors: sectors, LastUpdated: ts, FirstSeen: ts}
	}
	w := &domain.CycleWrite{
		Cycle: domain.Cycle{ID: 1, UpdateTimestamp: ts, FetchedAt: ts},
		Controllers: []domain.Controller{
			ctl(1, "AB_CTR", domain.SectorRef{Set: "div", ID: "A/B"}),
			ctl(2, "B_CTR", domain.SectorRef{Set: "div", ID: "B"}),
			ctl(3, "OTHER_B_CTR", domain.SectorRef{Set: "other", ID: "B"}, domain.SectorRef{Set: "other", ID: "C D"}),
		},
	}
	for _, tt := range []struct {
		sector domain.SectorRef
		want   string
	}{
		{domain.SectorRef{ID: "B"}, "B_CTR OTHER_B_CTR"},
		{domain.SectorRef{ID: "A/B"}, "AB_CTR"},
		{domain.SectorRef{Set: "div", ID: "B"}, "B_CTR"},
		{domain.SectorRef{ID: "C D"}, "OTHER_B_CTR"},
		{domain.SectorRef{ID: "C"}, ""},
	} {
		dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
			if _, err := s.WriteCycle(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			cs, err := s.ListOnlineControllers(context.Background(), repository.ControllerFilter{Sector: tt.sector}, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, c.Callsign)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("staffing %+v: %v, want %q", tt.sector, got, tt.want)
			}
		})
	}
}
