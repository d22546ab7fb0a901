// Package domain holds vatsector's own types: what the tracker computes, the repository stores and the server
// serves. It imports nothing of the project, so each of those packages maps its own representation (rows,
// protos) to these types instead of borrowing another package's.
//
// Times are UTC with microsecond precision, the precision both databases store, so a value that went through
// the database compares equal to the one that was written.
package domain

import (
	"cmp"
	"errors"
	"math"
	"strings"
	"time"
)

// SectorRef identifies a sector: its set ("vatspy", "simaware", a division's own) and its id within the set.
// Ids are unique only within a set: a division's vatSys volumes reuse VATSpy FIR ids.
type SectorRef struct {
	Set string
	ID  string
}

// Compare orders sector refs by set, then id: the order of every sector list.
func (r SectorRef) Compare(o SectorRef) int {
	return cmp.Or(strings.Compare(r.Set, o.Set), strings.Compare(r.ID, o.ID))
}

// String is "set/id" (set names hold no "/"), the form the stored list of a controller's sectors uses.
func (r SectorRef) String() string { return r.Set + "/" + r.ID }

// ParseSectorRef reads String's form back. A token without "/" is a bare id: a sector stored before sectors
// had sets, with Set "" until the sets are known.
func ParseSectorRef(s string) SectorRef {
	set, id, ok := strings.Cut(s, "/")
	if !ok {
		return SectorRef{ID: s}
	}
	return SectorRef{Set: set, ID: id}
}

// Flight is one pilot connection with its latest state. A connection is identified by (CID, Callsign,
// LogonTime); ID is allocated by the ingest writer. Latitude to Heading, LastUpdated and LastSeen change with
// every snapshot that shows the connection: they are those of its newest Position.
type Flight struct {
	ID             int64
	CID            int64
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
	QNHInHg        float64
	QNHMb          int
	LastUpdated    time.Time
	FirstSeen      time.Time
	// LastSeen is the feed time of the last snapshot that showed the connection.
	LastSeen time.Time
	// DisconnectedAt is set once the connection was missing longer than the grace period: it is LastSeen.
	DisconnectedAt *time.Time
	// WorkingControllerID is the controller the flight is in contact with (0: none), as of its last cycle of a
	// known coverage: a cycle without a transceivers file neither ends a contact nor starts one.
	WorkingControllerID int64
}

// FlightPlan is the latest flight plan of a flight.
type FlightPlan struct {
	FlightID            int64
	FlightRules         string
	Aircraft            string
	AircraftFAA         string
	AircraftShort       string
	Departure           string
	Arrival             string
	Alternate           string
	CruiseTAS           string
	Altitude            string
	DepTime             string
	EnrouteTime         string
	FuelTime            string
	Remarks             string
	Route               string
	RevisionID          *int
	AssignedTransponder string
	// UpdatedAt is the feed time of the cycle that filed or last amended the plan.
	UpdatedAt time.Time
}

// Position is where a flight was at one ingest cycle: ObservedAt is the cycle's feed time.
type Position struct {
	FlightID    int64
	ObservedAt  time.Time
	Latitude    float64
	Longitude   float64
	Altitude    int
	Groundspeed int
	Heading     int
	// LastUpdated is the pilot's last_updated in that snapshot; zero on positions stored before it was kept.
	LastUpdated time.Time
	// Coverage says whether the pilot was working a controller (ControllerID) in that snapshot, from the
	// transceivers file paired with it.
	Coverage     Coverage
	ControllerID int64
}

// Coverage is whether a position's pilot was working a controller: a radio on the controller's frequency,
// within line of sight of one of its antennas (package radio).
type Coverage uint8

// The coverages of a position.
const (
	// CoverageUnknown: the cycle had no transceivers file (missing or too old), or the position was stored
	// before coverage was kept. Never counted as off frequency.
	CoverageUnknown Coverage = iota
	// CoverageNone: no radio of the pilot reached a controller position.
	CoverageNone
	// CoverageWorking: the pilot was working ControllerID.
	CoverageWorking
)

