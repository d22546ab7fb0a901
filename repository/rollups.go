package repository

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/migrations"
)

// SectorHour stores a domain.SectorHour (migrations/*/00008_sector_hours.sql and 00010_accruing_sector_hours.sql
// say what each column holds). AsOfSeconds is the domain's ObservedSeconds: the hour's observed time the
// figures are as of, from which they accrue; the hour's observed time itself is its ObservedHour's.
type SectorHour struct {
	SectorSet        string    `gorm:"primaryKey"`
	SectorID         string    `gorm:"primaryKey"`
	Hour             time.Time `gorm:"primaryKey"`
	Entries          int
	Exits            int
	Flights          int
	Peak             int
	OccupancySeconds float64
	StaffedSeconds   float64
	AsOfSeconds      float64
	Occupants        int
	Staffed          bool
	// The radio coverage figures and what they accrue (migration 00013).
	StaffedOccupancySeconds float64
	KnownOccupancySeconds   float64
	OnFrequencySeconds      float64
	Working                 int
	CoverageKnown           bool
}

func (SectorHour) TableName() string { return "sector_hours" }

// ObservedHour stores a domain.ObservedHour.
type ObservedHour struct {
	Hour            time.Time `gorm:"primaryKey"`
	ObservedSeconds float64
}

func (ObservedHour) TableName() string { return "observed_hours" }

// sectorHoursOn upserts a cycle's sector-hours: every figure is the hour's absolute total, so the row is
// overwritten.
var sectorHoursOn = conflict{key: "sector_set,sector_id,hour", update: []string{
	"entries", "exits", "flights", "peak", "occupancy_seconds", "staffed_seconds", "as_of_seconds", "occupants", "staffed",
	"staffed_occupancy_seconds", "known_occupancy_seconds", "on_frequency_seconds", "working", "coverage_known",
}}

var observedHoursOn = conflict{key: "hour", update: []string{"observed_seconds"}}

// SectorDay stores a domain.SectorDay.
type SectorDay struct {
	SectorSet string    `gorm:"primaryKey"`
	SectorID  string    `gorm:"primaryKey"`
	Day       time.Time `gorm:"primaryKey"`
	Flights   int
}

func (SectorDay) TableName() string { return "sector_days" }

var sectorDaysOn = conflict{key: "sector_set,sector_id,day", update: []string{"flights"}}

func sectorDayRows(days []domain.SectorDay) []SectorDay {
	out := make([]SectorDay, len(days))
	for i, d := range days {
		out[i] = SectorDay{SectorSet: d.Sector.Set, SectorID: d.Sector.ID, Day: d.Day.UTC(), Flights: d.Flights}
	}
	return out
}

func keyColumns(key string) []clause.Column {
	names := strings.Split(key, ",")
	out := make([]clause.Column, len(names))
	for i, n := range names {
		out[i] = clause.Column{Name: n}
	}
	return out
}

func sectorHourRows(hours []domain.SectorHour) []SectorHour {
	out := make([]SectorHour, len(hours))
	for i, h := range hours {
		out[i] = SectorHour{
			SectorSet: h.Sector.Set, SectorID: h.Sector.ID, Hour: h.Hour.UTC(), Entries: h.Entries, Exits: h.Exits,
			Flights: h.Flights, Peak: h.Peak, OccupancySeconds: h.OccupancySeconds, StaffedSeconds: h.StaffedSeconds,
			AsOfSeconds: h.ObservedSeconds, Occupants: h.Occupants, Staffed: h.Staffed,
			StaffedOccupancySeconds: h.StaffedOccupancySeconds, KnownOccupancySeconds: h.KnownOccupancySeconds,
			OnFrequencySeconds: h.OnFrequencySeconds, Working: h.Working, CoverageKnown: h.CoverageKnown,
		}
	}
	return out
}

func observedHourRows(hours []domain.ObservedHour) []ObservedHour {
	out := make([]ObservedHour, len(hours))
	for i, h := range hours {
		out[i] = ObservedHour{Hour: h.Hour.UTC(), ObservedSeconds: h.Seconds}
	}
	return out
}

