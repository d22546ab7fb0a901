package repository

import (
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/migrations"
)

// A flight's row is not rewritten every cycle: the cycle writes it when the flight connects, returns, changes
// anything its position does not carry, or disconnects (ingest's sameFlight), and writes a position for every
// flight the snapshot shows. So while a flight is not disconnected, its newest position is what holds its
// latitude, longitude, altitude, groundspeed, heading and last_updated, and its time is the flight's last_seen
// (a cycle stores a position for each flight it shows, and only for those). Once disconnected, the row holds
// its last values: the cycle that disconnects a flight writes its row whole, from the tracker's state.
//
// Every read of flights goes through flightsNow, which joins each flight not disconnected to its newest
// position by the positions key (flight_id, observed_at): one index probe per flight read. Retention never
// deletes that position (Prune).

// flightNow is a flight's row with its newest position, which is read only while it is not disconnected.
type flightNow struct {
	Flight         `gorm:"embedded"`
	PosObservedAt  *time.Time
	PosLatitude    *float64
	PosLongitude   *float64
	PosAltitude    *int
	PosGroundspeed *int
	PosHeading     *int
	PosLastUpdated *time.Time
}

// flight is the flight as of its newest position, times in UTC. A position stored before migration 00009 has
// no last_updated: the row was then rewritten every cycle, with that position, and holds it.
func (r *flightNow) flight() Flight {
	f := r.Flight
	if r.PosObservedAt != nil && r.PosLatitude != nil && r.PosLongitude != nil && r.PosAltitude != nil &&
		r.PosGroundspeed != nil && r.PosHeading != nil {
		f.LastSeen, f.Latitude, f.Longitude = *r.PosObservedAt, *r.PosLatitude, *r.PosLongitude
		f.Altitude, f.Groundspeed, f.Heading = *r.PosAltitude, *r.PosGroundspeed, *r.PosHeading
		if r.PosLastUpdated != nil {
			f.LastUpdated = *r.PosLastUpdated
		}
	}
	f.normalize()
	return f
}

func flightsOfNow(rows []flightNow) []Flight {
	out := make([]Flight, len(rows))
	for i := range rows {
		out[i] = rows[i].flight()
	}
	return out
}

// latestPositionColumns are flightNow's columns: every column of flights, then those of its newest position.
const latestPositionColumns = "flights.*, lp.observed_at AS pos_observed_at, lp.latitude AS pos_latitude, " +
	"lp.longitude AS pos_longitude, lp.altitude AS pos_altitude, lp.groundspeed AS pos_groundspeed, " +
	"lp.heading AS pos_heading, lp.last_updated AS pos_last_updated"

// flightsNow selects from flights (under that name, so conditions on flights.<column> apply) with each flight's
// newest position as lp, into flightNow rows. lastSeenNow is a flight's last_seen as of that position, for
// conditions.
func (s *Store) flightsNow(tx *gorm.DB) *gorm.DB {
	return tx.Table("flights").Select(latestPositionColumns).Joins(s.latestPositionJoin())
}

// lastSeenNow is the expression of a flight's last_seen in flightsNow; latitudeNow and longitudeNow of its
// latest position.
const (
	lastSeenNow  = "COALESCE(lp.observed_at, flights.last_seen)"
	latitudeNow  = "COALESCE(lp.latitude, flights.latitude)"
	longitudeNow = "COALESCE(lp.longitude, flights.longitude)"
)

// latestPositionJoin joins a flight not disconnected to its newest position: on PostgreSQL a lateral subquery
// reading the positions key backwards, one row; on SQLite, which has no LATERAL, the position whose time is
// the newest of the flight's, found the same way.
func (s *Store) latestPositionJoin() string {
	if s.dialect == migrations.Postgres {
		return "LEFT JOIN LATERAL (SELECT p.observed_at, p.latitude, p.longitude, p.altitude, p.groundspeed, " +
			"p.heading, p.last_updated FROM positions AS p WHERE p.flight_id = flights.id AND " +
			"flights.disconnected_at IS NULL ORDER BY p.observed_at DESC LIMIT 1) AS lp ON true"
	}
	return "LEFT JOIN positions AS lp ON flights.disconnected_at IS NULL AND lp.flight_id = flights.id AND " +
		"lp.observed_at = (SELECT p.observed_at FROM positions AS p WHERE p.flight_id = flights.id " +
		"ORDER BY p.observed_at DESC LIMIT 1)"
}