// Point is a place with an altitude in feet: where a flight entered or left a sector.
type Point struct {
	Latitude  float64
	Longitude float64
	Altitude  int
}

// ExitReason says why a visit ended.
type ExitReason string

// Exit reasons of a visit.
const (
	ExitLeft          ExitReason = "left"           // the flight was seen outside the sector
	ExitDisconnected  ExitReason = "disconnected"   // the flight was absent longer than the grace period
	ExitSectorRemoved ExitReason = "sector_removed" // the sector is no longer loaded
)

// Visit is a flight's stay in one sector; open while Exit is nil.
type Visit struct {
	ID        int64
	FlightID  int64
	Sector    SectorRef
	EnteredAt time.Time
	Entry     Point
	Exit      *VisitExit
}

// VisitExit is how a visit ended.
type VisitExit struct {
	At time.Time
	// Position is where the flight was last seen: outside the sector, or, disconnected, wherever it was.
	Position Point
	Reason   ExitReason
	// DurationSeconds is At minus the entry, in seconds: kept as the float the databases store and the API
	// serves, so a visit read back converts exactly as the one that was published.
	DurationSeconds float64
}

// EventKind is what happened to a sector.
type EventKind string

// Event kinds.
const (
	EventEntry     EventKind = "entry"     // a flight entered the sector
	EventExit      EventKind = "exit"      // a flight left it
	EventStaffed   EventKind = "staffed"   // a controller began staffing it
	EventUnstaffed EventKind = "unstaffed" // the last controller staffing it stopped
	// A flight started, or stopped, working the controller staffing the sector (radio coverage): Flight and
	// Controller are both set, and Position.
	EventContactStarted EventKind = "contact_started"
	EventContactEnded   EventKind = "contact_ended"
)

// Event is an entry, exit or staffing change, numbered in one strictly increasing sequence.
type Event struct {
	Sequence   int64
	Kind       EventKind
	Sector     SectorRef
	OccurredAt time.Time
	CycleID    int64
	// Flight is who entered or left: set on entries and exits, and on contacts.
	Flight *FlightRef
	// Controller is who staffs, or staffed, the sector: set on staffing changes, and on contacts.
	Controller *ControllerRef
	// Position is where the flight was: set on entries and exits, and on contacts.
	Position *Point
	// Exit says how the visit ended: set on exits.
	Exit *VisitEnd
}

// FlightRef names the flight of an entry or exit, and the visit it opened or closed.
type FlightRef struct {
	ID       int64
	CID      int64
	Callsign string
	VisitID  int64
}

// ControllerRef names a controller connection.
type ControllerRef struct {
	ID       int64
	CID      int64
	Callsign string
}

// VisitEnd is the end of the visit an exit event closed.
type VisitEnd struct {
	Reason ExitReason
	// DurationSeconds is the visit's length, as in VisitExit.
	DurationSeconds float64
}

// ControllerKind tells what a controller connection is.
type ControllerKind string

// Controller kinds.
const (
	KindController ControllerKind = "controller" // may staff sectors
	KindObserver   ControllerKind = "observer"   // connected as a controller but staffs nothing
	KindATIS       ControllerKind = "atis"       // an ATIS station
)

// Controller is one controller, observer or ATIS connection with its latest state. A connection is
// identified by (CID, Callsign, LogonTime); ID is allocated by the ingest writer.
type Controller struct {
	ID          int64
	CID         int64
	Callsign    string
	LogonTime   time.Time
	Kind        ControllerKind
	Name        string
	Frequency   string
	Facility    int
	Rating      int
	Server      string
	VisualRange int
	// ATISCode and TextATIS are nil when the feed has none; TextATIS joins the feed's lines with "\n".
	ATISCode *string
	TextATIS *string
	// Sectors are the sectors it staffs, sorted; nil when it staffs none.
	Sectors     []SectorRef
	LastUpdated time.Time
	FirstSeen   time.Time
	// LastSeen is the feed time of the last snapshot that showed the connection, once the newest committed one
	// does not (missing within the grace period, or disconnected); nil while the newest shows it. It is what a
	// restart needs to disconnect the controller exactly when an uninterrupted run would.
	LastSeen       *time.Time
	DisconnectedAt *time.Time
}