func sectorHourOf(r *SectorHour) domain.SectorHour {
	return domain.SectorHour{
		Sector: domain.SectorRef{Set: r.SectorSet, ID: r.SectorID}, Hour: r.Hour.UTC(), Entries: r.Entries,
		Exits: r.Exits, Flights: r.Flights, Peak: r.Peak, OccupancySeconds: r.OccupancySeconds,
		StaffedSeconds: r.StaffedSeconds, ObservedSeconds: r.AsOfSeconds, Occupants: r.Occupants, Staffed: r.Staffed,
		StaffedOccupancySeconds: r.StaffedOccupancySeconds, KnownOccupancySeconds: r.KnownOccupancySeconds,
		OnFrequencySeconds: r.OnFrequencySeconds, Working: r.Working, CoverageKnown: r.CoverageKnown,
	}
}

// visitSpan is the part of a visit an hour's distinct flights are counted from.
type visitSpan struct {
	FlightID  int64
	SectorSet string
	SectorID  string
	EnteredAt time.Time
	ExitedAt  *time.Time
}

// loadRollups reads what the tracker rebuilds the rollups of the hours still written to from (domain.State):
// the rows of the hours from SectorHoursReach before the last cycle's hour, the visits overlapping them and the
// committed cycles' feed times since MaxHold before.
//
// Each is bounded by an index. EXPLAIN (ANALYZE) on PostgreSQL 15, 120,000 hours (200 sectors × 600 hours),
// 150,000 visits and 144,000 cycles stored:
//
//	hour >= $1                                 Bitmap Index Scan on sector_hours_hour (actual rows=400)
//	exited_at IS NULL                          Index Scan using sector_visits_open_sector (partial index, rows=1000)
//	(sector_set = $1 AND sector_id IN (…)) AND exited_at >= $2
//	                                           Index Scan using sector_visits_sector_exited
//	                                             Index Cond: sector_set = 'vatspy' AND sector_id = ANY ('{S1,…,S10}')
//	                                             AND exited_at >= …  (rows=140)
//	error IS NULL AND update_timestamp >= $1   Index Only Scan using ingest_cycles_committed (rows=483)
//
// (The flights' last_seen cannot bound the closed visits: that column has no index, so that flights' updates
// stay HOT, migration 00003.)
func loadRollups(tx *gorm.DB, last time.Time) (hours []domain.SectorHour, spans []domain.VisitSpan, cycles []time.Time, err error) {
	from := last.UTC().Truncate(time.Hour).Add(-domain.SectorHoursReach)
	var rows []SectorHour
	if err := tx.Where("hour >= ?", from).Find(&rows).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("sector hours: %w", err)
	}
	hours = make([]domain.SectorHour, len(rows))
	for i := range rows {
		hours[i] = sectorHourOf(&rows[i])
	}
	fromDay := from.Truncate(24 * time.Hour)
	var days []SectorDay
	if err := tx.Select("sector_set, sector_id").Where("day >= ?", fromDay).Find(&days).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("sector days: %w", err)
	}
	// A closed visit overlapping those hours or days is of a sector with a row in them (the hour or day counts
	// its flight): the sectors' exited_at index bounds them, the partial index the open ones.
	var vs []visitSpan
	cols := "flight_id, sector_set, sector_id, entered_at, exited_at"
	if err := tx.Model(&Visit{}).Select(cols).Where("exited_at IS NULL").Find(&vs).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("open visits of the last hours: %w", err)
	}
	seen := map[domain.SectorRef]bool{}
	var sectors []domain.SectorRef
	for _, h := range hours {
		if !seen[h.Sector] {
			seen[h.Sector] = true
			sectors = append(sectors, h.Sector)
		}
	}
	for _, d := range days {
		if r := (domain.SectorRef{Set: d.SectorSet, ID: d.SectorID}); !seen[r] {
			seen[r] = true
			sectors = append(sectors, r)
		}
	}
	if len(sectors) > 0 {
		var closed []visitSpan
		if err := tx.Model(&Visit{}).Select(cols).Where(sectorsCond(tx, sectors)).Where("exited_at >= ?", fromDay).
			Find(&closed).Error; err != nil {
			return nil, nil, nil, fmt.Errorf("visits of the last hours: %w", err)
		}
		vs = append(vs, closed...)
	}
	spans = make([]domain.VisitSpan, len(vs))
	for i, v := range vs {
		spans[i] = domain.VisitSpan{FlightID: v.FlightID, Sector: domain.SectorRef{Set: v.SectorSet, ID: v.SectorID},
			EnteredAt: v.EnteredAt.UTC(), ExitedAt: utcPtr(v.ExitedAt)}
	}
	if err := tx.Model(&Cycle{}).Where("error IS NULL AND update_timestamp >= ?", from.Add(-domain.MaxHold)).
		Order("update_timestamp").Pluck("update_timestamp", &cycles).Error; err != nil {
		return nil, nil, nil, fmt.Errorf("recent cycles: %w", err)
	}
	for i := range cycles {
		cycles[i] = cycles[i].UTC()
	}
	return hours, spans, cycles, nil
}

