package ingest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

const rollupGrace = time.Minute

// rollupTraffic is a seeded sequence of snapshots for the rollups: flights move between the bands, drop out of
// the feed for a cycle or two (within the grace period) and for longer (disconnected, and back with the same
// connection), controllers come and go; the cycles are mostly 15 s apart, now and then 30–45 s (a hold capped
// at 30 s), and now and then minutes (an outage), and cross several hour boundaries, some of them right after
// a disconnection.
func rollupTraffic(seed uint64, cycles int, start time.Time) []*feed.Snapshot {
	rng := rand.New(rand.NewPCG(seed, 7))
	// The radios have a stream of their own, so that the traffic is what it was before they were added.
	radios := rand.New(rand.NewPCG(seed, 11))
	logon := start.Add(-time.Hour)
	const pilots = 30
	lat := make([]float64, pilots)
	gone := make([]int, pilots) // cycles left missing
	logons := make([]time.Time, pilots)
	for j := range lat {
		lat[j] = 50 + rng.Float64()*4
		logons[j] = logon.Add(time.Duration(j) * time.Second)
	}
	ctlGone := make([]int, 5)
	gaps := []int{15, 15, 15, 15, 15, 15, 15, 14, 16, 30, 31, 45, 90, 400}
	ts := start
	out := make([]*feed.Snapshot, 0, cycles)
	for range cycles {
		snap := &feed.Snapshot{General: feed.General{Version: 3, UpdateTimestamp: ts}}
		for j := range pilots {
			if gone[j] > 0 {
				gone[j]--
				continue
			}
			switch r := rng.IntN(100); {
			case r < 4:
				gone[j] = 1 + rng.IntN(2) // within the grace period
				continue
			case r < 6:
				gone[j] = 6 + rng.IntN(10) // disconnected, then back
				continue
			case r < 7:
				gone[j] = 6 + rng.IntN(10) // disconnected for good: back as a new connection
				logons[j] = ts
				continue
			}
			lat[j] += (rng.Float64() - 0.5) * 0.6
			lat[j] = min(max(lat[j], 49.5), 54.5)
			snap.Pilots = append(snap.Pilots, feed.Pilot{
				CID: int64(1000 + j), Callsign: fmt.Sprintf("P%02d", j), Name: "Member", Server: "S",
				Latitude: lat[j], Longitude: float64(j), Altitude: 1000 * j, Groundspeed: 300, Heading: 90,
				Transponder: "2000", QNHInHg: 29.92, QNHMb: 1013,
				LogonTime: logons[j], LastUpdated: ts.Add(-time.Second),
			})
		}
		for j := range ctlGone {
			if ctlGone[j] > 0 {
				ctlGone[j]--
				continue
			}
			if rng.IntN(100) < 5 {
				ctlGone[j] = rng.IntN(20)
				continue
			}
			snap.Controllers = append(snap.Controllers, feed.Controller{
				CID: int64(2000 + j), Name: "Member", Callsign: fmt.Sprintf("B%d_CTR", 50+j), Frequency: "123.450",
				Facility: feed.FacilityCenter, Rating: 5, Server: "S", VisualRange: 300,
				LogonTime: logon.Add(time.Duration(j) * time.Minute), LastUpdated: ts.Add(-2 * time.Second),
			})
		}
		addTransceivers(snap, radios)
		out = append(out, snap)
		ts = ts.Add(time.Duration(gaps[rng.IntN(len(gaps))]) * time.Second)
	}
	return out
}

type refKey struct {
	hour   int64
	sector domain.SectorRef
}

// rollupReference computes every sector-hour by brute force from what the tracker held after each cycle and
// what each cycle wrote: holds second by second (the feed times are whole seconds), flights from the visits'
// final intervals.
type rollupReference struct {
	rows     map[refKey]*domain.SectorHour
	observed map[int64]int
	times    []time.Time
	counts   []map[domain.SectorRef]int
	staffed  []map[domain.SectorRef]bool
	// known says a cycle had a transceivers file, working how many of each sector's occupants were in contact.
	known   []bool
	working []map[domain.SectorRef]int
	// staffedFrom and knownFrom are the first cycles whose hold counts in the radio coverage figures.
	staffedFrom, knownFrom int
	visits                 map[int64]*domain.VisitSpan
}

func newRollupReference() *rollupReference {
	return &rollupReference{rows: map[refKey]*domain.SectorHour{}, observed: map[int64]int{}, visits: map[int64]*domain.VisitSpan{}}
}

