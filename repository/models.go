package repository

import "time"

// The models mirror migrations/*/00001_schema.sql. Primary keys are allocated by the ingest writer, so none is
// auto-incremented and no insert needs RETURNING.

// Flight is one pilot connection with its latest state.
type Flight struct {
	ID             int64 `gorm:"primaryKey;autoIncrement:false"`
	CID            int64 `gorm:"column:cid"`
	Callsign       string
	LogonTime      time.Time
	Name           string
	Server         string
	PilotRating    int
	MilitaryRating *int
	Latitude       float64
	Longitude      float64
	Altitude       int
	Groundspeed    int
	Heading        int
	Transponder    string
	QNHInHg        float64 `gorm:"column:qnh_i_hg"`
	QNHMb          int     `gorm:"column:qnh_mb"`
	LastUpdated    time.Time
	FirstSeen      time.Time
	LastSeen       time.Time
	DisconnectedAt *time.Time
}

// FlightPlan is the latest flight plan of a flight.
type FlightPlan struct {
	FlightID            int64 `gorm:"primaryKey;autoIncrement:false"`
	FlightRules         string
	Aircraft            string
	AircraftFAA         string `gorm:"column:aircraft_faa"`
	AircraftShort       string
	Departure           string
	Arrival             string
	Alternate           string
	CruiseTAS           string `gorm:"column:cruise_tas"`
	Altitude            string
	DepTime             string `gorm:"column:deptime"`
	EnrouteTime         string
	FuelTime            string
	Remarks             string
	Route               string
	RevisionID          *int
	AssignedTransponder string
	UpdatedAt           time.Time `gorm:"autoUpdateTime:false"`
}

// Position is where a flight was at one ingest cycle.
type Position struct {
	FlightID    int64     `gorm:"primaryKey;autoIncrement:false"`
	ObservedAt  time.Time `gorm:"primaryKey"`
	Latitude    float64
	Longitude   float64
	Altitude    int
	Groundspeed int
	Heading     int
}

// Exit reasons of a visit.
const (
	ExitLeft          = "left"           // the flight was seen outside the sector
	ExitDisconnected  = "disconnected"   // the flight was absent longer than the grace period
	ExitSectorRemoved = "sector_removed" // the sector is no longer loaded
)

// Visit is a flight's stay in one sector; open while ExitedAt is nil.
type Visit struct {
	ID              int64 `gorm:"primaryKey;autoIncrement:false"`
	FlightID        int64
	SectorID        string
	EnteredAt       time.Time
	EntryLatitude   float64
	EntryLongitude  float64
	EntryAltitude   int
	ExitedAt        *time.Time
	ExitLatitude    *float64
	ExitLongitude   *float64
	ExitAltitude    *int
	ExitReason      *string
	DurationSeconds *float64
}

func (Visit) TableName() string { return "sector_visits" }

// Controller kinds.
const (
	KindController = "controller"
	KindObserver   = "observer"
	KindATIS       = "atis"
)

// Controller is one controller, observer or ATIS connection with its latest state. Sectors lists the ids of the
// sectors it staffs, space-separated.
type Controller struct {
	ID          int64 `gorm:"primaryKey;autoIncrement:false"`
	CID         int64 `gorm:"column:cid"`
	Callsign    string
	LogonTime   time.Time
	Kind        string
	Name        string
	Frequency   string
	Facility    int
	Rating      int
	Server      string
	VisualRange int
	ATISCode    *string `gorm:"column:atis_code"`
	TextATIS    *string `gorm:"column:text_atis"`
	Sectors     string
	LastUpdated time.Time
	FirstSeen   time.Time
	// LastSeen is the feed time of the last snapshot that showed the connection, once the newest committed one
	// does not (missing within the grace period, or disconnected); nil while the newest shows it. It is what a
	// restart needs to disconnect the controller exactly when an uninterrupted run would.
	LastSeen       *time.Time
	DisconnectedAt *time.Time
}

// Event kinds.
const (
	EventEntry     = "entry"
	EventExit      = "exit"
	EventStaffed   = "staffed"
	EventUnstaffed = "unstaffed"
)

// Event is an entry, exit or staffing change, numbered in one strictly increasing sequence.
type Event struct {
	Sequence        int64 `gorm:"primaryKey;autoIncrement:false"`
	Kind            string
	SectorID        string
	OccurredAt      time.Time
	CycleID         int64
	CID             int64 `gorm:"column:cid"`
	Callsign        string
	FlightID        *int64
	VisitID         *int64
	ControllerID    *int64
	Latitude        *float64
	Longitude       *float64
	Altitude        *int
	ExitReason      *string
	DurationSeconds *float64
}

func (Event) TableName() string { return "sector_events" }

// Cycle records one ingest cycle, committed or failed. Durations are in microseconds.
type Cycle struct {
	ID                 int64 `gorm:"primaryKey;autoIncrement:false"`
	UpdateTimestamp    time.Time
	FetchedAt          time.Time
	CommittedAt        *time.Time
	Pilots             int
	Controllers        int
	ATIS               int `gorm:"column:atis"`
	FlightsWritten     int
	FlightPlansWritten int
	PositionsWritten   int
	VisitsOpened       int
	VisitsClosed       int
	EventsWritten      int
	ControllersWritten int
	// DuplicateEntries and RejectedEntries count the snapshot's entries that were not ingested: repeated
	// connection keys, and values that no column of either database holds.
	DuplicateEntries int
	RejectedEntries  int
	FirstSequence    *int64
	LastSequence     *int64
	Statements       int
	DecodeUS         int64 `gorm:"column:decode_us"`
	ClassifyUS       int64 `gorm:"column:classify_us"`
	DiffUS           int64 `gorm:"column:diff_us"`
	WriteUS          int64 `gorm:"column:write_us"`
	CommitUS         int64 `gorm:"column:commit_us"`
	TotalUS          int64 `gorm:"column:total_us"`
	Error            *string
}

func (Cycle) TableName() string { return "ingest_cycles" }
