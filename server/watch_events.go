package server

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/repository"
)

// A sector event stream runs on the gRPC handler's goroutine, the only one that sends on it. It holds a
// database connection only while it reads a page of stored events, never while it waits or sends.
//
// Resume without gap or duplicate: the stream subscribes to the hub first, which records the latest committed
// sequence S at that instant; it then replays the stored events in (after_sequence, S] page by page, and takes
// the events above S from its subscription, which holds every cycle committed after S. Both sides skip what is
// at or below the stream's checkpoint, so an event is sent once even if a cycle was committed before the hub
// was seeded and published after.
//
// Falling behind: when the hub drops the subscription because its buffer is full, the stream subscribes again
// and goes on exactly as a resume from its checkpoint: it reads the stored events at its own pace, then rejoins
// live.

// eventWatch is a WatchSectorEvents request in domain terms.
type eventWatch struct {
	// filter uses its sectors, sets, kinds and flight only (no time range).
	filter repository.EventFilter
	// after is the resume point; nil streams live events only.
	after *int64
}

// eventSink sends what a stream produces, in order; it blocks while the client reads slowly, which only
// holds up this stream. It is handed events in the groups a client may ask to receive together: a page of
// stored events, or a live cycle's matching events.
type eventSink interface {
	// replayed sends a page of stored events, all matching the stream's filters, in sequence order.
	replayed(events []domain.Event) error
	// live sends the events of c at the picked positions of c.Events (all matching, in order), or every
	// event of c when picked is nil: then the stream receives the same messages as every other stream that
	// filters nothing, and c holds them encoded once for all. picked is only valid during the call.
	live(c *publishedCycle, picked []int) error
	// heartbeat says every matching event up to latest was sent; feedTime is the last cycle's
	// update_timestamp (zero before any cycle).
	heartbeat(latest int64, feedTime time.Time) error
}

func (q *queryService) watchEvents(ctx context.Context, w eventWatch, sink eventSink) error {
	st := &eventStream{q: q, sink: sink, filter: w.filter, match: newEventMatcher(w.filter)}
	resume := w.after != nil
	if resume {
		st.checkpoint = *w.after
	}
	for {
		sub, err := q.hub.Subscribe()
		if err != nil {
			return err
		}
		err = st.run(ctx, sub, resume)
		q.hub.Unsubscribe(sub)
		if !errors.Is(err, hub.ErrLagged) {
			return err
		}
		resume = true
	}
}

type eventStream struct {
	q      *queryService
	sink   eventSink
	filter repository.EventFilter
	match  eventMatcher
	// checkpoint is the sequence up to which every matching event was sent.
	checkpoint int64
	feedTime   time.Time
	// picked is reused from cycle to cycle: a filtering stream makes no garbage per cycle for its selection.
	picked []int
}

func (st *eventStream) run(ctx context.Context, sub *hub.Subscription, resume bool) error {
	if start := sub.Start(); start != nil && start.UpdateTimestamp.After(st.feedTime) {
		st.feedTime = start.UpdateTimestamp
	}
	if !resume {
		st.checkpoint = sub.StartSequence()
	} else {
		if err := st.checkResume(ctx, sub.StartSequence()); err != nil {
			return err
		}
		if err := st.replay(ctx, sub); err != nil {
			return err
		}
	}
	return st.live(ctx, sub)
}

// checkResume refuses a checkpoint beyond the latest committed sequence: it comes from another database (or
// this one was reset). Beyond only the hub's latest, it is a checkpoint of an instance ahead of this one — a
// follower publishes the writer's cycles 70 ms after their commit at p50, 169 ms at p99, a follower on a
// standby 155 and 196 ms (BENCHMARKS.md, scale) — taken just before the client moved here: the database has
// it, the cycles up to it arrive live, and deliver skips the events the client had.
func (st *eventStream) checkResume(ctx context.Context, latest int64) error {
	if st.checkpoint <= latest {
		return nil
	}
	_, stored, err := st.q.store.SequenceBounds(ctx)
	if err != nil {
		return err
	}
	if st.checkpoint > stored {
		return outOfRangef("after_sequence %d is ahead of the latest committed sequence %d (was the database reset?): "+
			"resynchronise and watch without after_sequence", st.checkpoint, stored)
	}
	return nil
}

