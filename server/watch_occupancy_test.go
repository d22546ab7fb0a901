package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// occLevel is a sector's state as an occupancy client holds it.
type occLevel struct {
	flights int32
	staffed bool
}

func (l occLevel) String() string {
	if l.staffed {
		return fmt.Sprintf("%d staffed", l.flights)
	}
	return fmt.Sprint(l.flights)
}

// occClient is what a client of an occupancy stream does: it replaces its state with each snapshot and applies
// each update, checking that every change starts where its state is.
type occClient struct {
	t      *testing.T
	s      vatsectorv1.SectorService_WatchSectorOccupancyClient
	state  map[string]occLevel
	cycle  int64
	seq    int64
	resync int
}

func watchOccupancy(t *testing.T, e *env, req *vatsectorv1.WatchSectorOccupancyRequest) *occClient {
	t.Helper()
	s, err := e.sectorClient.WatchSectorOccupancy(streamCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return &occClient{t: t, s: s}
}

// next returns the next snapshot or update, applied; heartbeats are skipped.
func (c *occClient) next() *vatsectorv1.WatchSectorOccupancyResponse {
	c.t.Helper()
	for {
		m, err := c.s.Recv()
		if err != nil {
			c.t.Fatalf("occupancy stream: %v", err)
		}
		if m.GetHeartbeat() == nil {
			c.apply(m)
			return m
		}
	}
}

func (c *occClient) apply(m *vatsectorv1.WatchSectorOccupancyResponse) {
	c.t.Helper()
	if snap := m.GetSnapshot(); snap != nil {
		c.state = map[string]occLevel{}
		for _, s := range snap.GetSectors() {
			c.state[s.GetSector()] = occLevel{flights: s.GetFlightCount(), staffed: len(s.GetStaffedBy()) > 0}
		}
		c.cycle, c.seq = snap.GetCycleId(), snap.GetSequence()
		if snap.GetResync() {
			c.resync++
		}
		return
	}
	u := m.GetUpdate()
	if c.state == nil {
		c.t.Fatalf("update %v before any snapshot", u)
	}
	if len(u.GetChanges()) == 0 || u.GetCycleId() <= c.cycle || u.GetSequence() < c.seq {
		c.t.Fatalf("update of cycle %d (sequence %d) after cycle %d (sequence %d), with %d changes: want a later cycle, never empty",
			u.GetCycleId(), u.GetSequence(), c.cycle, c.seq, len(u.GetChanges()))
	}
	if !sort.SliceIsSorted(u.GetChanges(), func(i, j int) bool { return u.GetChanges()[i].GetSector() < u.GetChanges()[j].GetSector() }) {
		c.t.Errorf("changes of cycle %d are not ordered by sector", u.GetCycleId())
	}
	for _, ch := range u.GetChanges() {
		prev, had := c.state[ch.GetSector()]
		if had && prev.flights != ch.GetPreviousFlightCount() {
			c.t.Errorf("cycle %d: %s previous_flight_count %d, the client's state says %d", u.GetCycleId(), ch.GetSector(),
				ch.GetPreviousFlightCount(), prev.flights)
		}
		if ch.GetStaffingChanged() != (prev.staffed != ch.GetStaffed()) && had {
			c.t.Errorf("cycle %d: %s staffing_changed %v from staffed %v to %v", u.GetCycleId(), ch.GetSector(),
				ch.GetStaffingChanged(), prev.staffed, ch.GetStaffed())
		}
		next := occLevel{flights: ch.GetFlightCount(), staffed: ch.GetStaffed()}
		if ch.GetRemoved() && next == (occLevel{}) {
			delete(c.state, ch.GetSector())
		} else {
			c.state[ch.GetSector()] = next
		}
	}
	c.cycle, c.seq = u.GetCycleId(), u.GetSequence()
}

// summary is the state as "sector:level" in sector order, test sectors by id alone.
func (c *occClient) summary() string { return occSummary(c.state) }

func occSummary(m map[string]occLevel) string {
	var parts []string
	for s, l := range m {
		parts = append(parts, strings.TrimPrefix(s, "sets/test/sectors/")+":"+l.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// changeSummary is an update's changes as "sector:prev>new[+staffed|-unstaffed][ UP t][ DOWN t][ removed]".
func changeSummary(u *vatsectorv1.SectorOccupancyUpdate) string {
	var parts []string
	for _, ch := range u.GetChanges() {
		s := fmt.Sprintf("%s:%d>%d", strings.TrimPrefix(ch.GetSector(), "sets/test/sectors/"), ch.GetPreviousFlightCount(), ch.GetFlightCount())
		if ch.GetStaffingChanged() {
			if ch.GetStaffed() {
				s += "+" + ch.GetController().GetCallsign()
			} else {
				s += "-" + ch.GetController().GetCallsign()
			}
		}
		for _, x := range ch.GetCrossings() {
			s += fmt.Sprintf(" %s %d", strings.TrimPrefix(x.GetDirection().String(), "THRESHOLD_DIRECTION_"), x.GetThreshold())
		}
		if ch.GetRemoved() {
			s += " removed"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// storedSummary is the stored state of the loaded sectors (SectorStates), as occSummary puts it.
func storedSummary(t *testing.T, store *repository.Store, a *airspace.Airspace, match func(domain.SectorRef) bool) string {
	t.Helper()
	states, err := store.SectorStates(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]occLevel{}
	for _, s := range a.Sectors() {
		ref := domain.SectorRef{Set: s.Set, ID: s.ID}
		if match(ref) {
			st := states[ref]
			m[sectorName(ref)] = occLevel{flights: int32(st.Flights), staffed: len(st.Staffing) > 0}
		}
	}
	return occSummary(m)
}

func TestWatchSectorOccupancySnapshot(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{1, 2}})
		snap := c.next().GetSnapshot()
		if snap == nil {
			t.Fatal("the first message is not a snapshot")
		}
		if snap.GetSequence() != fixtureLastSeq || snap.GetCycleId() != 2 || !snap.GetFeedTime().AsTime().Equal(t1) || snap.GetResync() {
			t.Errorf("snapshot at sequence %d, cycle %d, feed time %v, resync %v; want %d, 2, %v, false", snap.GetSequence(),
				snap.GetCycleId(), snap.GetFeedTime().AsTime(), snap.GetResync(), fixtureLastSeq, t1)
		}
		// Every loaded sector, by set then id, with the controllers staffing it by callsign: what ListSectors says.
		list, err := e.sectorClient.ListSectors(context.Background(), &vatsectorv1.ListSectorsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, s := range snap.GetSectors() {
			got = append(got, sectorNameSummary(&vatsectorv1.Sector{ResourceName: s.GetSector(), FlightCount: s.GetFlightCount(), StaffedBy: s.GetStaffedBy()}))
		}
		for _, s := range list.GetSectors() {
			want = append(want, sectorNameSummary(s))
		}
		if !slices.Equal(got, want) {
			t.Errorf("snapshot %v, want the stored state %v", got, want)
		}
		if want := "sets/test/sectors/EGTT:2[EGTT_1_CTR EGTT_CTR]"; len(got) != 3 || got[0] != want {
			t.Errorf("snapshot %v, want 3 sectors, first %s", got, want)
		}
		if c.summary() != storedSummary(t, e.store, testAirspace(t).Airspace(), func(domain.SectorRef) bool { return true }) {
			t.Errorf("client state %s", c.summary())
		}
	})
}

// occEvent builds the events of the tests' cycles.
type occEvents struct {
	cycle, seq int64
	events     []domain.Event
}

func (b *occEvents) add(kind domain.EventKind, sector domain.SectorRef, n int) *occEvents {
	for range n {
		b.seq++
		e := domain.Event{Sequence: b.seq, Kind: kind, Sector: sector, CycleID: b.cycle}
		switch kind {
		case domain.EventEntry, domain.EventExit:
			e.Flight = &domain.FlightRef{ID: baw9, CID: 1000 + baw9, Callsign: "BAW9", VisitID: 1000 + b.seq}
			e.Position = &domain.Point{Latitude: 48, Longitude: 2, Altitude: 30000}
			if kind == domain.EventExit {
				e.Exit = &domain.VisitEnd{Reason: domain.ExitLeft, DurationSeconds: 15}
			}
		default:
			e.Controller = &domain.ControllerRef{ID: 50 + b.seq, CID: 3000 + b.seq, Callsign: sector.ID + "_CTR"}
		}
		b.events = append(b.events, e)
	}
	return b
}

// write is the cycle of the events added since the last write: cycle ids after the fixture's (3 failed).
func (b *occEvents) write() *domain.CycleWrite {
	b.cycle++
	at := t1.Add(time.Duration(b.cycle-2) * 15 * time.Second)
	w := &domain.CycleWrite{Events: b.events, Cycle: domain.Cycle{ID: b.cycle, UpdateTimestamp: at, FetchedAt: at, EventsWritten: len(b.events)}}
	for i := range w.Events {
		w.Events[i].CycleID, w.Events[i].OccurredAt = b.cycle, at
	}
	if len(b.events) > 0 {
		w.Cycle.FirstSequence, w.Cycle.LastSequence = ptr(b.events[0].Sequence), ptr(b.seq)
	}
	b.events = nil
	return w
}

func newOccEvents() *occEvents { return &occEvents{cycle: 3, seq: fixtureLastSeq} }

// Thresholds 2, 4, 6 on LFFF: two crossed at once each way, reaching a threshold exactly (UP), falling back to
// exactly one (nothing), and a staffing change without a count change.
func TestWatchSectorOccupancyThresholds(t *testing.T) {
	lfff, egtt := testRef("LFFF"), testRef("EGTT")
	steps := []struct {
		build func(b *occEvents)
		want  string // the update's changes; empty: the cycle sends nothing
	}{
		{func(b *occEvents) { b.add(domain.EventEntry, lfff, 5) }, "LFFF:0>5 UP 2 UP 4"},
		{func(b *occEvents) { b.add(domain.EventExit, lfff, 1) }, "LFFF:5>4"},
		{func(b *occEvents) { b.add(domain.EventExit, lfff, 1) }, "LFFF:4>3 DOWN 4"},
		{func(b *occEvents) { b.add(domain.EventEntry, lfff, 3) }, "LFFF:3>6 UP 4 UP 6"},
		{func(b *occEvents) { b.add(domain.EventEntry, lfff, 1).add(domain.EventExit, lfff, 1) }, ""},
		{func(b *occEvents) { b.add(domain.EventStaffed, lfff, 1).add(domain.EventExit, egtt, 1) }, "EGTT:2>1 DOWN 2, LFFF:6>6+LFFF_CTR"},
		{func(b *occEvents) { b.add(domain.EventExit, lfff, 6).add(domain.EventUnstaffed, lfff, 1) }, "LFFF:6>0-LFFF_CTR DOWN 6 DOWN 4 DOWN 2"},
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{2, 4, 6}})
		c.next()
		waitSubscribers(t, e.hub, 1)
		b := newOccEvents()
		for i, step := range steps {
			step.build(b)
			commit(t, e.store, e.hub, b.write())
			if step.want == "" {
				continue
			}
			u := c.next().GetUpdate()
			if got := changeSummary(u); got != step.want || u.GetCycleId() != b.cycle || u.GetSequence() != b.seq {
				t.Errorf("step %d: cycle %d sequence %d: %s; want cycle %d sequence %d: %s", i, u.GetCycleId(), u.GetSequence(), got,
					b.cycle, b.seq, step.want)
			}
		}
	})
}

func TestThresholdCrossings(t *testing.T) {
	ts := []int{10, 20, 30}
	cases := []struct {
		prev, next int
		want       string
	}{
		{0, 9, ""}, {9, 10, "UP10"}, {10, 9, "DOWN10"}, {11, 10, ""}, {10, 10, ""}, {5, 25, "UP10 UP20"},
		{30, 0, "DOWN30 DOWN20 DOWN10"}, {31, 20, "DOWN30"}, {20, 31, "UP30"}, {19, 20, "UP20"}, {100, 31, ""},
	}
	for _, tc := range cases {
		var got []string
		for _, x := range crossings(ts, tc.prev, tc.next) {
			dir := "DOWN"
			if x.up {
				dir = "UP"
			}
			got = append(got, fmt.Sprint(dir, x.threshold))
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%d -> %d: %q, want %q", tc.prev, tc.next, s, tc.want)
		}
	}
}

// Random cycles of entries, exits and staffing changes (a sector not loaded among them), checked against a
// brute-force reference recomputed from every stored event: each update carries exactly the loaded sectors
// whose count or staffing the cycle changed, with the right counts and crossings.
func TestWatchSectorOccupancyMatchesEvents(t *testing.T) {
	sectors := []domain.SectorRef{testRef("EGTT"), testRef("EGTT_S"), testRef("LFFF"), testRef("EGTT_N")}
	thresholds := []int32{1, 3, 4}
	eachEnv(t, envOptions{hub: hub.Config{Buffer: 1000}}, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: thresholds})
		c.next()
		waitSubscribers(t, e.hub, 1)
		loaded := testAirspace(t).Airspace()
		// The reference: every sector's count and staffing from all the events stored up to a sequence.
		reference := func() map[domain.SectorRef]occLevel {
			events, err := e.store.ListEvents(ctx, repository.EventFilter{}, 0, 0, 100000)
			if err != nil {
				t.Fatal(err)
			}
			out := map[domain.SectorRef]occLevel{}
			for _, ev := range events {
				l := out[ev.Sector]
				switch ev.Kind {
				case domain.EventEntry:
					l.flights++
				case domain.EventExit:
					l.flights--
				case domain.EventStaffed:
					l.staffed = true
				case domain.EventUnstaffed:
					l.staffed = false
				}
				out[ev.Sector] = l
			}
			return out
		}
		before := reference()
		rng := rand.New(rand.NewPCG(7, 11))
		b := newOccEvents()
		type expected struct {
			cycle   int64
			changes string
		}
		var want []expected
		for range 60 {
			cur := maps(before)
			for range rng.IntN(7) {
				ref := sectors[rng.IntN(len(sectors))]
				l := cur[ref]
				switch k := rng.IntN(10); {
				case k < 5:
					b.add(domain.EventEntry, ref, 1)
					l.flights++
				case k < 8 && l.flights > 0:
					b.add(domain.EventExit, ref, 1)
					l.flights--
				case k >= 8 && !l.staffed:
					b.add(domain.EventStaffed, ref, 1)
					l.staffed = true
				case k >= 8:
					b.add(domain.EventUnstaffed, ref, 1)
					l.staffed = false
				}
				cur[ref] = l
			}
			w := b.write()
			commit(t, e.store, e.hub, w)
			after := reference()
			var parts []string
			for _, ref := range sectors {
				p, n := before[ref], after[ref]
				if _, ok := loaded.Sector(ref.Set, ref.ID); !ok || p == n {
					continue
				}
				s := fmt.Sprintf("%s:%d>%d", ref.ID, p.flights, n.flights)
				if p.staffed != n.staffed {
					s += fmt.Sprintf(" staffed=%v", n.staffed)
				}
				for _, th := range thresholds {
					if p.flights < th && th <= n.flights {
						s += fmt.Sprintf(" UP %d", th)
					}
				}
				for i := len(thresholds) - 1; i >= 0; i-- {
					if th := thresholds[i]; p.flights >= th && th > n.flights {
						s += fmt.Sprintf(" DOWN %d", th)
					}
				}
				parts = append(parts, s)
			}
			if len(parts) > 0 {
				want = append(want, expected{w.Cycle.ID, strings.Join(parts, ", ")})
			}
			before = after
		}
		for _, w := range want {
			u := c.next().GetUpdate()
			var parts []string
			for _, ch := range u.GetChanges() {
				s := fmt.Sprintf("%s:%d>%d", strings.TrimPrefix(ch.GetSector(), "sets/test/sectors/"), ch.GetPreviousFlightCount(), ch.GetFlightCount())
				if ch.GetStaffingChanged() {
					s += fmt.Sprintf(" staffed=%v", ch.GetStaffed())
				}
				for _, x := range ch.GetCrossings() {
					s += fmt.Sprintf(" %s %d", strings.TrimPrefix(x.GetDirection().String(), "THRESHOLD_DIRECTION_"), x.GetThreshold())
				}
				parts = append(parts, s)
			}
			if got := strings.Join(parts, ", "); u.GetCycleId() != w.cycle || got != w.changes {
				t.Fatalf("update of cycle %d: %s; want cycle %d: %s", u.GetCycleId(), got, w.cycle, w.changes)
			}
		}
		final := map[string]occLevel{}
		for ref, l := range before {
			if _, ok := loaded.Sector(ref.Set, ref.ID); ok {
				final[sectorName(ref)] = l
			}
		}
		for _, s := range loaded.Sectors() {
			if n := sectorName(domain.SectorRef{Set: s.Set, ID: s.ID}); final[n] == (occLevel{}) {
				final[n] = occLevel{}
			}
		}
		if got, want := c.summary(), occSummary(final); got != want {
			t.Errorf("client state %s, want %s", got, want)
		}
		t.Logf("%d updates over 60 cycles", len(want))
	})
}

