package server

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
)

// An occupancy stream (WatchSectorOccupancy) keeps, per selected sector, the flight count and whether it is
// staffed, and sends the sectors a committed cycle changed. Like a sector event stream it runs on the gRPC
// handler's goroutine and holds a database connection only while it reads its snapshot.
//
// Consistency: the stream subscribes to the hub first, then reads the snapshot (the sectors' states with the
// latest committed sequence and cycle, in one read transaction: Storage.SectorSnapshot). A cycle is published
// after it commits, so every cycle the snapshot does not reflect commits after the read began, is published
// after the subscription was registered, and comes through it; the cycles the snapshot reflects (ids up to the
// snapshot's cycle) may come through too, committed before the read and published after the subscription,
// and are skipped. From then on the state moves with each cycle's events alone, with no database read: a
// flight count by the sector's ENTRY events minus its EXIT events (a visit opens with one and closes with the
// other, and the count is the open visits), staffing by STAFFED and UNSTAFFED. The full list of controllers
// staffing a sector is not in the events (controllers joining or leaving a staffed sector record none), so it
// is in the snapshot only; updates say whether the sector is staffed, and the controller of a staffing change.
//
// Falling behind: when the hub drops the subscription because its buffer is full, the stream subscribes and
// reads a snapshot again, which it sends flagged as a resync; the client replaces its state with it. Nothing
// is replayed: a state is what the client wants, and one read costs less than the missed cycles' events.
//
// Reloads: a sector a reload removes is reported, flagged removed, until its count is 0 and it is unstaffed
// (the cycle after the reload closes its visits with EXIT sector_removed events, and ends its staffing with
// UNSTAFFED); then it is reported no more. A selected sector a reload adds is reported by the first cycle the
// stream handles after the reload. The stream notices a reload when it handles a cycle, by the loaded
// airspace having been swapped.

// maxThresholds bounds a request's thresholds: each change is checked against each of them.
const maxThresholds = 16

// occupancyWatch is a WatchSectorOccupancy request in domain terms.
type occupancyWatch struct {
	// sectors are resolved (a bare id no loaded set has is Set "": that id in any set); with sets, the
	// sectors of either; both empty select every sector.
	sectors []domain.SectorRef
	sets    []string
	// thresholds are positive and strictly increasing (validated).
	thresholds []int
}

// sectorOccupancy is one sector of a snapshot.
type sectorOccupancy struct {
	ref      domain.SectorRef
	flights  int
	staffing []domain.Controller
}

// occupancySnapshot is the first message of a stream, and of each resync.
type occupancySnapshot struct {
	// sectors are every selected loaded sector, by set then id.
	sectors  []sectorOccupancy
	sequence int64
	// cycleID is 0 and feedTime zero before any committed cycle.
	cycleID  int64
	feedTime time.Time
	resync   bool
}

// occupancyChange is a sector's new state after a cycle.
type occupancyChange struct {
	ref                  domain.SectorRef
	flights, prevFlights int
	staffed              bool
	staffingChanged      bool
	// controller is the staffing event's, when staffingChanged.
	controller *domain.ControllerRef
	crossings  []thresholdCrossing
	removed    bool
}

// thresholdCrossing is a threshold a change crossed: up when prev < threshold <= new, down when
// prev >= threshold > new.
type thresholdCrossing struct {
	threshold int
	up        bool
}

// occupancyUpdate is the changes of one cycle; never empty.
type occupancyUpdate struct {
	// changes are by set then id.
	changes  []occupancyChange
	sequence int64
	cycleID  int64
	feedTime time.Time
}

// occupancySink sends what an occupancy stream produces, in order; it blocks while the client reads slowly.
// What it is handed is only valid during the call.
type occupancySink interface {
	snapshot(s *occupancySnapshot) error
	update(u *occupancyUpdate) error
	// heartbeat says the stream's state reflects every event up to latest; feedTime is the last cycle's.
	heartbeat(latest int64, feedTime time.Time) error
}