func (ref *rollupReference) row(h int64, s domain.SectorRef) *domain.SectorHour {
	k := refKey{h, s}
	if ref.rows[k] == nil {
		ref.rows[k] = &domain.SectorHour{Sector: s, Hour: hourTime(h)}
	}
	return ref.rows[k]
}

// cycle records a committed cycle: the tracker after Apply and the cycle's write.
func (ref *rollupReference) cycle(t *Tracker, w *domain.CycleWrite) {
	counts, working := map[domain.SectorRef]int{}, map[domain.SectorRef]int{}
	for _, fs := range t.flights {
		for _, v := range fs.visits {
			counts[v.Sector]++
			if fs.row.WorkingControllerID != 0 {
				working[v.Sector]++
			}
		}
	}
	ref.known = append(ref.known, w.Cycle.CoverageKnown)
	ref.working = append(ref.working, working)
	staffed := map[domain.SectorRef]bool{}
	for s := range t.staffed {
		staffed[s] = true
	}
	ref.times = append(ref.times, t.last)
	ref.counts = append(ref.counts, counts)
	ref.staffed = append(ref.staffed, staffed)
	for _, e := range w.Events {
		switch e.Kind {
		case domain.EventEntry:
			ref.row(hourOf(e.OccurredAt), e.Sector).Entries++
		case domain.EventExit:
			ref.row(hourOf(e.OccurredAt), e.Sector).Exits++
		}
	}
	for _, v := range w.OpenedVisits {
		ref.visits[v.ID] = &domain.VisitSpan{FlightID: v.FlightID, Sector: v.Sector, EnteredAt: v.EnteredAt}
	}
	for _, v := range w.ClosedVisits {
		at := v.Exit.At
		ref.visits[v.ID].ExitedAt = &at
	}
}

func (ref *rollupReference) finish() {
	for k, at := range ref.times {
		h := hourOf(at)
		for s, n := range ref.counts[k] {
			r := ref.row(h, s)
			r.Peak = max(r.Peak, n)
		}
		if k+1 == len(ref.times) {
			break
		}
		hold := min(ref.times[k+1].Sub(at), domain.MaxHold)
		for sec := at; sec.Before(at.Add(hold)); sec = sec.Add(time.Second) {
			h := hourOf(sec)
			ref.observed[h]++
			for s, n := range ref.counts[k] {
				if n > 0 {
					r := ref.row(h, s)
					r.OccupancySeconds += float64(n)
					if ref.staffed[k][s] && k >= ref.staffedFrom {
						r.StaffedOccupancySeconds += float64(n)
					}
					if ref.known[k] && k >= ref.knownFrom {
						r.KnownOccupancySeconds += float64(n)
						r.OnFrequencySeconds += float64(ref.working[k][s])
					}
				}
			}
			for s := range ref.staffed[k] {
				ref.row(h, s).StaffedSeconds++
			}
		}
	}
	first, last := hourOf(ref.times[0]), hourOf(ref.times[len(ref.times)-1])
	for h := first; h <= last; h += hourSeconds {
		start, end := hourTime(h), hourTime(h+hourSeconds)
		seen := map[refKey]map[int64]bool{}
		for _, v := range ref.visits {
			if v.EnteredAt.Before(end) && (v.ExitedAt == nil || !v.ExitedAt.Before(start)) {
				k := refKey{h, v.Sector}
				if seen[k] == nil {
					seen[k] = map[int64]bool{}
				}
				seen[k][v.FlightID] = true
			}
		}
		for k, f := range seen {
			ref.row(k.hour, k.sector).Flights = len(f)
		}
	}
	for k, r := range ref.rows {
		r.ObservedSeconds = float64(ref.observed[k.hour])
	}
}

// compareDays checks the last row written of every sector-day against the distinct flights of the visits
// overlapping the day.
func (ref *rollupReference) compareDays(t *testing.T, written map[refKey]int) {
	t.Helper()
	want := map[refKey]int{}
	first, last := dayOf(ref.times[0]), dayOf(ref.times[len(ref.times)-1])
	for d := first; d <= last; d += daySeconds {
		start, end := hourTime(d), hourTime(d+daySeconds)
		seen := map[refKey]map[int64]bool{}
		for _, v := range ref.visits {
			if v.EnteredAt.Before(end) && (v.ExitedAt == nil || !v.ExitedAt.Before(start)) {
				k := refKey{d, v.Sector}
				if seen[k] == nil {
					seen[k] = map[int64]bool{}
				}
				seen[k][v.FlightID] = true
			}
		}
		for k, f := range seen {
			want[k] = len(f)
		}
	}
	if first == last {
		t.Fatal("the sequence does not cross a day boundary")
	}
	var diffs []string
	for k, n := range want {
		if written[k] != n {
			diffs = append(diffs, fmt.Sprintf("%s %s: %d flights, want %d", k.sector, hourTime(k.hour).Format(time.DateOnly), written[k], n))
		}
	}
	for k, n := range written {
		if _, ok := want[k]; !ok && n != 0 {
			diffs = append(diffs, fmt.Sprintf("%s %s: %d flights, want none", k.sector, hourTime(k.hour).Format(time.DateOnly), n))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Fatalf("%d sector-days differ from the visits:\n%s", len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "\n"))
	}
}