func maps(m map[domain.SectorRef]occLevel) map[domain.SectorRef]occLevel {
	out := make(map[domain.SectorRef]occLevel, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// The sets fixture's live cycle: div/EGTT gains and loses a flight (no net change), test/LFFF gains one,
// test/EGTT is STAFFED while staffed already (no change), div/DIV1 is unstaffed, and div/EGTT_N, not loaded,
// is unstaffed too.
func TestWatchSectorOccupancyFilters(t *testing.T) {
	cases := []struct {
		name     string
		req      *vatsectorv1.WatchSectorOccupancyRequest
		snapshot string
		update   string
	}{
		{name: "every sector", req: &vatsectorv1.WatchSectorOccupancyRequest{},
			snapshot: "EGTT:2 staffed EGTT_S:1 staffed LFFF:0 sets/div/sectors/DIV1:1 staffed sets/div/sectors/EGTT:1 staffed",
			update:   "sets/div/sectors/DIV1:1>1-DIV_CTR, LFFF:0>1"},
		{name: "a set", req: &vatsectorv1.WatchSectorOccupancyRequest{Sets: []string{divSet}},
			snapshot: "sets/div/sectors/DIV1:1 staffed sets/div/sectors/EGTT:1 staffed", update: "sets/div/sectors/DIV1:1>1-DIV_CTR"},
		{name: "by resource name and bare id", req: &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"sets/test/sectors/EGTT", "LFFF"}},
			snapshot: "EGTT:2 staffed LFFF:0", update: "LFFF:0>1"},
		{name: "a sector and a set", req: &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"LFFF"}, Sets: []string{divSet}},
			snapshot: "LFFF:0 sets/div/sectors/DIV1:1 staffed sets/div/sectors/EGTT:1 staffed",
			update:   "sets/div/sectors/DIV1:1>1-DIV_CTR, LFFF:0>1"},
		{name: "a sector the cycle does not change", req: &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"sets/div/sectors/EGTT"}},
			snapshot: "sets/div/sectors/EGTT:1 staffed"},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		var clients []*occClient
		for _, tc := range cases {
			c := watchOccupancy(t, e, tc.req)
			c.next()
			if got := c.summary(); got != tc.snapshot {
				t.Errorf("%s: snapshot %s, want %s", tc.name, got, tc.snapshot)
			}
			clients = append(clients, c)
		}
		waitSubscribers(t, e.hub, len(cases))
		commit(t, e.store, e.hub, setsLiveCycle())
		// A cycle of another set's sector after it, so that a stream that sends nothing for the first says so.
		b := &occEvents{cycle: 5, seq: setsLiveEnd}
		commit(t, e.store, e.hub, b.add(domain.EventEntry, divRef("EGTT"), 1).write())
		for i, tc := range cases {
			u := clients[i].next().GetUpdate()
			want, cycle := tc.update, int64(5)
			if want == "" {
				want, cycle = "sets/div/sectors/EGTT:1>2", 6
			}
			if got := changeSummary(u); got != want || u.GetCycleId() != cycle {
				t.Errorf("%s: update of cycle %d: %s; want cycle %d: %s", tc.name, u.GetCycleId(), got, cycle, want)
			}
		}
	})
}

