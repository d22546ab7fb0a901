package server

import (
	"context"
	"errors"
	"strings"

	"github.com/vatsector/vatsector/repository"
)

// flightSelector picks one flight: by id when ID is set, else the online flight with the callsign.
type flightSelector struct {
	ID       int64
	Callsign string
}

func (q *queryService) listFlights(ctx context.Context, f repository.FlightFilter, size int32, token string) (
	[]repository.FlightSummary, string, error,
) {
	fp := fingerprint("ListFlights", f.SectorID, strings.ToUpper(f.CallsignPrefix), strings.ToUpper(f.Departure),
		strings.ToUpper(f.Arrival), f.IncludeOffline, unixMicro(f.SeenFrom), unixMicro(f.SeenUntil))
	tok, err := decodePageToken(token, fp)
	if err != nil {
		return nil, "", err
	}
	var after *repository.Key
	if tok != nil {
		after = &repository.Key{Callsign: tok.Key, ID: tok.ID}
	}
	n := pageSize(size, defaultPageSize, maxPageSize)
	// One row more than the page tells whether another page exists without a COUNT.
	rows, err := q.store.ListFlights(ctx, f, after, n+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > n {
		rows = rows[:n]
		last := rows[n-1].Flight
		next = encodePageToken(fp, last.Callsign, last.ID)
	}
	return rows, next, nil
}

func (q *queryService) getFlight(ctx context.Context, sel flightSelector, track bool) (*repository.FlightDetail, error) {
	var (
		d   *repository.FlightDetail
		err error
	)
	if sel.ID != 0 {
		d, err = q.store.FlightByID(ctx, sel.ID, track)
	} else {
		d, err = q.store.OnlineFlightByCallsign(ctx, sel.Callsign, track)
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
