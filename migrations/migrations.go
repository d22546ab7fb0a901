// Package migrations embeds the schema, one goose folder per SQL dialect. Both folders describe the same tables
// and columns (a test in repository checks it); only types and dialect syntax differ.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names a folder of migrations.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// FS returns the migrations of one dialect, rooted at its folder as goose expects.
func FS(d Dialect) (fs.FS, error) {
	return fs.Sub(files, string(d))
}
