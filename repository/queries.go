package repository

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/migrations"
)

// The reads the API serves. Every one is bounded by the store's query timeout, pages with a keyset (never
// OFFSET, whose cost grows with the page number and which skips or repeats rows when rows come and go between
// two pages), and returns times in UTC. A read that spans several statements runs in one read-only transaction,
// so it never mixes two ingest cycles.

// ErrNotFound is returned by the reads of one row when no row matches.
var ErrNotFound = errors.New("repository: not found")

// Key is a position in the (callsign, id) order in which flights and controllers are listed; a page starts
// after it. Callsigns compare bytewise, the same in both dialects and in Go.
type Key struct {
	Callsign string
	ID       int64
}

// FlightFilter selects flights; zero fields match everything.
type FlightFilter struct {
	// Sector keeps the flights inside the sector now (an open visit); with IncludeOffline, also those with a
	// visit overlapping [SeenFrom, SeenUntil). The zero SectorRef matches every flight; one with the Set ""
	// matches its ID in any set.
	Sector domain.SectorRef
	// CallsignPrefix, Departure and Arrival compare case-insensitively.
	CallsignPrefix string
	Departure      string
	Arrival        string
	// IncludeOffline lists disconnected flights too; otherwise only flights online.
	IncludeOffline bool
	// SeenFrom (inclusive) and SeenUntil (exclusive) keep the flights seen during the range: first_seen <
	// SeenUntil and last_seen >= SeenFrom. Zero bounds are open.
	SeenFrom, SeenUntil time.Time
	// Bounds keeps the flights whose latest position is inside the box; nil: anywhere.
	Bounds *domain.BoundingBox
}

// DetailLimits bound what a flight's detail holds: a flight online all day has thousands of positions.
type DetailLimits struct {
	// Visits is the most visits returned, the newest; it must be positive.
	Visits int
	// TrackPoints is the most positions returned, the newest; 0 returns no track.
	TrackPoints int
}

// OccupantKey is a position in the order of a sector's occupants; a page starts after it.
type OccupantKey struct {
	EnteredAt time.Time
	Callsign  string
	VisitID   int64
}

// EventFilter selects sector events; zero fields match everything, and the fields combine with AND.
type EventFilter struct {
	// Sectors and Sets: events of one of these sectors, or of a sector of one of these sets; both empty
	// match every sector, and together they match either. A sector with the Set "" matches its ID in any set.
	Sectors []domain.SectorRef
	Sets    []string
	Kinds   []domain.EventKind
	// FlightCID and FlightCallsign keep the entries and exits of the flights with this CID, or this callsign
	// (case-insensitive); staffing changes never match them.
	FlightCID      int64
	FlightCallsign string
	// From (inclusive) and Until (exclusive) bound occurred_at; zero bounds are open.
	From, Until time.Time
}

// ControllerFilter selects controller connections online; zero fields match everything.
type ControllerFilter struct {
	Kinds []domain.ControllerKind
	// CallsignPrefix compares case-insensitively.
	CallsignPrefix string
	// Sector keeps the connections staffing the sector; the zero SectorRef matches every connection, one with
	// the Set "" its ID in any set.
	Sector domain.SectorRef
}

