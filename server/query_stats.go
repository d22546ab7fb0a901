package server

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// The statistics are computed from the hourly rollups (table sector_hours, kept by ingest); see
// stats_service.proto for each figure's definition and repository/rollups.go for why each read is an index
// range.

// Bounds of the statistics requests (INVALID_ARGUMENT past them, naming the limit).
const (
	maxHourRange        = 93 * 24 * time.Hour
	maxDayRange         = 366 * 24 * time.Hour
	maxListRange        = 31 * 24 * time.Hour
	defaultProfileWeeks = 8
	maxProfileWeeks     = 26
	day                 = 24 * time.Hour
)

// StatsStorage is what the statistics read, part of Storage.
type StatsStorage interface {
	SectorHours(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) ([]domain.SectorHour, []domain.ObservedHour, error)
	SetHours(ctx context.Context, set string, from, until time.Time) ([]domain.SectorHour, []domain.ObservedHour, error)
	VisitSpans(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) ([]domain.VisitSpan, error)
	SectorFlights(ctx context.Context, sectors []domain.SectorRef, from, until time.Time) (map[domain.SectorRef]int, error)
	SectorDays(ctx context.Context, set string, sectors []domain.SectorRef, from, until time.Time) ([]domain.SectorDay, error)
}

// statsRules checks the statistics requests (validate.go).
func statsRules(req any) error {
	switch r := req.(type) {
	case *vatsectorv1.GetSectorTrafficRequest:
		limit, unit := maxHourRange, "HOUR"
		switch r.GetBucket() {
		case vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_UNSPECIFIED, vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR:
		case vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_DAY:
			limit, unit = maxDayRange, "DAY"
		default:
			return invalidf("bucket is %v: not a traffic bucket (HOUR or DAY)", r.GetBucket())
		}
		return firstError(requireName("name", r.GetName()), checkStatsRange("range", r.GetRange(), limit, unit+" buckets"))
	case *vatsectorv1.ListSectorTrafficRequest:
		if (r.GetSet() == "") == (len(r.GetNames()) == 0) {
			return invalidf("set one of set (every sector of a loaded set) or names (a list of sectors)")
		}
		return firstError(checkPageSize(r.GetPageSize()), checkText("set", r.GetSet()), checkIDs("names", r.GetNames()),
			checkStatsRange("range", r.GetRange(), maxListRange, "a list"))
	case *vatsectorv1.GetStaffingProfileRequest:
		if w := r.GetWeeks(); w < 0 || w > maxProfileWeeks {
			return invalidf("weeks is %d: between 1 and %d, or 0 for the default of %d", w, maxProfileWeeks, defaultProfileWeeks)
		}
		return requireName("name", r.GetName())
	}
	return nil
}

func requireName(field, name string) error {
	if name == "" {
		return invalidf("%s is required: a sector's resource name (sets/{set}/sectors/{id}) or bare id", field)
	}
	return checkText(field, name)
}

func checkStatsRange(field string, r *vatsectorv1.TimeRange, limit time.Duration, what string) error {
	if r.GetStart() == nil || r.GetEnd() == nil {
		return invalidf("%s needs both start and end", field)
	}
	if err := checkRange(field, r); err != nil {
		return err
	}
	if d := r.GetEnd().AsTime().Sub(r.GetStart().AsTime()); d > limit {
		return invalidf("%s spans %.1f days: at most %d days for %s", field, d.Hours()/24, int(limit/day), what)
	}
	return nil
}

// statsSector resolves a request's sector. A bare id no loaded set has cannot name the sector's hours, which
// are stored with their set.
func (q *queryService) statsSector(field, name string) (domain.SectorRef, error) {
	ref, _, err := q.resolveSector(field, name)
	if err != nil {
		return ref, err
	}
	if ref.Set == "" {
		return ref, notFoundf("%s %q: no loaded set has a sector with this id; name it sets/{set}/sectors/{id}", field, name)
	}
	return ref, nil
}

