package ingest

import (
	"maps"
	"math"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// Hourly rollups per sector (domain.SectorHour, table sector_hours) are computed with the rest of a cycle, in
// memory, and written by the cycle's transaction as one upsert of the absolute totals of every sector-hour the
// cycle touched. Like the rest of the tracked state they change only once the cycle is committed (Diff computes
// a rollupPlan, Apply adopts it), and they are rebuilt from the database whenever the tracker is (NewTracker).
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

// rollupRow is one sector-hour.
type rollupRow struct {
	entries, exits, peak int
	// occupancy is Σ n × hold, staffed Σ hold while staffed, in microseconds.
	occupancy, staffed int64
	flights            map[int64]struct{}
}

// rollupHour is one hour's rows and how much of it the cycles observed (µs).
type rollupHour struct {
	observed int64
	sectors  map[domain.SectorRef]*rollupRow
}

// rollups is the tracker's part: the hours still written to, and the open visits per sector after the last
// committed cycle.
type rollups struct {
	hours  map[int64]*rollupHour // by the hour's start, Unix seconds
	counts map[domain.SectorRef]int
}

type hourSector struct {
	hour   int64
	sector domain.SectorRef
}

// rowWork is a sector-hour as a plan changes it: the new figures, and the flights it adds and takes out.
type rowWork struct {
	entries, exits, peak int
	occupancy, staffed   int64
	base                 map[int64]struct{} // the committed set; nil for a new row
	// delta: true adds a flight, false takes it out.
	delta map[int64]bool
}

func (w *rowWork) add(id int64) {
	if w.delta == nil {
		w.delta = map[int64]bool{}
	}
	w.delta[id] = true
}

func (w *rowWork) remove(id int64) {
	if _, in := w.base[id]; in || w.delta[id] {
		if w.delta == nil {
			w.delta = map[int64]bool{}
		}
		w.delta[id] = false
	}
}

func (w *rowWork) flights() int {
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
	observed map[int64]int64 // the new observed time of each hour credited
	counts   map[domain.SectorRef]int
	keepFrom int64
	// arena holds the rows' work copies, allocated a chunk at a time (row keeps pointers into it).
	arena []rowWork
}

const hourSeconds = 3600

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
	rp := &rollupPlan{rows: make(map[hourSector]*rowWork, size), observed: map[int64]int64{}, counts: maps.Clone(r.counts),
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
					rp.row(r, h, s).occupancy += int64(n) * d
				}
			}
			for s := range t.staffed {
				rp.row(r, h, s).staffed += d
			}
			from = end
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
	}
	for s, n := range rp.counts {
		w := rp.row(r, now, s)
		w.peak = max(w.peak, n)
	}
	for s := range p.staffed {
		rp.row(r, now, s)
	}
	// Every row of an hour the cycle touched is written: its observed time changed, or one of its figures.
	touched := map[int64]bool{}
	for k := range rp.rows {
		touched[k.hour] = true
	}
	for h := range rp.observed {
		touched[h] = true
	}
	for h := range touched {
		if hr := r.hours[h]; hr != nil {
			for s := range hr.sectors {
				rp.row(r, h, s)
			}
		}
		if _, ok := rp.observed[h]; !ok {
			rp.observed[h] = r.observedOf(h)
		}
	}
	out := make([]domain.SectorHour, 0, len(rp.rows))
	for k, w := range rp.rows {
		out = append(out, domain.SectorHour{
			Sector: k.sector, Hour: hourTime(k.hour), Entries: w.entries, Exits: w.exits, Flights: w.flights(),
			Peak: w.peak, OccupancySeconds: seconds(w.occupancy), StaffedSeconds: seconds(w.staffed),
			ObservedSeconds: seconds(rp.observed[k.hour]),
		})
	}
	// In no particular order: the upsert does not need one (a row per key).
	p.Write.SectorHours = out
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

func seconds(us int64) float64 { return float64(us) / 1e6 }

func micros(s float64) int64 { return int64(math.Round(s * 1e6)) }

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
		c.entries, c.exits, c.peak, c.occupancy, c.staffed = w.entries, w.exits, w.peak, w.occupancy, w.staffed
		for id, in := range w.delta {
			if in {
				c.flights[id] = struct{}{}
			} else {
				delete(c.flights, id)
			}
		}
	}
	r.counts = rp.counts
	for h := range r.hours {
		if h < rp.keepFrom {
			delete(r.hours, h)
		}
	}
}

// rebuildRollups restores the rollups of the hours still written to from what the database holds: their rows,
// the visits overlapping them (their distinct flights) and the committed cycles' feed times (their observed
// time). It runs after the rest of NewTracker, so the open visits per sector are the tracked ones.
func (t *Tracker) rebuildRollups(st *domain.State) {
	r := &rollups{hours: map[int64]*rollupHour{}, counts: map[domain.SectorRef]int{}}
	t.rollups = r
	for _, fs := range t.flights {
		for _, v := range fs.visits {
			r.counts[v.Sector]++
		}
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
	for _, sh := range st.SectorHours {
		h := hourOf(sh.Hour)
		if h < from || h > now {
			continue
		}
		c := row(h, sh.Sector)
		c.entries, c.exits, c.peak = sh.Entries, sh.Exits, sh.Peak
		c.occupancy, c.staffed = micros(sh.OccupancySeconds), micros(sh.StaffedSeconds)
	}
	for _, v := range st.HourVisits {
		for h := max(from, hourOf(v.EnteredAt)); h <= now; h += hourSeconds {
			if v.ExitedAt != nil && v.ExitedAt.Before(hourTime(h)) {
				break
			}
			row(h, v.Sector).flights[v.FlightID] = struct{}{}
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
}
