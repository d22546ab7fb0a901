package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// stateRows is a domain.State as rows.
type stateRows struct {
	Flights             []Flight
	Departed            []Flight
	FlightPlans         []FlightPlan
	OpenVisits          []Visit
	Controllers         []Controller
	DepartedControllers []Controller
	LastCycle           *Cycle
	MaxIDs              domain.MaxIDs
	// the rollups' part (loadRollups), already in the domain's types
	SectorHours  []domain.SectorHour
	HourVisits   []domain.VisitSpan
	RecentCycles []time.Time
}

func (st *stateRows) domain() *domain.State {
	out := &domain.State{
		Flights:             flightsOf(st.Flights),
		Departed:            flightsOf(st.Departed),
		FlightPlans:         make([]domain.FlightPlan, len(st.FlightPlans)),
		OpenVisits:          make([]domain.Visit, len(st.OpenVisits)),
		Controllers:         controllersOf(st.Controllers),
		DepartedControllers: controllersOf(st.DepartedControllers),
		LastCycle:           cycleOf(st.LastCycle),
		MaxIDs:              st.MaxIDs,
		SectorHours:         st.SectorHours,
		HourVisits:          st.HourVisits,
		RecentCycles:        st.RecentCycles,
	}
	for i := range st.FlightPlans {
		out.FlightPlans[i] = domain.FlightPlan(st.FlightPlans[i])
	}
	for i := range st.OpenVisits {
		out.OpenVisits[i] = visitOf(&st.OpenVisits[i])
	}
	return out
}

// LoadRollups reads what ingest rebuilds the rollups still written after a cycle at last from (loadRollups).
func (s *Store) LoadRollups(ctx context.Context, last time.Time) (*domain.State, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	st := &domain.State{}
	err := s.ingest.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		st.SectorHours, st.HourVisits, st.RecentCycles, err = loadRollups(tx, last)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: load rollups: %w", Classify(err))
	}
	return st, nil
}

// LoadState reads the state ingest resumes from, in one transaction so it is consistent. Flights disconnected
// within departedWithin before the last committed cycle are loaded as Departed.
func (s *Store) LoadState(ctx context.Context, departedWithin time.Duration) (*domain.State, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	st := &stateRows{}
	err := s.ingest.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.relyOn(ctx, tx); err != nil {
			return err
		}
		// Online flights as of their newest position (flightsNow): the tracker resumes from exactly the state
		// it had in memory.
		var online []flightNow
		if err := s.flightsNow(tx).Where("flights.disconnected_at IS NULL").Order("flights.id").Find(&online).Error; err != nil {
			return fmt.Errorf("flights: %w", err)
		}
		st.Flights = flightsOfNow(online)
		if err := tx.Where("exited_at IS NULL").Order("id").Find(&st.OpenVisits).Error; err != nil {
			return fmt.Errorf("open visits: %w", err)
		}
		if err := tx.Where("disconnected_at IS NULL").Order("id").Find(&st.Controllers).Error; err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
		var last Cycle
		switch err := tx.Where("error IS NULL").Order("update_timestamp DESC").Take(&last).Error; {
		case err == nil:
			st.LastCycle = &last
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("last cycle: %w", err)
		}
		if st.LastCycle != nil {
			var err error
			if st.SectorHours, st.HourVisits, st.RecentCycles, err = loadRollups(tx, st.LastCycle.UpdateTimestamp); err != nil {
				return err
			}
		}
		var lastSequence int64
		defer func() { st.MaxIDs.Sequence = max(st.MaxIDs.Sequence, lastSequence) }()
		// A departed flight keeps its plan in memory: one that returns must not have it rewritten.
		tracked := tx.Model(&Flight{}).Select("id").Where("disconnected_at IS NULL")
		if st.LastCycle != nil {
			since := st.LastCycle.UpdateTimestamp.Add(-departedWithin)
			if err := tx.Where("disconnected_at >= ?", since).Order("id").Find(&st.Departed).Error; err != nil {
				return fmt.Errorf("departed flights: %w", err)
			}
			tracked = tracked.Or("disconnected_at >= ?", since)
			if err := tx.Where("disconnected_at >= ?", since).Order("id").Find(&st.DepartedControllers).Error; err != nil {
				return fmt.Errorf("departed controllers: %w", err)
			}
		}
		if err := tx.Where("flight_id IN (?)", tracked).Order("flight_id").Find(&st.FlightPlans).Error; err != nil {
			return fmt.Errorf("flight plans: %w", err)
		}
		// Events may all have been pruned: the cycle records still know the last sequence handed out, so a
		// sequence is never reused.
		for _, m := range []struct {
			dst          *int64
			table, field string
		}{
			{&st.MaxIDs.Flight, "flights", "id"},
			{&st.MaxIDs.Visit, "sector_visits", "id"},
			{&st.MaxIDs.Controller, "controllers", "id"},
			{&st.MaxIDs.Sequence, "sector_events", "sequence"},
			{&lastSequence, "ingest_cycles", "last_sequence"},
			{&st.MaxIDs.Cycle, "ingest_cycles", "id"},
		} {
			if err := tx.Table(m.table).Select("COALESCE(MAX(" + m.field + "), 0)").Scan(m.dst).Error; err != nil {
				return fmt.Errorf("max %s.%s: %w", m.table, m.field, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repository: load state: %w", err)
	}
	normalizeTimes(st)
	return st.domain(), nil
}

// normalizeTimes puts loaded times in UTC: SQLite hands them back in a fixed zone named by their offset, and
// ingest compares and formats them as UTC.
func normalizeTimes(st *stateRows) {
	for i := range st.Flights {
		f := &st.Flights[i]
		f.LogonTime, f.LastUpdated, f.FirstSeen, f.LastSeen = f.LogonTime.UTC(), f.LastUpdated.UTC(), f.FirstSeen.UTC(), f.LastSeen.UTC()
	}
	for i := range st.Departed {
		f := &st.Departed[i]
		f.LogonTime, f.LastUpdated, f.FirstSeen, f.LastSeen = f.LogonTime.UTC(), f.LastUpdated.UTC(), f.FirstSeen.UTC(), f.LastSeen.UTC()
		at := f.DisconnectedAt.UTC()
		f.DisconnectedAt = &at
	}
	for i := range st.FlightPlans {
		st.FlightPlans[i].UpdatedAt = st.FlightPlans[i].UpdatedAt.UTC()
	}
	for i := range st.OpenVisits {
		st.OpenVisits[i].EnteredAt = st.OpenVisits[i].EnteredAt.UTC()
	}
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	for _, list := range [][]Controller{st.Controllers, st.DepartedControllers} {
		for i := range list {
			c := &list[i]
			c.LogonTime, c.LastUpdated, c.FirstSeen = c.LogonTime.UTC(), c.LastUpdated.UTC(), c.FirstSeen.UTC()
			c.LastSeen, c.DisconnectedAt = utc(c.LastSeen), utc(c.DisconnectedAt)
		}
	}
	if st.LastCycle != nil {
		st.LastCycle.UpdateTimestamp = st.LastCycle.UpdateTimestamp.UTC()
	}
}

// LastCommittedBefore returns the newest committed cycle whose feed time is not after t, nil if there is none.
func (s *Store) LastCommittedBefore(ctx context.Context, t time.Time) (*domain.Cycle, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var c Cycle
	err := s.ingest.WithContext(ctx).Where("error IS NULL AND update_timestamp <= ?", t.UTC()).
		Order("update_timestamp DESC").Take(&c).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("repository: last cycle before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	c.UpdateTimestamp = c.UpdateTimestamp.UTC()
	return cycleOf(&c), nil
}