// ListFlights returns up to limit flights matching f, ordered by callsign then id, after the key (nil: from
// the start).
func (s *Store) ListFlights(ctx context.Context, f FlightFilter, after *Key, limit int) ([]domain.FlightSummary, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []domain.FlightSummary
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := s.flightsNow(tx)
		if !f.IncludeOffline {
			q = q.Where("flights.disconnected_at IS NULL")
		}
		if f.Sector != (domain.SectorRef{}) {
			visits := tx.Table("sector_visits AS v").Select("1").Where("v.flight_id = flights.id AND v.sector_id = ?", f.Sector.ID)
			if f.Sector.Set != "" {
				visits = visits.Where("v.sector_set = ?", f.Sector.Set)
			}
			if !f.IncludeOffline {
				visits = visits.Where("v.exited_at IS NULL")
			} else {
				// An open visit extends to now, so it overlaps any range that started before it ended.
				if !f.SeenUntil.IsZero() {
					visits = visits.Where("v.entered_at < ?", f.SeenUntil.UTC())
				}
				if !f.SeenFrom.IsZero() {
					visits = visits.Where("(v.exited_at IS NULL OR v.exited_at >= ?)", f.SeenFrom.UTC())
				}
			}
			q = q.Where("EXISTS (?)", visits)
		}
		if b := f.Bounds; b != nil {
			q = q.Where(latitudeNow+" BETWEEN ? AND ?", b.MinLat, b.MaxLat)
			if b.MinLon <= b.MaxLon {
				q = q.Where(longitudeNow+" BETWEEN ? AND ?", b.MinLon, b.MaxLon)
			} else {
				q = q.Where("("+longitudeNow+" >= ? OR "+longitudeNow+" <= ?)", b.MinLon, b.MaxLon)
			}
		}
		if f.CallsignPrefix != "" {
			q = q.Where(`UPPER(flights.callsign) LIKE ? ESCAPE '\'`, likePrefix(f.CallsignPrefix))
		}
		for _, plan := range []struct{ col, v string }{{"departure", f.Departure}, {"arrival", f.Arrival}} {
			if plan.v != "" {
				q = q.Where("EXISTS (?)", tx.Table("flight_plans AS p").Select("1").
					Where("p.flight_id = flights.id AND UPPER(p."+plan.col+") = ?", strings.ToUpper(plan.v)))
			}
		}
		if f.IncludeOffline {
			if !f.SeenUntil.IsZero() {
				q = q.Where("flights.first_seen < ?", f.SeenUntil.UTC())
			}
			if !f.SeenFrom.IsZero() {
				q = q.Where(lastSeenNow+" >= ?", f.SeenFrom.UTC())
			}
		}
		var rows []flightNow
		if err := s.afterKey(q, "flights", after).Order(s.keyOrder("flights")).Limit(limit).Find(&rows).Error; err != nil {
			return fmt.Errorf("flights: %w", err)
		}
		var err error
		out, err = s.summarize(tx, flightsOfNow(rows))
		return err
	})
	if err != nil {
		return nil, readError("list flights", err)
	}
	return out, nil
}

// FlightByID returns a flight, online or not, with its newest visits and positions within lim. ErrNotFound
// when no flight has the id.
func (s *Store) FlightByID(ctx context.Context, id int64, lim DetailLimits) (*domain.FlightDetail, error) {
	return s.flightDetail(ctx, lim, func(tx *gorm.DB) *gorm.DB { return tx.Where("flights.id = ?", id) })
}

// OnlineFlightByCallsign returns the online flight with the callsign (case-insensitive); among several (a ghost
// connection) the latest logon. ErrNotFound when none is online.
func (s *Store) OnlineFlightByCallsign(ctx context.Context, callsign string, lim DetailLimits) (*domain.FlightDetail, error) {
	return s.flightDetail(ctx, lim, func(tx *gorm.DB) *gorm.DB {
		return tx.Where("flights.disconnected_at IS NULL AND UPPER(flights.callsign) = ?", strings.ToUpper(callsign)).
			Order("flights.logon_time DESC, flights.id DESC")
	})
}

