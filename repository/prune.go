package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/migrations"
)

// pruneTimeout bounds a prune. A DETACH CONCURRENTLY waits for every transaction that may still read the
// partition (API reads, each bounded by the query timeout), and SQLite's batches may be many after a long
// stop; a run cut short loses nothing (the next one finishes the detach, or deletes the rest).
const pruneTimeout = 5 * time.Minute

// pruneBatch is the most rows one SQLite delete removes: each statement holds the database's write lock, which
// a cycle waits for (up to busy_timeout). 99,000 positions took 0.48 to 0.94 s to delete in batches of 10,000
// (three runs on this project's shared 2-core machine), so a batch holds the lock 50 to 100 ms; an hour of
// positions at 1,500 pilots (360,000) is 36 batches, each letting a cycle in between, where one statement
// would have held the lock for seconds.
const pruneBatch = 10_000

// pruneLockKey is the advisory lock one PostgreSQL prune holds, so two (two instances, or a run overlapping the
// next) do not detach the same partition: the second one skips its run and leaves the work to the first.
const pruneLockKey int64 = 0x7661747365630002

// Prune removes positions observed before positionsBefore and the events of cycles whose feed time is before
// eventsBefore (a zero time keeps everything of that kind). Visits, flights and cycle records are history and
// kept. It runs on its own connection of ingest's pool, outside any cycle; run it often (hourly).
//
// On SQLite it deletes rows, in batches of pruneBatch. On PostgreSQL it drops whole day partitions
// (partitions.go): positions go by UTC day, the days whose end is not after the cutoff (so up to a day more is
// kept than asked), and Pruned.Positions estimates the rows dropped; events are cut at once by the watermark
// (event_retention, below) and their partitions dropped once every event in them is cut.
//
// Events go by whole cycles, a prefix of the sequence: a disconnection's exit carries the earlier last-seen
// time, so cutting by occurred_at could leave a hole that a resuming stream would not notice. The last
// sequence pruned is recorded first, in event_retention.pruned_through, and every read ignores the events up to
// it, so readers see the prefix cut at once and whole, on both dialects, whatever is physically left of it
// (on PostgreSQL the part of a cycle just after midnight that is in the next day's partition, until that day
// goes too). Pruned.Events counts the events cut.
func (s *Store) Prune(ctx context.Context, positionsBefore, eventsBefore time.Time) (domain.Pruned, error) {
	ctx, cancel := context.WithTimeout(ctx, pruneTimeout)
	defer cancel()
	if s.dialect == migrations.Postgres {
		return s.prunePartitions(ctx, positionsBefore, eventsBefore)
	}
	return s.pruneRows(ctx, positionsBefore, eventsBefore)
}

// pruneRows is SQLite's prune: batched deletes, so no statement holds the write lock for long.
func (s *Store) pruneRows(ctx context.Context, positionsBefore, eventsBefore time.Time) (domain.Pruned, error) {
	var p domain.Pruned
	db := s.ingest.WithContext(ctx)
	if !positionsBefore.IsZero() {
		before, err := s.keepLatestPositions(db, positionsBefore.UTC())
		if err != nil {
			return p, fmt.Errorf("repository: prune positions: %w", err)
		}
		// By rowid through the observed_at index: each batch reads only the rows it deletes.
		n, err := deleteInBatches(db, "DELETE FROM positions WHERE rowid IN "+
			"(SELECT rowid FROM positions WHERE observed_at < ? LIMIT ?)", before)
		p.Positions = n
		if err != nil {
			return p, fmt.Errorf("repository: prune positions: %w", err)
		}
	}
	if !eventsBefore.IsZero() {
		through, err := s.cutEvents(db, eventsBefore)
		if err != nil {
			return p, fmt.Errorf("repository: prune events: %w", err)
		}
		// sequence is the rowid: the oldest first, so the rows left are always a suffix.
		n, err := deleteInBatches(db, "DELETE FROM sector_events WHERE sequence IN "+
			"(SELECT sequence FROM sector_events WHERE sequence <= ? ORDER BY sequence LIMIT ?)", through)
		p.Events = n
		if err != nil {
			return p, fmt.Errorf("repository: prune events: %w", err)
		}
	}
	return p, nil
}

// deleteInBatches runs a delete of at most pruneBatch rows (its last parameter) until one deletes fewer.
func deleteInBatches(db *gorm.DB, stmt string, arg any) (int64, error) {
	var total int64
	for {
		res := db.Exec(stmt, arg, pruneBatch)
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if res.RowsAffected < pruneBatch {
			return total, nil
		}
	}
}