// Cycle records one ingest cycle, committed or failed. Durations are in microseconds.
type Cycle struct {
	ID                 int64
	UpdateTimestamp    time.Time
	FetchedAt          time.Time
	CommittedAt        *time.Time
	Pilots             int
	Controllers        int
	ATIS               int
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
	// FirstSequence and LastSequence bound the cycle's events; nil when it has none, and on a failed cycle.
	FirstSequence *int64
	LastSequence  *int64
	// Statements executed in the cycle's transaction, its own record included.
	Statements int
	DecodeUS   int64
	ClassifyUS int64
	DiffUS     int64
	WriteUS    int64
	CommitUS   int64
	TotalUS    int64
	// Error is why a failed cycle failed; nil on a committed one.
	Error *string
	// CoverageKnown says the cycle had a transceivers file: its positions' radio coverage is known.
	CoverageKnown bool
}

// CycleWrite is everything one ingest cycle stores. It is computed in memory before the transaction opens, so
// the transaction only writes.
type CycleWrite struct {
	// Flights are stored by id: new connections, returned ones, present ones whose stored attributes changed
	// (anything but the fields their position carries) and disconnected ones. A present flight's latest
	// position, last_seen and last_updated are its Position's.
	Flights []Flight
	// FlightPlans are stored by flight id, only when new or amended.
	FlightPlans []FlightPlan
	Positions   []Position
	// OpenedVisits are new; ClosedVisits are open visits with the exit filled in, of which only the exit is
	// written.
	OpenedVisits []Visit
	ClosedVisits []Visit
	Events       []Event
	// Controllers are stored by id, only when new, changed, missing for the first cycle, or disconnected.
	Controllers []Controller
	// Cycle is the cycle's record; the store fills in the statement count, write duration and commit time.
	Cycle Cycle
	// WriterEpoch is the ingest writer's claim: the cycle renews it first, and fails, writing nothing, if
	// another instance has claimed the database since. Zero writes without a claim (tests and tools that own
	// the database).
	WriterEpoch int64
	// SectorHours are the sector-hours whose figures changed other than by accruing (SectorHour.Advance), as
	// absolute totals upserted by (sector, hour) in one statement: writing the same cycle twice writes the same
	// rows. ObservedHours are the observed time of every hour the cycle credited, upserted by hour.
	SectorHours   []SectorHour
	ObservedHours []ObservedHour
	// SectorDays are the sector-days whose distinct flights changed, upserted by (sector, day).
	SectorDays []SectorDay
}

// State is what ingest needs to continue after a restart without splitting a visit: the live connections with
// their open visits, the last committed cycle, and the highest identifiers allocated so far.
type State struct {
	Flights []Flight // not disconnected
	// Departed are flights disconnected shortly before the last committed cycle: the feed may show one again.
	Departed    []Flight
	FlightPlans []FlightPlan // of those flights and of the departed ones
	OpenVisits  []Visit
	Controllers []Controller // not disconnected
	// DepartedControllers are the controllers' counterpart of Departed.
	DepartedControllers []Controller
	// LastCycle is the last committed cycle; nil on a fresh database.
	LastCycle *Cycle
	MaxIDs    MaxIDs
	// SectorHours are the stored rollups of the hours from SectorHoursReach before the last committed cycle's
	// hour on, and HourVisits the visits overlapping them or the UTC day the first of them is in: what the
	// rollups of the hours and days still being written are rebuilt from.
	SectorHours []SectorHour
	HourVisits  []VisitSpan
	// RecentCycles are the feed times of the committed cycles from SectorHoursReach + MaxHold before the last
	// one's hour on, in order: how much of each of those hours the cycles observed.
	RecentCycles []time.Time
}