func (s *Store) flightDetail(ctx context.Context, lim DetailLimits, where func(*gorm.DB) *gorm.DB) (*domain.FlightDetail, error) {
	if err := checkLimit(lim.Visits); err != nil {
		return nil, err
	}
	var d domain.FlightDetail
	err := s.read(ctx, func(tx *gorm.DB) error {
		var row flightNow
		if err := where(s.flightsNow(tx)).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return fmt.Errorf("flight: %w", err)
		}
		f := row.flight()
		sums, err := s.summarize(tx, []Flight{f})
		if err != nil {
			return err
		}
		d.FlightSummary = sums[0]
		// The newest first, one more than the limit to tell whether older ones exist, then put back in order.
		var visits []Visit
		if err := tx.Where("flight_id = ?", f.ID).Order("entered_at DESC, id DESC").Limit(lim.Visits + 1).
			Find(&visits).Error; err != nil {
			return fmt.Errorf("visits: %w", err)
		}
		if len(visits) > lim.Visits {
			visits, d.VisitsTruncated = visits[:lim.Visits], true
		}
		slices.Reverse(visits)
		d.Visits = make([]domain.Visit, len(visits))
		for i := range visits {
			visits[i].normalize()
			d.Visits[i] = visitOf(&visits[i])
		}
		// Visits entered in the same cycle come in sector order; the database's collation may differ.
		slices.SortStableFunc(d.Visits, func(a, b domain.Visit) int {
			return cmp.Or(a.EnteredAt.Compare(b.EnteredAt), a.Sector.Compare(b.Sector))
		})
		if lim.TrackPoints > 0 {
			var track []Position
			if err := tx.Where("flight_id = ?", f.ID).Order("observed_at DESC").Limit(lim.TrackPoints + 1).
				Find(&track).Error; err != nil {
				return fmt.Errorf("track: %w", err)
			}
			if len(track) > lim.TrackPoints {
				track, d.TrackTruncated = track[:lim.TrackPoints], true
			}
			slices.Reverse(track)
			d.Track = make([]domain.Position, len(track))
			for i := range track {
				d.Track[i] = positionOf(&track[i])
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, readError("flight", err)
	}
	return &d, nil
}

// summarize attaches plans and current sectors to flights (as flightNow reads them), keeping their order.
func (s *Store) summarize(tx *gorm.DB, flights []Flight) ([]domain.FlightSummary, error) {
	out := make([]domain.FlightSummary, len(flights))
	if len(flights) == 0 {
		return out, nil
	}
	ids := make([]int64, len(flights))
	at := make(map[int64]int, len(flights))
	for i := range flights {
		out[i].Flight = domain.Flight(flights[i])
		ids[i] = flights[i].ID
		at[flights[i].ID] = i
	}
	var plans []FlightPlan
	if err := tx.Where("flight_id IN ?", ids).Find(&plans).Error; err != nil {
		return nil, fmt.Errorf("flight plans: %w", err)
	}
	for i := range plans {
		p := domain.FlightPlan(plans[i])
		p.UpdatedAt = p.UpdatedAt.UTC()
		out[at[p.FlightID]].Plan = &p
	}
	var open []Visit
	if err := tx.Select("flight_id", "sector_set", "sector_id").Where("flight_id IN ? AND exited_at IS NULL", ids).
		Find(&open).Error; err != nil {
		return nil, fmt.Errorf("open visits: %w", err)
	}
	for _, v := range open {
		i := at[v.FlightID]
		out[i].Sectors = append(out[i].Sectors, sectorOf(v.SectorSet, v.SectorID))
	}
	for i := range out {
		slices.SortFunc(out[i].Sectors, domain.SectorRef.Compare)
	}
	return out, nil
}

// SectorOccupancy returns up to limit flights inside a sector now, after the key (nil: from the start), with
// the count of all of them, the sector's staffing, and the cycle this reflects.
func (s *Store) SectorOccupancy(ctx context.Context, sector domain.SectorRef, after *OccupantKey, limit int) (*domain.Occupancy, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var occ domain.Occupancy
	err := s.read(ctx, func(tx *gorm.DB) error {
		var total int64
		if err := tx.Model(&Visit{}).Where("sector_set = ? AND sector_id = ? AND exited_at IS NULL", sector.Set, sector.ID).
			Count(&total).Error; err != nil {
			return fmt.Errorf("occupant count: %w", err)
		}
		occ.Total = int(total)
		callsign := s.bytewise("f.callsign")
		q := tx.Table("sector_visits AS v").Select("v.id AS visit_id, v.entered_at, v.flight_id").
			Joins("JOIN flights AS f ON f.id = v.flight_id").
			Where("v.sector_set = ? AND v.sector_id = ? AND v.exited_at IS NULL", sector.Set, sector.ID)
		if after != nil {
			q = q.Where("(v.entered_at, "+callsign+", v.id) > (?, ?, ?)", after.EnteredAt.UTC(), after.Callsign, after.VisitID)
		}
		var rows []struct {
			VisitID   int64
			EnteredAt time.Time
			FlightID  int64
		}
		if err := q.Order("v.entered_at, " + callsign + ", v.id").Limit(limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("open visits: %w", err)
		}
		if len(rows) > 0 {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.FlightID
			}
			var flights []flightNow
			if err := s.flightsNow(tx).Where("flights.id IN ?", ids).Find(&flights).Error; err != nil {
				return fmt.Errorf("flights: %w", err)
			}
			byID := make(map[int64]Flight, len(flights))
			for i := range flights {
				f := flights[i].flight()
				byID[f.ID] = f
			}
			occ.Occupants = make([]domain.Occupant, 0, len(rows))
			for _, r := range rows {
				occ.Occupants = append(occ.Occupants, domain.Occupant{
					VisitID: r.VisitID, EnteredAt: r.EnteredAt.UTC(), Flight: domain.Flight(byID[r.FlightID]),
				})
			}
		}
		staffing, err := s.staffing(tx, []domain.SectorRef{sector})
		if err != nil {
			return err
		}
		occ.Staffing = staffing[sector]
		last, err := lastCommitted(tx)
		if err != nil {
			return err
		}
		if last != nil {
			occ.AsOf = last.UpdateTimestamp
		}
		return nil
	})
	if err != nil {
		return nil, readError("sector occupancy", err)
	}
	return &occ, nil
}

// SectorStates returns the flight count and staffing of each of the sectors (all sectors when ids is nil);
// sectors nobody is in or staffs are absent from the map.
func (s *Store) SectorStates(ctx context.Context, ids []domain.SectorRef) (map[domain.SectorRef]domain.SectorState, error) {
	var out map[domain.SectorRef]domain.SectorState
	err := s.read(ctx, func(tx *gorm.DB) (err error) {
		out, err = s.sectorStates(tx, ids)
		return err
	})
	if err != nil {
		return nil, readError("sector states", err)
	}
	return out, nil
}

// SectorFlightCounts returns the number of flights inside each sector now (all sectors when ids is nil);
// empty sectors are absent.
func (s *Store) SectorFlightCounts(ctx context.Context, ids []domain.SectorRef) (map[domain.SectorRef]int, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db, err := s.queries()
	if err != nil {
		return nil, readError("flight counts", err)
	}
	out, err := flightCounts(db.WithContext(ctx), ids)
	if err != nil {
		return nil, readError("sector flight counts", err)
	}
	return out, nil
}

func flightCounts(tx *gorm.DB, ids []domain.SectorRef) (map[domain.SectorRef]int, error) {
	q := tx.Model(&Visit{}).Select("sector_set, sector_id, COUNT(*) AS flights").Where("exited_at IS NULL")
	if ids != nil {
		if len(ids) == 0 {
			return map[domain.SectorRef]int{}, nil
		}
		q = whereSectorIn(q, ids, nil)
	}
	var rows []struct {
		SectorSet string
		SectorID  string
		Flights   int
	}
	if err := q.Group("sector_set, sector_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("flight counts: %w", err)
	}
	out := make(map[domain.SectorRef]int, len(rows))
	for _, r := range rows {
		out[sectorOf(r.SectorSet, r.SectorID)] = r.Flights
	}
	return out, nil
}

// whereSectorIn keeps the rows of one of the sectors (a Set "" meaning any set), or of a sector of one of the
// sets: one condition, so that it ANDs with the others. A row-value IN, which both databases answer from the
// (sector_set, sector_id) indexes.
func whereSectorIn(q *gorm.DB, refs []domain.SectorRef, sets []string) *gorm.DB {
	var conds, pairs []string
	var args, anySet []any
	for _, r := range refs {
		if r.Set == "" {
			anySet = append(anySet, r.ID)
			continue
		}
		pairs = append(pairs, "(?, ?)")
		args = append(args, r.Set, r.ID)
	}
	if len(pairs) > 0 {
		conds = append(conds, "(sector_set, sector_id) IN ("+strings.Join(pairs, ", ")+")")
	}
	if len(anySet) > 0 {
		conds = append(conds, "sector_id IN ?")
		args = append(args, anySet)
	}
	if len(sets) > 0 {
		conds = append(conds, "sector_set IN ?")
		args = append(args, sets)
	}
	return q.Where("("+strings.Join(conds, " OR ")+")", args...)
}

// staffing maps each sector (of ids, or all when nil) to the controllers online staffing it, by callsign then
// id. The sectors column is space-separated, so the split is done here; only a few hundred controllers are
// online at a time.
func (s *Store) staffing(tx *gorm.DB, ids []domain.SectorRef) (map[domain.SectorRef][]domain.Controller, error) {
	var cs []Controller
	if err := tx.Where("disconnected_at IS NULL AND kind = ? AND sectors <> ''", string(domain.KindController)).
		Order(s.keyOrder("controllers")).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("staffing: %w", err)
	}
	var want map[domain.SectorRef]bool
	if ids != nil {
		want = make(map[domain.SectorRef]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
	}
	out := map[domain.SectorRef][]domain.Controller{}
	for i := range cs {
		cs[i].normalize()
		c := controllerOf(&cs[i])
		for _, ref := range c.Sectors {
			if want == nil || want[ref] {
				out[ref] = append(out[ref], c)
			}
		}
	}
	return out, nil
}

// ListEvents returns up to limit events matching f with after < sequence (and sequence <= through when through
// is positive), in sequence order.
func (s *Store) ListEvents(ctx context.Context, f EventFilter, after, through int64, limit int) ([]domain.Event, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db, err := s.queries()
	if err != nil {
		return nil, readError("list events", err)
	}
	events, err := listEvents(db.WithContext(ctx), f, after, through, limit)
	if err != nil {
		return nil, readError("list events", err)
	}
	return eventsOf(events), nil
}

// ReplayEvents is ListEvents for a stream that resumes after a checkpoint: it also returns the oldest stored
// sequence (0 when none is stored) as of the same snapshot, so the caller can tell a page that is complete
// from one that pruning, running meanwhile, has cut into.
func (s *Store) ReplayEvents(ctx context.Context, f EventFilter, after, through int64, limit int) ([]domain.Event, int64, error) {
	if err := checkLimit(limit); err != nil {
		return nil, 0, err
	}
	var (
		events   []Event
		oldest   int64
		through2 int64
	)
	err := s.readTail(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Event{}).Select("COALESCE(MIN(sequence), 0)").Where(notPruned).Scan(&oldest).Error; err != nil {
			return fmt.Errorf("oldest sequence: %w", err)
		}
		var err error
		if events, err = listEvents(tx, f, after, through, limit); err != nil {
			return err
		}
		if s.replica == nil || len(events) == limit || through <= 0 {
			return nil
		}
		// A standby may not have replayed yet the events a stream's hub already published: what it has, it has
		// whole (a cycle's events commit with its record), so it has every event through its newest
		// committed cycle's last sequence, and the rest comes from the primary.
		return tx.Model(&Cycle{}).Select("COALESCE(MAX(last_sequence), 0)").Where("error IS NULL").Scan(&through2).Error
	})
	if err != nil {
		return nil, 0, readError("replay events", err)
	}
	if s.replica != nil && len(events) < limit && through > 0 && through2 < through {
		from := max(after, through2)
		if n := len(events); n > 0 {
			from = max(from, events[n-1].Sequence)
		}
		ctx, cancel := s.deadline(ctx)
		defer cancel()
		rest, err := listEvents(s.db.WithContext(ctx), f, from, through, limit-len(events))
		if err != nil {
			return nil, 0, readError("replay events from the primary", err)
		}
		events = append(events, rest...)
	}
	return eventsOf(events), oldest, nil
}

