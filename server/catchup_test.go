package server

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// These tests drive the service layer directly, with a sink the test reads one event at a time, so that the
// stream is blocked exactly where the test wants it.

// handSink hands each event to the test and waits until the test has taken it (or the test is over).
type handSink struct {
	events     chan int64
	heartbeats chan int64
	quit       chan struct{}
}

func newHandSink() *handSink {
	return &handSink{events: make(chan int64), heartbeats: make(chan int64, 1), quit: make(chan struct{})}
}

func (s *handSink) replayed(events []domain.Event) error {
	for i := range events {
		if err := s.event(&events[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *handSink) live(c *publishedCycle, picked []int) error {
	if picked == nil {
		return s.replayed(c.Events)
	}
	for _, i := range picked {
		if err := s.event(&c.Events[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *handSink) event(e *domain.Event) error {
	select {
	case s.events <- e.Sequence:
		return nil
	case <-s.quit:
		return errors.New("test over")
	}
}

func (s *handSink) heartbeat(latest int64, _ time.Time) error {
	select {
	case s.heartbeats <- latest:
	default:
	}
	return nil
}

// take reads n events from the stream, or fails if it ends first.
func (s *handSink) take(t *testing.T, n int, done <-chan error) []int64 {
	t.Helper()
	var out []int64
	for len(out) < n {
		select {
		case seq := <-s.events:
			out = append(out, seq)
		case err := <-done:
			t.Fatalf("stream ended after %v: %v", out, err)
		}
	}
	return out
}

// newQueryService serves from h as a server would, with the encodings server.New has the hub prepare.
func newQueryService(store Storage, h *hub.Hub) *queryService {
	prepareWith(h)
	return &queryService{store: store, hub: h, now: time.Now, heartbeat: time.Hour, replayPage: 2}
}

// startWatch runs watchEvents until the test ends, even one that fails while the stream waits on the sink.
func startWatch(t *testing.T, q *queryService, w eventWatch, sink *handSink) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		done <- q.watchEvents(ctx, w, sink)
	}()
	t.Cleanup(func() {
		cancel()
		close(sink.quit)
		<-ended
	})
	return done
}

func TestWatchCatchesUpFromStoredEventsAfterFallingBehind(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		writeFixture(t, store)
		h := hub.New(hub.Config{Buffer: 1})
		h.Seed(&domain.Cycle{ID: 2}, fixtureLastSeq)
		sink := newHandSink()
		done := startWatch(t, newQueryService(store, h), eventWatch{after: ptr[int64](7)}, sink)
		got := sink.take(t, 1, done) // the stream now waits to hand over 9
		// The stream cannot take these cycles while it waits: the second overflows its buffer of one.
		commit(t, store, h, eventsCycle(4, 10, 3))
		commit(t, store, h, eventsCycle(5, 13, 3))
		commit(t, store, h, eventsCycle(6, 16, 3))
		if h.Lagged() != 1 {
			t.Fatalf("lagged %d, want the blocked stream dropped once", h.Lagged())
		}
		got = append(got, sink.take(t, 10, done)...) // 9, then 10..18 from its buffer and the database
		// Caught up: it listens live again.
		waitSubscribers(t, h, 1)
		commit(t, store, h, eventsCycle(7, 19, 3))
		got = append(got, sink.take(t, 3, done)...)
		if want := seqRange(8, 21); !slices.Equal(got, want) {
			t.Errorf("events %v, want each of %v once, in order", got, want)
		}
	})
}

func TestWatchSkipsACycleCommittedBeforeTheHubKnewIt(t *testing.T) {
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		writeFixture(t, store)
		h := hub.New(hub.Config{})
		// Cycle 4 is committed, and the hub seeded from the database, before ingest publishes it.
		late := eventsCycle(4, 10, 3)
		if _, err := store.WriteCycle(context.Background(), late); err != nil {
			t.Fatal(err)
		}
		h.Seed(&late.Cycle, 12)
		sink := newHandSink()
		done := startWatch(t, newQueryService(store, h), eventWatch{after: ptr[int64](6)}, sink)
		got := sink.take(t, 6, done) // 7..12, replayed
		h.Publish(&domain.Committed{Cycle: late.Cycle, Events: late.Events})
		commit(t, store, h, eventsCycle(5, 13, 2))
		got = append(got, sink.take(t, 2, done)...)
		if want := seqRange(7, 14); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v: the late publication of 10..12 must not repeat them", got, want)
		}
	})
}

func TestWatchIngestionEndsAClientThatFellBehind(t *testing.T) {
	h := hub.New(hub.Config{Buffer: 1})
	h.Seed(nil, 0)
	q := newQueryService(nil, h)
	sent := make(chan int64)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- q.watchIngestion(ctx, false, func(c *domain.Cycle) error {
			sent <- c.ID
			return nil
		})
	}()
	waitSubscribers(t, h, 1)
	h.Publish(committedCycle(1, 1, 1))
	if id := <-sent; id != 1 { // the stream now waits to hand over its next cycle
		t.Fatalf("first cycle %d, want 1", id)
	}
	h.Publish(committedCycle(2, 2, 2))
	h.Publish(committedCycle(3, 3, 3))
	h.Publish(committedCycle(4, 4, 4)) // the buffer of one overflowed by now
	// Once it took cycle 1 the stream may take 2 at once and wait on it while 3 fills its buffer; either way
	// 4 overflowed the buffer and is never sent.
	next := int64(2)
	for {
		select {
		case id := <-sent:
			if id != next || id > 3 {
				t.Fatalf("cycle %d sent, want %d at most 3", id, next)
			}
			next++
		case err := <-done:
			var ae *apiError
			if !errors.As(err, &ae) || ae.kind != kindExhausted {
				t.Fatalf("stream ended with %v, want RESOURCE_EXHAUSTED", err)
			}
			return
		}
	}
}
