package ingest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// bandSectors puts a position in sector "B<n>" of set "bands" for each whole degree of latitude, and lets a
// controller whose callsign starts with "B<n>_" staff that sector: enough to move flights between sectors and
// staff them.
type bandSectors struct{}

const bandSet = "bands"

func band(id string) domain.SectorRef { return domain.SectorRef{Set: bandSet, ID: id} }

func (bandSectors) Locate(lat, _ float64, _ int, dst []domain.SectorRef) []domain.SectorRef {
	return append(dst, band(fmt.Sprintf("B%d", int(lat))))
}

func (bandSectors) Staff(stations []Station) [][]domain.SectorRef {
	out := make([][]domain.SectorRef, len(stations))
	for i, st := range stations {
		if st.Facility < feed.FacilityApproach {
			continue
		}
		if prefix, _, ok := strings.Cut(st.Callsign, "_"); ok && strings.HasPrefix(prefix, "B") {
			out[i] = []domain.SectorRef{band(prefix)}
		}
	}
	return out
}

func (bandSectors) Has(ref domain.SectorRef) bool {
	return ref.Set == bandSet && strings.HasPrefix(ref.ID, "B")
}

func (bandSectors) Empty() bool { return false }

func (bandSectors) SetOf(id string) (string, bool) { return bandSet, strings.HasPrefix(id, "B") }

// churn is a sequence of snapshots in which connections do everything a restart must not disturb: flights and
// controllers go missing within the grace period and come back, go missing past it and are disconnected, and a
// disconnected flight comes back with the same connection key (a departed flight returning) and its plan.
func churn(cycles int, start time.Time) []*feed.Snapshot {
	logon := start.Add(-time.Hour)
	rev := 1
	out := make([]*feed.Snapshot, 0, cycles)
	for i := range cycles {
		ts := start.Add(time.Duration(i) * 15 * time.Second)
		snap := &feed.Snapshot{General: feed.General{Version: 3, UpdateTimestamp: ts}}
		for j := range 12 {
			switch {
			case j == 3 && i%9 >= 6: // missing 3 cycles in 9: within a grace of 4
			case j == 5 && i >= 8 && i < 20: // missing 12 cycles: disconnected, then returns
			case j == 7 && i >= 25: // gone for good
			default:
				p := feed.Pilot{
					CID: int64(1000 + j), Callsign: fmt.Sprintf("P%02d", j), Name: "Member", Server: "S",
					Latitude: 50 + float64((i+j)%6)/2, Longitude: float64(j), Altitude: 1000 * j,
					Groundspeed: 300, Heading: 90, Transponder: "2000", QNHInHg: 29.92, QNHMb: 1013,
					LogonTime: logon.Add(time.Duration(j) * time.Second), LastUpdated: ts.Add(-time.Second),
				}
				if j%2 == 0 {
					if j == 4 && i == 10 {
						rev++ // an amended plan
					}
					r := rev
					p.FlightPlan = &feed.FlightPlan{FlightRules: "I", Aircraft: "A320", Departure: "EGLL",
						Arrival: "LFPG", Route: "DCT", RevisionID: &r}
				}
				if j == 5 {
					p.FlightPlan = &feed.FlightPlan{FlightRules: "V", Aircraft: "C172", Departure: "EGKB", Arrival: "EGKB"}
				}
				snap.Pilots = append(snap.Pilots, p)
			}
		}
		for j, c := range []struct {
			callsign string
			present  bool
		}{
			{"B50_CTR", true},
			{"B51_APP", i%7 < 5},              // missing 2 cycles in 7: within the grace period
			{"B52_CTR", i < 10 || i >= 22},    // disconnected after the grace period, then a new... same key
			{"B53_CTR", i < 15},               // disconnects for good
			{"B54_OBS", i%5 != 0 && i < 30},   // an observer, missing now and then
			{"B50_ATIS", i%6 != 1 || i >= 33}, // ATIS missing now and then
		} {
			if !c.present {
				continue
			}
			ctl := feed.Controller{CID: int64(2000 + j), Name: "Member", Callsign: c.callsign, Frequency: "123.450",
				Facility: feed.FacilityCenter, Rating: 5, Server: "S", VisualRange: 300,
				LogonTime: logon.Add(time.Duration(j) * time.Minute), LastUpdated: ts.Add(-2 * time.Second)}
			switch {
			case strings.HasSuffix(c.callsign, "_OBS"):
				ctl.Facility, ctl.Frequency = feed.FacilityObserver, feed.NoFrequency
			case strings.HasSuffix(c.callsign, "_ATIS"):
				code := string(rune('A' + i/10))
				ctl.Facility, ctl.ATISCode, ctl.TextATIS = feed.FacilityTower, &code, []string{"INFO " + code}
			}
			if strings.HasSuffix(c.callsign, "_ATIS") {
				snap.ATIS = append(snap.ATIS, ctl)
			} else {
				snap.Controllers = append(snap.Controllers, ctl)
			}
		}
		out = append(out, snap)
	}
	return out
}

