package server

import (
	"context"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/repository"
)

// The stats fixture: hours of EGTT and EGTT_S around the fixture's cycles (t0 is 2024-02-20 23:00, a Tuesday),
// written by a cycle of their own. The fixture's visits of EGTT (BAW123 and DLH4 open since t0, AAL1 from t0
// to t1) give the days' distinct flights.
var (
	h22 = time.Date(2024, 2, 20, 22, 0, 0, 0, time.UTC)
	h23 = h22.Add(time.Hour)
	h00 = h23.Add(time.Hour)
	d20 = h22.Truncate(24 * time.Hour)
)

func writeStatsFixture(t *testing.T, s *repository.Store) {
	t.Helper()
	egtt, south := testRef("EGTT"), testRef("EGTT_S")
	w := &domain.CycleWrite{
		Cycle: domain.Cycle{ID: 100, UpdateTimestamp: h00.Add(30 * time.Minute), FetchedAt: h00.Add(30 * time.Minute)},
		SectorHours: []domain.SectorHour{
			{Sector: egtt, Hour: h22, Entries: 5, Exits: 4, Flights: 6, Peak: 3, OccupancySeconds: 9000, StaffedSeconds: 1800, ObservedSeconds: 3600},
			{Sector: egtt, Hour: h23, Entries: 4, Exits: 1, Flights: 4, Peak: 3, OccupancySeconds: 7200, StaffedSeconds: 3600, ObservedSeconds: 3600},
			// Written when 1,200 s of the hour had been observed, with 2 flights inside: read, it has accrued to 1,800 s.
			{Sector: egtt, Hour: h00, Flights: 2, Peak: 2, OccupancySeconds: 2400, ObservedSeconds: 1200, Occupants: 2},
			// Written at 3,000 s, staffed from then on.
			{Sector: south, Hour: h23, Entries: 1, Flights: 1, Peak: 1, OccupancySeconds: 3000, StaffedSeconds: 3000, ObservedSeconds: 3000, Staffed: true},
		},
		ObservedHours: []domain.ObservedHour{{Hour: h22, Seconds: 3600}, {Hour: h23, Seconds: 3600}, {Hour: h00, Seconds: 1800}},
		// As the visits of the fixture have them: EGTT BAW123, DLH4 and AAL1 on the 20th, BAW123 and DLH4 (still
		// inside) on the 21st; EGTT_S DLH4 on the 20th.
		SectorDays: []domain.SectorDay{{Sector: egtt, Day: d20, Flights: 3}, {Sector: egtt, Day: d20.Add(24 * time.Hour), Flights: 2},
			{Sector: south, Day: d20, Flights: 1}},
	}
	if _, err := s.WriteCycle(context.Background(), w); err != nil {
		t.Fatalf("stats fixture: %v", err)
	}
}

func statsRange(from, until time.Time) *vatsectorv1.TimeRange {
	return &vatsectorv1.TimeRange{Start: timestamppb.New(from), End: timestamppb.New(until)}
}

type wantStats struct {
	start                         time.Time
	entries, exits, flights, peak int32
	mean, staffed, observed       float64
}

func checkStats(t *testing.T, what string, got *vatsectorv1.TrafficStats, want wantStats, length time.Duration) {
	t.Helper()
	span := length.Seconds()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !got.GetStart().AsTime().Equal(want.start) || !got.GetEnd().AsTime().Equal(want.start.Add(length)) ||
		got.GetEntries() != want.entries || got.GetExits() != want.exits || got.GetFlights() != want.flights ||
		got.GetPeak() != want.peak || !near(got.GetMeanOccupancy(), want.mean/span) ||
		!near(got.GetStaffedFraction(), want.staffed/span) || !near(got.GetObservedFraction(), want.observed/span) {
		t.Errorf("%s: got %v, want %+v (seconds over %v)", what, got, want, length)
	}
}

