package repository_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// A history is a hand-built run of cycles, one every 15 s from t0: cycle k has the feed time at(k). It is
// written one cycle at a time as ingest would: each cycle opens the visits entered at it, closes those exited
// at it, and stores the controllers that connect or disconnect at it.

func at(k int) time.Time { return t0.Add(time.Duration(k) * 15 * time.Second) }

type histVisit struct {
	id, flight int64
	sector     string
	enter      int
	exit       int // -1: open
}

type histController struct {
	id       int64
	callsign string
	kind     domain.ControllerKind
	sectors  []string
	first    int
	gone     int // -1: online
}

type histPosition struct {
	k           int
	lat, lon    float64
	altitude    int
	groundspeed int
	coverage    domain.Coverage
	controller  int64
}

type history struct {
	cycles int // cycles 0..cycles-1 are written
	// unknown are the cycles without a transceivers file (coverage unknown); the others have one.
	unknown     map[int]bool
	flights     []int64
	lastSeen    map[int64]int // a flight's last cycle; default the last cycle
	visits      []histVisit
	controllers []histController
	positions   map[int64][]histPosition
}

func (h *history) write(t *testing.T, s *repository.Store) {
	t.Helper()
	ctx := context.Background()
	for k := range h.cycles {
		w := &domain.CycleWrite{Cycle: domain.Cycle{ID: int64(k + 1), UpdateTimestamp: at(k), FetchedAt: at(k), CoverageKnown: !h.unknown[k]}}
		for _, id := range h.flights {
			last := h.cycles - 1
			if l, ok := h.lastSeen[id]; ok {
				last = l
			}
			if k > last {
				continue
			}
			f := domain.Flight{ID: id, CID: 1000 + id, Callsign: fmt.Sprintf("F%d", id), LogonTime: at(0).Add(-time.Minute),
				LastUpdated: at(k), FirstSeen: at(0), LastSeen: at(k)}
			w.Flights = append(w.Flights, f)
		}
		for id, ps := range h.positions {
			for _, p := range ps {
				if p.k == k {
					w.Positions = append(w.Positions, domain.Position{FlightID: id, ObservedAt: at(k), Latitude: p.lat,
						Longitude: p.lon, Altitude: p.altitude, Groundspeed: p.groundspeed, Coverage: p.coverage, ControllerID: p.controller})
				}
			}
		}
		for _, v := range h.visits {
			dv := domain.Visit{ID: v.id, FlightID: v.flight, Sector: vs(v.sector), EnteredAt: at(v.enter)}
			if v.enter == k {
				w.OpenedVisits = append(w.OpenedVisits, dv)
			}
			if v.exit == k {
				dv.Exit = &domain.VisitExit{At: at(k), Reason: domain.ExitLeft, DurationSeconds: at(k).Sub(at(v.enter)).Seconds()}
				w.ClosedVisits = append(w.ClosedVisits, dv)
			}
		}
		for _, c := range h.controllers {
			if c.first != k && c.gone != k {
				continue
			}
			dc := domain.Controller{ID: c.id, CID: 2000 + c.id, Callsign: c.callsign, LogonTime: at(c.first).Add(-time.Minute),
				Kind: c.kind, Facility: 6, Sectors: vsAll(c.sectors...), LastUpdated: at(c.first), FirstSeen: at(c.first)}
			if c.gone == k {
				gone := at(k)
				dc.LastSeen, dc.DisconnectedAt = &gone, &gone
			}
			w.Controllers = append(w.Controllers, dc)
		}
		if _, err := s.WriteCycle(ctx, w); err != nil {
			t.Fatalf("cycle %d: %v", k, err)
		}
	}
}