func TestWatchSectorOccupancyInvalid(t *testing.T) {
	many := make([]int32, maxThresholds+1)
	for i := range many {
		many[i] = int32(i + 1)
	}
	cases := []struct {
		name string
		req  *vatsectorv1.WatchSectorOccupancyRequest
		msg  []string
	}{
		{"zero threshold", &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{0, 10}}, []string{"thresholds[0]", "positive"}},
		{"negative threshold", &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{-5}}, []string{"thresholds[0]", "positive"}},
		{"decreasing", &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{20, 10}}, []string{"thresholds[1]", "strictly increasing"}},
		{"repeated", &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{10, 20, 20}}, []string{"thresholds[2]", "strictly increasing"}},
		{"too many", &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: many}, []string{"thresholds", "at most 16"}},
		{"empty sector", &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"LFFF", ""}}, []string{"sectors[1] is empty"}},
		{"malformed name", &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"sets/div"}}, []string{"sectors[0]", "not a sector resource name"}},
		{"ambiguous bare id", &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"DIV1", "EGTT"}},
			append([]string{"sectors[1]"}, ambiguousEGTT...)},
	}
	eachSetsEnv(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s, err := e.sectorClient.WatchSectorOccupancy(streamCtx(t), tc.req)
				if err == nil {
					_, err = s.Recv()
				}
				wantStatus(t, err, codes.InvalidArgument, tc.msg...)
			})
		}
	})
}

