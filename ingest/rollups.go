package ingest

import (
	"maps"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// Hourly rollups per sector (domain.SectorHour, table sector_hours) and each sector's distinct flights per UTC
// day (domain.SectorDay) are computed with the rest of a cycle, in memory, and written by the cycle's
// transaction: one upsert of the absolute totals of the sector-hours whose figures changed other than by
// accruing, one of the observed time of the hours credited, one of the sector-days whose count changed. Like the
// rest of the tracked state they change only once the cycle is committed (Diff computes a rollupPlan, Apply
// adopts it), and they are rebuilt from the database whenever the tracker is (NewTracker). A day's flights
// follow the same rules as an hour's, over the day.
//
// The arithmetic, for a sector s and a cycle k at feed time t_k:
//
//   - n_k(s), the flights inside after the cycle, is its open visits: the count GetSectorOccupancy serves,
//     which includes a flight missing from the feed within the grace period.
//   - The cycle's figures hold from t_k for hold_k = min(t_{k+1} − t_k, domain.MaxHold); they are credited
//     when cycle k+1 arrives, split at hour boundaries: occupancy += n_k(s) × piece, staffed += piece while s
//     was staffed after cycle k, observed += piece (for every sector of the hour alike). A gap longer than
//     MaxHold is an outage: past MaxHold nothing is credited, so it cannot inflate a mean over the hour.
//   - peak is the largest n_k(s) of the cycles dated in the hour.
//   - entries and exits count the visits opened and closed, in the hour of their event's time (an exit of a
//     disconnected flight is dated when it was last seen, possibly in the previous hour, which is why the
//     hours back to the grace period are kept).
//   - flights is the number of distinct flights with a visit overlapping the hour, as the visits table says
//     once written: entered_at < hour end AND (exited_at IS NULL OR exited_at >= hour start). When a cycle
//     is the first of its hour, every visit open after the previous cycle overlaps the new hour (the flight is
//     inside at least until this cycle) unless this cycle ends it, as a disconnection, before the hour: such a
//     flight is taken out again. The other cycles of the hour add the flights of the visits they open.
//
// Seconds are kept as integer microseconds, so sums do not depend on the order of additions nor on a restart;
// stored as float seconds they convert back exactly.
//
// A stored row accrues (domain.SectorHour.Advance): its time-weighted figures are as of the hour's observed time
// when it was written, and grow by its Occupants and Staffed with every second observed since. Most occupied
// sectors keep their count from one cycle to the next, so a cycle rewrites only the rows that the stored row,
// advanced to the hour's new observed time, no longer equals: a count or the staffing changed, an entry, an
// exit, a new peak or flight. At 3,000 simulated pilots that is 110 rows a cycle on average over 60 cycles
// that include a run's first cycle and an hour's (BenchmarkDiff), where every occupied or staffed sector's row,
// about 1,160, was rewritten before; the first cycle of an hour still writes them all.

// rollupRow is one sector-hour as committed, advanced to its hour's observed time.
type rollupRow struct {
	entries, exits, peak int
	// occupancy is Σ n × hold, staffed Σ hold while staffed, in microseconds; coverage the radio figures.
	occupancy, staffed int64
	coverage
	flights map[int64]struct{}
	// held, heldStaffed, heldWorking and heldKnown are the stored row's Occupants, Staffed, Working and
	// CoverageKnown: what it accrues in the database.
	held        int
	heldStaffed bool
	heldWorking int
	heldKnown   bool
}

// coverage is a sector-hour's radio figures in flight-microseconds (domain.SectorHour): occupancy while
// staffed, occupancy over cycles with a transceivers file, and of that the flights in contact.
type coverage struct {
	staffedOcc, knownOcc, onFreq int64
}

// rollupHour is one hour's rows and how much of it the cycles observed (µs).
type rollupHour struct {
	observed int64
	sectors  map[domain.SectorRef]*rollupRow
}

// rollups is the tracker's part: the hours and days still written to, and the open visits per sector after the
// last committed cycle.
type rollups struct {
	hours map[int64]*rollupHour // by the hour's start, Unix seconds
	// days are each sector's distinct flights of the days still written to (domain.SectorDay), by the day's
	// start: a day's distinct flights cannot be summed from its hours'.
	days   map[int64]map[domain.SectorRef]map[int64]struct{}
	counts map[domain.SectorRef]int
	// working is how many of each sector's occupants were in contact with a controller after the last
	// committed cycle, and known whether that cycle had a transceivers file.
	working map[domain.SectorRef]int
	known   bool
}

type hourSector struct {
	hour   int64
	sector domain.SectorRef
}

// rowWork is a sector-hour as a plan changes it: the new figures, and the flights it adds and takes out.
type rowWork struct {
	entries, exits, peak int
	occupancy, staffed   int64
	coverage
	committed *rollupRow // nil for a new row
	flightSet
	// held, heldStaffed, heldWorking and heldKnown are what the row accrues after this cycle.
	held        int
	heldStaffed bool
	heldWorking int
	heldKnown   bool
}

// flightSet is a committed set of distinct flights and what a plan adds to it and takes out of it.
type flightSet struct {
	base map[int64]struct{} // the committed set; nil for a new row
	// delta: true adds a flight, false takes it out.
	delta map[int64]bool
}

func (w *flightSet) add(id int64) {
	if w.delta == nil {
		w.delta = map[int64]bool{}
	}
	w.delta[id] = true
}

func (w *flightSet) remove(id int64) {
	if _, in := w.base[id]; in || w.delta[id] {
		if w.delta == nil {
			w.delta = map[int64]bool{}
		}
		w.delta[id] = false
	}
}

func (w *flightSet) flights() int {
	n := len(w.base)
	for id, in := range w.delta {
		_, was := w.base[id]
		switch {
		case in && !was:
			n++
		case !in && was:
			n--
		}
	}
	return n
}

// rollupPlan is what a cycle changes in the rollups.
type rollupPlan struct {
	rows     map[hourSector]*rowWork
	days     map[hourSector]*flightSet // by the day's start
	observed map[int64]int64           // the new observed time of each hour credited
	counts   map[domain.SectorRef]int
	working  map[domain.SectorRef]int
	known    bool
	keepFrom int64
	// arena holds the rows' work copies, allocated a chunk at a time (row keeps pointers into it).
	arena []rowWork
}

const (
	hourSeconds = 3600
	daySeconds  = 24 * hourSeconds
)

func dayOf(t time.Time) int64 {
	u := t.Unix()
	return u - ((u%daySeconds)+daySeconds)%daySeconds
}

// day returns the work copy of a sector-day's flights, starting it from the committed set.
func (rp *rollupPlan) day(r *rollups, d int64, s domain.SectorRef) *flightSet {
	k := hourSector{d, s}
	if w := rp.days[k]; w != nil {
		return w
	}
	w := &flightSet{base: r.days[d][s]}
	rp.days[k] = w
	return w
}

func (rp *rollupPlan) hasDay(r *rollups, d int64, s domain.SectorRef) bool {
	if rp.days[hourSector{d, s}] != nil {
		return true
	}
	_, ok := r.days[d][s]
	return ok
}

func hourOf(t time.Time) int64 {
	u := t.Unix()
	return u - ((u%hourSeconds)+hourSeconds)%hourSeconds
}

func hourTime(h int64) time.Time { return time.Unix(h, 0).UTC() }

// keepFrom is the earliest hour kept after a cycle at ts: the hours an exit of a flight still tracked may be
// dated in (it was seen within the grace period), at most SectorHoursReach back.
func keepFrom(ts time.Time, grace time.Duration) int64 {
	return max(hourOf(ts.Add(-grace)), hourOf(ts)-int64(domain.SectorHoursReach/time.Second))
}

// row returns the work copy of a sector-hour, starting it from the committed row.
func (rp *rollupPlan) row(r *rollups, h int64, s domain.SectorRef) *rowWork {
	k := hourSector{h, s}
	if w := rp.rows[k]; w != nil {
		return w
	}
	if len(rp.arena) == cap(rp.arena) {
		rp.arena = make([]rowWork, 0, max(64, 2*cap(rp.arena)))
	}
	rp.arena = append(rp.arena, rowWork{})
	w := &rp.arena[len(rp.arena)-1]
	if hr := r.hours[h]; hr != nil {
		if c := hr.sectors[s]; c != nil {
			w.entries, w.exits, w.peak, w.occupancy, w.staffed, w.base = c.entries, c.exits, c.peak, c.occupancy, c.staffed, c.flights
			w.coverage = c.coverage
			w.committed, w.held, w.heldStaffed, w.heldWorking, w.heldKnown = c, c.held, c.heldStaffed, c.heldWorking, c.heldKnown
		}
	}
	rp.rows[k] = w
	return w
}

func (rp *rollupPlan) has(r *rollups, h int64, s domain.SectorRef) bool {
	if rp.rows[hourSector{h, s}] != nil {
		return true
	}
	hr := r.hours[h]
	return hr != nil && hr.sectors[s] != nil
}

// diffRollups computes the cycle's rollups from the plan's visits and staffing and the tracker's state before
// it, and puts the rows to write in the plan's write.
func (p *Plan) diffRollups(t *Tracker, ts time.Time) {
	r := t.rollups
	now := hourOf(ts)
	size := len(r.counts) + 16
	if hr := r.hours[now]; hr != nil {
		size = max(size, len(hr.sectors)+16)
	}
	rp := &rollupPlan{rows: make(map[hourSector]*rowWork, size), days: map[hourSector]*flightSet{}, observed: map[int64]int64{},
		counts:   maps.Clone(r.counts),
		keepFrom: keepFrom(ts, t.grace), arena: make([]rowWork, 0, size)}
	p.rollups = rp
	oldest := now
	prev := t.last
	if !prev.IsZero() {
		oldest = min(now, keepFrom(prev, t.grace))
		// The previous cycle's hold, split at hour boundaries.
		from, until := prev, prev.Add(min(ts.Sub(prev), domain.MaxHold))
		for from.Before(until) {
			h := hourOf(from)
			end := earlier(until, hourTime(h+hourSeconds))
			d := end.Sub(from).Microseconds()
			if _, ok := rp.observed[h]; !ok {
				rp.observed[h] = r.observedOf(h)
			}
			rp.observed[h] += d
			for s, n := range r.counts {
				if n > 0 {
					w := rp.row(r, h, s)
					w.occupancy += int64(n) * d
					if t.staffed[s] != nil {
						w.staffedOcc += int64(n) * d
					}
					if r.known {
						w.knownOcc += int64(n) * d
						w.onFreq += int64(r.working[s]) * d
					}
				}
			}
			for s := range t.staffed {
				rp.row(r, h, s).staffed += d
			}
			from = end
		}
	}
	// The first cycle of a day, likewise.
	today, oldestDay := dayOf(ts), dayOf(hourTime(oldest))
	if prev.IsZero() || dayOf(prev) != today {
		first := today
		if !prev.IsZero() {
			first = max(dayOf(prev)+daySeconds, dayOf(hourTime(rp.keepFrom)))
		}
		for d := first; d <= today; d += daySeconds {
			for _, fs := range t.flights {
				for _, v := range fs.visits {
					rp.day(r, d, v.Sector).add(v.FlightID)
				}
			}
		}
	}
	// The first cycle of an hour: the visits open after the previous cycle overlap it, and every hour since
	// the previous cycle's that is still kept.
	if prev.IsZero() || hourOf(prev) != now {
		first := now
		if !prev.IsZero() {
			first = max(hourOf(prev)+hourSeconds, rp.keepFrom)
		}
		for h := first; h <= now; h += hourSeconds {
			for _, fs := range t.flights {
				for _, v := range fs.visits {
					rp.row(r, h, v.Sector).add(v.FlightID)
				}
			}
		}
	}
	for _, v := range p.Write.OpenedVisits {
		w := rp.row(r, now, v.Sector)
		w.entries++
		w.add(v.FlightID)
		rp.day(r, today, v.Sector).add(v.FlightID)
		rp.counts[v.Sector]++
	}
	for _, v := range p.Write.ClosedVisits {
		at := v.Exit.At
		h := max(hourOf(at), oldest)
		rp.row(r, h, v.Sector).exits++
		if rp.counts[v.Sector]--; rp.counts[v.Sector] <= 0 {
			delete(rp.counts, v.Sector)
		}
		// A visit ended before an hour does not overlap it: a disconnected flight, counted in an hour whose
		// first cycle still held it, is taken out of it.
		for hh := max(hourOf(at)+hourSeconds, oldest); hh <= now; hh += hourSeconds {
			if rp.has(r, hh, v.Sector) {
				rp.row(r, hh, v.Sector).remove(v.FlightID)
			}
		}
		for d := max(dayOf(at)+daySeconds, oldestDay); d <= today; d += daySeconds {
			if rp.hasDay(r, d, v.Sector) {
				rp.day(r, d, v.Sector).remove(v.FlightID)
			}
		}
	}
	for s, n := range rp.counts {
		w := rp.row(r, now, s)
		w.peak = max(w.peak, n)
	}
	// The occupants in contact after the cycle, whose flight-time the next cycle credits when this one had a
	// transceivers file.
	rp.known, rp.working = p.coverageKnown, make(map[domain.SectorRef]int, len(r.working)+8)
	for _, fs := range p.flights {
		if fs.row.WorkingControllerID != 0 {
			for _, v := range fs.visits {
				rp.working[v.Sector]++
			}
		}
	}
	for s := range p.staffed {
		rp.row(r, now, s)
	}
	// A stored row that accrues in an hour credited is compared too, even if nothing above touched it: the
	// tracker credits the hold by its own counts, so a row stored with other ones (a database of version 9, whose
	// rows accrue nothing) is rewritten rather than left to accrue what it should not.
	for h := range rp.observed {
		if hr := r.hours[h]; hr != nil {
			for s, c := range hr.sectors {
				if c.held > 0 || c.heldStaffed {
					rp.row(r, h, s)
				}
			}
		}
	}
	out := make([]domain.SectorHour, 0, len(rp.rows)/4)
	for k, w := range rp.rows {
		obs, credited := rp.observed[k.hour]
		if !credited {
			obs = r.observedOf(k.hour)
		}
		// The current hour's rows accrue the counts and staffing after this cycle; an earlier hour is over (no
		// later cycle credits it), so what its row accrues no longer matters and is kept.
		if k.hour == now {
			_, staffed := p.staffed[k.sector]
			w.held, w.heldStaffed = rp.counts[k.sector], staffed
			w.heldWorking, w.heldKnown = rp.working[k.sector], rp.known
		}
		if !w.changed(obs - r.observedOf(k.hour)) {
			continue
		}
		out = append(out, domain.SectorHour{
			Sector: k.sector, Hour: hourTime(k.hour), Entries: w.entries, Exits: w.exits, Flights: w.flights(),
			Peak: w.peak, OccupancySeconds: domain.Seconds(w.occupancy), StaffedSeconds: domain.Seconds(w.staffed),
			ObservedSeconds: domain.Seconds(obs), Occupants: w.held, Staffed: w.heldStaffed,
			StaffedOccupancySeconds: domain.Seconds(w.staffedOcc), KnownOccupancySeconds: domain.Seconds(w.knownOcc),
			OnFrequencySeconds: domain.Seconds(w.onFreq), Working: w.heldWorking, CoverageKnown: w.heldKnown,
		})
	}
	// In no particular order: the upserts do not need one (a row per key).
	p.Write.SectorHours = out
	p.Write.SectorDays = make([]domain.SectorDay, 0, len(rp.days))
	for k, w := range rp.days {
		if n := w.flights(); w.base == nil || n != len(w.base) {
			p.Write.SectorDays = append(p.Write.SectorDays, domain.SectorDay{Sector: k.sector, Day: hourTime(k.hour), Flights: n})
		}
	}
	p.Write.ObservedHours = make([]domain.ObservedHour, 0, len(rp.observed))
	for h, obs := range rp.observed {
		p.Write.ObservedHours = append(p.Write.ObservedHours, domain.ObservedHour{Hour: hourTime(h), Seconds: domain.Seconds(obs)})
	}
}

// changed reports whether the row must be written: it is new, or the stored row advanced by the observed
// microseconds the cycle credited its hour (domain.SectorHour.Advance) differs from it.
func (w *rowWork) changed(observed int64) bool {
	c := w.committed
	if c == nil {
		return true
	}
	staffed, cov := c.staffed, c.coverage
	if c.heldStaffed {
		staffed += observed
		cov.staffedOcc += int64(c.held) * observed
	}
	if c.heldKnown {
		cov.knownOcc += int64(c.held) * observed
		cov.onFreq += int64(c.heldWorking) * observed
	}
	return w.entries != c.entries || w.exits != c.exits || w.peak != c.peak || w.flights() != len(c.flights) ||
		w.held != c.held || w.heldStaffed != c.heldStaffed || w.heldWorking != c.heldWorking || w.heldKnown != c.heldKnown ||
		w.occupancy != c.occupancy+int64(c.held)*observed || w.staffed != staffed || w.coverage != cov
}

func (r *rollups) observedOf(h int64) int64 {
	if hr := r.hours[h]; hr != nil {
		return hr.observed
	}
	return 0
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// daySet returns a sector-day's committed flights, adding an empty set when there is none.
func (r *rollups) daySet(d int64, s domain.SectorRef) map[int64]struct{} {
	sectors := r.days[d]
	if sectors == nil {
		sectors = map[domain.SectorRef]map[int64]struct{}{}
		r.days[d] = sectors
	}
	set := sectors[s]
	if set == nil {
		set = map[int64]struct{}{}
		sectors[s] = set
	}
	return set
}

// applyRollups adopts a committed plan's rollups and forgets the hours no later cycle writes to.
func (t *Tracker) applyRollups(p *Plan) {
	rp := p.rollups
	r := t.rollups
	hour := func(h int64) *rollupHour {
		hr := r.hours[h]
		if hr == nil {
			hr = &rollupHour{sectors: map[domain.SectorRef]*rollupRow{}}
			r.hours[h] = hr
		}
		return hr
	}
	for h, obs := range rp.observed {
		hour(h).observed = obs
	}
	for k, w := range rp.rows {
		hr := hour(k.hour)
		c := hr.sectors[k.sector]
		if c == nil {
			c = &rollupRow{flights: map[int64]struct{}{}}
			hr.sectors[k.sector] = c
		}
		c.entries, c.exits, c.peak, c.occupancy, c.staffed, c.coverage = w.entries, w.exits, w.peak, w.occupancy, w.staffed, w.coverage
		c.held, c.heldStaffed, c.heldWorking, c.heldKnown = w.held, w.heldStaffed, w.heldWorking, w.heldKnown
		for id, in := range w.delta {
			if in {
				c.flights[id] = struct{}{}
			} else {
				delete(c.flights, id)
			}
		}
	}
	for k, w := range rp.days {
		set := r.daySet(k.hour, k.sector)
		for id, in := range w.delta {
			if in {
				set[id] = struct{}{}
			} else {
				delete(set, id)
			}
		}
	}
	r.counts, r.working, r.known = rp.counts, rp.working, rp.known
	for h := range r.hours {
		if h < rp.keepFrom {
			delete(r.hours, h)
		}
	}
	for d := range r.days {
		if d < dayOf(hourTime(rp.keepFrom)) {
			delete(r.days, d)
		}
	}
}

// rebuildRollups restores the rollups of the hours still written to from what the database holds: their rows,
// the visits overlapping them (their distinct flights) and the committed cycles' feed times (their observed
// time). It runs after the rest of NewTracker, so the open visits per sector are the tracked ones.
func (t *Tracker) rebuildRollups(st *domain.State) {
	r := &rollups{hours: map[int64]*rollupHour{}, days: map[int64]map[domain.SectorRef]map[int64]struct{}{},
		counts: map[domain.SectorRef]int{}, working: map[domain.SectorRef]int{}}
	t.rollups = r
	for _, fs := range t.flights {
		for _, v := range fs.visits {
			r.counts[v.Sector]++
			if fs.row.WorkingControllerID != 0 {
				r.working[v.Sector]++
			}
		}
	}
	if st != nil && st.LastCycle != nil {
		r.known = st.LastCycle.CoverageKnown
	}
	if st == nil || t.last.IsZero() {
		return
	}
	from, now := keepFrom(t.last, t.grace), hourOf(t.last)
	hour := func(h int64) *rollupHour {
		hr := r.hours[h]
		if hr == nil {
			hr = &rollupHour{sectors: map[domain.SectorRef]*rollupRow{}}
			r.hours[h] = hr
		}
		return hr
	}
	row := func(h int64, s domain.SectorRef) *rollupRow {
		hr := hour(h)
		c := hr.sectors[s]
		if c == nil {
			c = &rollupRow{flights: map[int64]struct{}{}}
			hr.sectors[s] = c
		}
		return c
	}
	stored := st.SectorHours[:0:0]
	for _, sh := range st.SectorHours {
		if h := hourOf(sh.Hour); h >= from && h <= now {
			stored = append(stored, sh)
		}
	}
	fromDay, today := dayOf(hourTime(from)), dayOf(t.last)
	for _, v := range st.HourVisits {
		for h := max(from, hourOf(v.EnteredAt)); h <= now; h += hourSeconds {
			if v.ExitedAt != nil && v.ExitedAt.Before(hourTime(h)) {
				break
			}
			row(h, v.Sector).flights[v.FlightID] = struct{}{}
		}
		for d := max(fromDay, dayOf(v.EnteredAt)); d <= today; d += daySeconds {
			if v.ExitedAt != nil && v.ExitedAt.Before(hourTime(d)) {
				break
			}
			r.daySet(d, v.Sector)[v.FlightID] = struct{}{}
		}
	}
	cycles := st.RecentCycles
	for i := 0; i+1 < len(cycles); i++ {
		a, b := cycles[i], cycles[i+1]
		if b.After(t.last) {
			break
		}
		until := a.Add(min(b.Sub(a), domain.MaxHold))
		for a.Before(until) {
			h := hourOf(a)
			end := earlier(until, hourTime(h+hourSeconds))
			if h >= from {
				hour(h).observed += end.Sub(a).Microseconds()
			}
			a = end
		}
	}
	// The stored rows are as of their hour's observed time when written; they accrued since.
	for _, sh := range stored {
		h := hourOf(sh.Hour)
		sh = sh.Advance(domain.Seconds(hour(h).observed))
		c := row(h, sh.Sector)
		c.entries, c.exits, c.peak = sh.Entries, sh.Exits, sh.Peak
		c.occupancy, c.staffed = domain.Micros(sh.OccupancySeconds), domain.Micros(sh.StaffedSeconds)
		c.coverage = coverage{staffedOcc: domain.Micros(sh.StaffedOccupancySeconds), knownOcc: domain.Micros(sh.KnownOccupancySeconds),
			onFreq: domain.Micros(sh.OnFrequencySeconds)}
		c.held, c.heldStaffed, c.heldWorking, c.heldKnown = sh.Occupants, sh.Staffed, sh.Working, sh.CoverageKnown
	}
}
