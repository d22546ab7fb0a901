package repository

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/migrations"
)

// On PostgreSQL, positions and sector events are partitioned by UTC day (migration 00015): retention drops whole
// days instead of deleting rows (prune.go). A row whose day has no partition cannot be inserted, so the store
// creates each day's partition ahead of time, and a cycle never waits for it: EnsurePartitions runs after
// Migrate and then hourly with retention, creating the partitions of today and the next PartitionsAhead days,
// and WriteCycle creates, before its transaction, any it still lacks (a replay of old snapshots, a clock that
// jumped). The days known to exist are remembered, so that once a day's partition is there a cycle spends
// nothing on it.
//
// A partition is created as a plain table (LIKE the partitioned one) and then attached, in one transaction that
// first takes the partitioned table's SHARE UPDATE EXCLUSIVE lock. That lock is what ATTACH needs anyway (CREATE
// TABLE … PARTITION OF takes ACCESS EXCLUSIVE, as pg_locks shows on PostgreSQL 15, which waits for every read in
// flight and stops inserts and reads behind it); it conflicts with no insert and no read, so a cycle runs on beside it; and it conflicts with
// itself and with a DETACH CONCURRENTLY in progress, so two instances creating the same day, or one creating
// while another prunes, take turns, and the second finds the partition there. Taken before anything else,
// before LIKE's lighter lock on the same table, it cannot deadlock with a detach waiting for that table's
// lockers. No advisory lock or session state is needed, so it works behind PgBouncer in transaction mode too.

// PartitionsAhead is how many days past the current one EnsurePartitions creates partitions for.
const PartitionsAhead = 3

// partitionedTable is a table partitioned by UTC day: positions by observed_at, sector events by occurred_at.
type partitionedTable struct{ name string }

func (t partitionedTable) partitionName(day time.Time) string {
	return t.name + "_p" + day.Format("20060102")
}

// legacyName is the table the migration attached whole, as the partition before the first day's.
func (t partitionedTable) legacyName() string { return t.name + "_before" }

func positionsTable() partitionedTable { return partitionedTable{name: "positions"} }
func eventsTable() partitionedTable    { return partitionedTable{name: "sector_events"} }

// dayOf is the start of t's UTC day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// boundLiteral is the SQL literal of a partition bound at the start of a UTC day.
func boundLiteral(day time.Time) string { return "'" + day.Format("2006-01-02") + " 00:00:00+00'" }

// partition is one partition of a partitioned table and its range [Lower, Upper); nil bounds are MINVALUE
// and MAXVALUE. Pending is a DETACH CONCURRENTLY that was interrupted and must be finished (FINALIZE).
type partition struct {
	Name    string
	Lower   *time.Time
	Upper   *time.Time
	Pending bool
}

// covers says whether the partition takes the rows of the whole UTC day.
func (p partition) covers(day time.Time) bool {
	return !p.Pending && (p.Lower == nil || !p.Lower.After(day)) && (p.Upper == nil || !p.Upper.Before(day.AddDate(0, 0, 1)))
}

// partitionCache remembers, per table, the UTC days whose partition is known to exist (the days of a legacy
// partition included), so that a cycle on such a day asks the database nothing.
type partitionCache struct {
	mu   sync.Mutex
	days map[string]map[time.Time]bool
}

// missing returns the days of the table not known to exist, each once, in the order given.
func (c *partitionCache) missing(table string, days []time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, d := range days {
		if !c.days[table][d] && !slices.ContainsFunc(out, d.Equal) {
			out = append(out, d)
		}
	}
	return out
}

func (c *partitionCache) add(table string, days []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil {
		c.days = map[string]map[time.Time]bool{}
	}
	if c.days[table] == nil {
		c.days[table] = map[time.Time]bool{}
	}
	for _, d := range days {
		c.days[table][d] = true
	}
}

// forget drops the days of the table in [lower, upper) (nil: unbounded): their partition was dropped.
func (c *partitionCache) forget(table string, lower, upper *time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d := range c.days[table] {
		if (lower == nil || !d.Before(*lower)) && (upper == nil || d.Before(*upper)) {
			delete(c.days[table], d)
		}
	}
}

// forgetDays drops the given days of the table: a cycle on them failed, perhaps for lack of a partition that
// another instance dropped, so the next attempt checks again.
func (c *partitionCache) forgetDays(table string, days []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range days {
		delete(c.days[table], d)
	}
}

func (c *partitionCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.days = nil
}

// EnsurePartitions creates the missing day partitions of positions and sector events from now's UTC day to
// PartitionsAhead days after it, on PostgreSQL; SQLite has no partitions and it does nothing. Days already known
// to exist cost nothing; run it at start and hourly (ingest's Retention does).
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	days := make([]time.Time, 0, PartitionsAhead+1)
	for i := range PartitionsAhead + 1 {
		days = append(days, dayOf(now).AddDate(0, 0, i))
	}
	for _, t := range []partitionedTable{positionsTable(), eventsTable()} {
		if err := s.ensureDays(ctx, t, days); err != nil {
			return err
		}
	}
	return nil
}