// cutEvents advances the watermark to the last sequence of the cycles committed before eventsBefore and returns
// the watermark. The update commits before anything is deleted or dropped.
func (s *Store) cutEvents(db *gorm.DB, eventsBefore time.Time) (int64, error) {
	var last int64
	if err := db.Model(&Cycle{}).Select("COALESCE(MAX(last_sequence), 0)").
		Where("error IS NULL AND update_timestamp < ?", eventsBefore.UTC()).Scan(&last).Error; err != nil {
		return 0, fmt.Errorf("last sequence to prune: %w", err)
	}
	greatest := "GREATEST"
	if s.dialect == migrations.SQLite {
		greatest = "MAX" // SQLite's scalar max of its arguments
	}
	if err := db.Exec("UPDATE event_retention SET pruned_through = "+greatest+"(pruned_through, ?)", last).Error; err != nil {
		return 0, fmt.Errorf("advance the pruned sequence: %w", err)
	}
	through, err := prunedThrough(db)
	if err != nil {
		return 0, err
	}
	return through, nil
}

// prunedThrough is the watermark: every event with a sequence up to it is pruned, whether or not its row is
// still stored.
func prunedThrough(db *gorm.DB) (int64, error) {
	var through int64
	if err := db.Raw(prunedThroughSQL).Scan(&through).Error; err != nil {
		return 0, fmt.Errorf("pruned sequence: %w", err)
	}
	return through, nil
}

// prunedThroughSQL is the watermark as a subquery, for the reads of events.
const prunedThroughSQL = "SELECT COALESCE(MAX(pruned_through), 0) FROM event_retention"

// prunePartitions is PostgreSQL's prune, on one connection that holds pruneLockKey.
func (s *Store) prunePartitions(ctx context.Context, positionsBefore, eventsBefore time.Time) (domain.Pruned, error) {
	var p domain.Pruned
	err := s.ingest.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		db := conn.Session(&gorm.Session{})
		var locked bool
		if err := db.Raw("SELECT pg_try_advisory_lock(?)", pruneLockKey).Scan(&locked).Error; err != nil {
			return fmt.Errorf("prune lock: %w", err)
		}
		if !locked {
			s.log.Info("prune skipped: another prune of this database is running")
			return nil
		}
		defer s.unlockPrune(ctx, db)
		if !positionsBefore.IsZero() {
			cutoff, err := s.keepLatestPositions(db, positionsBefore.UTC())
			if err != nil {
				return fmt.Errorf("prune positions: %w", err)
			}
			n, err := s.dropPartitions(db, positionsTable(), func(part partition) (bool, error) {
				return part.Upper != nil && !part.Upper.After(cutoff), nil
			})
			p.Positions = n
			if err != nil {
				return fmt.Errorf("prune positions: %w", err)
			}
		}
		if !eventsBefore.IsZero() {
			before, err := prunedThrough(db)
			if err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
			through, err := s.cutEvents(db, eventsBefore)
			if err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
			// Counted by the key (sequence first): the cut of one run is an hour of events.
			if err := db.Raw("SELECT COUNT(*) FROM sector_events WHERE sequence > ? AND sequence <= ?", before, through).
				Scan(&p.Events).Error; err != nil {
				return fmt.Errorf("prune events: count: %w", err)
			}
			_, err = s.dropPartitions(db, eventsTable(), func(part partition) (bool, error) {
				var newest sql.NullInt64
				if err := db.Raw("SELECT MAX(sequence) FROM " + part.Name).Row().Scan(&newest); err != nil {
					return false, fmt.Errorf("newest event of %s: %w", part.Name, err)
				}
				if !newest.Valid { // no event occurred that day: it goes once the cutoff is past it
					return part.Upper != nil && !part.Upper.After(eventsBefore.UTC()), nil
				}
				return newest.Int64 <= through, nil
			})
			if err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("repository: %w", err)
	}
	return p, nil
}