// PruneSectorHours deletes the hours before before (index sector_hours_hour), and their observed time.
func (s *Store) PruneSectorHours(ctx context.Context, before time.Time) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.ingest.WithContext(ctx).Where("hour < ?", before.UTC()).Delete(&SectorHour{})
	if res.Error != nil {
		return 0, fmt.Errorf("repository: prune sector hours: %w", res.Error)
	}
	// After the sector hours: a read between the two sees hours with no observed time only if they are pruned.
	if err := s.ingest.WithContext(ctx).Where("hour < ?", before.UTC()).Delete(&ObservedHour{}).Error; err != nil {
		return 0, fmt.Errorf("repository: prune observed hours: %w", err)
	}
	// A day goes with its last hour.
	if err := s.ingest.WithContext(ctx).Where("day < ?", before.UTC().Add(-24*time.Hour)).Delete(&SectorDay{}).Error; err != nil {
		return 0, fmt.Errorf("repository: prune sector days: %w", err)
	}
	return res.RowsAffected, nil
}

// The statistics reads. Each is an index range, whatever the history stored before or after it. EXPLAIN
// (ANALYZE) on PostgreSQL 15 with the data above (60 days of history):
//
//   - one sector's hours over a range (GetSectorTraffic, GetStaffingProfile), the primary key:
//     Index Scan using sector_hours_pkey, Index Cond: sector_set = 'vatspy' AND sector_id = 'S7' AND
//     hour >= '2024-01-10' AND hour < '2024-01-20' (actual rows=240).
//   - every sector of a set over a range (ListSectorTraffic), the hour index, filtered by set:
//     Bitmap Index Scan on sector_hours_hour, Index Cond: hour >= … AND hour < … (rows=4800 for one day),
//     Filter: sector_set = 'vatspy'; then a quicksort of those rows.
//   - the visits of sectors overlapping a range (a day's or a range's distinct flights): an Append of
//     Index Scan using sector_visits_open_sector (the partial index of open visits), Index Cond: sector_set =
//     'vatspy' AND sector_id = ANY (…) AND entered_at < end, and Index Scan using sector_visits_sector_exited,
//     Index Cond: sector_set = 'vatspy' AND sector_id = ANY (…) AND exited_at >= start, Filter: entered_at <
//     end (S7 over 11 days: 140 rows read, 97 filtered). Both are bounded; entered_at < end alone would read
//     the sector's whole history before the range. ListSectorTraffic groups them (GroupAggregate over a sort of
//     the 700 rows of 5 sectors).
//   - retention: Bitmap Index Scan on sector_hours_hour, Index Cond: hour < ….

