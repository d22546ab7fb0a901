package ingest

import (
	"context"
	"time"

	"github.com/vatsector/vatsector/domain"
)

// Store is what the ingest loop needs of the database; *repository.Store implements it. Declared here, it
// lets the loop run against a store that fails on purpose, and keeps the tracker's inputs and outputs in the
// domain's types.
type Store interface {
	// ClaimWriter makes holder the database's ingest writer, failing with domain.ErrWriterBusy (and the
	// current claim) while another holder renewed its claim within lease.
	ClaimWriter(ctx context.Context, holder string, lease time.Duration, now time.Time) (domain.WriterClaim, error)
	// ReleaseWriter gives the claim of epoch back.
	ReleaseWriter(ctx context.Context, epoch int64) error
	// LoadState reads the state a tracker resumes from; flights and controllers disconnected within
	// departedWithin before the last committed cycle come back as departed.
	LoadState(ctx context.Context, departedWithin time.Duration) (*domain.State, error)
	// LastCommittedBefore is the newest committed cycle dated at or before t; nil when there is none.
	LastCommittedBefore(ctx context.Context, t time.Time) (*domain.Cycle, error)
	// LoadRollups reads what the rollups of the hours and days still written after a cycle at last are rebuilt
	// from (the SectorHours, HourVisits and RecentCycles of a domain.State; LoadState reads them for its last
	// cycle).
	LoadRollups(ctx context.Context, last time.Time) (*domain.State, error)
	// WriteCycle stores a cycle in one transaction, all or nothing; domain.ErrSuperseded when another
	// writer claimed the database since w.WriterEpoch.
	WriteCycle(ctx context.Context, w *domain.CycleWrite) (domain.CycleResult, error)
	// RecordFailedCycle stores the record of a cycle that WriteCycle did not commit.
	RecordFailedCycle(ctx context.Context, c *domain.Cycle) error
	// Checkpoint folds the database's write-ahead log back after a cycle where that is the store's job
	// (SQLite); false where the database does it on its own.
	Checkpoint(ctx context.Context) (bool, error)
	// AdoptSectorSets gives the rows stored before sectors had sets the set resolve names for their id.
	AdoptSectorSets(ctx context.Context, resolve func(id string) (set string, ok bool)) (domain.AdoptedSectors, error)
	// Ping tells a database that answers from one that does not.
	Ping(ctx context.Context) error
	// CommittedAfter returns up to limit committed cycles after the cycle with id after, in order, with their
	// events, the last with the flights online now: what a standby publishes of the writer's cycles.
	CommittedAfter(ctx context.Context, after int64, limit int) ([]domain.Committed, error)
}