// MaxIDs are the highest identifiers in use; the writer allocates the next ones.
type MaxIDs struct {
	Flight, Visit, Controller, Sequence, Cycle int64
}

// Committed is a cycle as stored: its record and its events in sequence order, and the flights online after it.
// It is what ingest publishes after each commit.
type Committed struct {
	Cycle  Cycle
	Events []Event
	// Flights are the flights online after the cycle, ordered by id; nil from a publisher that does not track
	// them.
	Flights []LiveFlight
}

// The reads the API serves return the types below: flights and sectors as of one committed cycle.

// FlightSummary is a flight with its latest plan and the sectors it is inside now.
type FlightSummary struct {
	Flight Flight
	// Plan is nil when none was filed.
	Plan *FlightPlan
	// Sectors are the sectors of its open visits, sorted.
	Sectors []SectorRef
}

// FlightDetail is a flight with its newest visits and, on request, its newest track points.
type FlightDetail struct {
	FlightSummary
	// Visits are ordered by EnteredAt, then sector.
	Visits []Visit
	// Track is ordered by ObservedAt; nil unless asked for.
	Track []Position
	// VisitsTruncated and TrackTruncated say older visits or positions exist than those returned.
	VisitsTruncated, TrackTruncated bool
}

// Occupant is a flight inside a sector: its open visit and its latest state.
type Occupant struct {
	VisitID   int64
	EnteredAt time.Time
	Flight    Flight
}

// Occupancy is a sector's state as of one committed cycle.
type Occupancy struct {
	// Occupants are ordered by EnteredAt, then callsign, then visit id: one page of them.
	Occupants []Occupant
	// Total is the number of flights inside the sector, on every page.
	Total int
	// Staffing are the controllers online staffing the sector, ordered by callsign then id.
	Staffing []Controller
	// AsOf is the feed time of the last committed cycle; zero before the first.
	AsOf time.Time
}

// SectorState is a sector's live figures: the flights inside it and the controllers online staffing it.
type SectorState struct {
	Flights  int
	Staffing []Controller
}

// One instance ingests into a database at a time: two would allocate the same identifiers from the same state.
// An instance claims the database before ingesting and renews the claim with each cycle it writes.

var (
	// ErrWriterBusy means another instance renewed its claim within the lease.
	ErrWriterBusy = errors.New("another instance is ingesting into this database")
	// ErrSuperseded means another instance claimed the database since this writer did.
	ErrSuperseded = errors.New("another instance took over ingest into this database")
)

// WriterClaim is an instance's claim on the right to ingest into a database.
type WriterClaim struct {
	// Epoch grows with every claim; a cycle written under an older epoch fails with ErrSuperseded.
	Epoch     int64
	Holder    string
	ClaimedAt time.Time
	RenewedAt time.Time
}

// CycleResult says what a committed cycle cost.
type CycleResult struct {
	// Statements executed in the transaction, the cycle record included; BEGIN and COMMIT are not statements.
	Statements  int
	Write       time.Duration
	Commit      time.Duration
	CommittedAt time.Time
}

// Pruned counts the rows a prune of the history past its retention removed.
type Pruned struct {
	Positions, Events int64
	// SectorHours counts the hourly rollups removed.
	SectorHours int64
}

// AdoptedSectors counts the rows stored before sectors had sets that were given the set of a loaded sector.
type AdoptedSectors struct {
	Visits, Events, Controllers int64
	// Unknown are the stored ids no loaded set has: their rows keep the set "" until one does.
	Unknown []string
}