// SectorHours returns the stored hours of the sectors (every sector when nil) from from (inclusive) to until
// (exclusive), ordered by sector then hour, advanced to their hour's observed time; and the observed time of
// every hour of the range the cycles observed, in order, read in the same transaction. A zero bound is open.
func (s *Store) SectorHours(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) (
	[]domain.SectorHour, []domain.ObservedHour, error,
) {
	var (
		rows     []SectorHour
		observed []ObservedHour
	)
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&SectorHour{})
		if sectors != nil {
			q = q.Where(sectorsCond(tx, sectors))
		}
		q, obs := hourRange(q, from, until), hourRange(tx.Model(&ObservedHour{}), from, until)
		if err := q.Order("sector_set, sector_id, hour").Find(&rows).Error; err != nil {
			return err
		}
		return obs.Order("hour").Find(&observed).Error
	})
	if err != nil {
		return nil, nil, readError("sector hours", err)
	}
	hours, obs := advanced(rows, observed)
	return hours, obs, nil
}

// SetHours returns the stored hours of every sector of a set over a range as SectorHours does.
func (s *Store) SetHours(ctx context.Context, set string, from, until time.Time) ([]domain.SectorHour, []domain.ObservedHour, error) {
	var (
		rows     []SectorHour
		observed []ObservedHour
	)
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := hourRange(tx.Where(s.setFilter(), set), from, until)
		if err := q.Order("sector_set, sector_id, hour").Find(&rows).Error; err != nil {
			return err
		}
		return hourRange(tx.Model(&ObservedHour{}), from, until).Order("hour").Find(&observed).Error
	})
	if err != nil {
		return nil, nil, readError("sector hours of a set", err)
	}
	hours, obs := advanced(rows, observed)
	return hours, obs, nil
}

func hourRange(q *gorm.DB, from, until time.Time) *gorm.DB {
	if !from.IsZero() {
		q = q.Where("hour >= ?", from.UTC())
	}
	if !until.IsZero() {
		q = q.Where("hour < ?", until.UTC())
	}
	return q
}

// advanced maps the rows, each advanced to its hour's observed time (domain.SectorHour.Advance).
func advanced(rows []SectorHour, observed []ObservedHour) ([]domain.SectorHour, []domain.ObservedHour) {
	byHour := make(map[time.Time]float64, len(observed))
	obs := make([]domain.ObservedHour, len(observed))
	for i, o := range observed {
		obs[i] = domain.ObservedHour{Hour: o.Hour.UTC(), Seconds: o.ObservedSeconds}
		byHour[obs[i].Hour] = o.ObservedSeconds
	}
	out := make([]domain.SectorHour, len(rows))
	for i := range rows {
		h := sectorHourOf(&rows[i])
		out[i] = h.Advance(byHour[h.Hour])
	}
	return out, obs
}

// SectorDays returns the distinct flights of each of the sectors (every sector of set when sectors is nil) on
// the UTC days from from (inclusive) to until (exclusive), ordered by sector then day; a day without a flight
// has no row (primary key, or the day index filtered by set).
func (s *Store) SectorDays(ctx context.Context, set string, sectors []domain.SectorRef, from, until time.Time) ([]domain.SectorDay, error) {
	var rows []SectorDay
	err := s.read(ctx, func(tx *gorm.DB) error {
		q := tx.Where("day >= ? AND day < ?", from.UTC(), until.UTC())
		if sectors != nil {
			q = q.Where(sectorsCond(tx, sectors))
		} else {
			q = q.Where(s.setFilter(), set)
		}
		return q.Order("sector_set, sector_id, day").Find(&rows).Error
	})
	if err != nil {
		return nil, readError("sector days", err)
	}
	out := make([]domain.SectorDay, len(rows))
	for i, r := range rows {
		out[i] = domain.SectorDay{Sector: domain.SectorRef{Set: r.SectorSet, ID: r.SectorID}, Day: r.Day.UTC(), Flights: r.Flights}
	}
	return out, nil
}

