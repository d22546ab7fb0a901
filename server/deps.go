package server

import (
	"context"
	"database/sql"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
)

// What the server needs from the rest of the program, as interfaces so tests can substitute a failing store or
// a status of their choosing. *repository.Store, *ingest.Runner and *ingest.AirspaceSectors satisfy them.

// Storage is the storage layer: the repository's reads and the pool's figures.
type Storage interface {
	Ping(ctx context.Context) error
	PoolStats() sql.DBStats
	IngestPoolStats() sql.DBStats
	ListFlights(ctx context.Context, f repository.FlightFilter, after *repository.Key, limit int) ([]domain.FlightSummary, error)
	FlightByID(ctx context.Context, id int64, lim repository.DetailLimits) (*domain.FlightDetail, error)
	OnlineFlightByCallsign(ctx context.Context, callsign string, lim repository.DetailLimits) (*domain.FlightDetail, error)
	SectorOccupancy(ctx context.Context, sector domain.SectorRef, after *repository.OccupantKey, limit int) (*domain.Occupancy, error)
	SectorStates(ctx context.Context, ids []domain.SectorRef) (map[domain.SectorRef]domain.SectorState, error)
	SectorSnapshot(ctx context.Context, ids []domain.SectorRef) (*domain.SectorSnapshot, error)
	ListEvents(ctx context.Context, f repository.EventFilter, after, through int64, limit int) ([]domain.Event, error)
	ReplayEvents(ctx context.Context, f repository.EventFilter, after, through int64, limit int) ([]domain.Event, int64, error)
	SequenceBounds(ctx context.Context) (oldest, latest int64, err error)
	ListOnlineControllers(ctx context.Context, f repository.ControllerFilter, after *repository.Key, limit int) ([]domain.Controller, error)
	FlightSummaryByID(ctx context.Context, id int64, maxVisits int) (*domain.FlightSummaryReport, error)
	ListControllerSessions(ctx context.Context, f repository.SessionFilter, after *repository.Key, limit int) ([]domain.ControllerSession, error)
	LastCommittedCycle(ctx context.Context) (*domain.Cycle, error)
	LiveFlights(ctx context.Context) ([]domain.LiveFlight, error)
	StatsStorage
}

// replicaReporter is a Storage that reads a standby (repository.Store with Config.ReadDatabaseURL): the ingestion
// status shows its lag.
type replicaReporter interface {
	ReplicaStatus() (repository.ReplicaStatus, bool)
}

// StatusSource reports on ingestion.
type StatusSource interface {
	Status() ingest.Status
}

// SectorsProvider gives the sectors loaded now; the set may be swapped while the server runs.
type SectorsProvider interface {
	Airspace() *airspace.Airspace
}

var (
	_ Storage         = (*repository.Store)(nil)
	_ StatusSource    = (*ingest.Runner)(nil)
	_ SectorsProvider = (*ingest.AirspaceSectors)(nil)
)