// A cycle that changes nothing selected sends nothing; heartbeats say how far the state is, and the stream
// goes on to the next change.
func TestWatchSectorOccupancyHeartbeats(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Sectors: []string{"LFFF"}})
		c.next()
		waitSubscribers(t, e.hub, 1)
		b := newOccEvents()
		commit(t, e.store, e.hub, b.add(domain.EventEntry, testRef("EGTT"), 2).write()) // another sector
		commit(t, e.store, e.hub, b.write())                                            // no event at all
		for {
			m, err := c.s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			hb := m.GetHeartbeat()
			if hb == nil {
				t.Fatalf("%v sent for cycles that change nothing selected", m)
			}
			if hb.GetLatestSequence() == b.seq && hb.GetFeedTime().AsTime().Equal(t1.Add(45*time.Second)) {
				break
			}
		}
		commit(t, e.store, e.hub, b.add(domain.EventEntry, testRef("LFFF"), 1).write())
		if got := changeSummary(c.next().GetUpdate()); got != "LFFF:0>1" {
			t.Errorf("update %s, want LFFF:0>1", got)
		}
	})
}

// A reload removes LFFF (a flight inside) and EGTT_S (a flight, staffed) and adds NEW1: the cycle the stream
// handles after it reports each, at its state then; the cycle closing their visits reports them at zero, and
// then they are reported no more.
func TestWatchSectorOccupancyReload(t *testing.T) {
	reloaded := func(t *testing.T) *airspace.Airspace {
		path := filepath.Join(t.TempDir(), "test.geojson")
		const geojson = `{"type": "FeatureCollection", "features": [
		  {"type": "Feature", "id": "EGTT", "properties": {"name": "London", "kind": "fir", "callsign_prefixes": ["EGTT"]},
		   "geometry": {"type": "Polygon", "coordinates": [[[-2, 50], [2, 50], [2, 54], [-2, 54], [-2, 50]]]}},
		  {"type": "Feature", "id": "NEW1", "properties": {"name": "New", "kind": "fir"},
		   "geometry": {"type": "Polygon", "coordinates": [[[1, 47], [4, 47], [4, 50], [1, 50], [1, 47]]]}}
		]}`
		if err := os.WriteFile(path, []byte(geojson), 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := airspace.LoadGeoJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := airspace.New(set)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, d := range eachDialect() {
		t.Run(string(d), func(t *testing.T) {
			store := openDialectFixture(t, d)
			sectors := testAirspace(t)
			e := startEnv(t, store, transports()[0], envOptions{sectors: sectors})
			c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{})
			c.next()
			waitSubscribers(t, e.hub, 1)
			b := newOccEvents()
			steps := []struct {
				build func()
				want  string
			}{
				{func() { b.add(domain.EventEntry, testRef("LFFF"), 1) }, "LFFF:0>1"},
				{func() { sectors.Swap(reloaded(t)); b.add(domain.EventEntry, testRef("EGTT"), 1) },
					"EGTT:2>3, EGTT_S:1>1 removed, LFFF:1>1 removed, NEW1:0>0"},
				{func() {
					b.add(domain.EventExit, testRef("LFFF"), 1).add(domain.EventExit, testRef("EGTT_S"), 1).add(domain.EventUnstaffed, testRef("EGTT_S"), 1)
				}, "EGTT_S:1>0-EGTT_S_CTR removed, LFFF:1>0 removed"},
				{func() { b.add(domain.EventEntry, testRef("LFFF"), 1).add(domain.EventEntry, testRef("NEW1"), 1) }, "NEW1:0>1"},
			}
			for i, step := range steps {
				step.build()
				commit(t, e.store, e.hub, b.write())
				if got := changeSummary(c.next().GetUpdate()); got != step.want {
					t.Errorf("step %d: %s, want %s", i, got, step.want)
				}
			}
			if got, want := c.summary(), "EGTT:3 staffed NEW1:1"; got != want {
				t.Errorf("client state %s, want %s", got, want)
			}
		})
	}
}

// blockingOccupancySink holds the stream in its first update until released, and says what it is sent, in
// order: "snapshot <cycle>", "resync <cycle> <sequence>" or "update <cycle>".
type blockingOccupancySink struct {
	held, release chan struct{}
	holding       bool
	sent          chan string
}

func (s *blockingOccupancySink) snapshot(snap *occupancySnapshot) error {
	if snap.resync {
		s.sent <- fmt.Sprintf("resync %d %d", snap.cycleID, snap.sequence)
	} else {
		s.sent <- fmt.Sprintf("snapshot %d", snap.cycleID)
	}
	return nil
}

func (s *blockingOccupancySink) update(u *occupancyUpdate) error {
	if !s.holding {
		s.holding = true
		close(s.held)
		<-s.release
	}
	s.sent <- fmt.Sprintf("update %d", u.cycleID)
	return nil
}

func (s *blockingOccupancySink) heartbeat(int64, time.Time) error { return nil }

// A stream that falls behind is sent a new snapshot, flagged resync, of the state after the cycles it missed;
// then it goes on live.
func TestWatchSectorOccupancyResyncsWhenBehind(t *testing.T) {
	for _, d := range eachDialect() {
		t.Run(string(d), func(t *testing.T) {
			store := openDialectFixture(t, d)
			h := hub.New(hub.Config{Buffer: 2})
			last, err := store.LastCommittedCycle(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			h.Seed(last, fixtureLastSeq)
			q := &queryService{store: store, sectors: testAirspace(t), hub: h, now: time.Now, heartbeat: time.Hour}
			held := make(chan struct{})
			sink := &blockingOccupancySink{held: held, release: make(chan struct{}), sent: make(chan string, 16)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- q.watchOccupancy(ctx, occupancyWatch{}, sink) }()
			defer func() {
				cancel()
				if err := <-done; err != context.Canceled {
					t.Errorf("stream ended with %v", err)
				}
			}()
			if got := <-sink.sent; got != "snapshot 2" {
				t.Fatalf("first %q, want the snapshot of cycle 2", got)
			}
			b := newOccEvents()
			publish := func() {
				w := b.add(domain.EventEntry, testRef("LFFF"), 1).write()
				if _, err := store.WriteCycle(context.Background(), w); err != nil {
					t.Fatal(err)
				}
				h.Publish(&domain.Committed{Cycle: w.Cycle, Events: w.Events})
			}
			publish()
			<-held
			for range 3 { // more than the buffer while the stream is held
				publish()
			}
			close(sink.release)
			if got := <-sink.sent; got != "update 4" {
				t.Errorf("%q, want the update of cycle 4", got)
			}
			// The stream may take the cycles left in its buffer before it notices it was dropped.
			want := fmt.Sprintf("resync %d %d", b.cycle, b.seq)
			for got := <-sink.sent; got != want; got = <-sink.sent {
				if got != "update 5" && got != "update 6" {
					t.Fatalf("%q, want %q", got, want)
				}
			}
			publish()
			if got, want := <-sink.sent, fmt.Sprint("update ", b.cycle); got != want {
				t.Errorf("after the resync %q, want %q", got, want)
			}
		})
	}
}

// The stream's state follows the real ingest loop: VATSpy sectors, simulated traffic. After each cycle the
// client's state (snapshot, then updates) equals the stored state of every loaded sector. It also reports the
// sizes of the messages.
func TestWatchSectorOccupancyFollowsIngest(t *testing.T) {
	eachSimEnv(t, 1500, 12, func(t *testing.T, e *env, rig *replayRig, a *airspace.Airspace) {
		all := func(domain.SectorRef) bool { return true }
		for range 2 {
			rig.next(t)
		}
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{5, 10, 20, 50}})
		m := c.next()
		if got, want := c.summary(), storedSummary(t, e.store, a, all); got != want {
			t.Fatalf("snapshot differs from the stored state")
		}
		snapSize, staffed := proto.Size(m), 0
		for _, s := range m.GetSnapshot().GetSectors() {
			if len(s.GetStaffedBy()) > 0 {
				staffed++
			}
		}
		t.Logf("snapshot: %d sectors (%d staffed), %d bytes", len(m.GetSnapshot().GetSectors()), staffed, snapSize)
		waitSubscribers(t, e.hub, 1)
		var sizes, changes []int
		for range 8 {
			cycle := rig.next(t)
			// Read until this cycle's update, or a heartbeat that has passed it: a cycle may change nothing.
			for c.cycle < cycle.ID {
				m, err := c.s.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if hb := m.GetHeartbeat(); hb != nil {
					if hb.GetLatestSequence() >= *cycle.LastSequence {
						c.cycle = cycle.ID
					}
					continue
				}
				c.apply(m)
				if u := m.GetUpdate(); u != nil {
					sizes, changes = append(sizes, proto.Size(m)), append(changes, len(u.GetChanges()))
				}
			}
			if got, want := c.summary(), storedSummary(t, e.store, a, all); got != want {
				t.Fatalf("after cycle %d the client's state differs from the stored state", cycle.ID)
			}
		}
		t.Logf("updates: %d, changes per update %v, bytes %v", len(sizes), changes, sizes)
	})
}