// summaryHistory: flight 1 taxis, takes off, is repositioned (a jump), drops out for a cycle, and slows below
// the threshold; it visits A, then B and C entered in the same cycle (B still open).
func summaryHistory() *history {
	return &history{
		cycles:   8,
		flights:  []int64{1, 2},
		lastSeen: map[int64]int{2: 0},
		positions: map[int64][]histPosition{1: {
			{k: 0, lat: 50.00, altitude: 100, groundspeed: 0},
			{k: 1, lat: 50.00, altitude: 100, groundspeed: 40},    // 0-1: on the ground, 0 NM
			{k: 2, lat: 50.01, altitude: 500, groundspeed: 60},    // 1-2: 40 kt at one end: not airborne; 0.01°
			{k: 3, lat: 50.03, altitude: 2000, groundspeed: 50},   // 2-3: airborne (50 kt counts), 15 s; 0.02°
			{k: 4, lat: 55.00, altitude: 35000, groundspeed: 400}, // 3-4: airborne 15 s; 4.97° in 15 s: a jump
			// k 5: absent from the feed
			{k: 6, lat: 55.10, altitude: 36000, groundspeed: 420}, // 4-6: airborne 30 s; 0.1° in 30 s = 720 kt
			{k: 7, lat: 55.10, altitude: 35000, groundspeed: 30},  // 6-7: 30 kt at one end: not airborne
		}},
		visits: []histVisit{
			{id: 1, flight: 1, sector: "A", enter: 0, exit: 2},
			{id: 2, flight: 1, sector: "C", enter: 2, exit: 4},
			{id: 3, flight: 1, sector: "B", enter: 2, exit: -1},
		},
	}
}

// meridianNM is the length of an arc along a meridian: the exact great-circle distance, computed apart from
// the haversine.
func meridianNM(deg float64) float64 { return repository.EarthRadiusNM * deg * math.Pi / 180 }

func TestFlightSummary(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		summaryHistory().write(t, s)
		ctx := context.Background()
		r, err := s.FlightSummaryByID(ctx, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		tr := r.Track
		if tr.Positions != 7 || !tr.First.Equal(at(0)) || !tr.Last.Equal(at(7)) {
			t.Errorf("positions %d from %v to %v, want 7 from %v to %v", tr.Positions, tr.First, tr.Last, at(0), at(7))
		}
		if tr.Airborne != 60*time.Second {
			t.Errorf("airborne %v, want 1m0s (15 s + 15 s + 30 s: both ends at 50 kt or more)", tr.Airborne)
		}
		if want := meridianNM(0.01 + 0.02 + 0.10); math.Abs(tr.DistanceNM-want) > 1e-6 {
			t.Errorf("distance %.9f NM, want %.9f (the jump left out)", tr.DistanceNM, want)
		}
		if tr.SkippedSegments != 1 {
			t.Errorf("skipped %d segments, want the one jump", tr.SkippedSegments)
		}
		if tr.HighestAltitude == nil || *tr.HighestAltitude != 36000 {
			t.Errorf("highest altitude %v, want 36000", tr.HighestAltitude)
		}
		type visit struct {
			id     int64
			sector string
			dur    time.Duration
			open   bool
		}
		var got []visit
		for _, v := range r.Visits {
			got = append(got, visit{v.ID, v.Sector.ID, v.Duration, v.Exit == nil})
		}
		want := []visit{{1, "A", 30 * time.Second, false}, {3, "B", 75 * time.Second, true}, {2, "C", 30 * time.Second, false}}
		if !slices.Equal(got, want) || r.VisitsTruncated {
			t.Errorf("visits %v (truncated %v), want %v: by entered_at then sector, the open one up to last_seen", got,
				r.VisitsTruncated, want)
		}
		if !r.Flight.FirstSeen.Equal(at(0)) || !r.Flight.LastSeen.Equal(at(7)) || !slices.Equal(r.Sectors, vsAll("B")) {
			t.Errorf("flight seen %v..%v in %v, want %v..%v in [B]", r.Flight.FirstSeen, r.Flight.LastSeen, r.Sectors, at(0), at(7))
		}

		newest, err := s.FlightSummaryByID(ctx, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(newest.Visits) != 2 || newest.Visits[0].ID != 3 || newest.Visits[1].ID != 2 || !newest.VisitsTruncated {
			t.Errorf("2 newest visits: %+v (truncated %v), want B and C, truncated", newest.Visits, newest.VisitsTruncated)
		}

		none, err := s.FlightSummaryByID(ctx, 2, 100)
		if err != nil {
			t.Fatal(err)
		}
		if none.Track.Positions != 0 || none.Track.HighestAltitude != nil || none.Track.Airborne != 0 || len(none.Visits) != 0 {
			t.Errorf("flight without positions: %+v, want zero figures and no highest altitude", none.Track)
		}
		if _, err := s.FlightSummaryByID(ctx, 99, 100); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("unknown flight: %v, want ErrNotFound", err)
		}
	})
}

