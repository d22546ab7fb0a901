package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// database is a fresh, migrated database for one scenario: a PostgreSQL database created through the admin
// connection, or an SQLite file in a temporary folder. drop removes it.
type database struct {
	dialect migrations.Dialect
	// url is the PostgreSQL URL of the database, direct (not through the wire counter).
	url string
	// sqlitePath is the SQLite file.
	sqlitePath string
	drop       func(context.Context) error
}

// createDatabase makes a fresh database named name (PostgreSQL) or a fresh SQLite file. It does not migrate:
// the store that opens it does.
func createDatabase(ctx context.Context, d migrations.Dialect, adminURL, name string) (*database, error) {
	if d == migrations.SQLite {
		dir, err := os.MkdirTemp("", "vatsector-bench-*")
		if err != nil {
			return nil, err
		}
		return &database{
			dialect: d, sqlitePath: filepath.Join(dir, name+".db"),
			drop: func(context.Context) error { return os.RemoveAll(dir) },
		}, nil
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("admin connection: %w", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	// A database left by an interrupted run of the same id would make CREATE fail; it is ours to replace.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return nil, fmt.Errorf("drop stale %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	u, err := urlWithDatabase(adminURL, name)
	if err != nil {
		return nil, err
	}
	return &database{
		dialect: d, url: u,
		drop: func(ctx context.Context) error {
			admin, err := pgx.Connect(ctx, adminURL)
			if err != nil {
				return err
			}
			defer admin.Close(ctx)
			_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
			return err
		},
	}, nil
}

// urlWithDatabase returns the admin URL pointing at another database.
func urlWithDatabase(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("--pg must be a postgres:// URL, got %q", adminURL)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// withQuery returns the URL with a query parameter set.
func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// withHost returns the URL connecting to addr (host:port) instead.
func withHost(raw, addr string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Host = addr
	return u.String(), nil
}

// hostOf is the host:port a PostgreSQL URL connects to, the default port filled in.
func hostOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432"), nil
	}
	return u.Host, nil
}

// postgresReachable says whether something answers TCP at the admin URL's address.
func postgresReachable(adminURL string) error {
	addr, err := hostOf(adminURL)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// openStore opens and migrates the store of db with the service's default pool; connectURL replaces the
// database URL (to go through the wire counter) when not empty. pgSchemaSQL, when set, is executed on a
// PostgreSQL database after the migrations: a way to measure a schema change before writing its migration.
func openStore(ctx context.Context, db *database, connectURL, pgSchemaSQL string) (*repository.Store, error) {
	cfg := repository.Config{SQLitePath: db.sqlitePath, QueryTimeout: time.Minute}
	if db.dialect == migrations.Postgres {
		cfg.DatabaseURL = db.url
		if connectURL != "" {
			cfg.DatabaseURL = connectURL
		}
	}
	s, err := repository.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if pgSchemaSQL != "" && db.dialect == migrations.Postgres {
		if _, err := s.SQL().ExecContext(ctx, pgSchemaSQL); err != nil {
			return nil, errors.Join(fmt.Errorf("--pg-schema-sql: %w", err), s.Close())
		}
	}
	return s, nil
}