func (q *queryService) watchOccupancy(ctx context.Context, w occupancyWatch, sink occupancySink) error {
	st := newOccupancyStream(q, w, sink)
	resync := false
	for {
		sub, err := q.hub.Subscribe()
		if err != nil {
			return err
		}
		err = st.run(ctx, sub, resync)
		q.hub.Unsubscribe(sub)
		if !errors.Is(err, hub.ErrLagged) {
			return err
		}
		resync = true
	}
}

// occupancySelection is a stream's sectors.
type occupancySelection struct {
	all     bool
	sectors map[domain.SectorRef]bool
	// anySet are the ids of sectors named without a set: any set's.
	anySet map[string]bool
	sets   map[string]bool
	// reads are the sectors to read a snapshot of; nil reads every sector (then filtered).
	reads []domain.SectorRef
}

func newOccupancySelection(w occupancyWatch) occupancySelection {
	sel := occupancySelection{all: len(w.sectors) == 0 && len(w.sets) == 0, sets: setOf(w.sets)}
	var named []domain.SectorRef
	var anySet []string
	for _, r := range w.sectors {
		if r.Set == "" {
			anySet = append(anySet, r.ID)
		} else {
			named = append(named, r)
		}
	}
	sel.sectors, sel.anySet = setOf(named), setOf(anySet)
	if len(anySet) == 0 && len(w.sets) == 0 {
		// Named sectors only: the snapshot reads those alone. The others need every sector's row.
		sel.reads = canonicalRefs(named)
	}
	return sel
}

func (s *occupancySelection) match(r domain.SectorRef) bool {
	return s.all || s.sectors[r] || s.anySet[r.ID] || s.sets[r.Set]
}

// sectorLevel is what a stream tracks of a sector. Sectors at zero (no flight, unstaffed) are not kept.
type sectorLevel struct {
	flights int
	staffed bool
}

func (l sectorLevel) zero() bool { return l.flights == 0 && !l.staffed }

// cycleDelta is what one cycle's events did to a sector.
type cycleDelta struct {
	flights int
	// staffing is the cycle's STAFFED or UNSTAFFED event of the sector (one at most), nil without.
	staffing *domain.Event
}

type occupancyStream struct {
	q          *queryService
	sink       occupancySink
	sel        occupancySelection
	thresholds []int

	// levels are the selected sectors' states as the client knows them, but for the zero ones.
	levels map[domain.SectorRef]sectorLevel
	// airspace is the loaded airspace the client's set of sectors is of: the snapshot's, then each reload's
	// once the stream has reported it.
	airspace *airspace.Airspace
	// removing are sectors the client was told were removed and that have flights or staffing left.
	removing map[domain.SectorRef]bool
	// cycleID and sequence are the last cycle and event the state reflects; feedTime is that cycle's.
	cycleID  int64
	sequence int64
	feedTime time.Time

	// deltas, order and changes are reused from cycle to cycle.
	deltas  map[domain.SectorRef]*cycleDelta
	order   []domain.SectorRef
	changes []occupancyChange
}

func newOccupancyStream(q *queryService, w occupancyWatch, sink occupancySink) *occupancyStream {
	return &occupancyStream{
		q: q, sink: sink, sel: newOccupancySelection(w), thresholds: w.thresholds,
		deltas: map[domain.SectorRef]*cycleDelta{},
	}
}

func (st *occupancyStream) run(ctx context.Context, sub *hub.Subscription, resync bool) error {
	if err := st.snapshot(ctx, sub, resync); err != nil {
		return err
	}
	return st.live(ctx, sub)
}