// SectorHoursReach is how far before the hour of the last committed cycle ingest keeps hourly rollups in memory:
// an exit of a flight disconnected after the grace period is dated when it was last seen, possibly in an earlier
// hour, whose totals the cycle then rewrites. With a grace period longer than this, an exit dated earlier is
// counted in the earliest hour kept.
const SectorHoursReach = time.Hour

// SectorHour is one sector's rollup of one UTC hour (table sector_hours; the migrations define each figure). A
// cycle's figures hold from its feed time until the next cycle's, at most MaxHold, split at hour boundaries.
//
// The time-weighted figures are as of ObservedSeconds of the hour observed. From there on they accrue without
// the row being rewritten: each further second observed adds Occupants to OccupancySeconds, and one to
// StaffedSeconds while Staffed. A cycle therefore rewrites only the rows whose counts or staffing changed, not
// every occupied sector's (Advance; the reads return rows advanced to their hour's observed time).
type SectorHour struct {
	Sector SectorRef
	// Hour is the UTC start of the hour.
	Hour time.Time
	// Entries and Exits count the sector's entry and exit events dated in the hour.
	Entries, Exits int
	// Flights counts the distinct flights with a visit overlapping the hour.
	Flights int
	// Peak is the most flights inside after any one cycle dated in the hour.
	Peak int
	// OccupancySeconds is Σ flights inside × hold, StaffedSeconds Σ hold while staffed, ObservedSeconds Σ hold.
	OccupancySeconds, StaffedSeconds, ObservedSeconds float64
	// Radio coverage, in flight-seconds: StaffedOccupancySeconds is Σ flights inside × hold while staffed (the
	// coverage offered); KnownOccupancySeconds Σ flights inside × hold over the cycles with a transceivers file,
	// and OnFrequencySeconds Σ of those flights in contact with a controller × hold (the coverage used).
	StaffedOccupancySeconds, KnownOccupancySeconds, OnFrequencySeconds float64
	// Occupants and Staffed are what accrues after ObservedSeconds: the flights inside and whether the sector
	// was staffed after the last cycle that wrote the row; Working is how many of the occupants were in contact,
	// and CoverageKnown whether that cycle had a transceivers file (only then do the coverage figures accrue).
	Occupants     int
	Staffed       bool
	Working       int
	CoverageKnown bool
}

// Advance returns the hour as of observed seconds of it observed (at least ObservedSeconds). The seconds are
// whole microseconds (ingest keeps them so), and the arithmetic is done on those, so a row advanced equals the
// row rewritten at the same time exactly.
func (h SectorHour) Advance(observed float64) SectorHour {
	d := Micros(observed) - Micros(h.ObservedSeconds)
	if d <= 0 {
		return h
	}
	h.OccupancySeconds = Seconds(Micros(h.OccupancySeconds) + int64(h.Occupants)*d)
	if h.Staffed {
		h.StaffedSeconds = Seconds(Micros(h.StaffedSeconds) + d)
		h.StaffedOccupancySeconds = Seconds(Micros(h.StaffedOccupancySeconds) + int64(h.Occupants)*d)
	}
	if h.CoverageKnown {
		h.KnownOccupancySeconds = Seconds(Micros(h.KnownOccupancySeconds) + int64(h.Occupants)*d)
		h.OnFrequencySeconds = Seconds(Micros(h.OnFrequencySeconds) + int64(h.Working)*d)
	}
	h.ObservedSeconds = observed
	return h
}

// SectorDay is one sector's distinct flights of one UTC day: the flights with a visit overlapping the day. Unlike
// the other figures of a day, they cannot be summed from its hours, and counting them from the visits would read
// every visit of the day (at 3,000 simulated pilots, about 700,000); ingest keeps them as it keeps the hours'.
type SectorDay struct {
	Sector SectorRef
	// Day is the UTC start of the day.
	Day     time.Time
	Flights int
}

// ObservedHour is how much of one UTC hour the cycles observed (Σ hold), the same for every sector of the hour.
type ObservedHour struct {
	Hour    time.Time
	Seconds float64
}