// sectorTraffic is GetSectorTrafficRequest's answer: every bucket of the range, rounded outwards.
func (q *queryService) sectorTraffic(ctx context.Context, name string, from, until time.Time, bucket time.Duration) (
	domain.SectorRef, []domain.TrafficBucket, error,
) {
	ref, err := q.statsSector("name", name)
	if err != nil {
		return ref, nil, err
	}
	st := q.store
	from, until = floorTo(from, bucket), ceilTo(until, bucket)
	hours, observed, err := st.SectorHours(ctx, []domain.SectorRef{ref}, from, until)
	if err != nil {
		return ref, nil, err
	}
	out := make([]domain.TrafficBucket, 0, int(until.Sub(from)/bucket))
	for t := from; t.Before(until); t = t.Add(bucket) {
		out = append(out, domain.TrafficBucket{Start: t})
	}
	for _, h := range hours {
		addHour(&out[int(h.Hour.Sub(from)/bucket)], h, bucket == time.Hour)
	}
	for _, o := range observed {
		out[int(o.Hour.Sub(from)/bucket)].ObservedSeconds += o.Seconds
	}
	if bucket == day {
		// Distinct flights of a day cannot be summed from its hours: ingest keeps them per day.
		days, err := st.SectorDays(ctx, "", []domain.SectorRef{ref}, from, until)
		if err != nil {
			return ref, nil, err
		}
		for _, d := range days {
			out[int(d.Day.Sub(from)/day)].Flights = d.Flights
		}
	}
	return ref, out, nil
}

// addHour adds a sector's hour to a bucket; flights only when the bucket is the hour itself. The observed time
// is the hours' own (ObservedHour): a sector has no row in an hour it was neither entered, occupied nor staffed,
// and that hour was observed all the same.
func addHour(b *domain.TrafficBucket, h domain.SectorHour, flights bool) {
	b.Entries += h.Entries
	b.Exits += h.Exits
	b.Peak = max(b.Peak, h.Peak)
	b.OccupancySeconds += h.OccupancySeconds
	b.StaffedSeconds += h.StaffedSeconds
	b.StaffedOccupancySeconds += h.StaffedOccupancySeconds
	b.KnownOccupancySeconds += h.KnownOccupancySeconds
	b.OnFrequencySeconds += h.OnFrequencySeconds
	if flights {
		b.Flights = h.Flights
	}
}

func floorTo(t time.Time, d time.Duration) time.Time { return t.UTC().Truncate(d) }

func ceilTo(t time.Time, d time.Duration) time.Time {
	f := floorTo(t, d)
	if f.Equal(t) {
		return f
	}
	return f.Add(d)
}

// listSectorTraffic is one page of ListSectorTraffic: every sector of a set (loaded, or with hours stored in
// the range) or of a list, over the range rounded outwards to hours, ordered by flights desc then name.
func (q *queryService) listSectorTraffic(ctx context.Context, set string, names []string, from, until time.Time,
	size int32, token string,
) ([]domain.SectorTraffic, string, error) {
	refs, err := q.resolveSectors("names", names)
	if err != nil {
		return nil, "", err
	}
	refs = canonicalRefs(refs)
	for i, r := range refs {
		if r.Set == "" {
			return nil, "", notFoundf("names[%d] %q: no loaded set has a sector with this id; name it sets/{set}/sectors/{id}", i, r.ID)
		}
	}
	from, until = floorTo(from, time.Hour), ceilTo(until, time.Hour)
	fp := fingerprint("ListSectorTraffic", set, refs, unixMicro(from), unixMicro(until))
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	st := q.store
	var (
		hours    []domain.SectorHour
		observed []domain.ObservedHour
	)
	if set != "" {
		if hours, observed, err = st.SetHours(ctx, set, from, until); err != nil {
			return nil, "", err
		}
		known := map[domain.SectorRef]bool{}
		for _, s := range q.loaded() {
			if s.Set == set {
				ref := domain.SectorRef{Set: s.Set, ID: s.ID}
				refs, known[ref] = append(refs, ref), true
			}
		}
		for _, h := range hours {
			if !known[h.Sector] {
				refs, known[h.Sector] = append(refs, h.Sector), true
			}
		}
		if len(refs) == 0 {
			return nil, "", notFoundf("set %q is not loaded and has no stored hours in the range", set)
		}
	} else if hours, observed, err = st.SectorHours(ctx, refs, from, until); err != nil {
		return nil, "", err
	}
	flights, err := q.rangeFlights(ctx, set, refs, from, until)
	if err != nil {
		return nil, "", err
	}
	var seen float64
	for _, o := range observed {
		seen += o.Seconds
	}
	byRef := make(map[domain.SectorRef]*domain.SectorTraffic, len(refs))
	all := make([]domain.SectorTraffic, len(refs))
	for i, r := range refs {
		all[i] = domain.SectorTraffic{Sector: r, Total: domain.TrafficBucket{Start: from, Flights: flights[r], ObservedSeconds: seen}}
		byRef[r] = &all[i]
	}
	for _, h := range hours {
		if t := byRef[h.Sector]; t != nil {
			addHour(&t.Total, h, false)
		}
	}
	order := func(a, b domain.SectorTraffic) int {
		return cmp.Or(cmp.Compare(b.Total.Flights, a.Total.Flights), cmp.Compare(sectorName(a.Sector), sectorName(b.Sector)))
	}
	slices.SortFunc(all, order)
	if tok != nil {
		after := domain.SectorTraffic{Sector: domain.ParseSectorRef(tok.Key), Total: domain.TrafficBucket{Flights: int(tok.ID)}}
		i, _ := slices.BinarySearchFunc(all, after, order)
		for i < len(all) && order(all[i], after) <= 0 {
			i++
		}
		all = all[i:]
	}
	n := pageSize(size, defaultPageSize, maxPageSize)
	if len(all) <= n {
		return all, "", nil
	}
	last := all[n-1]
	return all[:n], encodePageToken(fp, last.Sector.String(), int64(last.Total.Flights)), nil
}

