package dbtest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/peterldowns/pgtestdb"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// OpenAt creates a fresh database of dialect d migrated only up to version, as an earlier release left it, and
// returns a store on it (closed at the end of the test), the configuration to open it again with, as the
// upgraded instance does, and the migrations' provider on it.
func OpenAt(t testing.TB, d migrations.Dialect, version int64) (*repository.Store, repository.Config, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	cfg := repository.Config{QueryTimeout: 30 * time.Second}
	gooseDialect := database.DialectSQLite3
	if d == migrations.Postgres {
		RequirePostgres(t)
		host, port, _ := net.SplitHostPort(PostgresAddr())
		// An empty database (the no-op template): Open's come migrated to the latest version.
		cfg.DatabaseURL = pgtestdb.Custom(t, pgtestdb.Config{
			DriverName: "pgx", Host: host, Port: port, User: "postgres", Database: "test", Options: "sslmode=disable",
		}, pgtestdb.NoopMigrator{}).URL()
		gooseDialect = database.DialectPostgres
	} else {
		cfg.SQLitePath = filepath.Join(t.TempDir(), "legacy.db")
	}
	s, err := repository.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	fsys, err := migrations.FS(d)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gooseDialect, s.SQL(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatalf("migrate up to %d: %v", version, err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != version {
		t.Fatalf("database version %d (%v), want %d", v, err, version)
	}
	return s, cfg, p
}