// notPruned keeps the events retention has not cut off (prune.go): on PostgreSQL a cycle's events may outlive
// the day partition of its other events, so rows are no proof that an event is retained.
const notPruned = "sequence > (" + prunedThroughSQL + ")"

func listEvents(db *gorm.DB, f EventFilter, after, through int64, limit int) ([]Event, error) {
	q := db.Where("sequence > ?", after).Where(notPruned)
	if through > 0 {
		q = q.Where("sequence <= ?", through)
	}
	if len(f.Sectors) > 0 || len(f.Sets) > 0 {
		q = whereSectorIn(q, f.Sectors, f.Sets)
	}
	if f.FlightCID != 0 {
		q = q.Where("flight_id IS NOT NULL AND cid = ?", f.FlightCID)
	}
	if f.FlightCallsign != "" {
		q = q.Where("flight_id IS NOT NULL AND UPPER(callsign) = ?", strings.ToUpper(f.FlightCallsign))
	}
	if len(f.Kinds) > 0 {
		q = q.Where("kind IN ?", kindNames(f.Kinds))
	}
	if !f.From.IsZero() {
		q = q.Where("occurred_at >= ?", f.From.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("occurred_at < ?", f.Until.UTC())
	}
	var events []Event
	if err := q.Order("sequence").Limit(limit).Find(&events).Error; err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	for i := range events {
		events[i].OccurredAt = events[i].OccurredAt.UTC()
	}
	return events, nil
}

// SequenceBounds returns the oldest retained and the latest stored event sequence: oldest is 0 when no event
// is retained, latest when none was ever stored (it is at least the last sequence pruned).
func (s *Store) SequenceBounds(ctx context.Context) (oldest, latest int64, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var b struct{ Oldest, Latest, Pruned int64 }
	// Each bound a subquery of its own, so that each is read from the key's end.
	if err := s.db.WithContext(ctx).Raw("SELECT COALESCE((SELECT MIN(sequence) FROM sector_events WHERE " + notPruned + "), 0) AS oldest, " +
		"COALESCE((SELECT MAX(sequence) FROM sector_events), 0) AS latest, (" + prunedThroughSQL + ") AS pruned").
		Scan(&b).Error; err != nil {
		return 0, 0, readError("sequence bounds", err)
	}
	return b.Oldest, max(b.Latest, b.Pruned), nil
}

// ListOnlineControllers returns up to limit connections online matching f, ordered by callsign then id, after
// the key (nil: from the start).
func (s *Store) ListOnlineControllers(ctx context.Context, f ControllerFilter, after *Key, limit int) ([]domain.Controller, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db, err := s.queries()
	if err != nil {
		return nil, readError("online controllers", err)
	}
	q := db.WithContext(ctx).Model(&Controller{}).Where("controllers.disconnected_at IS NULL")
	if len(f.Kinds) > 0 {
		q = q.Where("controllers.kind IN ?", kindNames(f.Kinds))
	}
	if f.CallsignPrefix != "" {
		q = q.Where(`UPPER(controllers.callsign) LIKE ? ESCAPE '\'`, likePrefix(f.CallsignPrefix))
	}
	anySet := f.Sector != (domain.SectorRef{}) && f.Sector.Set == ""
	if f.Sector != (domain.SectorRef{}) {
		token := "% " + escapeLike(sectorToken(f.Sector)) + " %"
		if anySet {
			// Any set's sector with this id: the LIKE narrows it down, but its "%" before the "/" would also take
			// in an id's own "/" (div/A/B for the id B), so the rows are checked exactly below.
			token = "% %/" + escapeLike(sectorToken(domain.SectorRef{ID: f.Sector.ID})[1:]) + " %"
		}
		q = q.Where(`(' ' || controllers.sectors || ' ') LIKE ? ESCAPE '\'`, token)
	}
	q = s.afterKey(q, "controllers", after).Order(s.keyOrder("controllers"))
	if !anySet {
		// Checked exactly afterwards, the any-set rows are read whole: no more than the controllers online.
		q = q.Limit(limit)
	}
	var cs []Controller
	if err := q.Find(&cs).Error; err != nil {
		return nil, readError("list controllers", err)
	}
	for i := range cs {
		cs[i].normalize()
	}
	out := controllersOf(cs)
	if anySet {
		out = slices.DeleteFunc(out, func(c domain.Controller) bool {
			return !slices.ContainsFunc(c.Sectors, func(r domain.SectorRef) bool { return r.ID == f.Sector.ID })
		})
		out = out[:min(len(out), limit)]
	}
	return out, nil
}

// LastCommittedCycle returns the last committed cycle, or nil on a database that has none.
func (s *Store) LastCommittedCycle(ctx context.Context) (*domain.Cycle, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	c, err := lastCommitted(s.db.WithContext(ctx))
	if err != nil {
		return nil, readError("last committed cycle", err)
	}
	return cycleOf(c), nil
}

func lastCommitted(tx *gorm.DB) (*Cycle, error) {
	var c Cycle
	switch err := tx.Where("error IS NULL").Order("id DESC").Take(&c).Error; {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("last committed cycle: %w", err)
	}
	c.normalize()
	return &c, nil
}

// read runs fn in one read-only transaction under the query timeout. On PostgreSQL it is REPEATABLE READ, so
// every statement sees the same snapshot; SQLite's deferred read transaction is a snapshot in WAL mode (and
// a read-only transaction does not take the write lock the DSN's _txlock=immediate asks for).
// It reads the read standby when there is one and it is fresh enough; it fails with a *StaleReadError otherwise.
func (s *Store) read(ctx context.Context, fn func(tx *gorm.DB) error) error {
	db, err := s.queries()
	if err != nil {
		return err
	}
	return s.readOn(ctx, db, fn)
}

// readTail is read for the streams' reads by sequence, which a lagging standby delays but cannot make wrong.
func (s *Store) readTail(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.readOn(ctx, s.tails(), fn)
}

func (s *Store) readOn(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == migrations.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return db.WithContext(ctx).Transaction(fn, opts)
}

// keyOrder is the listing order of a table with callsign and id. PostgreSQL compares text by the database's
// locale, which differs between installations (en_US ignores underscores at first); COLLATE "C" is bytewise
// as SQLite and Go, and matches the indexes of migration 00002.
func (s *Store) keyOrder(table string) string {
	return s.bytewise(table+".callsign") + ", " + table + ".id"
}

func (s *Store) afterKey(q *gorm.DB, table string, after *Key) *gorm.DB {
	if after == nil {
		return q
	}
	return q.Where("("+s.bytewise(table+".callsign")+", "+table+".id) > (?, ?)", after.Callsign, after.ID)
}

func (s *Store) bytewise(col string) string {
	if s.dialect == migrations.Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// likePrefix is a LIKE pattern matching the upper-cased prefix literally.
func likePrefix(p string) string { return escapeLike(strings.ToUpper(p)) + "%" }

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("repository: limit %d: want a positive page size", limit)
	}
	return nil
}

