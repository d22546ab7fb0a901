// Package repository stores what ingest computes — flights, positions, sector visits, controllers, events and
// cycle records — in PostgreSQL or an embedded SQLite file through GORM, and answers the queries the API serves.
package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/vatsector/vatsector/migrations"
)

// Config says which database to open and how to pool its connections.
type Config struct {
	// DatabaseURL is a PostgreSQL URL or key=value DSN. Empty selects the embedded SQLite file at SQLitePath.
	DatabaseURL string
	// ReadDatabaseURL, when set, is a PostgreSQL hot standby of DatabaseURL that serves the API's queries,
	// statistics and stream tails (replica.go); the cycles, the writer's lease and what must be fresh use
	// DatabaseURL.
	ReadDatabaseURL string
	// MaxReadLag is how far behind the primary the read standby may be before its queries are refused
	// (DefaultMaxReadLag when zero).
	MaxReadLag time.Duration
	// SQLitePath is the embedded database file, created when missing.
	SQLitePath string
	Pool       Pool
	// QueryTimeout bounds every query that is not given a shorter deadline by its caller.
	QueryTimeout time.Duration
	Logger       *slog.Logger
}

// Pool sizes the database/sql pool. Zero values take the defaults of DefaultPool for the dialect.
type Pool struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
}

// DefaultPool is deliberately small. Ingest holds exactly one connection per cycle and none in between; the
// rest serves API queries, which are short. More connections would only queue work inside PostgreSQL instead of
// in the pool, where it is visible (wait count) and bounded. Connections are recycled every 30 minutes so a
// failover or a pgbouncer restart is picked up, and idle ones are closed after 5 minutes.
func DefaultPool(d migrations.Dialect) Pool {
	if d == migrations.SQLite {
		// SQLite has one writer at a time; WAL lets readers proceed beside it. A file handle costs nothing to
		// keep, so connections live for the process.
		return Pool{MaxOpen: 4, MaxIdle: 4}
	}
	return Pool{MaxOpen: 8, MaxIdle: 4, MaxLifetime: 30 * time.Minute, MaxIdleTime: 5 * time.Minute}
}

// DefaultQueryTimeout bounds a query whose caller set no deadline.
const DefaultQueryTimeout = 10 * time.Second

// Store is the database. It is safe for concurrent use.
type Store struct {
	// db and sqlDB serve the API's reads; ingest and ingestSQL are ingest's own pool (IngestPool), so no read
	// load can make a cycle wait for a connection.
	db           *gorm.DB
	sqlDB        *sql.DB
	ingest       *gorm.DB
	ingestSQL    *sql.DB
	dialect      migrations.Dialect
	queryTimeout time.Duration
	// maxParams is the most bind parameters one statement may carry: PostgreSQL's wire protocol counts them in
	// 16 bits, SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766.
	maxParams int
	// tables says how each part of a cycle is written (prepareTableWrites).
	tables     []*tableWrite
	statements atomic.Int64
	// replica is the read standby, nil without one.
	replica *replica
	// listen is the connection that waits for committed cycles' notifications (WaitForCycle).
	listen *listener
	// parts remembers the day partitions known to exist (partitions.go).
	parts partitionCache
	log   *slog.Logger
}

