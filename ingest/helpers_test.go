package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/repository"
)

// The repository is the store ingest runs on; it must not import ingest to say so.
var _ ingest.Store = (*repository.Store)(nil)

func loadVATSpy(t testing.TB) *ingest.AirspaceSectors {
	t.Helper()
	dir := shareddata.VATSpyDir(t)
	a, err := vatspyCache.get(dir)
	if err != nil {
		t.Fatalf("load VATSpy: %v", err)
	}
	return ingest.NewAirspaceSectors(a)
}

type airspaceCache struct {
	once sync.Once
	a    *airspace.Airspace
	err  error
}

func (c *airspaceCache) get(dir string) (*airspace.Airspace, error) {
	c.once.Do(func() {
		set, err := airspace.LoadVATSpy(dir)
		if err != nil {
			c.err = err
			return
		}
		c.a, c.err = airspace.New(set)
	})
	return c.a, c.err
}

// vatspyCache loads the shared VATSpy boundaries once per test binary (about a second): every test classifies
// against the same immutable airspace.
var vatspyCache airspaceCache

// replayDir makes a folder of symlinks to the given snapshot files, for a replay source over a subset of them
// (the shared files are never copied).
func replayDir(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.Symlink(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// replay ingests every snapshot of dir, as fast as possible, and returns the runner.
func replay(t testing.TB, store *repository.Store, sectors *ingest.AirspaceSectors, dir string, pub ingest.Publisher) *ingest.Runner {
	t.Helper()
	src, err := feed.ReplaySource(dir, feed.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return run(t, store, sectors, src, pub)
}

func run(t testing.TB, store *repository.Store, sectors *ingest.AirspaceSectors, src feed.Source, pub ingest.Publisher) *ingest.Runner {
	t.Helper()
	r, err := ingest.NewRunner(ingest.Config{Source: src, Store: store, Sectors: sectors.Current, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

// recorder is a Publisher keeping every committed cycle.
type recorder struct {
	mu     sync.Mutex
	cycles []*domain.Committed
	// onPublish, when set, is called after each cycle is kept.
	onPublish func()
}

func (r *recorder) Publish(c *domain.Committed) {
	r.mu.Lock()
	r.cycles = append(r.cycles, c)
	r.mu.Unlock()
	if r.onPublish != nil {
		r.onPublish()
	}
}

// dump renders a table's rows, ordered, as text that compares equal across dialects: times in UTC RFC 3339,
// numbers as Go prints them.
func dump(t testing.TB, store *repository.Store, query string) []string {
	t.Helper()
	rows, err := store.SQL().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(normalize(v))
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func normalize(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case int32:
		return fmt.Sprint(int64(x))
	case int16:
		return fmt.Sprint(int64(x))
	case sql.RawBytes:
		return string(x)
	case bool: // SQLite stores a boolean as an integer
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// stored is what a replay leaves in the database, cycle records excepted (they carry wall-clock times).
func stored(t testing.TB, store *repository.Store) map[string][]string {
	t.Helper()
	return map[string][]string{
		"flights":        dump(t, store, "SELECT * FROM flights ORDER BY id"),
		"flight_plans":   dump(t, store, "SELECT * FROM flight_plans ORDER BY flight_id"),
		"positions":      dump(t, store, "SELECT * FROM positions ORDER BY flight_id, observed_at"),
		"sector_visits":  dump(t, store, "SELECT * FROM sector_visits ORDER BY id"),
		"sector_events":  dump(t, store, "SELECT * FROM sector_events ORDER BY sequence"),
		"controllers":    dump(t, store, "SELECT * FROM controllers ORDER BY id"),
		"sector_hours":   dump(t, store, "SELECT * FROM sector_hours ORDER BY sector_set, sector_id, hour"),
		"observed_hours": dump(t, store, "SELECT * FROM observed_hours ORDER BY hour"),
		"sector_days":    dump(t, store, "SELECT * FROM sector_days ORDER BY sector_set, sector_id, day"),
	}
}

func count(t testing.TB, store *repository.Store, query string) int64 {
	t.Helper()
	var n int64
	if err := store.SQL().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