// replay sends the stored events after the checkpoint up to the subscription's start. Each page is read with
// the oldest retained sequence of the same snapshot: if pruning has removed events after the checkpoint (before
// the stream came, or while it replays), the stream cannot go on without a gap and ends with OUT_OF_RANGE.
func (st *eventStream) replay(ctx context.Context, sub *hub.Subscription) error {
	end := sub.StartSequence()
	for st.checkpoint < end {
		select {
		case <-sub.Done():
			return sub.Err()
		default:
		}
		release, err := st.q.catchUp.acquire(ctx, sub.Done())
		if err != nil {
			if ctx.Err() == nil {
				return sub.Err()
			}
			return err
		}
		events, oldest, err := st.q.store.ReplayEvents(ctx, st.filter, st.checkpoint, end, st.q.replayPage)
		release()
		if err != nil {
			return err
		}
		if oldest == 0 || st.checkpoint < oldest-1 {
			return outOfRangef("the events after sequence %d are no longer retained (the oldest retained is %d): "+
				"resynchronise and watch without after_sequence", st.checkpoint, oldest)
		}
		if len(events) > 0 {
			if err := st.sink.replayed(events); err != nil {
				return err
			}
			st.checkpoint = events[len(events)-1].Sequence
		}
		if len(events) < st.q.replayPage {
			st.checkpoint = end
		}
	}
	return nil
}

// live sends the subscription's cycles as they come, and a heartbeat whenever nothing was sent for the
// heartbeat interval.
func (st *eventStream) live(ctx context.Context, sub *hub.Subscription) error {
	hb := time.NewTimer(st.q.heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return sub.Err()
		case p := <-sub.Cycles():
			c, err := encodingsOf(p)
			if err != nil {
				return err
			}
			sent, err := st.deliver(c)
			if err != nil {
				return err
			}
			if sent {
				hb.Reset(st.q.heartbeat)
			}
		case <-hb.C:
			if err := st.sink.heartbeat(st.checkpoint, st.feedTime); err != nil {
				return err
			}
			hb.Reset(st.q.heartbeat)
		}
	}
}

func (st *eventStream) deliver(c *publishedCycle) (bool, error) {
	events := c.Events
	// A cycle's events are in sequence order; those at or below the checkpoint were sent already.
	first := sort.Search(len(events), func(i int) bool { return events[i].Sequence > st.checkpoint })
	sent := false
	switch {
	case first == len(events):
	case first == 0 && st.match.all():
		if err := st.sink.live(c, nil); err != nil {
			return false, err
		}
		sent = true
	default:
		st.picked = st.picked[:0]
		for i := first; i < len(events); i++ {
			if st.match.match(&events[i]) {
				st.picked = append(st.picked, i)
			}
		}
		if len(st.picked) > 0 {
			if err := st.sink.live(c, st.picked); err != nil {
				return false, err
			}
			sent = true
		}
	}
	if c.Cycle.LastSequence != nil {
		st.checkpoint = max(st.checkpoint, *c.Cycle.LastSequence)
	}
	if c.Cycle.UpdateTimestamp.After(st.feedTime) {
		st.feedTime = c.Cycle.UpdateTimestamp
	}
	return sent, nil
}

// eventMatcher applies a stream's filters to live events, as the repository applies them to stored ones.
type eventMatcher struct {
	sectors map[domain.SectorRef]bool
	// anySet are the ids of sectors named without a set: any set's.
	anySet map[string]bool
	sets   map[string]bool
	kinds  map[domain.EventKind]bool
	// flightCID and flightCallsign (upper-cased) keep the entries and exits of one member or callsign.
	flightCID      int64
	flightCallsign string
}

func newEventMatcher(f repository.EventFilter) eventMatcher {
	m := eventMatcher{sets: setOf(f.Sets), kinds: setOf(f.Kinds),
		flightCID: f.FlightCID, flightCallsign: strings.ToUpper(f.FlightCallsign)}
	var named []domain.SectorRef
	var anySet []string
	for _, r := range f.Sectors {
		if r.Set == "" {
			anySet = append(anySet, r.ID)
		} else {
			named = append(named, r)
		}
	}
	m.sectors, m.anySet = setOf(named), setOf(anySet)
	return m
}

// setOf is nil for no values: a filter without them matches everything.
func setOf[T comparable](vs []T) map[T]bool {
	if len(vs) == 0 {
		return nil
	}
	m := make(map[T]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// all says the stream filters nothing.
func (m eventMatcher) all() bool {
	return m.sectors == nil && m.anySet == nil && m.sets == nil && m.kinds == nil && m.flightCID == 0 && m.flightCallsign == ""
}

func (m eventMatcher) match(e *domain.Event) bool {
	inSector := (m.sectors == nil && m.anySet == nil && m.sets == nil) || m.sectors[e.Sector] || m.anySet[e.Sector.ID] ||
		m.sets[e.Sector.Set]
	if !inSector || (m.kinds != nil && !m.kinds[e.Kind]) {
		return false
	}
	if m.flightCID == 0 && m.flightCallsign == "" {
		return true
	}
	f := e.Flight
	return f != nil && (m.flightCID == 0 || f.CID == m.flightCID) &&
		(m.flightCallsign == "" || strings.ToUpper(f.Callsign) == m.flightCallsign)
}