// TestStateLoadedBackIsTheStateInMemory writes a churning sequence cycle by cycle and, after every commit,
// loads the state back from the database into a new tracker: it must equal the tracker that computed the cycle,
// field by field. A second run reloads before every cycle (a restart at every cycle boundary) and must write
// exactly what the uninterrupted run wrote. Before controllers stored when they were last seen, a reload reset
// every missing controller's last-seen time to the last cycle, and a departed flight came back without its plan.
func TestStateLoadedBackIsTheStateInMemory(t *testing.T) {
	const grace = time.Minute // four cycles
	snaps := churn(40, time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC))
	ctx := context.Background()
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		restarted := dbtest.Open(t, store.Dialect(), repository.Pool{})
		mem := NewTracker(nil, grace)
		for i, snap := range snaps {
			plan := mem.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
			if _, err := store.WriteCycle(ctx, &plan.Write); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			mem.Apply(plan)

			loaded := reload(t, store, grace)
			if diff := trackerDiff(mem, loaded); diff != "" {
				t.Fatalf("after cycle %d (%s), the state loaded back differs from memory:\n%s", i,
					snap.General.UpdateTimestamp.Format(time.TimeOnly), diff)
			}

			fresh := reload(t, restarted, grace)
			again := fresh.Diff(snap, Classify(snap, bandSectors{}), bandSectors{})
			if diff := writeDiff(&plan.Write, &again.Write); diff != "" {
				t.Fatalf("cycle %d after a restart writes otherwise than without one:\n%s", i, diff)
			}
			if _, err := restarted.WriteCycle(ctx, &again.Write); err != nil {
				t.Fatalf("cycle %d after a restart: %v", i, err)
			}
		}
		// The sequence must have exercised what it is for.
		var disconnects, unstaffed, returned int
		for _, q := range []struct {
			n     *int
			query string
		}{
			{&disconnects, "SELECT COUNT(*) FROM controllers WHERE disconnected_at IS NOT NULL"},
			{&unstaffed, "SELECT COUNT(*) FROM sector_events WHERE kind = 'unstaffed'"},
			{&returned, "SELECT COUNT(*) FROM flights WHERE callsign = 'P05' AND disconnected_at IS NULL"},
		} {
			if err := store.SQL().QueryRowContext(ctx, q.query).Scan(q.n); err != nil {
				t.Fatal(err)
			}
		}
		if disconnects < 2 || unstaffed < 2 || returned != 1 {
			t.Errorf("the sequence disconnected %d controllers, stored %d unstaffed events and brought P05 back %d "+
				"times: want at least 2, 2 and exactly 1", disconnects, unstaffed, returned)
		}
	})
}

func reload(t *testing.T, store *repository.Store, grace time.Duration) *Tracker {
	t.Helper()
	st, err := store.LoadState(context.Background(), departedRetention)
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(st, grace)
}

