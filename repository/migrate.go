package repository

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

	"github.com/vatsector/vatsector/migrations"
)

// migrateTimeout bounds a migration run, waiting for another instance's lock included: long enough for an index
// build on a big table, short enough that a wedged start fails instead of hanging.
const migrateTimeout = 10 * time.Minute

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// Migrate applies pending migrations under a lock, so instances starting together migrate once: a PostgreSQL
// advisory lock, or an exclusive lock on a file beside the SQLite database. It returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	p, unlock, err := s.migrationProvider()
	if err != nil {
		return nil, err
	}
	defer unlock()
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("repository: migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	// The migration created the day partitions up to PartitionsAhead days from its own start; a database
	// migrated long ago (a template, a restart days later) gets today's and the next ones here, before the
	// first cycle. The partitions remembered before a migration may have changed with it.
	s.parts.reset()
	if err := s.EnsurePartitions(ctx, time.Now()); err != nil {
		return applied, err
	}
	if s.replica != nil {
		// The standby answers queries once it has the schema: until it replayed the migrations, every query
		// would fail on a missing column, or be refused as of unknown lag.
		if err := s.CatchUpReplica(ctx); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// MigrationStatus lists every embedded migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	p, unlock, err := s.migrationProvider()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("repository: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{Version: m.Source.Version, Name: m.Source.Path, Applied: m.State == goose.StateApplied})
	}
	return out, nil
}

func (s *Store) migrationProvider() (*goose.Provider, func(), error) {
	fsys, err := migrations.FS(s.dialect)
	if err != nil {
		return nil, nil, err
	}
	opts := []goose.ProviderOption{goose.WithSlog(s.log)}
	gooseDialect := database.DialectSQLite3
	unlock := func() {}
	if s.dialect == migrations.Postgres {
		gooseDialect = database.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, nil, fmt.Errorf("repository: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	} else {
		if unlock, err = s.lockSQLiteFile(); err != nil {
			return nil, nil, err
		}
	}
	p, err := goose.NewProvider(gooseDialect, s.sqlDB, fsys, opts...)
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("repository: migrations: %w", err)
	}
	return p, unlock, nil
}

// lockSQLiteFile takes an exclusive flock on <database>.migrate.lock; the kernel releases it if the process dies.
func (s *Store) lockSQLiteFile() (func(), error) {
	var path string
	if err := s.sqlDB.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		return nil, fmt.Errorf("repository: locate SQLite file: %w", err)
	}
	if path == "" { // an in-memory database belongs to this process alone
		return func() {}, nil
	}
	f, err := os.OpenFile(path+".migrate.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("repository: migration lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("repository: migration lock %s: %w", f.Name(), err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
