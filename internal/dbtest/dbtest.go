// Package dbtest gives each test its own migrated database: a fresh PostgreSQL database cloned from a migrated
// template (pgtestdb), or a fresh SQLite file. At the end of the test it checks the pool has no connection in
// use — a leak fails the test — and closes it.
package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"

	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// PostgresAddr is where tests expect PostgreSQL (trust auth, database "test"); PGTEST_ADDR overrides it.
func PostgresAddr() string {
	if a := os.Getenv("PGTEST_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:5432"
}

// Run runs fn as a subtest on a fresh store of each dialect.
func Run(t *testing.T, pool repository.Pool, fn func(t *testing.T, s *repository.Store)) {
	t.Helper()
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d, pool))
		})
	}
}

// Open returns a fresh, migrated store of the dialect. PostgreSQL tests skip with a clear message when no server
// is reachable, and fail instead when CI=true.
func Open(t testing.TB, d migrations.Dialect, pool repository.Pool) *repository.Store {
	t.Helper()
	cfg := repository.Config{Pool: pool, QueryTimeout: 30 * time.Second}
	if d == migrations.Postgres {
		cfg.DatabaseURL = postgresURL(t)
	} else {
		cfg.SQLitePath = filepath.Join(t.TempDir(), "vatsector.db")
	}
	ctx := context.Background()
	s, err := repository.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { closeChecked(t, s) })
	if d == migrations.SQLite { // PostgreSQL databases come migrated from the template
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return s
}

// URL returns the URL of a fresh migrated PostgreSQL database, for tests that open their own stores (restarts).
func URL(t testing.TB) string {
	t.Helper()
	return postgresURL(t)
}

// closeChecked fails the test if a connection is still in use: every query must have released its connection.
func closeChecked(t testing.TB, s *repository.Store) {
	if st := s.PoolStats(); st.InUse != 0 {
		t.Errorf("pool leak: %d connections still in use after the test (open %d)", st.InUse, st.OpenConnections)
	}
	if st := s.IngestPoolStats(); st.InUse != 0 {
		t.Errorf("ingest pool leak: %d connections still in use after the test (open %d)", st.InUse, st.OpenConnections)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

// RequirePostgres skips the test when no PostgreSQL answers at PostgresAddr, unless CI=true, where it fails:
// CI must run both dialects.
func RequirePostgres(t testing.TB) {
	t.Helper()
	addr := PostgresAddr()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI but not reachable at %s: %v", addr, err)
		}
		t.Skipf("PostgreSQL not reachable at %s (%v): skipping; start it or set PGTEST_ADDR", addr, err)
	}
	_ = conn.Close()
}

func postgresURL(t testing.TB) string {
	t.Helper()
	RequirePostgres(t)
	host, port, _ := net.SplitHostPort(PostgresAddr())
	conf := pgtestdb.Custom(t, pgtestdb.Config{
		DriverName: "pgx", Host: host, Port: port, User: "postgres", Database: "test", Options: "sslmode=disable",
	}, migrator{})
	return conf.URL()
}

// migrator migrates pgtestdb's template database with the service's own migrations.
type migrator struct{}

func (migrator) Hash() (string, error) {
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	s, err := repository.Open(ctx, repository.Config{DatabaseURL: conf.URL()})
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Migrate(ctx)
	return err
}