func TestTrackFiguresThresholds(t *testing.T) {
	// 1,000 kt for 15 s is 4.1667 NM: just under it is flown, just over it a jump.
	nm := 1000 * 15.0 / 3600
	deg := nm / meridianNM(1)
	for _, tc := range []struct {
		name    string
		deg     float64
		skipped int
	}{{"just under 1,000 kt", deg * 0.999, 0}, {"just over 1,000 kt", deg * 1.001, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
				h := &history{cycles: 2, flights: []int64{1}, positions: map[int64][]histPosition{1: {
					{k: 0, lat: 10, groundspeed: 49}, {k: 1, lat: 10 + tc.deg, groundspeed: 999},
				}}}
				h.write(t, s)
				r, err := s.FlightSummaryByID(context.Background(), 1, 10)
				if err != nil {
					t.Fatal(err)
				}
				if r.Track.SkippedSegments != tc.skipped || r.Track.Airborne != 0 {
					t.Errorf("skipped %d, airborne %v; want %d skipped and not airborne (49 kt)", r.Track.SkippedSegments,
						r.Track.Airborne, tc.skipped)
				}
			})
		})
	}
}

// sessionHistory: cycles 0..10, the last one committed at(10).
//
//	AAA_CTR (1) staffs A and B over [2, 8): disconnected at 8
//	BBB_CTR (2) staffs A over [0, 10): online (A is staffed by two controllers)
//	CCC_CTR (3) staffs C over [9, 10): online
//	DDD_CTR (4) staffs nothing over [1, 3)
//	EEE_OBS (5) is an observer: not a session
//	AAB_CTR (6) staffs B, seen in cycle 5 only: [5, 5), empty
//
// Visits: flight 10 in A [1, 4) and in B [3, 6) (in both at once over [3, 4)); 11 in A [0, 3); 12 in B from 7,
// open; 13 in A [8, 9) (after AAA_CTR's end); 14 in C [0, 9) (ends as CCC_CTR starts); 15 in C from 9, open;
// 16 in A [5, 7); 17 in B [3, 4).
func sessionHistory() *history {
	return &history{
		cycles:  11,
		flights: []int64{10, 11, 12, 13, 14, 15, 16, 17},
		visits: []histVisit{
			{id: 1, flight: 10, sector: "A", enter: 1, exit: 4}, {id: 2, flight: 10, sector: "B", enter: 3, exit: 6},
			{id: 3, flight: 11, sector: "A", enter: 0, exit: 3}, {id: 4, flight: 12, sector: "B", enter: 7, exit: -1},
			{id: 5, flight: 13, sector: "A", enter: 8, exit: 9}, {id: 6, flight: 14, sector: "C", enter: 0, exit: 9},
			{id: 7, flight: 15, sector: "C", enter: 9, exit: -1}, {id: 8, flight: 16, sector: "A", enter: 5, exit: 7},
			{id: 9, flight: 17, sector: "B", enter: 3, exit: 4},
		},
		controllers: []histController{
			{id: 1, callsign: "AAA_CTR", kind: domain.KindController, sectors: []string{"A", "B"}, first: 2, gone: 8},
			{id: 2, callsign: "BBB_CTR", kind: domain.KindController, sectors: []string{"A"}, first: 0, gone: -1},
			{id: 3, callsign: "CCC_CTR", kind: domain.KindController, sectors: []string{"C"}, first: 9, gone: -1},
			{id: 4, callsign: "DDD_CTR", kind: domain.KindController, first: 1, gone: 3},
			{id: 5, callsign: "EEE_OBS", kind: domain.KindObserver, first: 0, gone: -1},
			{id: 6, callsign: "AAB_CTR", kind: domain.KindController, sectors: []string{"B"}, first: 5, gone: 5},
		},
	}
}