// eachSimEnv is eachReplayEnv over simulated traffic (pilots, cycles snapshots) instead of the recorded ones.
func eachSimEnv(t *testing.T, pilots, cycles int, fn func(t *testing.T, e *env, rig *replayRig, a *airspace.Airspace)) {
	sectors := vatspySectors(t)
	trs := transports()
	for i, d := range eachDialect() {
		t.Run(string(d), func(t *testing.T) {
			store := openDialect(t, d)
			h := hub.New(hub.Config{})
			rig := &replayRig{step: make(chan struct{}), committed: make(chan domain.Cycle, cycles),
				done: make(chan error, 1), snapshots: cycles}
			var err error
			rig.runner, err = ingest.NewRunner(ingest.Config{
				Source: gatedSource{Source: simSource(pilots, cycles), step: rig.step}, Store: store, Sectors: sectors.Current,
				Publisher: notifyingPublisher{hub: h, committed: rig.committed},
			})
			if err != nil {
				t.Fatal(err)
			}
			e := startEnv(t, store, trs[i], envOptions{hubInst: h, status: rig.runner, sectors: sectors})
			ctx, stop := context.WithCancel(context.Background())
			go func() { rig.done <- rig.runner.Run(ctx) }()
			t.Cleanup(func() {
				stop()
				if err := <-rig.done; err != nil {
					t.Errorf("ingest: %v", err)
				}
			})
			fn(t, e, rig, sectors.Airspace())
		})
	}
}

