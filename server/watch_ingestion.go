package server

import (
	"context"
	"errors"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/hub"
)

// watchIngestion sends each committed cycle as the hub publishes it. Unlike sector events, cycles are not
// caught up from the database when the client falls behind (stored cycle records lack the commit time and the
// write phases, known only after the transaction), so a client that fell behind is ended with
// RESOURCE_EXHAUSTED; GetIngestionStatus tells it the current state when it reconnects.
func (q *queryService) watchIngestion(ctx context.Context, includeLast bool, send func(*domain.Cycle) error) error {
	sub, err := q.hub.Subscribe()
	if err != nil {
		return err
	}
	defer q.hub.Unsubscribe(sub)
	var lastID int64
	if start := sub.Start(); start != nil {
		lastID = start.ID
		if includeLast {
			if err := send(start); err != nil {
				return err
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			if errors.Is(sub.Err(), hub.ErrLagged) {
				return exhaustedf("the stream fell more than %d cycles behind: reconnect (GetIngestionStatus tells the current state)",
					q.hub.Buffer())
			}
			return sub.Err()
		case c := <-sub.Cycles():
			// A cycle committed before the hub was seeded may be published after it.
			if c.Cycle.ID <= lastID {
				continue
			}
			lastID = c.Cycle.ID
			if err := send(&c.Cycle); err != nil {
				return err
			}
		}
	}
}