// snapshot reads the state of the selected sectors (the subscription is registered already) and sends it.
// The read takes a catch-up slot: a thousand streams opening at once, or falling behind together, do not
// take the pool from unary calls.
func (st *occupancyStream) snapshot(ctx context.Context, sub *hub.Subscription, resync bool) error {
	release, err := st.q.catchUp.acquire(ctx, sub.Done())
	if err != nil {
		if ctx.Err() == nil {
			return sub.Err()
		}
		return err
	}
	snap, err := st.q.store.SectorSnapshot(ctx, st.sel.reads)
	release()
	if err != nil {
		return err
	}
	st.levels = make(map[domain.SectorRef]sectorLevel, len(snap.States))
	for ref, s := range snap.States {
		if l := (sectorLevel{flights: s.Flights, staffed: len(s.Staffing) > 0}); st.sel.match(ref) && !l.zero() {
			st.levels[ref] = l
		}
	}
	st.removing = map[domain.SectorRef]bool{}
	st.airspace = st.q.sectors.Airspace()
	st.cycleID, st.sequence, st.feedTime = 0, snap.Sequence, time.Time{}
	if snap.Cycle != nil {
		st.cycleID, st.feedTime = snap.Cycle.ID, snap.Cycle.UpdateTimestamp
	}
	out := &occupancySnapshot{sequence: st.sequence, cycleID: st.cycleID, feedTime: st.feedTime, resync: resync}
	if st.airspace != nil {
		for _, s := range st.airspace.Sectors() {
			ref := domain.SectorRef{Set: s.Set, ID: s.ID}
			if st.sel.match(ref) {
				state := snap.States[ref]
				out.sectors = append(out.sectors, sectorOccupancy{ref: ref, flights: state.Flights, staffing: state.Staffing})
			}
		}
	}
	return st.sink.snapshot(out)
}

// live applies the subscription's cycles as they come, and sends a heartbeat whenever nothing was sent for
// the heartbeat interval.
func (st *occupancyStream) live(ctx context.Context, sub *hub.Subscription) error {
	hb := time.NewTimer(st.q.heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return sub.Err()
		case p := <-sub.Cycles():
			sent, err := st.apply(p.Committed)
			if err != nil {
				return err
			}
			if sent {
				hb.Reset(st.q.heartbeat)
			}
		case <-hb.C:
			if err := st.sink.heartbeat(st.sequence, st.feedTime); err != nil {
				return err
			}
			hb.Reset(st.q.heartbeat)
		}
	}
}

// apply moves the state on by one committed cycle and sends what changed, if anything.
func (st *occupancyStream) apply(c *domain.Committed) (bool, error) {
	if c.Cycle.ID <= st.cycleID {
		return false, nil // reflected in the snapshot already
	}
	clear(st.deltas)
	st.order, st.changes = st.order[:0], st.changes[:0]
	for i := range c.Events {
		e := &c.Events[i]
		if !st.sel.match(e.Sector) {
			continue
		}
		d := st.deltas[e.Sector]
		if d == nil {
			d = &cycleDelta{}
			st.deltas[e.Sector] = d
			st.order = append(st.order, e.Sector)
		}
		switch e.Kind {
		case domain.EventEntry:
			d.flights++
		case domain.EventExit:
			d.flights--
		case domain.EventStaffed, domain.EventUnstaffed:
			d.staffing = e
		}
	}
	now := st.q.sectors.Airspace()
	for _, ref := range st.order {
		d := st.deltas[ref]
		prev := st.levels[ref]
		next := prev
		next.flights += d.flights
		if d.staffing != nil {
			next.staffed = d.staffing.Kind == domain.EventStaffed
		}
		st.setLevel(ref, next)
		staffingChanged := next.staffed != prev.staffed
		if next.flights == prev.flights && !staffingChanged {
			continue
		}
		loaded := loadedIn(now, ref)
		if !loaded && !st.known(ref) {
			continue // tracked, in case a reload adds it, but not the client's
		}
		ch := occupancyChange{ref: ref, flights: next.flights, prevFlights: prev.flights, staffed: next.staffed,
			staffingChanged: staffingChanged, removed: !loaded}
		if staffingChanged {
			ch.controller = d.staffing.Controller
		}
		ch.crossings = crossings(st.thresholds, prev.flights, next.flights)
		st.changes = append(st.changes, ch)
		st.noteRemoved(ref, !loaded, next)
	}
	if now != st.airspace {
		st.reloaded(now)
	}
	if c.Cycle.LastSequence != nil {
		st.sequence = max(st.sequence, *c.Cycle.LastSequence)
	}
	st.cycleID = c.Cycle.ID
	if c.Cycle.UpdateTimestamp.After(st.feedTime) {
		st.feedTime = c.Cycle.UpdateTimestamp
	}
	if len(st.changes) == 0 {
		return false, nil
	}
	slices.SortFunc(st.changes, func(a, b occupancyChange) int { return a.ref.Compare(b.ref) })
	err := st.sink.update(&occupancyUpdate{changes: st.changes, sequence: st.sequence, cycleID: st.cycleID, feedTime: st.feedTime})
	return err == nil, err
}

