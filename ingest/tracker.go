// Package ingest turns feed snapshots into stored state. One snapshot with a new update_timestamp is one cycle:
// decode → classify positions into sectors → diff against the tracked state (memory only) → write in one
// transaction → apply the diff to memory → publish. The tracked state changes only after a commit, so a failed
// cycle is retried from exactly the state the database holds.
package ingest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
)

// Sectors classifies positions and controller connections into sectors.
type Sectors interface {
	// Locate appends to dst the sectors containing the position, sorted and without repeats.
	Locate(lat, lon float64, altitudeFt int, dst []domain.SectorRef) []domain.SectorRef
	// Staff returns, for each controller connection online, the sectors it staffs, sorted (nil for none). The
	// connections are resolved together: in a set with a hierarchy (vatSys), a controller also covers the
	// sectors below its own that no other connection staffs.
	Staff(stations []Station) [][]domain.SectorRef
	// Has reports whether a sector is loaded.
	Has(ref domain.SectorRef) bool
	// Empty reports that no sector is loaded (yet): nothing to classify into, nor to resolve stored ids by.
	Empty() bool
	// SetOf names the loaded set a sector stored before sectors had sets belongs to, by its bare id; false
	// when no loaded set has the id.
	SetOf(id string) (set string, ok bool)
}

// Station is a controller connection as staffing sees it.
type Station struct {
	Callsign string
	Facility int
}

// DefaultGrace is how long a connection may be missing from the feed before it counts as disconnected: the
// feed drops a connection for a snapshot or two now and then, and a visit must not be split by that.
const DefaultGrace = 5 * time.Minute

// departedRetention is how long a disconnected connection is remembered, so that one the feed shows again with
// the same (cid, callsign, logon_time) continues its row instead of colliding with it.
const departedRetention = time.Hour

// connKey identifies a connection: the decoder's key, so that what it de-duplicates and what the tracker
// tells apart are the same thing (microseconds of logon time, the precision the databases store).
type connKey = feed.ConnKey

func keyOf(cid int64, callsign string, logon time.Time) connKey {
	return feed.KeyOf(cid, callsign, logon)
}

// flightState is a tracked flight as last committed.
type flightState struct {
	row  domain.Flight
	plan *domain.FlightPlan
	// visits are the open visits, sorted by sector.
	visits []domain.Visit
}

type controllerState struct {
	row      domain.Controller
	lastSeen time.Time
	sectors  []domain.SectorRef
}

// Tracker holds the live state between cycles: flights and controllers online (or missing for less than the
// grace period), their open visits, which sectors are staffed, and the identifiers allocated so far.
// It is used by one goroutine, the ingest loop.
type Tracker struct {
	grace       time.Duration
	flights     map[connKey]*flightState
	departed    map[connKey]*flightState
	controllers map[connKey]*controllerState
	// departedControllers are the controllers' counterpart of departed: a connection the feed shows again
	// after its disconnection continues its row.
	departedControllers map[connKey]*controllerState
	// staffed maps a staffed sector to the controller shown as staffing it.
	staffed map[domain.SectorRef]*controllerState
	ids     domain.MaxIDs
	last    time.Time // update_timestamp of the last committed cycle
	rollups *rollups  // hourly rollups per sector (rollups.go)
}