// Micros converts rollup seconds, whole microseconds stored as float seconds, back to microseconds exactly.
func Micros(s float64) int64 { return int64(math.Round(s * 1e6)) }

// Seconds converts microseconds to rollup seconds.
func Seconds(us int64) float64 { return float64(us) / 1e6 }

// MaxHold is the longest a cycle's figures hold: two poll intervals of the feed. A longer gap is an outage, and
// counts as not observed.
const MaxHold = 30 * time.Second

// VisitSpan is a visit's sector and interval: an hour's distinct flights are the flights of the visits
// overlapping it.
type VisitSpan struct {
	FlightID  int64
	Sector    SectorRef
	EnteredAt time.Time
	ExitedAt  *time.Time
}

// TrafficBucket is a sector's traffic over one UTC hour or day, summed from its hours. Seconds are sums over the
// bucket; divide by the bucket's length for means (an hour not observed adds nothing, so an outage lowers them).
type TrafficBucket struct {
	Start                                             time.Time
	Entries, Exits, Flights, Peak                     int
	OccupancySeconds, StaffedSeconds, ObservedSeconds float64
	// The radio coverage sums of the hours (SectorHour's).
	StaffedOccupancySeconds, KnownOccupancySeconds, OnFrequencySeconds float64
}

// SectorTraffic is one sector's traffic over a range: its totals (Total.Start is the range's start).
type SectorTraffic struct {
	Sector SectorRef
	Total  TrafficBucket
}

// StaffingCell is a sector's profile at one weekday and UTC hour over a window of weeks, from its hours.
type StaffingCell struct {
	Weekday time.Weekday
	Hour    int
	// Hours is how many of the window's hours at this weekday and hour have a rollup of the sector.
	Hours int
	// StaffedSeconds and OccupancySeconds are sums over those hours; Peak is the largest of their peaks.
	StaffedSeconds, OccupancySeconds, ObservedSeconds float64
	Peak                                              int
}

// History the reads return: what a flight did, controller sessions, a consistent snapshot of the sectors.

// FlightSummaryReport is what one flight did: the flight, its newest visits with their durations, and the
// figures of its stored positions.
type FlightSummaryReport struct {
	FlightSummary
	// Visits are ordered by EnteredAt, then sector; the newest ones only (see VisitsTruncated).
	Visits          []SummaryVisit
	VisitsTruncated bool
	Track           TrackFigures
}

// SummaryVisit is a visit with its duration: exit minus entry when closed, the flight's LastSeen minus the
// entry while open.
type SummaryVisit struct {
	Visit
	Duration time.Duration
}

// TrackFigures are computed from a flight's positions in observed_at order, in one pass.
type TrackFigures struct {
	// Positions is how many positions there are; First and Last are the first and last observed_at (zero when
	// there is none).
	Positions   int
	First, Last time.Time
	// Airborne is the sum of the segments (two consecutive positions) both of whose ends have a ground speed of
	// at least the airborne threshold (50 kt).
	Airborne time.Duration
	// DistanceNM is the sum of the haversine lengths of the segments, except the jumps: segments implying a
	// speed above the plausible one (1,000 kt), counted in SkippedSegments.
	DistanceNM      float64
	SkippedSegments int
	// HighestAltitude is the highest position altitude in feet; nil when there is no position.
	HighestAltitude *int
	// Coverage is the radio coverage along the segments; nil when no position has a known coverage.
	Coverage *RadioCoverage
}

// RadioCoverage is how much of a flight's time it spent working a controller, over the segments (two
// consecutive positions) whose first position has a known coverage; a segment counts with its first
// position's coverage.
type RadioCoverage struct {
	Known, OnFrequency                 time.Duration
	AirborneKnown, AirborneOnFrequency time.Duration
	// Contacts are the runs of consecutive positions working one controller, in order.
	Contacts []ControllerContact
}