func TestGetSectorTraffic(t *testing.T) {
	egtt := "sets/test/sectors/EGTT"
	hour, dayBucket := vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR, vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_DAY
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		writeStatsFixture(t, e.store)
		c := vatsectorv1.NewStatsServiceClient(e.conn)
		ctx := context.Background()
		t.Run("hours, rounded out, zeros where nothing was stored", func(t *testing.T) {
			resp, err := c.GetSectorTraffic(ctx, &vatsectorv1.GetSectorTrafficRequest{Name: "EGTT",
				Range: statsRange(h22.Add(-30*time.Minute), h00.Add(10*time.Minute))})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetName() != egtt || resp.GetBucket() != hour || len(resp.GetBuckets()) != 4 {
				t.Fatalf("got %s, %v and %d buckets, want %s, HOUR and 4", resp.GetName(), resp.GetBucket(), len(resp.GetBuckets()), egtt)
			}
			b := resp.GetBuckets()
			checkStats(t, "21:00", b[0], wantStats{start: h22.Add(-time.Hour)}, time.Hour)
			checkStats(t, "22:00", b[1], wantStats{start: h22, entries: 5, exits: 4, flights: 6, peak: 3, mean: 9000, staffed: 1800, observed: 3600}, time.Hour)
			checkStats(t, "23:00", b[2], wantStats{start: h23, entries: 4, exits: 1, flights: 4, peak: 3, mean: 7200, staffed: 3600, observed: 3600}, time.Hour)
			checkStats(t, "00:00", b[3], wantStats{start: h00, flights: 2, peak: 2, mean: 3600, observed: 1800}, time.Hour)
		})
		t.Run("days from the hours, flights from the sector days", func(t *testing.T) {
			resp, err := c.GetSectorTraffic(ctx, &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Bucket: dayBucket,
				Range: statsRange(d20, d20.Add(48*time.Hour))})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetBucket() != dayBucket || len(resp.GetBuckets()) != 2 {
				t.Fatalf("got %v and %d buckets, want DAY and 2", resp.GetBucket(), len(resp.GetBuckets()))
			}
			// BAW123, DLH4 and AAL1 were inside on the 20th; BAW123 and DLH4 still are (open visits).
			checkStats(t, "the 20th", resp.GetBuckets()[0], wantStats{start: d20, entries: 9, exits: 5, flights: 3, peak: 3,
				mean: 16200, staffed: 5400, observed: 7200}, 24*time.Hour)
			checkStats(t, "the 21st", resp.GetBuckets()[1], wantStats{start: d20.Add(24 * time.Hour), flights: 2, peak: 2,
				mean: 3600, observed: 1800}, 24*time.Hour)
		})
		for _, tc := range []struct {
			name string
			req  *vatsectorv1.GetSectorTrafficRequest
			code codes.Code
			msg  []string
		}{
			{"no sector", &vatsectorv1.GetSectorTrafficRequest{Range: statsRange(h22, h00)}, codes.InvalidArgument, []string{"name is required"}},
			{"no range", &vatsectorv1.GetSectorTrafficRequest{Name: egtt}, codes.InvalidArgument, []string{"range needs both start and end"}},
			{"open range", &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Range: &vatsectorv1.TimeRange{Start: timestamppb.New(h22)}},
				codes.InvalidArgument, []string{"range needs both"}},
			{"backwards", &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Range: statsRange(h00, h22)}, codes.InvalidArgument, []string{"before"}},
			{"too many hours", &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Range: statsRange(h22, h22.Add(94*24*time.Hour))},
				codes.InvalidArgument, []string{"at most 93 days for HOUR buckets"}},
			{"too many days", &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Bucket: dayBucket, Range: statsRange(h22, h22.Add(367*24*time.Hour))},
				codes.InvalidArgument, []string{"at most 366 days for DAY buckets"}},
			{"unknown bucket", &vatsectorv1.GetSectorTrafficRequest{Name: egtt, Bucket: 7, Range: statsRange(h22, h00)},
				codes.InvalidArgument, []string{"bucket"}},
			{"malformed name", &vatsectorv1.GetSectorTrafficRequest{Name: "sets/test", Range: statsRange(h22, h00)},
				codes.InvalidArgument, []string{"not a sector resource name"}},
			{"bare id no set has", &vatsectorv1.GetSectorTrafficRequest{Name: "ZZZZ", Range: statsRange(h22, h00)},
				codes.NotFound, []string{`"ZZZZ"`, "sets/{set}/sectors/{id}"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.GetSectorTraffic(ctx, tc.req)
				wantStatus(t, err, tc.code, tc.msg...)
			})
		}
	})
}

