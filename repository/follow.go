package repository

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// CommittedAfter returns up to limit committed cycles after the cycle with id after, in order, each with its
// events in sequence order, as the writer published them: what an instance that does not write follows so
// that its streams are fed live. The last one also carries the flights online now (the others none: a map
// shows the newest positions only). One read transaction of three or four statements: the cycles, their
// events by sequence range (the primary key), and, when there is one, the online flights as of their newest
// position with their plans.
//
// With a read standby it reads the standby, which may lag: the caller reads again later (it follows by id, so a
// lagging standby delays cycles but cannot lose one).
func (s *Store) CommittedAfter(ctx context.Context, after int64, limit int) ([]domain.Committed, error) {
	return s.committedAfter(ctx, s.tails(), after, limit)
}

// CommittedAfterOnPrimary is CommittedAfter from the primary: what a new writer publishes before its own first
// cycle must be all the old writer committed, which a standby may not have replayed yet.
func (s *Store) CommittedAfterOnPrimary(ctx context.Context, after int64, limit int) ([]domain.Committed, error) {
	return s.committedAfter(ctx, s.db, after, limit)
}

func (s *Store) committedAfter(ctx context.Context, db *gorm.DB, after int64, limit int) ([]domain.Committed, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []domain.Committed
	err := s.readOn(ctx, db, func(tx *gorm.DB) error {
		var cycles []Cycle
		if err := tx.Where("id > ? AND error IS NULL", after).Order("id").Limit(limit).Find(&cycles).Error; err != nil {
			return fmt.Errorf("cycles: %w", err)
		}
		if len(cycles) == 0 {
			return nil
		}
		out = make([]domain.Committed, len(cycles))
		var first, last int64
		byCycle := make(map[int64]int, len(cycles))
		for i := range cycles {
			cycles[i].normalize()
			out[i].Cycle = *cycleOf(&cycles[i])
			byCycle[cycles[i].ID] = i
			if f, l := cycles[i].FirstSequence, cycles[i].LastSequence; f != nil && l != nil {
				if first == 0 || *f < first {
					first = *f
				}
				last = max(last, *l)
			}
		}
		if last > 0 {
			var events []Event
			if err := tx.Where("sequence >= ? AND sequence <= ?", first, last).Where(notPruned).Order("sequence").
				Find(&events).Error; err != nil {
				return fmt.Errorf("events: %w", err)
			}
			for i := range events {
				events[i].OccurredAt = events[i].OccurredAt.UTC()
				if k, ok := byCycle[events[i].CycleID]; ok {
					out[k].Events = append(out[k].Events, eventOf(&events[i]))
				}
			}
		}
		flights, err := s.liveFlights(tx)
		if err != nil {
			return err
		}
		out[len(out)-1].Flights = flights
		return nil
	})
	if err != nil {
		return nil, readError("committed cycles", err)
	}
	return out, nil
}

// LiveFlights are the online flights as of their newest position, with their plans and contacts, ordered by
// id, in one read transaction: what a map starts from before any cycle was published.
func (s *Store) LiveFlights(ctx context.Context) ([]domain.LiveFlight, error) {
	var out []domain.LiveFlight
	err := s.readTail(ctx, func(tx *gorm.DB) (err error) {
		out, err = s.liveFlights(tx)
		return err
	})
	if err != nil {
		return nil, readError("live flights", err)
	}
	return out, nil
}

// liveFlights are the online flights as of their newest position, with their plans and contacts, ordered by id.
func (s *Store) liveFlights(tx *gorm.DB) ([]domain.LiveFlight, error) {
	var rows []flightNow
	if err := s.flightsNow(tx).Where("flights.disconnected_at IS NULL").Order("flights.id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("online flights: %w", err)
	}
	var plans []FlightPlan
	if err := tx.Select("flight_id", "aircraft_short", "departure", "arrival").
		Where("flight_id IN (SELECT id FROM flights WHERE disconnected_at IS NULL)").Find(&plans).Error; err != nil {
		return nil, fmt.Errorf("online flights' plans: %w", err)
	}
	planOf := make(map[int64]*FlightPlan, len(plans))
	for i := range plans {
		planOf[plans[i].FlightID] = &plans[i]
	}
	var ctls []Controller
	if err := tx.Select("id", "cid", "callsign").Where("disconnected_at IS NULL").Find(&ctls).Error; err != nil {
		return nil, fmt.Errorf("online controllers: %w", err)
	}
	ctlOf := make(map[int64]*Controller, len(ctls))
	for i := range ctls {
		ctlOf[ctls[i].ID] = &ctls[i]
	}
	out := make([]domain.LiveFlight, len(rows))
	for i := range rows {
		f := rows[i].flight()
		lf := domain.LiveFlight{ID: f.ID, Callsign: f.Callsign, Latitude: f.Latitude, Longitude: f.Longitude,
			Altitude: f.Altitude, Groundspeed: f.Groundspeed, Heading: f.Heading}
		if p := planOf[f.ID]; p != nil {
			lf.Aircraft, lf.Departure, lf.Arrival = p.AircraftShort, p.Departure, p.Arrival
		}
		if c := ctlOf[f.WorkingControllerID]; c != nil && f.WorkingControllerID != 0 {
			lf.Working = &domain.ControllerRef{ID: c.ID, CID: c.CID, Callsign: c.Callsign}
		}
		out[i] = lf
	}
	slices.SortFunc(out, func(a, b domain.LiveFlight) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