// unlockPrune releases pruneLockKey, even when ctx is done. A connection that cannot say it released it
// would keep it for as long as it lives in the pool, so it is closed instead, which releases it.
func (s *Store) unlockPrune(ctx context.Context, db *gorm.DB) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var unlocked bool
	err := db.WithContext(ctx).Raw("SELECT pg_advisory_unlock(?)", pruneLockKey).Scan(&unlocked).Error
	if err == nil && unlocked {
		return
	}
	s.log.Warn("prune lock not released: closing its connection", "err", err)
	if conn, ok := db.Statement.ConnPool.(*sql.Conn); ok {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// dropPartitions drops the oldest partitions of the table while drop says so, and returns the rows dropped. A
// partition is detached first with DETACH … CONCURRENTLY, which takes only SHARE UPDATE EXCLUSIVE on the
// partitioned table (a cycle's inserts and every read go on) and waits for the transactions that may still
// read the partition; then the detached table is dropped, which locks nothing anyone else uses. A detach that
// was interrupted (the context ended while it waited) leaves its partition "detach pending", and one left
// detached but not dropped is an ordinary table named like a partition: both are finished first, whatever drop
// says, since their rows were already out of the table.
func (s *Store) dropPartitions(db *gorm.DB, t partitionedTable, drop func(partition) (bool, error)) (int64, error) {
	parts, err := listPartitions(db, t.name)
	if err != nil {
		return 0, err
	}
	var n int64
	var remaining []partition
	for _, part := range parts {
		if !part.Pending {
			remaining = append(remaining, part)
			continue
		}
		if err := db.Exec("ALTER TABLE " + t.name + " DETACH PARTITION " + part.Name + " FINALIZE").Error; err != nil {
			return n, fmt.Errorf("finish detaching %s: %w", part.Name, err)
		}
		s.parts.forget(t.name, part.Lower, part.Upper)
		k, err := dropDetached(db, part.Name)
		n += k
		if err != nil {
			return n, err
		}
	}
	var orphans []string
	if err := db.Raw(`SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition
			AND relnamespace = current_schema()::regnamespace AND (relname ~ ? OR relname = ?) ORDER BY relname`,
		"^"+t.name+"_p[0-9]{8}$", t.legacyName()).Scan(&orphans).Error; err != nil {
		return n, fmt.Errorf("detached partitions of %s: %w", t.name, err)
	}
	for _, name := range orphans {
		s.parts.forget(t.name, nil, nil) // its bounds went with the detach
		k, err := dropDetached(db, name)
		n += k
		if err != nil {
			return n, err
		}
	}
	for _, part := range remaining {
		ok, err := drop(part)
		if err != nil {
			return n, err
		}
		if !ok {
			break // a prefix of the days only: the newer ones are kept
		}
		if err := db.Exec("ALTER TABLE " + t.name + " DETACH PARTITION " + part.Name + " CONCURRENTLY").Error; err != nil {
			return n, fmt.Errorf("detach %s: %w", part.Name, err)
		}
		s.parts.forget(t.name, part.Lower, part.Upper)
		k, err := dropDetached(db, part.Name)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dropDetached drops a table detached from its partitioned table and returns its rows: pg_class.reltuples,
// the estimate of its last vacuum or analyze, which autovacuum runs as a day's rows come in (its analyze is
// exact for a table that fits its sample, 30,000 rows by default, and within its threshold, 10 % of the
// rows, of the truth for a bigger one). A whole day's count(*) would read the day once more only to be logged:
// about 0.4 s a day at 1,500 pilots (3 million positions counted in 120 ms here), 7 s at 30,000. A table never
// vacuumed nor analysed (-1, only a small one in practice) is counted.
func dropDetached(db *gorm.DB, name string) (int64, error) {
	var estimate float64
	if err := db.Raw("SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)", name).Scan(&estimate).Error; err != nil {
		return 0, fmt.Errorf("rows of %s: %w", name, err)
	}
	rows := int64(estimate)
	if estimate < 0 {
		if err := db.Raw("SELECT COUNT(*) FROM " + name).Scan(&rows).Error; err != nil {
			return 0, fmt.Errorf("count %s: %w", name, err)
		}
	}
	if err := db.Exec("DROP TABLE " + name).Error; err != nil {
		return 0, fmt.Errorf("drop %s: %w", name, err)
	}
	return rows, nil
}

// keepLatestPositions moves a positions cutoff back so that it keeps the newest position of every flight not
// disconnected, which holds the flight's latest state (latest.go). Ingest disconnects a flight missing longer
// than its grace period, so with a retention longer than that (the default: days against minutes) no such
// position is ever older than the cutoff; with a shorter one, the history waits for the flight to disconnect.
// A cycle committed meanwhile only adds newer positions, so the cutoff stays safe until the delete.
func (s *Store) keepLatestPositions(db *gorm.DB, before time.Time) (time.Time, error) {
	var oldest []time.Time
	// The column itself, not MIN(): SQLite returns a time only for a column declared as one.
	if err := s.flightsNow(db).Select("lp.observed_at").Where("flights.disconnected_at IS NULL AND lp.observed_at IS NOT NULL").
		Order("lp.observed_at").Limit(1).Scan(&oldest).Error; err != nil {
		return before, fmt.Errorf("newest positions of the flights online: %w", err)
	}
	if len(oldest) > 0 && oldest[0].Before(before) {
		return oldest[0].UTC(), nil
	}
	return before, nil
}