func eachDialect() []migrations.Dialect {
	return []migrations.Dialect{migrations.SQLite, migrations.Postgres}
}

// openDialect is a fresh store of the dialect; openDialectFixture holds the fixture.
func openDialect(t *testing.T, d migrations.Dialect) *repository.Store {
	t.Helper()
	return dbtest.Open(t, d, repository.Pool{})
}

func openDialectFixture(t *testing.T, d migrations.Dialect) *repository.Store {
	t.Helper()
	s := openDialect(t, d)
	writeFixture(t, s)
	return s
}

func simSource(pilots, cycles int) feed.Source {
	return sim.New(sim.Config{Seed: 1, Pilots: pilots, Cycles: cycles})
}

// The sizes of the messages over recorded VATSIM snapshots (real staffing), every VATSpy sector selected.
// The recorded snapshots are days apart, so the update is a day's worth of change, not a cycle's.
func TestWatchSectorOccupancySizesOnRecordedFeeds(t *testing.T) {
	eachReplayEnv(t, hub.Config{}, func(t *testing.T, e *env, rig *replayRig) {
		rig.next(t)
		c := watchOccupancy(t, e, &vatsectorv1.WatchSectorOccupancyRequest{Thresholds: []int32{5, 10, 20, 50}})
		m := c.next()
		staffed, controllers := 0, 0
		for _, s := range m.GetSnapshot().GetSectors() {
			if n := len(s.GetStaffedBy()); n > 0 {
				staffed, controllers = staffed+1, controllers+n
			}
		}
		if got, want := c.summary(), storedSummary(t, e.store, vatspySectors(t).Airspace(), func(domain.SectorRef) bool { return true }); got != want {
			t.Fatal("snapshot differs from the stored state")
		}
		t.Logf("snapshot: %d sectors (%d staffed, by %d controllers), %d bytes", len(m.GetSnapshot().GetSectors()), staffed,
			controllers, proto.Size(m))
		waitSubscribers(t, e.hub, 1)
		cycle := rig.next(t)
		u := c.next()
		if u.GetUpdate().GetCycleId() != cycle.ID {
			t.Fatalf("update of cycle %d, want %d", u.GetUpdate().GetCycleId(), cycle.ID)
		}
		t.Logf("update to the next recorded snapshot: %d changes, %d bytes", len(u.GetUpdate().GetChanges()), proto.Size(u))
	})
}
