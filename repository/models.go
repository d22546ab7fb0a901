package repository

import "time"

// The models mirror migrations/*/00001_schema.sql: they are the storage schema of the domain types (package
// domain says what each holds; mapping.go converts). Primary keys are allocated by the ingest writer, so none
// is auto-incremented and no insert needs RETURNING.

// Flight stores a domain.Flight. The cycle rewrites a flight's row only when it connects, returns, changes
// anything but what its position holds, or disconnects (ingest's sameFlight): while it is not disconnected, its
// latitude to heading, last_updated and last_seen in the row may be older than its newest position, and the
// reads take them from that position (latestPosition). A disconnected flight's row holds its last values.
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
	// WorkingControllerID is 0 for none (the column's default for rows stored before it existed).
	WorkingControllerID int64
}

// FlightPlan stores a domain.FlightPlan.
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

// Position stores a domain.Position. LastUpdated is NULL on positions stored before migration 00009.
type Position struct {
	FlightID    int64     `gorm:"primaryKey;autoIncrement:false"`
	ObservedAt  time.Time `gorm:"primaryKey"`
	Latitude    float64
	Longitude   float64
	Altitude    int
	Groundspeed int
	Heading     int
	LastUpdated *time.Time
	// OnFrequency and ControllerID store the position's domain.Coverage: NULL unknown, false none, true
	// working ControllerID.
	OnFrequency  *bool
	ControllerID *int64
}

// Visit stores a domain.Visit: open while ExitedAt is nil, and the exit columns are all set or all NULL.
// ExitReason holds a domain.ExitReason.
type Visit struct {
	ID              int64 `gorm:"primaryKey;autoIncrement:false"`
	FlightID        int64
	SectorSet       string
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

// Controller stores a domain.Controller. Kind holds a domain.ControllerKind; Sectors lists the sectors it
// staffs, space-separated set/id tokens (sectorList).
type Controller struct {
	ID             int64 `gorm:"primaryKey;autoIncrement:false"`
	CID            int64 `gorm:"column:cid"`
	Callsign       string
	LogonTime      time.Time
	Kind           string
	Name           string
	Frequency      string
	Facility       int
	Rating         int
	Server         string
	VisualRange    int
	ATISCode       *string `gorm:"column:atis_code"`
	TextATIS       *string `gorm:"column:text_atis"`
	Sectors        string
	LastUpdated    time.Time
	FirstSeen      time.Time
	LastSeen       *time.Time
	DisconnectedAt *time.Time
}

// Event stores a domain.Event in one row whatever its kind: Kind holds a domain.EventKind, CID and Callsign
// are the flight's or the controller's, and the columns of the parts an event does not have are NULL.
type Event struct {
	Sequence        int64 `gorm:"primaryKey;autoIncrement:false"`
	Kind            string
	SectorSet       string
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
	// ControllerCID and ControllerCallsign name the controller of an event that also names a flight (a
	// contact), whose cid and callsign are the flight's; NULL otherwise.
	ControllerCID      *int64 `gorm:"column:controller_cid"`
	ControllerCallsign *string
}

func (Event) TableName() string { return "sector_events" }

// Cycle stores a domain.Cycle.
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
	DuplicateEntries   int
	RejectedEntries    int
	FirstSequence      *int64
	LastSequence       *int64
	Statements         int
	DecodeUS           int64 `gorm:"column:decode_us"`
	ClassifyUS         int64 `gorm:"column:classify_us"`
	DiffUS             int64 `gorm:"column:diff_us"`
	WriteUS            int64 `gorm:"column:write_us"`
	CommitUS           int64 `gorm:"column:commit_us"`
	TotalUS            int64 `gorm:"column:total_us"`
	Error              *string
	CoverageKnown      bool
}

func (Cycle) TableName() string { return "ingest_cycles" }