// rangeFlights counts each sector's distinct flights over a range of whole hours. One whole UTC day is read from
// the days ingest keeps (a row per sector); any other range from the visits overlapping it, which at 3,000
// simulated pilots is about 30,000 an hour (bench/stats).
func (q *queryService) rangeFlights(ctx context.Context, set string, refs []domain.SectorRef, from, until time.Time) (
	map[domain.SectorRef]int, error,
) {
	if !from.Equal(floorTo(from, day)) || until.Sub(from) != day {
		return q.store.SectorFlights(ctx, refs, from, until)
	}
	var sectors []domain.SectorRef
	if set == "" {
		sectors = refs
	}
	days, err := q.store.SectorDays(ctx, set, sectors, from, until)
	if err != nil {
		return nil, err
	}
	out := make(map[domain.SectorRef]int, len(days))
	for _, d := range days {
		out[d.Sector] = d.Flights
	}
	return out, nil
}

// staffingProfile is GetStaffingProfile's answer: the window of weeks ending with the current hour, and its 168
// cells, Sunday 00:00 first.
func (q *queryService) staffingProfile(ctx context.Context, name string, weeks int) (domain.SectorRef, time.Time, time.Time,
	[]domain.StaffingCell, error,
) {
	if weeks == 0 {
		weeks = defaultProfileWeeks
	}
	ref, err := q.statsSector("name", name)
	if err != nil {
		return ref, time.Time{}, time.Time{}, nil, err
	}
	st := q.store
	until := floorTo(q.now(), time.Hour).Add(time.Hour)
	from := until.Add(-time.Duration(weeks) * 7 * day)
	hours, observed, err := st.SectorHours(ctx, []domain.SectorRef{ref}, from, until)
	if err != nil {
		return ref, from, until, nil, err
	}
	cells := make([]domain.StaffingCell, 7*24)
	cell := func(t time.Time) *domain.StaffingCell { return &cells[int(t.Weekday())*24+t.Hour()] }
	for i := range cells {
		cells[i].Weekday, cells[i].Hour = time.Weekday(i/24), i%24
	}
	for t := from; t.Before(until); t = t.Add(time.Hour) {
		cell(t).Hours++
	}
	for _, h := range hours {
		c := cell(h.Hour)
		c.StaffedSeconds += h.StaffedSeconds
		c.OccupancySeconds += h.OccupancySeconds
		c.Peak = max(c.Peak, h.Peak)
	}
	for _, o := range observed {
		cell(o.Hour).ObservedSeconds += o.Seconds
	}
	return ref, from, until, cells, nil
}