func (st *occupancyStream) setLevel(ref domain.SectorRef, l sectorLevel) {
	if l.zero() {
		delete(st.levels, ref)
	} else {
		st.levels[ref] = l
	}
}

// known says the client has the sector in its state: a selected sector of the airspace it was last told of,
// or one it was told was removed that still has flights or staffing.
func (st *occupancyStream) known(ref domain.SectorRef) bool {
	return (st.sel.match(ref) && loadedIn(st.airspace, ref)) || st.removing[ref]
}

// noteRemoved keeps a removed sector reported until it is at zero.
func (st *occupancyStream) noteRemoved(ref domain.SectorRef, removed bool, l sectorLevel) {
	switch {
	case !removed || l.zero():
		delete(st.removing, ref)
	default:
		st.removing[ref] = true
	}
}

// reloaded reports, besides this cycle's changes, the selected sectors the reload removed (flagged, at their
// current state) and those it added, and makes the new airspace the client's.
func (st *occupancyStream) reloaded(now *airspace.Airspace) {
	reported := len(st.changes)
	unchanged := func(ref domain.SectorRef) bool {
		return !slices.ContainsFunc(st.changes[:reported], func(c occupancyChange) bool { return c.ref == ref })
	}
	report := func(ref domain.SectorRef, removed bool) {
		l := st.levels[ref]
		st.changes = append(st.changes, occupancyChange{ref: ref, flights: l.flights, prevFlights: l.flights, staffed: l.staffed, removed: removed})
		st.noteRemoved(ref, removed, l)
	}
	if st.airspace != nil {
		for _, s := range st.airspace.Sectors() {
			ref := domain.SectorRef{Set: s.Set, ID: s.ID}
			if st.sel.match(ref) && !loadedIn(now, ref) && unchanged(ref) {
				report(ref, true)
			}
		}
	}
	if now != nil {
		for _, s := range now.Sectors() {
			ref := domain.SectorRef{Set: s.Set, ID: s.ID}
			if st.sel.match(ref) && !loadedIn(st.airspace, ref) && unchanged(ref) {
				report(ref, false)
			}
		}
	}
	st.airspace = now
}

func loadedIn(a *airspace.Airspace, ref domain.SectorRef) bool {
	if a == nil {
		return false
	}
	_, ok := a.Sector(ref.Set, ref.ID)
	return ok
}

// crossings are the thresholds (increasing) a count crossed from prev to next, in the order it passed them.
func crossings(thresholds []int, prev, next int) []thresholdCrossing {
	var out []thresholdCrossing
	switch {
	case next > prev:
		for _, t := range thresholds {
			if prev < t && t <= next {
				out = append(out, thresholdCrossing{threshold: t, up: true})
			}
		}
	case next < prev:
		for i := len(thresholds) - 1; i >= 0; i-- {
			if t := thresholds[i]; prev >= t && t > next {
				out = append(out, thresholdCrossing{threshold: t})
			}
		}
	}
	return out
}