// NewTracker resumes from stored state (nil or empty for a fresh database).
func NewTracker(st *domain.State, grace time.Duration) *Tracker {
	if grace <= 0 {
		grace = DefaultGrace
	}
	t := &Tracker{
		grace:       grace,
		flights:     map[connKey]*flightState{},
		departed:    map[connKey]*flightState{},
		controllers: map[connKey]*controllerState{},
		staffed:     map[domain.SectorRef]*controllerState{},

		departedControllers: map[connKey]*controllerState{},
	}
	defer t.rebuildRollups(st)
	if st == nil {
		return t
	}
	t.ids = st.MaxIDs
	if st.LastCycle != nil {
		t.last = st.LastCycle.UpdateTimestamp
	}
	byID := make(map[int64]*flightState, len(st.Flights))
	for _, f := range st.Flights {
		fs := &flightState{row: f}
		byID[f.ID] = fs
		t.flights[keyOf(f.CID, f.Callsign, f.LogonTime)] = fs
	}
	for _, f := range st.Departed {
		fs := &flightState{row: f}
		byID[f.ID] = fs
		t.departed[keyOf(f.CID, f.Callsign, f.LogonTime)] = fs
	}
	for i := range st.FlightPlans {
		if fs := byID[st.FlightPlans[i].FlightID]; fs != nil {
			fs.plan = &st.FlightPlans[i]
		}
	}
	for _, v := range st.OpenVisits {
		if fs := byID[v.FlightID]; fs != nil {
			fs.visits = append(fs.visits, v)
		}
	}
	for _, fs := range t.flights {
		slices.SortFunc(fs.visits, compareVisits)
	}
	for _, c := range st.Controllers {
		// A controller's row carries its last-seen time only while it is missing (diffControllers); without
		// one, the last committed snapshot showed it.
		cs := &controllerState{row: c, lastSeen: t.last, sectors: c.Sectors}
		if c.LastSeen != nil {
			cs.lastSeen = *c.LastSeen
		}
		t.controllers[keyOf(c.CID, c.Callsign, c.LogonTime)] = cs
	}
	for _, c := range st.DepartedControllers {
		t.departedControllers[keyOf(c.CID, c.Callsign, c.LogonTime)] = &controllerState{row: c, lastSeen: *c.DisconnectedAt}
	}
	t.staffed = staffing(t.controllers)
	return t
}

// ReserveCycle keeps id from being allocated to a cycle: a failed cycle's record took it.
func (t *Tracker) ReserveCycle(id int64) { t.ids.Cycle = max(t.ids.Cycle, id) }

// LastTimestamp is the update_timestamp of the last committed cycle (zero before the first).
func (t *Tracker) LastTimestamp() time.Time { return t.last }

// Online returns the number of tracked flights and controllers.
func (t *Tracker) Online() (flights, controllers int) { return len(t.flights), len(t.controllers) }

// Classification is the sectors of each pilot of a snapshot, in snapshot order.
type Classification [][]domain.SectorRef