func TestListSectorTraffic(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		writeStatsFixture(t, e.store)
		c := vatsectorv1.NewStatsServiceClient(e.conn)
		ctx := context.Background()
		rng := statsRange(h22, h00.Add(time.Hour))
		// EGTT: BAW123, DLH4, AAL1; EGTT_S: DLH4; LFFF: nothing. Ordered by flights, then name.
		want := []string{"sets/test/sectors/EGTT", "sets/test/sectors/EGTT_S", "sets/test/sectors/LFFF"}
		for _, size := range []int32{0, 1, 2} {
			req := &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Range: rng, PageSize: size}
			var got []string
			pages := 0
			for {
				resp, err := c.ListSectorTraffic(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, s := range resp.GetSectors() {
					got = append(got, s.GetName())
					switch s.GetName() {
					case want[0]:
						checkStats(t, "EGTT", s.GetTraffic(), wantStats{start: h22, entries: 9, exits: 5, flights: 3, peak: 3,
							mean: 19800, staffed: 5400, observed: 9000}, 3*time.Hour)
					case want[1]:
						checkStats(t, "EGTT_S", s.GetTraffic(), wantStats{start: h22, entries: 1, flights: 1, peak: 1,
							mean: 3000, staffed: 3600, observed: 9000}, 3*time.Hour)
					case want[2]:
						// No stored hour at all, and every hour of the range observed all the same.
						checkStats(t, "LFFF", s.GetTraffic(), wantStats{start: h22, observed: 9000}, 3*time.Hour)
					}
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || pages > 5 {
					break
				}
			}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("page size %d: %v, want %v", size, got, want)
			}
		}
		resp, err := c.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Names: []string{"LFFF", "sets/test/sectors/EGTT_S"}, Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		if s := resp.GetSectors(); len(s) != 2 || s[0].GetName() != want[1] || s[0].GetTraffic().GetFlights() != 1 || s[1].GetName() != want[2] {
			t.Errorf("a list: %v", s)
		}
		// One whole UTC day: the flights are the sector days'.
		whole, err := c.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Range: statsRange(d20, d20.Add(24*time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if s := whole.GetSectors(); len(s) != 3 || s[0].GetName() != want[0] || s[0].GetTraffic().GetFlights() != 3 ||
			s[1].GetName() != want[1] || s[1].GetTraffic().GetFlights() != 1 || s[2].GetTraffic().GetFlights() != 0 {
			t.Errorf("one whole day: %v", s)
		}
		first, err := c.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Range: rng, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			req  *vatsectorv1.ListSectorTrafficRequest
			code codes.Code
			msg  string
		}{
			{"neither set nor names", &vatsectorv1.ListSectorTrafficRequest{Range: rng}, codes.InvalidArgument, "set one of set"},
			{"both", &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Names: []string{"EGTT"}, Range: rng}, codes.InvalidArgument, "set one of set"},
			{"too long", &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Range: statsRange(h22, h22.Add(32*24*time.Hour))},
				codes.InvalidArgument, "at most 31 days"},
			{"token of another range", &vatsectorv1.ListSectorTrafficRequest{Set: testSet, Range: statsRange(h22, h00),
				PageToken: first.GetNextPageToken()}, codes.InvalidArgument, "page_token"},
			{"unknown set", &vatsectorv1.ListSectorTrafficRequest{Set: "nope", Range: rng}, codes.NotFound, `"nope"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.ListSectorTraffic(ctx, tc.req)
				wantStatus(t, err, tc.code, tc.msg)
			})
		}
	})
}

func TestGetStaffingProfile(t *testing.T) {
	now := func() time.Time { return h00.Add(20 * time.Minute) }
	eachEnv(t, envOptions{now: now}, func(t *testing.T, e *env) {
		writeStatsFixture(t, e.store)
		c := vatsectorv1.NewStatsServiceClient(e.conn)
		ctx := context.Background()
		resp, err := c.GetStaffingProfile(ctx, &vatsectorv1.GetStaffingProfileRequest{Name: "EGTT", Weeks: 1})
		if err != nil {
			t.Fatal(err)
		}
		end := h00.Add(time.Hour)
		if resp.GetName() != "sets/test/sectors/EGTT" || !resp.GetWindow().GetEnd().AsTime().Equal(end) ||
			!resp.GetWindow().GetStart().AsTime().Equal(end.Add(-7*24*time.Hour)) || len(resp.GetCells()) != 168 {
			t.Fatalf("got %s, window %v and %d cells", resp.GetName(), resp.GetWindow(), len(resp.GetCells()))
		}
		tue22 := resp.GetCells()[int(time.Tuesday)*24+22]
		if tue22.GetWeekday() != 2 || tue22.GetHour() != 22 || tue22.GetHours() != 1 || tue22.GetStaffedFraction() != 0.5 ||
			tue22.GetMeanOccupancy() != 2.5 || tue22.GetPeakOccupancy() != 3 || tue22.GetObservedFraction() != 1 {
			t.Errorf("Tuesday 22:00: %v", tue22)
		}
		wed0 := resp.GetCells()[int(time.Wednesday)*24]
		if wed0.GetHours() != 1 || wed0.GetMeanOccupancy() != 1 || wed0.GetStaffedFraction() != 0 || wed0.GetObservedFraction() != 0.5 {
			t.Errorf("Wednesday 00:00: %v", wed0)
		}
		if mon := resp.GetCells()[int(time.Monday)*24+5]; mon.GetHours() != 1 || mon.GetMeanOccupancy() != 0 {
			t.Errorf("Monday 05:00: %v", mon)
		}
		def, err := c.GetStaffingProfile(ctx, &vatsectorv1.GetStaffingProfileRequest{Name: "sets/test/sectors/EGTT"})
		if err != nil {
			t.Fatal(err)
		}
		if cell := def.GetCells()[int(time.Tuesday)*24+22]; cell.GetHours() != 8 || cell.GetStaffedFraction() != 0.5/8 {
			t.Errorf("8 weeks by default: Tuesday 22:00 %v", cell)
		}
		for _, tc := range []struct {
			name string
			req  *vatsectorv1.GetStaffingProfileRequest
			code codes.Code
			msg  string
		}{
			{"no sector", &vatsectorv1.GetStaffingProfileRequest{}, codes.InvalidArgument, "name is required"},
			{"too many weeks", &vatsectorv1.GetStaffingProfileRequest{Name: "EGTT", Weeks: 27}, codes.InvalidArgument, "between 1 and 26"},
			{"negative", &vatsectorv1.GetStaffingProfileRequest{Name: "EGTT", Weeks: -1}, codes.InvalidArgument, "weeks"},
			{"bare id no set has", &vatsectorv1.GetStaffingProfileRequest{Name: "ZZZZ"}, codes.NotFound, `"ZZZZ"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.GetStaffingProfile(ctx, tc.req)
				wantStatus(t, err, tc.code, tc.msg)
			})
		}
	})
}