// occupancyStreamSink converts an occupancy stream's domain output to messages.
type occupancyStreamSink struct {
	stream vatsectorv1.SectorService_WatchSectorOccupancyServer
	now    func() time.Time
}

func (s occupancyStreamSink) snapshot(snap *occupancySnapshot) error {
	return s.stream.Send(occupancySnapshotResponse(snap))
}

func (s occupancyStreamSink) update(u *occupancyUpdate) error {
	return s.stream.Send(occupancyUpdateResponse(u))
}

func (s occupancyStreamSink) heartbeat(latest int64, feedTime time.Time) error {
	return s.stream.Send(&vatsectorv1.WatchSectorOccupancyResponse{
		Payload: &vatsectorv1.WatchSectorOccupancyResponse_Heartbeat{Heartbeat: &vatsectorv1.Heartbeat{
			LatestSequence: latest, FeedTime: ts(feedTime), ServerTime: timestamppb.New(s.now()),
		}},
	})
}

func occupancySnapshotResponse(snap *occupancySnapshot) *vatsectorv1.WatchSectorOccupancyResponse {
	out := &vatsectorv1.SectorOccupancySnapshot{
		Sectors:  make([]*vatsectorv1.SectorOccupancy, len(snap.sectors)),
		Sequence: snap.sequence, CycleId: snap.cycleID, FeedTime: ts(snap.feedTime), Resync: snap.resync,
	}
	for i, s := range snap.sectors {
		o := &vatsectorv1.SectorOccupancy{Sector: sectorName(s.ref), FlightCount: int32(s.flights)}
		if len(s.staffing) > 0 {
			o.StaffedBy = make([]*vatsectorv1.ControllerRef, len(s.staffing))
			for j := range s.staffing {
				c := &s.staffing[j]
				o.StaffedBy[j] = &vatsectorv1.ControllerRef{Id: c.ID, Cid: c.CID, Callsign: c.Callsign}
			}
		}
		out.Sectors[i] = o
	}
	return &vatsectorv1.WatchSectorOccupancyResponse{Payload: &vatsectorv1.WatchSectorOccupancyResponse_Snapshot{Snapshot: out}}
}

func occupancyUpdateResponse(u *occupancyUpdate) *vatsectorv1.WatchSectorOccupancyResponse {
	out := &vatsectorv1.SectorOccupancyUpdate{
		Changes:  make([]*vatsectorv1.SectorOccupancyChange, len(u.changes)),
		Sequence: u.sequence, CycleId: u.cycleID, FeedTime: ts(u.feedTime),
	}
	for i := range u.changes {
		c := &u.changes[i]
		ch := &vatsectorv1.SectorOccupancyChange{
			Sector: sectorName(c.ref), FlightCount: int32(c.flights), PreviousFlightCount: int32(c.prevFlights),
			Staffed: c.staffed, StaffingChanged: c.staffingChanged, Removed: c.removed,
		}
		if c.controller != nil {
			ch.Controller = &vatsectorv1.ControllerRef{Id: c.controller.ID, Cid: c.controller.CID, Callsign: c.controller.Callsign}
		}
		for _, x := range c.crossings {
			dir := vatsectorv1.ThresholdDirection_THRESHOLD_DIRECTION_DOWN
			if x.up {
				dir = vatsectorv1.ThresholdDirection_THRESHOLD_DIRECTION_UP
			}
			ch.Crossings = append(ch.Crossings, &vatsectorv1.ThresholdCrossing{Threshold: int32(x.threshold), Direction: dir})
		}
		out.Changes[i] = ch
	}
	return &vatsectorv1.WatchSectorOccupancyResponse{Payload: &vatsectorv1.WatchSectorOccupancyResponse_Update{Update: out}}
}