type sessionFigures struct {
	callsign       string
	start, end     int
	online         bool
	distinct, peak int
	peakAt         int // -1: none
}

func figuresOf(ss []domain.ControllerSession) []sessionFigures {
	out := make([]sessionFigures, len(ss))
	for i, s := range ss {
		peakAt := -1
		if !s.PeakAt.IsZero() {
			peakAt = int(s.PeakAt.Sub(t0) / (15 * time.Second))
		}
		out[i] = sessionFigures{s.Controller.Callsign, int(s.Start.Sub(t0) / (15 * time.Second)),
			int(s.End.Sub(t0) / (15 * time.Second)), s.Online, s.DistinctFlights, s.PeakFlights, peakAt}
	}
	return out
}

func TestListControllerSessions(t *testing.T) {
	aaa := sessionFigures{"AAA_CTR", 2, 8, false, 5, 2, 2} // 10, 11, 12, 16, 17; two at once from 2 (10 and 11)
	aab := sessionFigures{"AAB_CTR", 5, 5, false, 0, 0, -1}
	bbb := sessionFigures{"BBB_CTR", 0, 10, true, 4, 2, 1} // 10, 11, 13, 16; 10 and 11 from 1
	ccc := sessionFigures{"CCC_CTR", 9, 10, true, 1, 1, 9} // 15; 14 left as it began
	ddd := sessionFigures{"DDD_CTR", 1, 3, false, 0, 0, -1}
	cases := []struct {
		name   string
		filter repository.SessionFilter
		after  *repository.Key
		limit  int
		want   []sessionFigures
	}{
		{name: "every session, by callsign", want: []sessionFigures{aaa, aab, bbb, ccc, ddd}},
		{name: "a range from a session's end takes it in, to a session's start leaves it out",
			filter: repository.SessionFilter{SeenFrom: at(8), SeenUntil: at(9)}, want: []sessionFigures{aaa, bbb}},
		{name: "range at the start", filter: repository.SessionFilter{SeenFrom: at(0), SeenUntil: at(2)}, want: []sessionFigures{bbb, ddd}},
		{name: "from the last committed cycle: the online ones",
			filter: repository.SessionFilter{SeenFrom: at(10)}, want: []sessionFigures{bbb, ccc}},
		{name: "after the last committed cycle: none", filter: repository.SessionFilter{SeenFrom: at(10).Add(time.Microsecond)}},
		{name: "until the first cycle: none", filter: repository.SessionFilter{SeenUntil: at(0)}},
		{name: "the zero-length session inside its range", filter: repository.SessionFilter{SeenFrom: at(5), SeenUntil: at(6), CallsignPrefix: "aab"},
			want: []sessionFigures{aab}},
		{name: "callsign prefix", filter: repository.SessionFilter{CallsignPrefix: "aa"}, want: []sessionFigures{aaa, aab}},
		{name: "sector A: two controllers", filter: repository.SessionFilter{Sector: vs("A")}, want: []sessionFigures{aaa, bbb}},
		{name: "sector B", filter: repository.SessionFilter{Sector: vs("B")}, want: []sessionFigures{aaa, aab}},
		{name: "sector A of any set", filter: repository.SessionFilter{Sector: domain.SectorRef{ID: "A"}}, want: []sessionFigures{aaa, bbb}},
		{name: "sector A of any set, pages of one", filter: repository.SessionFilter{Sector: domain.SectorRef{ID: "A"}}, limit: 1,
			after: &repository.Key{Callsign: "AAA_CTR", ID: 1}, want: []sessionFigures{bbb}},
		{name: "sector of another set", filter: repository.SessionFilter{Sector: domain.SectorRef{Set: "other", ID: "A"}}},
		{name: "limit", limit: 2, want: []sessionFigures{aaa, aab}},
		{name: "after a key", after: &repository.Key{Callsign: "BBB_CTR", ID: 2}, want: []sessionFigures{ccc, ddd}},
	}
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		sessionHistory().write(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				limit := cmpOr(tc.limit, 100)
				got, err := s.ListControllerSessions(context.Background(), tc.filter, tc.after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if figs := figuresOf(got); !slices.Equal(figs, tc.want) {
					t.Errorf("sessions\n%v\nwant\n%v", figs, tc.want)
				}
			})
		}
	})
}

