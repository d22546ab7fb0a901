package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/vatsector/vatsector/domain"
)

// One instance ingests into a database at a time: two would allocate the same identifiers from the same state.
// The ingest_writer row says which. An instance claims it before ingesting, and each of its cycles renews the
// claim inside the cycle's own transaction, conditionally on its epoch: if another instance has claimed since,
// the cycle fails with domain.ErrSuperseded and rolls back. So the claim needs no connection held open and no clock
// agreement to be safe; the lease only decides when an instance that stopped renewing may be replaced.

type writerRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement:false"`
	Epoch     int64
	Holder    string
	ClaimedMS int64 `gorm:"column:claimed_ms"`
	RenewedMS int64 `gorm:"column:renewed_ms"`
}

func (writerRow) TableName() string { return "ingest_writer" }

func (r writerRow) writer() domain.WriterClaim {
	return domain.WriterClaim{Epoch: r.Epoch, Holder: r.Holder, ClaimedAt: time.UnixMilli(r.ClaimedMS).UTC(), RenewedAt: time.UnixMilli(r.RenewedMS).UTC()}
}

// ClaimWriter makes holder the writer, with a new epoch, unless another holder renewed its claim less than
// lease before now: then it returns domain.ErrWriterBusy and that holder's claim. The same holder (a restarted
// instance with the same identity) claims at once.
func (s *Store) ClaimWriter(ctx context.Context, holder string, lease time.Duration, now time.Time) (domain.WriterClaim, error) {
	if holder == "" {
		return domain.WriterClaim{}, errors.New("repository: a writer needs an identity")
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var claimed []writerRow
	nowMS := now.UnixMilli()
	err := s.ingest.WithContext(ctx).Raw(`
		INSERT INTO ingest_writer (id, epoch, holder, claimed_ms, renewed_ms) VALUES (1, 1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET epoch = ingest_writer.epoch + 1, holder = excluded.holder,
			claimed_ms = excluded.claimed_ms, renewed_ms = excluded.renewed_ms
		WHERE ingest_writer.holder = excluded.holder OR ingest_writer.renewed_ms <= ?
		RETURNING id, epoch, holder, claimed_ms, renewed_ms`,
		holder, nowMS, nowMS, nowMS-lease.Milliseconds()).Scan(&claimed).Error
	if err != nil {
		return domain.WriterClaim{}, fmt.Errorf("repository: claim writer: %w", err)
	}
	if len(claimed) == 1 {
		return claimed[0].writer(), nil
	}
	var current writerRow
	if err := s.ingest.WithContext(ctx).Take(&current, 1).Error; err != nil {
		return domain.WriterClaim{}, fmt.Errorf("repository: read writer: %w", err)
	}
	return current.writer(), domain.ErrWriterBusy
}

// ReleaseWriter gives up the claim of epoch, so that another instance may claim at once instead of waiting for
// the lease to run out. It does nothing if the claim was already superseded.
func (s *Store) ReleaseWriter(ctx context.Context, epoch int64) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.ingest.WithContext(ctx).Model(&writerRow{}).Where("id = 1 AND epoch = ?", epoch).
		Update("renewed_ms", 0).Error
	if err != nil {
		return fmt.Errorf("repository: release writer: %w", err)
	}
	return nil
}

// renewWriter is a cycle's first statement: it renews the claim of epoch, and fails the cycle if the claim was
// superseded. On PostgreSQL it also locks the row until the cycle commits, so a claim made meanwhile waits for
// the commit and the next cycle sees it.
func renewWriter(tx *gorm.DB, epoch int64, now time.Time) error {
	res := tx.Model(&writerRow{}).Where("id = 1 AND epoch = ?", epoch).Update("renewed_ms", now.UnixMilli())
	if res.Error != nil {
		return fmt.Errorf("repository: renew writer: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("repository: epoch %d: %w", epoch, domain.ErrSuperseded)
	}
	return nil
}