// SQLite hands times back in a fixed zone named by their offset; the API speaks UTC.

func (f *Flight) normalize() {
	f.LogonTime, f.LastUpdated, f.FirstSeen, f.LastSeen = f.LogonTime.UTC(), f.LastUpdated.UTC(), f.FirstSeen.UTC(), f.LastSeen.UTC()
	f.DisconnectedAt = utcPtr(f.DisconnectedAt)
}

func (v *Visit) normalize() {
	v.EnteredAt = v.EnteredAt.UTC()
	v.ExitedAt = utcPtr(v.ExitedAt)
}

func (c *Controller) normalize() {
	c.LogonTime, c.LastUpdated, c.FirstSeen = c.LogonTime.UTC(), c.LastUpdated.UTC(), c.FirstSeen.UTC()
	c.DisconnectedAt = utcPtr(c.DisconnectedAt)
}

func (c *Cycle) normalize() {
	c.UpdateTimestamp, c.FetchedAt = c.UpdateTimestamp.UTC(), c.FetchedAt.UTC()
	c.CommittedAt = utcPtr(c.CommittedAt)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// sectorStates is SectorStates within a read transaction.
func (s *Store) sectorStates(tx *gorm.DB, ids []domain.SectorRef) (map[domain.SectorRef]domain.SectorState, error) {
	counts, err := flightCounts(tx, ids)
	if err != nil {
		return nil, err
	}
	staffing, err := s.staffing(tx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[domain.SectorRef]domain.SectorState, len(counts))
	for id, n := range counts {
		out[id] = domain.SectorState{Flights: n}
	}
	for id, cs := range staffing {
		st := out[id]
		st.Staffing = cs
		out[id] = st
	}
	return out, nil
}