func storedDays(t *testing.T, store *repository.Store) map[refKey]int {
	t.Helper()
	days, err := store.SectorDays(context.Background(), bandSet, nil, time.Time{}, time.Now().AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	out := map[refKey]int{}
	for _, d := range days {
		out[refKey{dayOf(d.Day), d.Sector}] = d.Flights
	}
	return out
}

// compare checks the last row written of every sector-hour against the reference.
func (ref *rollupReference) compare(t *testing.T, written map[refKey]domain.SectorHour) {
	t.Helper()
	var diffs []string
	keys := map[refKey]bool{}
	for k := range ref.rows {
		keys[k] = true
	}
	for k := range written {
		keys[k] = true
	}
	for _, k := range keysOf(keys, nil) {
		want, got := ref.rows[k], written[k]
		if want == nil {
			want = &domain.SectorHour{Sector: k.sector, Hour: hourTime(k.hour), ObservedSeconds: float64(ref.observed[k.hour])}
		}
		if _, ok := written[k]; !ok {
			got = domain.SectorHour{Sector: k.sector, Hour: hourTime(k.hour), ObservedSeconds: want.ObservedSeconds}
		}
		// What a row accrues is how it is stored, not a figure of the hour.
		got.Occupants, got.Staffed, got.Working, got.CoverageKnown = 0, false, 0, false
		if !reflect.DeepEqual(got, *want) {
			diffs = append(diffs, fmt.Sprintf("%s %s:\n  got  %+v\n  want %+v", k.sector, hourTime(k.hour).Format(time.DateTime), got, *want))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d of %d sector-hours differ from the brute-force reference:\n%s", len(diffs), len(ref.rows),
			strings.Join(diffs[:min(len(diffs), 10)], "\n"))
	}
}

// addTransceivers gives one snapshot in five no transceivers file (coverage unknown) and the others one: each
// controller an antenna over the middle of its band, every pilot a radio on the controllers' common frequency
// (the nearest antenna in range wins), on UNICOM, or none. Pilots spread over 30 degrees of longitude, so some
// on frequency are out of range.
func addTransceivers(snap *feed.Snapshot, rng *rand.Rand) {
	if rng.IntN(5) == 0 {
		return
	}
	tr := &feed.Transceivers{}
	for _, c := range snap.Controllers {
		band := float64(c.Callsign[1]-'0')*10 + float64(c.Callsign[2]-'0')
		tr.Stations = append(tr.Stations, feed.Station{Callsign: c.Callsign, Radios: []feed.Radio{
			{FrequencyHz: 123450000, Latitude: band + 0.5, Longitude: 15, HeightAGLm: 30}}})
	}
	for _, p := range snap.Pilots {
		var hz int64
		switch r := rng.IntN(10); {
		case r < 6:
			hz = 123450000
		case r < 8:
			hz = 122800000 + int64(1+rng.IntN(12))
		default:
			continue // no radio
		}
		tr.Stations = append(tr.Stations, feed.Station{Callsign: p.Callsign, Radios: []feed.Radio{
			{FrequencyHz: hz, Latitude: p.Latitude, Longitude: p.Longitude, HeightAGLm: float64(p.Altitude) * 0.3048}}})
	}
	snap.Transceivers = tr
}

// TestRollupsMatchBruteForce runs seeded sequences through a tracker in memory, keeping the last row written of
// each sector-hour (the upsert keeps it too), and compares them with the brute-force reference: hold capping,
// the split at hour boundaries, distinct flights, peak, entries and exits.
func TestRollupsMatchBruteForce(t *testing.T) {
	dayGhosts := 0
	t.Cleanup(func() {
		if !t.Failed() && dayGhosts == 0 {
			t.Error("no sequence disconnected a flight across midnight: the days' removal is untested")
		}
	})
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			snaps := rollupTraffic(seed, 700, time.Date(2026, 3, 1, 22, 51, 0, 0, time.UTC))
			tr := NewTracker(nil, rollupGrace)
			ref := newRollupReference()
			written := map[refKey]domain.SectorHour{}
			days := map[refKey]int{}
			observed := map[int64]float64{}
			var capped, crossed, removedGhosts, rows, occupied int
			for i, snap := range snaps {
				plan := tr.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
				again := tr.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
				if !reflect.DeepEqual(sortedHours(plan.Write.SectorHours), sortedHours(again.Write.SectorHours)) {
					t.Fatalf("cycle %d: Diff is not repeatable", i)
				}
				for _, h := range plan.Write.SectorHours {
					written[refKey{hourOf(h.Hour), h.Sector}] = h
				}
				for _, o := range plan.Write.ObservedHours {
					observed[hourOf(o.Hour)] = o.Seconds
				}
				for _, d := range plan.Write.SectorDays {
					days[refKey{dayOf(d.Day), d.Sector}] = d.Flights
				}
				rows += len(plan.Write.SectorHours)
				occupied += len(tr.rollups.counts)
				for _, v := range plan.Write.ClosedVisits {
					if v.Exit.Reason == domain.ExitDisconnected && hourOf(v.Exit.At) != hourOf(plan.timestamp) {
						removedGhosts++
					}
					if v.Exit.Reason == domain.ExitDisconnected && dayOf(v.Exit.At) != dayOf(plan.timestamp) {
						dayGhosts++
					}
				}
				if i > 0 {
					prev := tr.last
					if plan.timestamp.Sub(prev) > domain.MaxHold {
						capped++
					}
					if hourOf(prev) != hourOf(plan.timestamp) {
						crossed++
					}
				}
				tr.Apply(plan)
				ref.cycle(tr, &plan.Write)
			}
			ref.finish()
			// The stored rows accrue: read, they are advanced to their hour's observed time.
			for k, h := range written {
				written[k] = h.Advance(observed[k.hour])
			}
			ref.compare(t, written)
			ref.compareDays(t, days)
			if capped == 0 || crossed < 2 || len(written) < 50 {
				t.Fatalf("the sequence capped %d holds, crossed %d hours, wrote %d sector-hours: too little", capped, crossed, len(written))
			}
			// Rows accrue rather than being rewritten: fewer rows written than there were occupied sectors.
			if rows >= occupied {
				t.Fatalf("%d rows written for %d occupied sector-cycles: the rows are rewritten as they accrue", rows, occupied)
			}
			t.Logf("%d sector-hours, %d capped holds, %d hour crossings, %d exits dated in an earlier hour; %d rows written for %d occupied sector-cycles",
				len(written), capped, crossed, removedGhosts, rows, occupied)
		})
	}
}