// ControllerContact is a run of a flight's positions working one controller: from the first one's time to
// the time of the position after the run (the last one's, when the track ends in the run).
type ControllerContact struct {
	Controller ControllerRef
	Start, End time.Time
}

// ControllerSession is one controller connection over [Start, End) with the flights inside its sectors (the
// controller's latest list) during that interval. A flight is inside a sector at t when one of its visits
// there has entered_at <= t < exited_at (an open visit has no end).
type ControllerSession struct {
	Controller Controller
	// Start is the connection's FirstSeen; End its DisconnectedAt, or while Online the last committed cycle.
	Start, End time.Time
	Online     bool
	// DistinctFlights counts the flights inside at least one of the sectors at some time of the session;
	// PeakFlights the most inside at once (a flight inside two of the sectors counts once), first reached at
	// PeakAt (zero when PeakFlights is 0).
	DistinctFlights int
	PeakFlights     int
	PeakAt          time.Time
	// Radio is the traffic that worked the controller on frequency; nil when no cycle of the session had a
	// known coverage.
	Radio *SessionRadio
}

// SessionRadio is the flights that worked a controller session (radio coverage). Worked is the flight-time on
// its frequency and Known the session's time of known coverage, both over the session's cycles each weighted
// by the time to the next committed cycle (at most MaxHold): their ratio is the time-weighted mean of the
// flights working it.
type SessionRadio struct {
	DistinctAircraft int
	PeakSimultaneous int
	// PeakAt is the first cycle with PeakSimultaneous; zero when it is 0.
	PeakAt        time.Time
	Worked, Known time.Duration
}

// SectorSnapshot is the live figures of sectors together with the committed position they reflect, read in one
// transaction: what an occupancy stream starts from before it applies the cycles committed after it.
type SectorSnapshot struct {
	// States are as SectorStates returns them: sectors nobody is in or staffs are absent.
	States map[SectorRef]SectorState
	// Sequence is the latest committed event sequence: every event up to it is reflected, none after it. 0
	// when no event was ever recorded.
	Sequence int64
	// Cycle is the last committed cycle (nil on a database that has none): every committed cycle up to its id
	// is reflected, none after it.
	Cycle *Cycle
}

// BoundingBox is an area between two parallels and two meridians, in degrees, edges included. A MinLon greater
// than MaxLon is a box across the antimeridian (from MinLon east to MaxLon).
type BoundingBox struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// Contains reports whether the point is inside the box.
func (b BoundingBox) Contains(lat, lon float64) bool {
	if lat < b.MinLat || lat > b.MaxLat {
		return false
	}
	if b.MinLon <= b.MaxLon {
		return lon >= b.MinLon && lon <= b.MaxLon
	}
	return lon >= b.MinLon || lon <= b.MaxLon
}

// Intersects reports whether the box shares a point with the box [minLat, maxLat] x [minLon, maxLon], which
// does not cross the antimeridian (minLon <= maxLon).
func (b BoundingBox) Intersects(minLat, minLon, maxLat, maxLon float64) bool {
	if maxLat < b.MinLat || minLat > b.MaxLat {
		return false
	}
	if b.MinLon <= b.MaxLon {
		return maxLon >= b.MinLon && minLon <= b.MaxLon
	}
	return maxLon >= b.MinLon || minLon <= b.MaxLon
}

// LiveFlight is an online flight where the last committed cycle showed it: what ingest publishes of every
// flight each cycle, for maps.
type LiveFlight struct {
	ID          int64
	Callsign    string
	Latitude    float64
	Longitude   float64
	Altitude    int
	Groundspeed int
	Heading     int
	// Aircraft (the ICAO type), Departure and Arrival are the flight plan's; empty without one.
	Aircraft, Departure, Arrival string
	// Working is the controller the flight is in contact with; nil for none.
	Working *ControllerRef
}
