// Package feed holds the VATSIM v3 data feed: its snapshot types, a lenient decoder and the sources that
// produce raw snapshots (the live network, any HTTP mirror, recorded files).
package feed

import "time"

// Snapshot is one regeneration of vatsim-data.json (format v3). Only the parts vatsector uses are kept;
// unknown fields are ignored by the decoder.
type Snapshot struct {
	General     General      `json:"general"`
	Pilots      []Pilot      `json:"pilots"`
	Controllers []Controller `json:"controllers"`
	ATIS        []Controller `json:"atis"`

	// Duplicates is how many entries Decode dropped because another entry of the same list had the same
	// connection key (see Decode). Not part of the feed.
	Duplicates int `json:"-"`

	// Rejected lists the entries Decode dropped because a database could not store one of their values (see
	// Rejection), in list order (pilots, controllers, atis), then by index. Not part of the feed.
	Rejected []Rejection `json:"-"`

	// Transceivers are the radios of the transceivers file paired with the snapshot; nil when there was none
	// (radio coverage unknown). Not part of the snapshot's file.
	Transceivers *Transceivers `json:"-"`
}

// General is the snapshot header. UpdateTimestamp identifies the snapshot: a new value is a new ingest cycle.
type General struct {
	Version          int       `json:"version"`
	Update           string    `json:"update"`
	UpdateTimestamp  time.Time `json:"update_timestamp"`
	ConnectedClients int       `json:"connected_clients"`
	UniqueUsers      int       `json:"unique_users"`
}

// Pilot is one connected pilot. A connection is identified by (CID, Callsign, LogonTime): CID alone is not
// unique (ghost connections), and a callsign is reused across connections.
type Pilot struct {
	CID            int64       `json:"cid"`
	Name           string      `json:"name"`
	Callsign       string      `json:"callsign"`
	Server         string      `json:"server"`
	PilotRating    int         `json:"pilot_rating"`
	MilitaryRating *int        `json:"military_rating"` // absent in older files
	Latitude       float64     `json:"latitude"`
	Longitude      float64     `json:"longitude"`
	Altitude       int         `json:"altitude"` // feet, can be negative
	Groundspeed    int         `json:"groundspeed"`
	Transponder    string      `json:"transponder"`
	Heading        int         `json:"heading"`  // 0..360 inclusive
	QNHInHg        float64     `json:"qnh_i_hg"` // sometimes a JSON integer
	QNHMb          int         `json:"qnh_mb"`
	FlightPlan     *FlightPlan `json:"flight_plan"` // null when none was filed
	LogonTime      time.Time   `json:"logon_time"`
	LastUpdated    time.Time   `json:"last_updated"`
}

// FlightPlan is a filed flight plan; RevisionID grows with each amendment.
type FlightPlan struct {
	FlightRules         string `json:"flight_rules"`
	Aircraft            string `json:"aircraft"`
	AircraftFAA         string `json:"aircraft_faa"`
	AircraftShort       string `json:"aircraft_short"`
	Departure           string `json:"departure"`
	Arrival             string `json:"arrival"`
	Alternate           string `json:"alternate"`
	CruiseTAS           string `json:"cruise_tas"`
	Altitude            string `json:"altitude"`
	DepTime             string `json:"deptime"`
	EnrouteTime         string `json:"enroute_time"`
	FuelTime            string `json:"fuel_time"`
	Remarks             string `json:"remarks"`
	Route               string `json:"route"`
	RevisionID          *int   `json:"revision_id"`          // absent in older files
	AssignedTransponder string `json:"assigned_transponder"` // absent in older files
}

// Controller is one connected controller, observer or ATIS station (the feed's controllers and atis lists
// share this shape).
type Controller struct {
	CID         int64     `json:"cid"`
	Name        string    `json:"name"`
	Callsign    string    `json:"callsign"`
	Frequency   string    `json:"frequency"` // "199.998" means no real frequency
	Facility    int       `json:"facility"`  // 0 is an observer
	Rating      int       `json:"rating"`
	Server      string    `json:"server"`
	VisualRange int       `json:"visual_range"`
	ATISCode    *string   `json:"atis_code"` // null or absent outside ATIS
	TextATIS    []string  `json:"text_atis"` // null when empty
	LastUpdated time.Time `json:"last_updated"`
	LogonTime   time.Time `json:"logon_time"`
}

// Facility codes of the v3 feed.
const (
	FacilityObserver = 0
	FacilityFSS      = 1
	FacilityDelivery = 2
	FacilityGround   = 3
	FacilityTower    = 4
	FacilityApproach = 5
	FacilityCenter   = 6
)

// NoFrequency is what the feed shows for a connection without a real frequency (observers).
const NoFrequency = "199.998"