// TestRollupsSurviveRestarts writes a sequence cycle by cycle and, before every cycle, rebuilds a tracker from a
// second database written by restarted trackers only: each cycle must write the same sector-hours as the
// uninterrupted tracker, and both databases end with the same rows, equal to the brute-force reference.
func TestRollupsSurviveRestarts(t *testing.T) {
	snaps := rollupTraffic(3, 320, time.Date(2026, 3, 1, 23, 11, 0, 0, time.UTC))
	ctx := context.Background()
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		restarted := dbtest.Open(t, store.Dialect(), repository.Pool{})
		mem := NewTracker(nil, rollupGrace)
		ref := newRollupReference()
		for i, snap := range snaps {
			plan := mem.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
			if _, err := store.WriteCycle(ctx, &plan.Write); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			mem.Apply(plan)
			ref.cycle(mem, &plan.Write)

			fresh := reload(t, restarted, rollupGrace)
			again := fresh.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
			if !reflect.DeepEqual(sortedHours(plan.Write.SectorHours), sortedHours(again.Write.SectorHours)) {
				t.Fatalf("cycle %d (%s) after a restart writes other sector-hours than without one:\n%s", i,
					plan.timestamp.Format(time.TimeOnly), hoursDiff(plan.Write.SectorHours, again.Write.SectorHours))
			}
			if _, err := restarted.WriteCycle(ctx, &again.Write); err != nil {
				t.Fatalf("cycle %d after a restart: %v", i, err)
			}
		}
		ref.finish()
		a, b := storedHours(t, store), storedHours(t, restarted)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("the databases hold other sector hours")
		}
		ref.compare(t, a)
		ref.compareDays(t, storedDays(t, store))
		ref.compareDays(t, storedDays(t, restarted))
	})
}