// sectorsCond matches a list of sectors: (set = ? AND id IN (…)) per set.
func sectorsCond(tx *gorm.DB, sectors []domain.SectorRef) *gorm.DB {
	bySet := map[string][]string{}
	var sets []string
	for _, r := range sectors {
		if bySet[r.Set] == nil {
			sets = append(sets, r.Set)
		}
		bySet[r.Set] = append(bySet[r.Set], r.ID)
	}
	// No constant term: SQLite's planner gives up on every index for an OR with one ("1 = 0 OR …" had
	// GetSectorTraffic over 30 days scan the hour index's 800,000 rows of every sector, 430 ms, bench/stats).
	cond := tx.Session(&gorm.Session{NewDB: true})
	if len(sets) == 0 {
		return cond.Where("1 = 0")
	}
	for i, set := range sets {
		if i == 0 {
			cond = cond.Where("sector_set = ? AND sector_id IN ?", set, bySet[set])
		} else {
			cond = cond.Or("sector_set = ? AND sector_id IN ?", set, bySet[set])
		}
	}
	return cond
}

// setFilter is the condition on a set's rows for reads bounded by another index. SQLite, without statistics,
// prefers the primary key's first column (sector_set, which every row of a set shares) over the range's index:
// the unary plus keeps it from using that column (SetHours of one day read the set's whole history, 520 ms at
// 30 days of 1,100 sectors, bench/stats). PostgreSQL chooses by its statistics, and has no unary plus on text.
func (s *Store) setFilter() string {
	if s.dialect == migrations.SQLite {
		return "+sector_set = ?"
	}
	return "sector_set = ?"
}

// VisitSpans returns the visits of the sectors overlapping [from, until): entered_at < until AND (exited_at IS
// NULL OR exited_at >= from).
func (s *Store) VisitSpans(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) ([]domain.VisitSpan, error) {
	var rows []visitSpan
	err := s.read(ctx, func(tx *gorm.DB) error {
		cols := "flight_id, sector_set, sector_id, entered_at, exited_at"
		open := tx.Model(&Visit{}).Select(cols).Where(sectorsCond(tx, sectors)).
			Where("exited_at IS NULL AND entered_at < ?", until.UTC())
		closed := tx.Model(&Visit{}).Select(cols).Where(sectorsCond(tx, sectors)).
			Where("exited_at >= ? AND entered_at < ?", from.UTC(), until.UTC())
		return tx.Raw("? UNION ALL ?", open, closed).Scan(&rows).Error
	})
	if err != nil {
		return nil, readError("visits over a range", err)
	}
	out := make([]domain.VisitSpan, len(rows))
	for i, v := range rows {
		out[i] = domain.VisitSpan{FlightID: v.FlightID, Sector: domain.SectorRef{Set: v.SectorSet, ID: v.SectorID},
			EnteredAt: v.EnteredAt.UTC(), ExitedAt: utcPtr(v.ExitedAt)}
	}
	return out, nil
}

// SectorFlights counts, for each of the sectors, the distinct flights with a visit overlapping [from, until);
// sectors without any are absent.
func (s *Store) SectorFlights(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) (map[domain.SectorRef]int, error) {
	type row struct {
		SectorSet, SectorID string
		Flights             int
	}
	var rows []row
	err := s.read(ctx, func(tx *gorm.DB) error {
		cols := "flight_id, sector_set, sector_id"
		open := tx.Model(&Visit{}).Select(cols).Where(sectorsCond(tx, sectors)).
			Where("exited_at IS NULL AND entered_at < ?", until.UTC())
		closed := tx.Model(&Visit{}).Select(cols).Where(sectorsCond(tx, sectors)).
			Where("exited_at >= ? AND entered_at < ?", from.UTC(), until.UTC())
		return tx.Raw("SELECT sector_set, sector_id, COUNT(DISTINCT flight_id) AS flights FROM (? UNION ALL ?) v "+
			"GROUP BY sector_set, sector_id", open, closed).Scan(&rows).Error
	})
	if err != nil {
		return nil, readError("flights over a range", err)
	}
	out := make(map[domain.SectorRef]int, len(rows))
	for _, r := range rows {
		out[domain.SectorRef{Set: r.SectorSet, ID: r.SectorID}] = r.Flights
	}
	return out, nil
}