// The coverage shares of a bucket: offered (flight-time inside while staffed), known (with a transceivers
// file) and used (of the known, in contact), from hours whose figures accrue like the others.
func TestSectorTrafficCoverage(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[0], envOptions{})
	lfff := testRef("LFFF")
	w := &domain.CycleWrite{
		Cycle: domain.Cycle{ID: 100, UpdateTimestamp: h00, FetchedAt: h00},
		SectorHours: []domain.SectorHour{
			{Sector: lfff, Hour: h22, OccupancySeconds: 3600, StaffedOccupancySeconds: 1800, KnownOccupancySeconds: 2400,
				OnFrequencySeconds: 600, ObservedSeconds: 3600},
			// Written half way through the hour, then accruing 2 flights inside, staffed, 1 of them in contact.
			{Sector: lfff, Hour: h23, OccupancySeconds: 1800, KnownOccupancySeconds: 1800, OnFrequencySeconds: 900,
				ObservedSeconds: 1800, Occupants: 2, Staffed: true, Working: 1, CoverageKnown: true},
		},
		ObservedHours: []domain.ObservedHour{{Hour: h22, Seconds: 3600}, {Hour: h23, Seconds: 3600}},
	}
	if _, err := e.store.WriteCycle(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	resp, err := vatsectorv1.NewStatsServiceClient(e.conn).GetSectorTraffic(context.Background(), &vatsectorv1.GetSectorTrafficRequest{
		Name: "sets/test/sectors/LFFF", Range: statsRange(h22, h00), Bucket: vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]float64{{0.5, 2.0 / 3, 0.25}, {3600.0 / 5400, 1, 0.5}}
	if len(resp.GetBuckets()) != len(want) {
		t.Fatalf("%d buckets", len(resp.GetBuckets()))
	}
	for i, b := range resp.GetBuckets() {
		got := [3]float64{b.GetCoverageOffered(), b.GetCoverageKnown(), b.GetCoverageUsed()}
		for j := range got {
			if math.Abs(got[j]-want[i][j]) > 1e-9 {
				t.Errorf("bucket %d: offered, known, used %v, want %v", i, got, want[i])
				break
			}
		}
	}
}