// trackerDiff describes how two trackers differ, or returns "" when they hold the same state. Empty and nil
// slices are the same state.
func trackerDiff(a, b *Tracker) string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !a.last.Equal(b.last) {
		add("last: %v vs %v", a.last, b.last)
	}
	if a.ids != b.ids {
		add("ids: %+v vs %+v", a.ids, b.ids)
	}
	flights := func(name string, x, y map[connKey]*flightState) {
		for _, k := range keysOf(x, y) {
			fx, fy := x[k], y[k]
			switch {
			case fx == nil || fy == nil:
				add("%s %v: present %v vs %v", name, k, fx != nil, fy != nil)
			case !reflect.DeepEqual(fx.row, fy.row):
				add("%s %v row:\n  %+v\n  %+v", name, k, fx.row, fy.row)
			case !reflect.DeepEqual(fx.plan, fy.plan):
				add("%s %v plan: %+v vs %+v", name, k, fx.plan, fy.plan)
			case !(len(fx.visits) == 0 && len(fy.visits) == 0) && !reflect.DeepEqual(fx.visits, fy.visits):
				add("%s %v visits: %+v vs %+v", name, k, fx.visits, fy.visits)
			}
		}
	}
	flights("flight", a.flights, b.flights)
	flights("departed", a.departed, b.departed)
	for _, k := range keysOf(a.controllers, b.controllers) {
		cx, cy := a.controllers[k], b.controllers[k]
		switch {
		case cx == nil || cy == nil:
			add("controller %v: present %v vs %v", k, cx != nil, cy != nil)
		case !reflect.DeepEqual(cx.row, cy.row):
			add("controller %v row:\n  %+v\n  %+v", k, cx.row, cy.row)
		case !cx.lastSeen.Equal(cy.lastSeen):
			add("controller %v last seen: %v vs %v", k, cx.lastSeen, cy.lastSeen)
		case !slices.Equal(cx.sectors, cy.sectors):
			add("controller %v sectors: %v vs %v", k, cx.sectors, cy.sectors)
		}
	}
	for _, id := range keysOf(a.staffed, b.staffed) {
		sx, sy := a.staffed[id], b.staffed[id]
		if (sx == nil) != (sy == nil) || (sx != nil && sx.row.ID != sy.row.ID) {
			add("sector %s staffed by %v vs %v", id, controllerID(sx), controllerID(sy))
		}
	}
	return strings.Join(out, "\n")
}

func controllerID(cs *controllerState) any {
	if cs == nil {
		return "nobody"
	}
	return cs.row.ID
}

// writeDiff compares two cycles' writes, leaving out the timings, which no two runs share.
func writeDiff(a, b *domain.CycleWrite) string {
	x, y := *a, *b
	x.Cycle, y.Cycle = domain.Cycle{}, domain.Cycle{}
	var out []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"flights", x.Flights, y.Flights}, {"flight plans", x.FlightPlans, y.FlightPlans},
		{"positions", x.Positions, y.Positions}, {"opened visits", x.OpenedVisits, y.OpenedVisits},
		{"closed visits", x.ClosedVisits, y.ClosedVisits}, {"events", x.Events, y.Events},
		{"controllers", x.Controllers, y.Controllers},
	} {
		if reflect.ValueOf(f.a).Len() == 0 && reflect.ValueOf(f.b).Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(f.a, f.b) {
			out = append(out, fmt.Sprintf("%s:\n  %+v\n  %+v", f.name, f.a, f.b))
		}
	}
	if a.Cycle.ID != b.Cycle.ID {
		out = append(out, fmt.Sprintf("cycle id %d vs %d", a.Cycle.ID, b.Cycle.ID))
	}
	return strings.Join(out, "\n")
}

func keysOf[K comparable, V any](a, b map[K]V) []K {
	seen := map[K]bool{}
	var keys []K
	for _, m := range []map[K]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(x, y K) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	return keys
}