func TestListControllerSessionsWithoutCycles(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		got, err := s.ListControllerSessions(context.Background(), repository.SessionFilter{}, nil, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("%v, %v; want no session", got, err)
		}
	})
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// bruteForce computes a session's figures the slow way: at every cycle of the session, the flights with a
// visit to one of its sectors open then.
func bruteForce(h *history, c histController, end int) (distinct, peak, peakAt int) {
	flights := map[int64]bool{}
	peakAt = -1
	for k := c.first; k < end; k++ {
		inside := map[int64]bool{}
		for _, v := range h.visits {
			if slices.Contains(c.sectors, v.sector) && v.enter <= k && (v.exit == -1 || k < v.exit) {
				inside[v.flight], flights[v.flight] = true, true
			}
		}
		if len(inside) > peak {
			peak, peakAt = len(inside), k
		}
	}
	return len(flights), peak, peakAt
}

// randomHistory is many flights wandering in and out of four sectors over 60 cycles, and controllers
// connecting and disconnecting, each staffing one to three of the sectors.
func randomHistory(seed uint64) *history {
	rng := rand.New(rand.NewPCG(seed, 1))
	const cycles = 60
	sectors := []string{"A", "B", "C", "D"}
	h := &history{cycles: cycles}
	var visitID int64
	for f := int64(1); f <= 40; f++ {
		h.flights = append(h.flights, f)
		for _, sec := range sectors {
			// Successive visits of the flight to the sector; the last one may stay open.
			k := rng.IntN(cycles)
			for k < cycles-1 && rng.IntN(3) > 0 {
				exit := k + 1 + rng.IntN(10)
				visitID++
				if exit >= cycles {
					h.visits = append(h.visits, histVisit{id: visitID, flight: f, sector: sec, enter: k, exit: -1})
					break
				}
				h.visits = append(h.visits, histVisit{id: visitID, flight: f, sector: sec, enter: k, exit: exit})
				k = exit + 1 + rng.IntN(5) // not re-entered in the cycle it left: that is one visit
			}
		}
	}
	for c := int64(1); c <= 25; c++ {
		first := rng.IntN(cycles)
		gone := -1
		if rng.IntN(3) > 0 {
			gone = first + rng.IntN(cycles-first)
		}
		picked := slices.Clone(sectors)
		rng.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
		picked = picked[:1+rng.IntN(3)]
		slices.Sort(picked)
		h.controllers = append(h.controllers, histController{id: c, callsign: fmt.Sprintf("C%02d_CTR", c),
			kind: domain.KindController, sectors: picked, first: first, gone: gone})
	}
	return h
}