// Open connects, checks the connection and sizes the pool. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{queryTimeout: cfg.QueryTimeout, log: log, listen: &listener{}}
	if s.queryTimeout <= 0 {
		s.queryTimeout = DefaultQueryTimeout
	}
	var dialector, replicaDialector func() gorm.Dialector
	if cfg.ReadDatabaseURL != "" && cfg.DatabaseURL == "" {
		return nil, errors.New("repository: a read database URL needs a PostgreSQL database URL: a read standby replicates a PostgreSQL primary")
	}
	if cfg.DatabaseURL != "" {
		s.dialect, s.maxParams = migrations.Postgres, 65535
		dsn, err := postgresDSN(cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		conn, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("repository: database URL: %w", redact(err, cfg.DatabaseURL))
		}
		s.listen.config = conn.Copy()
		dialector = func() gorm.Dialector {
			return postgres.New(postgres.Config{Conn: stdlib.OpenDB(*conn, stdlib.OptionAfterConnect(sessionSettings))})
		}
		if cfg.ReadDatabaseURL != "" {
			dsn, err := postgresDSN(cfg.ReadDatabaseURL)
			if err != nil {
				return nil, fmt.Errorf("repository: read database URL: %w", err)
			}
			conn, err := pgx.ParseConfig(dsn)
			if err != nil {
				return nil, fmt.Errorf("repository: read database URL: %w", redact(err, cfg.ReadDatabaseURL))
			}
			replicaDialector = func() gorm.Dialector {
				return postgres.New(postgres.Config{Conn: stdlib.OpenDB(*conn, stdlib.OptionAfterConnect(sessionSettings))})
			}
		}
	} else {
		s.dialect, s.maxParams = migrations.SQLite, 32766
		if cfg.SQLitePath == "" {
			return nil, errors.New("repository: no database: set a PostgreSQL URL or an SQLite file path")
		}
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o755); err != nil {
			return nil, fmt.Errorf("repository: create folder for %s: %w", cfg.SQLitePath, err)
		}
		dsn := sqliteDSN(cfg.SQLitePath)
		dialector = func() gorm.Dialector { return sqlite.Open(dsn) }
	}
	var err error
	if s.db, s.sqlDB, err = s.openPool(dialector(), cfg); err != nil {
		return nil, err
	}
	if s.ingest, s.ingestSQL, err = s.openPool(dialector(), cfg); err != nil {
		_ = s.sqlDB.Close()
		return nil, err
	}
	pool := cfg.Pool
	def := DefaultPool(s.dialect)
	if pool.MaxOpen <= 0 {
		pool.MaxOpen = def.MaxOpen
	}
	if pool.MaxIdle <= 0 {
		pool.MaxIdle = min(def.MaxIdle, pool.MaxOpen)
	}
	if pool.MaxLifetime <= 0 {
		pool.MaxLifetime = def.MaxLifetime
	}
	if pool.MaxIdleTime <= 0 {
		pool.MaxIdleTime = def.MaxIdleTime
	}
	s.sqlDB.SetMaxOpenConns(pool.MaxOpen)
	s.sqlDB.SetMaxIdleConns(pool.MaxIdle)
	s.sqlDB.SetConnMaxLifetime(pool.MaxLifetime)
	s.sqlDB.SetConnMaxIdleTime(pool.MaxIdleTime)
	// Ingest runs one cycle at a time and the hourly prune beside it: two connections, both kept open, so a
	// cycle never waits for a connection nor pays for a new one. Recycled like the read pool, for failovers.
	s.ingestSQL.SetMaxOpenConns(IngestPoolSize)
	s.ingestSQL.SetMaxIdleConns(IngestPoolSize)
	s.ingestSQL.SetConnMaxLifetime(pool.MaxLifetime)
	if replicaDialector != nil {
		db, sqlDB, err := s.openPool(replicaDialector(), Config{DatabaseURL: cfg.ReadDatabaseURL})
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		// The standby takes the read load the primary's read pool would have: the same size. The primary's
		// pool keeps its size too; it serves only what must be fresh.
		sqlDB.SetMaxOpenConns(pool.MaxOpen)
		sqlDB.SetMaxIdleConns(pool.MaxIdle)
		sqlDB.SetConnMaxLifetime(pool.MaxLifetime)
		sqlDB.SetConnMaxIdleTime(pool.MaxIdleTime)
		maxLag := cfg.MaxReadLag
		if maxLag <= 0 {
			maxLag = DefaultMaxReadLag
		}
		s.replica = &replica{db: db, sqlDB: sqlDB, maxLag: maxLag, now: func() time.Time { return time.Now().UTC() }}
		s.replica.status.MaxLag = maxLag
	}
	if err := s.prepareTableWrites(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if s.replica != nil {
		// Measured once before the first query, which would otherwise be refused as of unknown lag; a standby
		// that cannot be read fails Open as the primary does. Not yet migrated, the primary has no cycles table:
		// Migrate measures again.
		ctx, cancel := s.deadline(ctx)
		defer cancel()
		if err := s.replica.sqlDB.PingContext(ctx); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("repository: ping the read standby: %w", redact(err, cfg.ReadDatabaseURL))
		}
		var recovery bool
		if err := s.replica.db.WithContext(ctx).Raw("SELECT pg_is_in_recovery()").Scan(&recovery).Error; err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("repository: the read standby: %w", Classify(err))
		}
		if !recovery {
			// Most likely the primary's own URL: its queries would be refused forever as of unknown lag.
			_ = s.Close()
			return nil, errors.New("repository: the read database URL names a server that is not a hot standby (pg_is_in_recovery() is false)")
		}
		s.replica.measure(ctx, s.db)
	}
	return s, nil
}