// TestRollupsContinueOnADatabaseFromVersion9 writes half a sequence, migrates the database down to version 9
// (whose rows hold totals as of the hour's observed time and accrue nothing, as that version wrote them) and up
// again, and continues with a tracker loaded from it: the stored hours read the same after the round trip, the
// first cycle after it rewrites the current hour's occupied rows with what they accrue, and the database ends
// equal to the brute-force reference.
func TestRollupsContinueOnADatabaseFromVersion9(t *testing.T) {
	const before = 9 // the last version whose sector-hours did not accrue
	snaps := rollupTraffic(4, 260, time.Date(2026, 3, 1, 23, 21, 0, 0, time.UTC))
	ctx := context.Background()
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			store, cfg, p := dbtest.OpenAt(t, d, before)
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			tr := NewTracker(nil, rollupGrace)
			ref := newRollupReference()
			cut := len(snaps) / 2
			// The rows' radio coverage (migration 00013) does not survive the trip down to version 9: the
			// reference counts it as a database upgraded at the cut does. The last cycle before the cut has its
			// hold credited after the upgrade: to the time inside while staffed (the tracker reloads the
			// staffing), not to the time of known coverage (its cycle record lost whether it had transceivers).
			ref.staffedFrom, ref.knownFrom = cut-1, cut
			for i, snap := range snaps[:cut] {
				plan := tr.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
				if _, err := store.WriteCycle(ctx, &plan.Write); err != nil {
					t.Fatalf("cycle %d: %v", i, err)
				}
				tr.Apply(plan)
				ref.cycle(tr, &plan.Write)
			}
			accruing := storedHours(t, store)
			if _, err := p.DownTo(ctx, before); err != nil {
				t.Fatalf("migrate down to %d: %v", before, err)
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			upgraded, err := repository.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = upgraded.Close() })
			if _, err := upgraded.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			again := storedHours(t, upgraded)
			for k, h := range again {
				if h.Occupants != 0 || h.Staffed {
					t.Fatalf("%v after the round trip accrues %d occupants, staffed %v: version 9's rows accrue nothing", k, h.Occupants, h.Staffed)
				}
				a := accruing[k]
				a.Occupants, a.Staffed = 0, false
				a.StaffedOccupancySeconds, a.KnownOccupancySeconds, a.OnFrequencySeconds, a.Working, a.CoverageKnown = 0, 0, 0, 0, false
				if h != a {
					t.Fatalf("%v reads other figures after the round trip:\n  before %+v\n  after  %+v", k, accruing[k], h)
				}
			}
			if len(again) != len(accruing) {
				t.Fatalf("%d sector-hours after the round trip, %d before", len(again), len(accruing))
			}
			tr = reload(t, upgraded, rollupGrace)
			for i, snap := range snaps[cut:] {
				plan := tr.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
				if i == 0 {
					occupied := 0
					for _, h := range plan.Write.SectorHours {
						if h.Occupants > 0 {
							occupied++
						}
					}
					if occupied == 0 {
						t.Fatal("the first cycle after the upgrade rewrote no occupied sector-hour")
					}
				}
				if _, err := upgraded.WriteCycle(ctx, &plan.Write); err != nil {
					t.Fatalf("cycle %d: %v", cut+i, err)
				}
				tr.Apply(plan)
				ref.cycle(tr, &plan.Write)
			}
			ref.finish()
			ref.compare(t, storedHours(t, upgraded))
			ref.compareDays(t, storedDays(t, upgraded))
		})
	}
}

func sortedHours(h []domain.SectorHour) []domain.SectorHour {
	out := slices.Clone(h)
	slices.SortFunc(out, func(a, b domain.SectorHour) int {
		return cmp.Or(a.Hour.Compare(b.Hour), a.Sector.Compare(b.Sector))
	})
	return out
}

func hoursDiff(a, b []domain.SectorHour) string {
	var out []string
	for _, h := range a {
		if !slices.Contains(b, h) {
			out = append(out, fmt.Sprintf("only without: %+v", h))
		}
	}
	for _, h := range b {
		if !slices.Contains(a, h) {
			out = append(out, fmt.Sprintf("only after:   %+v", h))
		}
	}
	return strings.Join(out[:min(len(out), 12)], "\n")
}

func storedHours(t *testing.T, store *repository.Store) map[refKey]domain.SectorHour {
	t.Helper()
	st, _, err := store.SectorHours(context.Background(), nil, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[refKey]domain.SectorHour{}
	for _, h := range st {
		out[refKey{hourOf(h.Hour), h.Sector}] = h
	}
	return out
}