func TestControllerSessionsMatchBruteForce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := randomHistory(seed)
			dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
				h.write(t, s)
				// Pages of seven: the figures must not depend on which sessions share a page.
				var got []domain.ControllerSession
				var after *repository.Key
				for {
					page, err := s.ListControllerSessions(context.Background(), repository.SessionFilter{}, after, 7)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
					if len(page) < 7 {
						break
					}
					last := page[len(page)-1].Controller
					after = &repository.Key{Callsign: last.Callsign, ID: last.ID}
				}
				if len(got) != len(h.controllers) {
					t.Fatalf("%d sessions, want %d", len(got), len(h.controllers))
				}
				peaks := 0
				for i, ss := range got {
					c := h.controllers[i] // callsigns C01_CTR.. sort as the ids
					end := h.cycles - 1
					if c.gone >= 0 {
						end = c.gone
					}
					distinct, peak, peakAt := bruteForce(h, c, end)
					g := figuresOf([]domain.ControllerSession{ss})[0]
					if g.distinct != distinct || g.peak != peak || g.peakAt != peakAt || g.start != c.first || g.end != end {
						t.Errorf("%s over [%d, %d) in %v: %+v, want distinct %d, peak %d at %d", c.callsign, c.first, end,
							c.sectors, g, distinct, peak, peakAt)
					}
					peaks += peak
				}
				if peaks == 0 {
					t.Fatal("the random history has no flight inside any session: it tests nothing")
				}
			})
		})
	}
}

// The coverage figures over a flight's segments, each counted with its first position's coverage, unknown ones
// in none of them, and its contacts: runs of positions working one controller, which a cycle of unknown
// coverage neither ends nor starts.
func TestFlightSummaryCoverage(t *testing.T) {
	const (
		unknown = domain.CoverageUnknown
		none    = domain.CoverageNone
		working = domain.CoverageWorking
	)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		//   k:  0 taxi (none), 1-3 airborne working 1 (2 unknown), 4 working 1 airborne, 5 none airborne,
		//       6 working 2 airborne, 7 working 2 slow (end of track)
		ps := []histPosition{
			{k: 0, groundspeed: 20, coverage: none},
			{k: 1, groundspeed: 200, coverage: working, controller: 1},
			{k: 2, groundspeed: 250, coverage: unknown},
			{k: 3, groundspeed: 300, coverage: working, controller: 1},
			{k: 4, groundspeed: 300, coverage: working, controller: 1},
			{k: 5, groundspeed: 300, coverage: none},
			{k: 6, groundspeed: 300, coverage: working, controller: 2},
			{k: 7, groundspeed: 30, coverage: working, controller: 2},
		}
		for i := range ps {
			ps[i].lat = 10 + float64(i)*0.01
		}
		h := &history{cycles: 8, flights: []int64{1}, positions: map[int64][]histPosition{1: ps},
			controllers: []histController{
				{id: 1, callsign: "AAA_CTR", kind: domain.KindController, first: 0, gone: -1},
				{id: 2, callsign: "BBB_APP", kind: domain.KindController, first: 0, gone: -1},
			}}
		h.write(t, s)
		r, err := s.FlightSummaryByID(context.Background(), 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		c := r.Track.Coverage
		if c == nil {
			t.Fatal("no coverage")
		}
		seg := 15 * time.Second
		// Segments 0-1 .. 6-7 with first positions k=0..6; k=2 unknown. Known: 6 segments; on frequency: k=1,3,4,6.
		// Airborne segments: both ends >= 50 kt: 1-2 .. 5-6 (k=1..5); known among them k=1,3,4,5; on: k=1,3,4.
		if c.Known != 6*seg || c.OnFrequency != 4*seg || c.AirborneKnown != 4*seg || c.AirborneOnFrequency != 3*seg {
			t.Errorf("known %v on %v airborne known %v airborne on %v; want 1m30s, 1m, 1m, 45s", c.Known, c.OnFrequency,
				c.AirborneKnown, c.AirborneOnFrequency)
		}
		want := []domain.ControllerContact{
			{Controller: domain.ControllerRef{ID: 1, CID: 2001, Callsign: "AAA_CTR"}, Start: at(1), End: at(5)},
			{Controller: domain.ControllerRef{ID: 2, CID: 2002, Callsign: "BBB_APP"}, Start: at(6), End: at(7)},
		}
		if len(c.Contacts) != len(want) {
			t.Fatalf("contacts %+v, want %+v", c.Contacts, want)
		}
		for i := range want {
			if g := c.Contacts[i]; g.Controller != want[i].Controller || !g.Start.Equal(want[i].Start) || !g.End.Equal(want[i].End) {
				t.Errorf("contact %d: %+v, want %+v", i, g, want[i])
			}
		}
	})
}