// IngestPoolSize is the size of ingest's own pool: the cycle's connection and one for pruning beside it.
const IngestPoolSize = 2

// openPool opens one GORM handle with its own database/sql pool.
func (s *Store) openPool(dialector gorm.Dialector, cfg Config) (*gorm.DB, *sql.DB, error) {
	db, err := gorm.Open(dialector, &gorm.Config{
		// Every write already runs in the transaction the cycle opens; GORM's own per-statement transaction
		// would add two round trips to each.
		SkipDefaultTransaction: true,
		Logger: logger.NewSlogLogger(s.log, logger.Config{
			SlowThreshold:             time.Second,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
			// Statement errors are returned to and logged by the caller with context; GORM would log the whole
			// batched SQL text, tens of kilobytes per line.
			LogLevel: logger.Silent,
		}),
		NowFunc: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("repository: open %s: %w", s.dialect, redact(err, cfg.DatabaseURL))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("repository: %w", err)
	}
	if err := registerStatementCounter(db, &s.statements); err != nil {
		_ = sqlDB.Close()
		return nil, nil, err
	}
	return db, sqlDB, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("repository: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	err := errors.Join(s.listen.close(), s.sqlDB.Close(), s.ingestSQL.Close())
	if s.replica != nil {
		err = errors.Join(err, s.replica.sqlDB.Close())
	}
	return err
}

// Checkpoint copies SQLite's write-ahead log into the database file, as far as readers allow (PASSIVE: it waits
// for no one), so the log is reused instead of growing. It reports whether it ran: PostgreSQL checkpoints on its
// own.
func (s *Store) Checkpoint(ctx context.Context) (bool, error) {
	if s.dialect != migrations.SQLite {
		return false, nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if _, err := s.ingestSQL.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return true, fmt.Errorf("repository: checkpoint: %w", err)
	}
	return true, nil
}

// Dialect says which database this is.
func (s *Store) Dialect() migrations.Dialect { return s.dialect }

// PoolStats returns the live figures of the pool the API's queries read: the read standby's when there is one.
func (s *Store) PoolStats() sql.DBStats {
	if s.replica != nil {
		return s.replica.sqlDB.Stats()
	}
	return s.sqlDB.Stats()
}

// IngestPoolStats returns the figures of ingest's own pool.
func (s *Store) IngestPoolStats() sql.DBStats { return s.ingestSQL.Stats() }

// SQL exposes the read pool for metrics collectors and tests.
func (s *Store) SQL() *sql.DB { return s.sqlDB }

// ReplicaSQL exposes the read standby's pool for metrics collectors; nil without a read standby.
func (s *Store) ReplicaSQL() *sql.DB {
	if s.replica == nil {
		return nil
	}
	return s.replica.sqlDB
}

// IngestSQL exposes ingest's pool for metrics collectors and tests.
func (s *Store) IngestSQL() *sql.DB { return s.ingestSQL }

// Statements is the number of statements executed since Open.
func (s *Store) Statements() int64 { return s.statements.Load() }

// deadline applies the default query timeout unless the caller's deadline is already sooner.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.queryTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.queryTimeout)
}

// batchSize is the number of rows per INSERT so that rows × columns stays within the dialect's parameter limit.
func (s *Store) batchSize(columns int) int {
	return max(1, s.maxParams/max(1, columns))
}

func sqliteDSN(path string) string {
	q := url.Values{}
	// WAL lets API reads run beside the ingest writer; busy_timeout makes a reader wait for a checkpoint instead
	// of failing; synchronous=NORMAL is durable across process crashes in WAL mode.
	// wal_autocheckpoint(0): SQLite would otherwise checkpoint inside the COMMIT that crosses 1,000 pages of
	// log, which at 3,000 pilots is every cycle's; the ingest loop calls Checkpoint after it publishes instead.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The path is part of a URI: a '?' or '#' in a folder name would otherwise end it, and the database would
	// silently be opened somewhere else.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// sessionSettings sets, on each new PostgreSQL session, what the service relies on whatever the database or role
// defaults say (ALTER DATABASE … SET): statements are bounded by the caller's context, not by a server-side
// timeout the service does not know about, and a transaction is not cut while its next statement is on the
// way. Set per session, a default changed and reset while the service runs lasts no longer than the change
// itself (sessions opened meanwhile lived on in the pool for up to 30 minutes: cycles failed for 90 s after
// the reset). Ingest's transactions set their own statement timeout on top (relyOn).
func sessionSettings(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false),
		set_config('idle_in_transaction_session_timeout', '0', false)`)
	if err != nil {
		return fmt.Errorf("repository: session settings: %w", err)
	}
	return nil
}

// postgresDSN makes pgx describe each distinct SQL text once per connection and keep the description
// (cache_describe), so that it sends parameters in binary and each statement in one round trip, on the unnamed
// statement (no server-side prepared statements: it works behind PgBouncer in transaction mode). A cycle's
// statements have one text per table (arrays.go), so after a connection's first cycle every one is a hit.
// Binary arrays instead of text ones took the 30,000-pilot cycle's write from 700 to 480 ms (bench, p50 of 8).
// A URL that sets default_query_exec_mode keeps its own.
func postgresDSN(raw string) (string, error) {
	if strings.Contains(raw, "default_query_exec_mode") {
		return raw, nil
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("repository: database URL: %w", redact(err, raw))
		}
		q := u.Query()
		q.Set("default_query_exec_mode", "cache_describe")
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return raw + " default_query_exec_mode=cache_describe", nil
}

// redact keeps a password in the URL out of error messages.
func redact(err error, raw string) error {
	u, perr := url.Parse(raw)
	if perr != nil || u.User == nil {
		return err
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// Columns lists each table's columns, sorted, as the database reports them (the goose version table excluded).
func (s *Store) Columns(ctx context.Context) (map[string][]string, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db := s.db.WithContext(ctx)
	tables, err := db.Migrator().GetTables()
	if err != nil {
		return nil, fmt.Errorf("repository: list tables: %w", err)
	}
	// A day partition (PostgreSQL, partitions.go) is part of its partitioned table, which is listed.
	partitions := map[string]bool{}
	if s.dialect == migrations.Postgres {
		var names []string
		if err := db.Raw("SELECT relname FROM pg_class WHERE relispartition").Scan(&names).Error; err != nil {
			return nil, fmt.Errorf("repository: list partitions: %w", err)
		}
		for _, n := range names {
			partitions[n] = true
		}
	}
	out := map[string][]string{}
	for _, table := range tables {
		if table == "goose_db_version" || strings.HasPrefix(table, "sqlite_") || partitions[table] {
			continue
		}
		cols, err := db.Migrator().ColumnTypes(table)
		if err != nil {
			return nil, fmt.Errorf("repository: columns of %s: %w", table, err)
		}
		for _, c := range cols {
			out[table] = append(out[table], c.Name())
		}
		slices.Sort(out[table])
	}
	return out, nil
}