// Classify locates every pilot. It reads only the sectors, not the tracked state.
func Classify(snap *feed.Snapshot, sectors Sectors) Classification {
	out := make(Classification, len(snap.Pilots))
	buf := make([]domain.SectorRef, 0, len(snap.Pilots)*2)
	for i := range snap.Pilots {
		p := &snap.Pilots[i]
		start := len(buf)
		buf = sectors.Locate(p.Latitude, p.Longitude, p.Altitude, buf)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// Plan is a cycle computed in memory: what to write, and the tracked state to adopt once it is committed.
type Plan struct {
	Write       domain.CycleWrite
	timestamp   time.Time
	flights     map[connKey]*flightState
	controllers map[connKey]*controllerState
	staffed     map[domain.SectorRef]*controllerState
	ids         domain.MaxIDs
	// departed are the flights this cycle disconnects; returned are departed flights the feed shows again.
	departed map[connKey]*flightState
	returned []connKey
	// the same for controllers
	departedControllers map[connKey]*controllerState
	returnedControllers []connKey
	rollups             *rollupPlan
	// endedContacts are the contacts of the flights this cycle disconnects, ended by matchRadios.
	endedContacts []endedContact
	// coverageKnown says the snapshot had a transceivers file.
	coverageKnown bool
}

// Timestamp is the snapshot's update_timestamp.
func (p *Plan) Timestamp() time.Time { return p.timestamp }

// Diff computes the cycle for a snapshot without changing the tracker. cls must come from Classify on the same
// snapshot.
func (t *Tracker) Diff(snap *feed.Snapshot, cls Classification, sectors Sectors) *Plan {
	ts := feedTime(snap.General.UpdateTimestamp)
	p := &Plan{
		timestamp:   ts,
		flights:     make(map[connKey]*flightState, len(snap.Pilots)),
		departed:    map[connKey]*flightState{},
		controllers: make(map[connKey]*controllerState, len(snap.Controllers)+len(snap.ATIS)),
		ids:         t.ids,

		departedControllers: map[connKey]*controllerState{},
	}
	p.ids.Cycle++
	w := &p.Write
	w.Flights = make([]domain.Flight, 0, len(snap.Pilots))
	w.Positions = make([]domain.Position, 0, len(snap.Pilots))
	// The pilot of each position, for the radio match once the controllers are known.
	var pilots []positionPilot
	if snap.Transceivers != nil {
		pilots = make([]positionPilot, 0, len(snap.Pilots))
	}

	for i := range snap.Pilots {
		pl := &snap.Pilots[i]
		key := keyOf(pl.CID, pl.Callsign, feedTime(pl.LogonTime))
		if _, dup := p.flights[key]; dup {
			continue // the decoder drops repeated connections; never write a key twice in one batch
		}
		prev := t.flights[key]
		if prev == nil {
			if prev = t.departed[key]; prev != nil {
				p.returned = append(p.returned, key)
			}
		}
		next := &flightState{row: flightFrom(pl, ts)}
		if prev == nil {
			p.ids.Flight++
			next.row.ID = p.ids.Flight
			next.row.FirstSeen = ts
		} else {
			next.row.ID = prev.row.ID
			next.row.FirstSeen = prev.row.FirstSeen
			next.plan = prev.plan
			// A contact lasts until a cycle of known coverage ends it (matchRadios) or the flight disconnects.
			next.row.WorkingControllerID = prev.row.WorkingControllerID
		}
		// The position carries what changes with every snapshot (sameFlight); the row is rewritten only when
		// something else did, or the flight is new or returns.
		written := -1
		if prev == nil || !sameFlight(&prev.row, &next.row) {
			written = len(w.Flights)
			w.Flights = append(w.Flights, next.row)
		}
		w.Positions = append(w.Positions, domain.Position{
			FlightID: next.row.ID, ObservedAt: ts, Latitude: pl.Latitude, Longitude: pl.Longitude,
			Altitude: pl.Altitude, Groundspeed: pl.Groundspeed, Heading: pl.Heading, LastUpdated: next.row.LastUpdated,
		})
		if pilots != nil {
			pilots = append(pilots, positionPilot{callsign: pl.Callsign, flight: next, written: written})
		}
		if pl.FlightPlan != nil && (next.plan == nil || !samePlan(next.plan, pl.FlightPlan)) {
			fp := planFrom(next.row.ID, pl.FlightPlan, ts)
			next.plan = &fp
			w.FlightPlans = append(w.FlightPlans, fp)
		}
		var open []domain.Visit
		if prev != nil && prev.row.DisconnectedAt == nil {
			open = prev.visits
		}
		next.visits = p.moveVisits(next.row, open, cls[i], ts, sectors)
		p.flights[key] = next
	}

	// Flights missing from this snapshot: kept within the grace period, disconnected after it.
	missing := make([]*flightState, 0)
	for key, fs := range t.flights {
		if _, ok := p.flights[key]; !ok {
			missing = append(missing, fs)
		}
	}
	slices.SortFunc(missing, func(a, b *flightState) int { return cmp.Compare(a.row.ID, b.row.ID) })
	for _, fs := range missing {
		key := keyOf(fs.row.CID, fs.row.Callsign, fs.row.LogonTime)
		if ts.Sub(fs.row.LastSeen) <= t.grace {
			p.flights[key] = fs
			continue
		}
		gone := &flightState{row: fs.row, plan: fs.plan}
		at := fs.row.LastSeen
		gone.row.DisconnectedAt = &at
		if gone.row.WorkingControllerID != 0 {
			// Disconnecting ends its contact, whatever the transceivers say.
			p.endedContacts = append(p.endedContacts, endedContact{flight: gone.row, controller: gone.row.WorkingControllerID, at: at})
			gone.row.WorkingControllerID = 0
		}
		w.Flights = append(w.Flights, gone.row)
		for _, v := range fs.visits {
			p.closeVisit(v, fs.row, at, domain.ExitDisconnected)
		}
		p.departed[key] = gone
	}

	p.diffControllers(t, snap, ts, sectors)
	p.matchRadios(t, snap, pilots)
	p.diffRollups(t, ts)

	w.Cycle = domain.Cycle{
		ID:                 p.ids.Cycle,
		UpdateTimestamp:    ts,
		Pilots:             len(snap.Pilots),
		Controllers:        len(snap.Controllers),
		ATIS:               len(snap.ATIS),
		FlightsWritten:     len(w.Flights),
		FlightPlansWritten: len(w.FlightPlans),
		PositionsWritten:   len(w.Positions),
		VisitsOpened:       len(w.OpenedVisits),
		VisitsClosed:       len(w.ClosedVisits),
		EventsWritten:      len(w.Events),
		ControllersWritten: len(w.Controllers),
		DuplicateEntries:   snap.Duplicates,
		RejectedEntries:    len(snap.Rejected),
		CoverageKnown:      snap.Transceivers != nil,
	}
	if n := len(w.Events); n > 0 {
		first, last := w.Events[0].Sequence, w.Events[n-1].Sequence
		w.Cycle.FirstSequence, w.Cycle.LastSequence = &first, &last
	}
	return p
}

// moveVisits closes the open visits of sectors the flight has left and opens visits for sectors it entered,
// returning the flight's open visits after this snapshot. Exits come before entries: a hand-off reads as
// leaving one sector, then entering the next.
func (p *Plan) moveVisits(f domain.Flight, open []domain.Visit, now []domain.SectorRef, ts time.Time, sectors Sectors) []domain.Visit {
	if len(open) == 0 && len(now) == 0 {
		return nil
	}
	kept := make([]domain.Visit, 0, len(now))
	for _, v := range open {
		if _, in := slices.BinarySearchFunc(now, v.Sector, domain.SectorRef.Compare); in {
			kept = append(kept, v)
			continue
		}
		reason := domain.ExitLeft
		if !sectors.Has(v.Sector) {
			reason = domain.ExitSectorRemoved
		}
		p.closeVisit(v, f, ts, reason)
	}
	for _, ref := range now {
		if _, in := slices.BinarySearchFunc(open, ref, func(v domain.Visit, ref domain.SectorRef) int {
			return v.Sector.Compare(ref)
		}); in {
			continue
		}
		p.ids.Visit++
		at := pointOf(&f)
		v := domain.Visit{ID: p.ids.Visit, FlightID: f.ID, Sector: ref, EnteredAt: ts, Entry: at}
		p.Write.OpenedVisits = append(p.Write.OpenedVisits, v)
		p.event(domain.Event{
			Kind: domain.EventEntry, Sector: ref, OccurredAt: ts, Flight: flightRef(&f, v.ID), Position: &at,
		})
		kept = append(kept, v)
	}
	slices.SortFunc(kept, compareVisits)
	return kept
}

func compareVisits(a, b domain.Visit) int { return a.Sector.Compare(b.Sector) }

// closeVisit ends a visit at the flight's latest position: where it was seen outside the sector, or, for a
// flight gone, where it was last seen.
func (p *Plan) closeVisit(v domain.Visit, f domain.Flight, at time.Time, reason domain.ExitReason) {
	d := at.Sub(v.EnteredAt).Seconds()
	pos := pointOf(&f)
	v.Exit = &domain.VisitExit{At: at, Position: pos, Reason: reason, DurationSeconds: d}
	p.Write.ClosedVisits = append(p.Write.ClosedVisits, v)
	p.event(domain.Event{
		Kind: domain.EventExit, Sector: v.Sector, OccurredAt: at, Flight: flightRef(&f, v.ID), Position: &pos,
		Exit: &domain.VisitEnd{Reason: reason, DurationSeconds: d},
	})
}

func pointOf(f *domain.Flight) domain.Point {
	return domain.Point{Latitude: f.Latitude, Longitude: f.Longitude, Altitude: f.Altitude}
}

func flightRef(f *domain.Flight, visitID int64) *domain.FlightRef {
	return &domain.FlightRef{ID: f.ID, CID: f.CID, Callsign: f.Callsign, VisitID: visitID}
}

func (p *Plan) event(e domain.Event) {
	p.ids.Sequence++
	e.Sequence = p.ids.Sequence
	e.CycleID = p.ids.Cycle
	p.Write.Events = append(p.Write.Events, e)
}

func (p *Plan) diffControllers(t *Tracker, snap *feed.Snapshot, ts time.Time, sectors Sectors) {
	w := &p.Write
	staffs := staffAll(snap, sectors)
	see := func(c *feed.Controller, kind domain.ControllerKind, staffs []domain.SectorRef) {
		key := keyOf(c.CID, c.Callsign, feedTime(c.LogonTime))
		if _, dup := p.controllers[key]; dup {
			return
		}
		row := controllerFrom(c, kind)
		if len(staffs) > 0 {
			// nil for none, as the repository loads a controller that staffs nothing
			row.Sectors = staffs
		}
		prev := t.controllers[key]
		if prev == nil {
			if prev = t.departedControllers[key]; prev != nil {
				p.returnedControllers = append(p.returnedControllers, key)
			}
		}
		if prev == nil {
			p.ids.Controller++
			row.ID, row.FirstSeen = p.ids.Controller, ts
		} else {
			row.ID, row.FirstSeen = prev.row.ID, prev.row.FirstSeen
		}
		if prev == nil || !sameController(&prev.row, &row) {
			w.Controllers = append(w.Controllers, row)
		}
		p.controllers[key] = &controllerState{row: row, lastSeen: ts, sectors: staffs}
	}
	for i := range snap.Controllers {
		see(&snap.Controllers[i], controllerKind(&snap.Controllers[i]), staffs[i])
	}
	for i := range snap.ATIS {
		see(&snap.ATIS[i], domain.KindATIS, nil)
	}
	missing := make([]*controllerState, 0)
	for key, cs := range t.controllers {
		if _, ok := p.controllers[key]; !ok {
			missing = append(missing, cs)
		}
	}
	slices.SortFunc(missing, func(a, b *controllerState) int { return cmp.Compare(a.row.ID, b.row.ID) })
	for _, cs := range missing {
		at := cs.lastSeen
		if ts.Sub(cs.lastSeen) <= t.grace {
			// The first cycle it is missing stores when it was last seen, so that a restart within the grace
			// period disconnects it when this run would have (one row per controller that goes missing).
			if cs.row.LastSeen == nil {
				next := *cs
				next.row.LastSeen = &at
				w.Controllers = append(w.Controllers, next.row)
				cs = &next
			}
			p.controllers[keyOf(cs.row.CID, cs.row.Callsign, cs.row.LogonTime)] = cs
			continue
		}
		gone := &controllerState{row: cs.row, lastSeen: at}
		gone.row.LastSeen, gone.row.DisconnectedAt = &at, &at
		w.Controllers = append(w.Controllers, gone.row)
		p.departedControllers[keyOf(cs.row.CID, cs.row.Callsign, cs.row.LogonTime)] = gone
	}

	p.staffed = staffing(p.controllers)
	changed := make([]domain.SectorRef, 0, len(p.staffed)+len(t.staffed))
	for ref := range p.staffed {
		if t.staffed[ref] == nil {
			changed = append(changed, ref)
		}
	}
	for ref := range t.staffed {
		if p.staffed[ref] == nil {
			changed = append(changed, ref)
		}
	}
	slices.SortFunc(changed, domain.SectorRef.Compare)
	for _, ref := range changed {
		kind, cs, at := domain.EventStaffed, p.staffed[ref], ts
		if cs == nil {
			kind, cs = domain.EventUnstaffed, t.staffed[ref]
			if _, still := p.controllers[keyOf(cs.row.CID, cs.row.Callsign, cs.row.LogonTime)]; !still {
				at = cs.lastSeen // it disconnected: unstaffed since it was last seen
			}
		}
		p.event(domain.Event{
			Kind: kind, Sector: ref, OccurredAt: at,
			Controller: &domain.ControllerRef{ID: cs.row.ID, CID: cs.row.CID, Callsign: cs.row.Callsign},
		})
	}
}

// staffing maps each staffed sector to the controller shown as staffing it: the earliest connected (lowest id),
// so the choice is stable while several controllers share a sector.
func staffing(controllers map[connKey]*controllerState) map[domain.SectorRef]*controllerState {
	out := map[domain.SectorRef]*controllerState{}
	for _, cs := range controllers {
		for _, ref := range cs.sectors {
			if cur := out[ref]; cur == nil || cs.row.ID < cur.row.ID {
				out[ref] = cs
			}
		}
	}
	return out
}

// staffAll resolves the staffing of the snapshot's controllers together (Sectors.Staff), indexed like
// snap.Controllers; observers staff nothing. A connection the decoder would have dropped as repeated is
// resolved all the same: the tracker skips it afterwards, as before the staffing was resolved in one call.
func staffAll(snap *feed.Snapshot, sectors Sectors) [][]domain.SectorRef {
	out := make([][]domain.SectorRef, len(snap.Controllers))
	var stations []Station
	var at []int
	for i := range snap.Controllers {
		c := &snap.Controllers[i]
		if controllerKind(c) == domain.KindController {
			stations = append(stations, Station{Callsign: c.Callsign, Facility: c.Facility})
			at = append(at, i)
		}
	}
	if len(stations) == 0 {
		return out
	}
	for j, refs := range sectors.Staff(stations) {
		out[at[j]] = refs
	}
	return out
}

// Apply adopts a committed plan as the tracked state.
func (t *Tracker) Apply(p *Plan) {
	t.flights, t.controllers, t.staffed = p.flights, p.controllers, p.staffed
	t.applyRollups(p)
	t.ids, t.last = p.ids, p.timestamp
	applyDeparted(t.departed, p.returned, p.departed, p.timestamp, func(fs *flightState) time.Time { return *fs.row.DisconnectedAt })
	applyDeparted(t.departedControllers, p.returnedControllers, p.departedControllers, p.timestamp,
		func(cs *controllerState) time.Time { return *cs.row.DisconnectedAt })
}

// applyDeparted updates the remembered disconnections: the returned continue as live connections, the newly
// gone are remembered, and those disconnected longer than departedRetention before now are forgotten (the same
// window LoadState reads back).
func applyDeparted[S any](departed map[connKey]S, returned []connKey, gone map[connKey]S, now time.Time, disconnectedAt func(S) time.Time) {
	for _, key := range returned {
		delete(departed, key)
	}
	for key, s := range gone {
		departed[key] = s
	}
	for key, s := range departed {
		if now.Sub(disconnectedAt(s)) > departedRetention {
			delete(departed, key)
		}
	}
}

// controllerKind tells observers from controllers that can staff a sector: observers connect with facility 0,
// or without a real frequency, or with an _OBS callsign.
func controllerKind(c *feed.Controller) domain.ControllerKind {
	if c.Facility == feed.FacilityObserver || c.Frequency == feed.NoFrequency || strings.HasSuffix(c.Callsign, "_OBS") {
		return domain.KindObserver
	}
	return domain.KindController
}

// feedTime is a feed time as stored: UTC, microseconds (the feed has 100 ns ticks; PostgreSQL keeps µs and
// would round, so a reloaded key would no longer match).
func feedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Live returns the tracked flights (online, or missing for less than the grace period) where the feed last
// showed them, ordered by id: what the runner publishes with each committed cycle for maps. At 3,000 flights it
// is one allocation of about 400 KB a cycle, made once for every subscriber.
func (t *Tracker) Live() []domain.LiveFlight {
	out := make([]domain.LiveFlight, 0, len(t.flights))
	var names map[int64]*domain.Controller
	for _, fs := range t.flights {
		f := &fs.row
		lf := domain.LiveFlight{ID: f.ID, Callsign: f.Callsign, Latitude: f.Latitude, Longitude: f.Longitude,
			Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading}
		if p := fs.plan; p != nil {
			lf.Aircraft, lf.Departure, lf.Arrival = p.AircraftShort, p.Departure, p.Arrival
		}
		if id := f.WorkingControllerID; id != 0 {
			if names == nil {
				names = make(map[int64]*domain.Controller, len(t.controllers))
				for _, cs := range t.controllers {
					names[cs.row.ID] = &cs.row
				}
			}
			if c := names[id]; c != nil {
				lf.Working = &domain.ControllerRef{ID: c.ID, CID: c.CID, Callsign: c.Callsign}
			}
		}
		out = append(out, lf)
	}
	slices.SortFunc(out, func(a, b domain.LiveFlight) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
