package server

import (
	"context"
	"errors"
	"strings"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/repository"
)

// flightSelector picks one flight: by id when ID is set, else the online flight with the callsign.
type flightSelector struct {
	ID       int64
	Callsign string
}

func (q *queryService) listFlights(ctx context.Context, sector string, f repository.FlightFilter, size int32, token string) (
	[]domain.FlightSummary, string, error,
) {
	if sector != "" {
		var err error
		if f.Sector, _, err = q.resolveSector("sector_id", sector); err != nil {
			return nil, "", err
		}
	}
	parts := []any{f.Sector, strings.ToUpper(f.CallsignPrefix), strings.ToUpper(f.Departure),
		strings.ToUpper(f.Arrival), f.IncludeOffline, unixMicro(f.SeenFrom), unixMicro(f.SeenUntil)}
	if f.Bounds != nil {
		// Only with a box, so that the tokens of requests without one stay those of earlier versions.
		parts = append(parts, *f.Bounds)
	}
	fp := fingerprint("ListFlights", parts...)
	return keysetPage(token, fp, size, func(r domain.FlightSummary) (string, int64) { return r.Flight.Callsign, r.Flight.ID },
		func(after *repository.Key, limit int) ([]domain.FlightSummary, error) {
			return q.store.ListFlights(ctx, f, after, limit)
		})
}

// Bounds of GetFlight's lists (max_visits, max_track_points): a flight online all day has about 5,800
// positions, one per cycle; the newest thousand are the last four hours.
const (
	defaultFlightVisits      = 1000
	maxFlightVisits          = 10000
	defaultFlightTrackPoints = 1000
	maxFlightTrackPoints     = 10000
)

// flightDetailWanted is what GetFlight returns with the flight: the track only if asked for, and how much.
type flightDetailWanted struct {
	track                  bool
	maxVisits, maxTrackPts int32
}

func (w flightDetailWanted) limits() repository.DetailLimits {
	lim := repository.DetailLimits{Visits: pageSize(w.maxVisits, defaultFlightVisits, maxFlightVisits)}
	if w.track {
		lim.TrackPoints = pageSize(w.maxTrackPts, defaultFlightTrackPoints, maxFlightTrackPoints)
	}
	return lim
}

// getFlightSummary is what the flight with the id did, with its newest maxVisits visits (0: the default).
func (q *queryService) getFlightSummary(ctx context.Context, id int64, maxVisits int32) (*domain.FlightSummaryReport, error) {
	r, err := q.store.FlightSummaryByID(ctx, id, pageSize(maxVisits, defaultFlightVisits, maxFlightVisits))
	if errors.Is(err, repository.ErrNotFound) {
		return nil, notFoundf("no flight has id %d", id)
	}
	return r, err
}

func (q *queryService) getFlight(ctx context.Context, sel flightSelector, want flightDetailWanted) (*domain.FlightDetail, error) {
	var (
		d   *domain.FlightDetail
		err error
	)
	if sel.ID != 0 {
		d, err = q.store.FlightByID(ctx, sel.ID, want.limits())
	} else {
		d, err = q.store.OnlineFlightByCallsign(ctx, sel.Callsign, want.limits())
	}
	switch {
	case errors.Is(err, repository.ErrNotFound) && sel.ID != 0:
		return nil, notFoundf("no flight has id %d", sel.ID)
	case errors.Is(err, repository.ErrNotFound):
		return nil, notFoundf("no online flight has callsign %q (an offline flight is found by its id only)", sel.Callsign)
	case err != nil:
		return nil, err
	}
	return d, nil
}