// ensureDays creates the partitions of the days that no partition covers yet. A table that is not partitioned
// (a database not migrated to 00015) has nothing to create, and nothing is remembered for it.
func (s *Store) ensureDays(ctx context.Context, t partitionedTable, days []time.Time) error {
	missing := s.parts.missing(t.name, days)
	if len(missing) == 0 {
		return nil
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	// First a look outside any transaction: what a look locks (newer PostgreSQL's pg_get_expr takes the
	// partitions' ACCESS SHARE) ends with its statement, and is not held while the lock below is waited for.
	db := s.ingest.WithContext(ctx)
	partitioned, err := isPartitioned(db, t.name)
	if err != nil || !partitioned {
		return err
	}
	parts, err := listPartitions(db, t.name)
	if err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	if slices.ContainsFunc(missing, func(d time.Time) bool { return !coveredBy(parts, d) }) {
		if err := s.createPartitions(ctx, t, missing); err != nil {
			return fmt.Errorf("repository: partitions of %s: %w", t.name, err)
		}
	}
	s.parts.add(t.name, missing)
	return nil
}

// createPartitions creates the partitions of the days no partition covers, under the partitioned table's SHARE
// UPDATE EXCLUSIVE lock, taken first.
func (s *Store) createPartitions(ctx context.Context, t partitionedTable, days []time.Time) error {
	return s.ingest.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.relyOn(ctx, tx); err != nil {
			return err
		}
		if err := tx.Exec("LOCK TABLE " + t.name + " IN SHARE UPDATE EXCLUSIVE MODE").Error; err != nil {
			return fmt.Errorf("lock %s: %w", t.name, err)
		}
		// Again under the lock: another instance may have created them meanwhile.
		parts, err := listPartitions(tx, t.name)
		if err != nil {
			return err
		}
		for _, d := range days {
			if coveredBy(parts, d) {
				continue
			}
			name := t.partitionName(d)
			if err := tx.Exec("CREATE TABLE " + name + " (LIKE " + t.name + " INCLUDING DEFAULTS)").Error; err != nil {
				return fmt.Errorf("create %s: %w", name, err)
			}
			// The new table is empty: the attach's check of its rows against the bound reads nothing, and the
			// partitioned table's indexes are created on it.
			if err := tx.Exec("ALTER TABLE " + t.name + " ATTACH PARTITION " + name + " FOR VALUES FROM (" +
				boundLiteral(d) + ") TO (" + boundLiteral(d.AddDate(0, 0, 1)) + ")").Error; err != nil {
				return fmt.Errorf("attach %s: %w", name, err)
			}
		}
		return nil
	})
}

func coveredBy(parts []partition, day time.Time) bool {
	for _, p := range parts {
		if p.covers(day) {
			return true
		}
	}
	return false
}

// isPartitioned says whether the table is a partitioned one.
func isPartitioned(db *gorm.DB, table string) (bool, error) {
	var kinds []string
	if err := db.Raw("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(?)", table).Scan(&kinds).Error; err != nil {
		return false, fmt.Errorf("repository: kind of %s: %w", table, err)
	}
	return len(kinds) == 1 && kinds[0] == "p", nil
}

// listPartitions returns the table's partitions in the order of their ranges. The bounds are read from
// pg_get_expr's text, which writes them in the session's TimeZone and DateStyle, and cast back to timestamptz in
// the same session; MINVALUE and MAXVALUE, not quoted, are NULL.
func listPartitions(db *gorm.DB, table string) ([]partition, error) {
	var parts []partition
	err := db.Raw(`SELECT c.relname AS name,
			(regexp_match(b.expr, 'FROM \(''([^'']*)''\)'))[1]::timestamptz AS lower,
			(regexp_match(b.expr, 'TO \(''([^'']*)''\)'))[1]::timestamptz AS upper,
			i.inhdetachpending AS pending
		FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
		CROSS JOIN LATERAL pg_get_expr(c.relpartbound, c.oid) AS b (expr)
		WHERE i.inhparent = to_regclass(?)
		ORDER BY lower NULLS FIRST, c.relname`, table).Scan(&parts).Error
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", table, err)
	}
	for i := range parts {
		parts[i].Lower, parts[i].Upper = utcPtr(parts[i].Lower), utcPtr(parts[i].Upper)
	}
	return parts, nil
}

// cycleDays are the UTC days a cycle's positions and events fall on, each once. A cycle's positions share its
// feed time, so this costs one comparison per row.
func cycleDays(w *CycleWrite) (positions, events []time.Time) {
	var last time.Time
	for i := range w.Positions {
		if at := w.Positions[i].ObservedAt; i == 0 || !at.Equal(last) {
			last = at
			if d := dayOf(at); !slices.ContainsFunc(positions, d.Equal) {
				positions = append(positions, d)
			}
		}
	}
	for i := range w.Events {
		if at := w.Events[i].OccurredAt; i == 0 || !at.Equal(last) {
			last = at
			if d := dayOf(at); !slices.ContainsFunc(events, d.Equal) {
				events = append(events, d)
			}
		}
	}
	return positions, events
}
