package repository

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// cycleChannel is the channel every committed cycle notifies on PostgreSQL (migration 00014).
const cycleChannel = "vatsector_cycles"

// listener is a connection of its own, outside the pools (LISTEN holds its session), opened on first use and
// again after it broke.
type listener struct {
	config *pgx.ConnConfig // nil on SQLite
	mu     sync.Mutex
	conn   *pgx.Conn
}

// WaitForCycle waits until a cycle is committed or max has passed, whichever comes first; it reports whether a
// commit woke it. On PostgreSQL it LISTENs for the committed cycles' notifications; on SQLite, where only one
// process writes, and when the connection cannot be had (the database is down, or it is a hot standby, which
// sends no notification), and when the store reads a standby, it just waits: the caller polls anyway.
func (s *Store) WaitForCycle(ctx context.Context, max time.Duration) bool {
	wait, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	if s.listen.config == nil || s.replica != nil {
		// Reading a standby, a notification from the primary would come before the standby has the cycle:
		// polling by sequence is what finds it there.
		<-wait.Done()
		return false
	}
	err := s.listen.wait(wait)
	switch {
	case err == nil:
		return true
	case wait.Err() != nil:
		return false
	}
	s.log.Debug("waiting for committed cycles: polling instead", "err", err)
	<-wait.Done()
	return false
}

func (l *listener) wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		conn, err := pgx.ConnectConfig(ctx, l.config)
		if err != nil {
			return fmt.Errorf("listen: connect: %w", err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+cycleChannel); err != nil {
			_ = conn.Close(context.Background())
			return fmt.Errorf("listen: %w", err)
		}
		l.conn = conn
	}
	if _, err := l.conn.WaitForNotification(ctx); err != nil {
		if ctx.Err() == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			// Broken: the next wait connects again.
			_ = l.conn.Close(context.Background())
			l.conn = nil
		}
		return err
	}
	// Notifications of cycles committed meanwhile are consumed by the caller's read, which reads every cycle
	// after the last it has: drain them so that the next wait does not return at once for them.
	for {
		drain, cancel := context.WithTimeout(ctx, time.Millisecond)
		_, err := l.conn.WaitForNotification(drain)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				_ = l.conn.Close(context.Background())
				l.conn = nil
			}
			return nil
		}
	}
}

func (l *listener) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	err := l.conn.Close(context.Background())
	l.conn = nil
	return err
}