// A session's radio figures: the distinct flights that worked its controller, the most in one cycle, and the
// time-weighted mean over its cycles of known coverage (each held until the next cycle); a session without
// a cycle of known coverage has none.
func TestControllerSessionRadio(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		work := func(k int, ctl int64) histPosition {
			return histPosition{k: k, groundspeed: 300, coverage: domain.CoverageWorking, controller: ctl}
		}
		off := func(k int) histPosition { return histPosition{k: k, groundspeed: 300, coverage: domain.CoverageNone} }
		// AAA_CTR (1) online over [0, 9]: flight 1 works it in 0-3, flight 2 in 2-5 and 7; cycle 4 has no
		// transceivers (unknown). BBB_CTR (2) over [0, 6): nobody works it. CCC_CTR (3) over [8, 9], online, in
		// cycles of unknown coverage only.
		h := &history{cycles: 10, flights: []int64{1, 2}, unknown: map[int]bool{4: true, 8: true, 9: true},
			positions: map[int64][]histPosition{
				1: {work(0, 1), work(1, 1), work(2, 1), work(3, 1), off(5)},
				2: {off(0), work(2, 1), work(3, 1), {k: 4, groundspeed: 300}, work(5, 1), off(6), work(7, 1)},
			},
			controllers: []histController{
				{id: 1, callsign: "AAA_CTR", kind: domain.KindController, first: 0, gone: -1},
				{id: 2, callsign: "BBB_CTR", kind: domain.KindController, first: 0, gone: 6},
				{id: 3, callsign: "CCC_CTR", kind: domain.KindController, first: 8, gone: -1},
			}}
		h.write(t, s)
		ss, err := s.ListControllerSessions(context.Background(), repository.SessionFilter{}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		byCallsign := map[string]*domain.SessionRadio{}
		for i := range ss {
			byCallsign[ss[i].Controller.Callsign] = ss[i].Radio
		}
		seg := 15 * time.Second
		// AAA_CTR: known cycles 0-3, 5-7 held 15 s each, 9 (the last, online) held 0: 7 × 15 s. Worked: cycle 0 1,
		// 1 1, 2 2, 3 2, 5 1, 7 1: 8 flight-cycles.
		if r := byCallsign["AAA_CTR"]; r == nil || r.DistinctAircraft != 2 || r.PeakSimultaneous != 2 || !r.PeakAt.Equal(at(2)) ||
			r.Known != 7*seg || r.Worked != 8*seg {
			t.Errorf("AAA_CTR: %+v; want 2 aircraft, peak 2 at cycle 2, known 1m45s, worked 2m", r)
		}
		if r := byCallsign["BBB_CTR"]; r == nil || r.DistinctAircraft != 0 || r.PeakSimultaneous != 0 || r.Known != 6*seg-seg || r.Worked != 0 {
			t.Errorf("BBB_CTR: %+v; want nobody over 1m15s known (cycles 0-3 and 5)", r)
		}
		if r := byCallsign["CCC_CTR"]; r != nil {
			t.Errorf("CCC_CTR: %+v; want none (no cycle of known coverage)", r)
		}
	})
}
