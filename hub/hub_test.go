package hub_test

import (
	"errors"
	"testing"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/hub"
)

func ptr[T any](v T) *T { return &v }

func committedCycle(id, first, last int64) *domain.Committed {
	c := &domain.Committed{Cycle: domain.Cycle{ID: id}}
	if last >= first {
		c.Cycle.FirstSequence, c.Cycle.LastSequence = ptr(first), ptr(last)
		for s := first; s <= last; s++ {
			c.Events = append(c.Events, domain.Event{Sequence: s, CycleID: id})
		}
	}
	return c
}

func TestHubPublishNeverWaitsForASubscriber(t *testing.T) {
	h := hub.New(hub.Config{Buffer: 2})
	h.Seed(nil, 0)
	stuck, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 5; id++ {
		h.Publish(committedCycle(id, id*10, id*10+1)) // returns although stuck never reads
		if got := (<-reader.Cycles()).Cycle.ID; got != id {
			t.Fatalf("reader got cycle %d, want %d", got, id)
		}
	}
	select {
	case <-stuck.Done():
	default:
		t.Fatal("the subscriber that never read is still subscribed after 5 cycles with a buffer of 2")
	}
	if !errors.Is(stuck.Err(), hub.ErrLagged) || h.Lagged() != 1 || h.Subscribers() != 1 {
		t.Errorf("reason %v, lagged %d, subscribers %d; want ErrLagged, 1, 1", stuck.Err(), h.Lagged(), h.Subscribers())
	}
	if len(stuck.Cycles()) != 2 {
		t.Errorf("stuck buffer holds %d cycles, want its 2", len(stuck.Cycles()))
	}
	if seq, last := h.Position(); seq != 51 || last.ID != 5 {
		t.Errorf("latest %d, cycle %d; want 51, 5", seq, last.ID)
	}
}

func TestHubSubscriptionStartsAtTheLatestCommit(t *testing.T) {
	h := hub.New(hub.Config{})
	// A cycle published before the hub is seeded (ingest ran first) is not lost, and seeding does not go back.
	h.Publish(committedCycle(3, 10, 12))
	h.Seed(&domain.Cycle{ID: 2, LastSequence: ptr[int64](9)}, 9)
	s, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if s.StartSequence() != 12 || s.Start().ID != 3 {
		t.Errorf("subscription starts at %d, cycle %d; want 12, 3", s.StartSequence(), s.Start().ID)
	}
	h.Publish(committedCycle(4, 0, -1)) // a cycle without events moves the cycle, not the sequence
	s2, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if s2.StartSequence() != 12 || s2.Start().ID != 4 {
		t.Errorf("second subscription starts at %d, cycle %d; want 12, 4", s2.StartSequence(), s2.Start().ID)
	}
	if got := (<-s.Cycles()).Cycle.ID; got != 4 {
		t.Errorf("first subscription got cycle %d, want 4", got)
	}
}

func TestHubRefusesSubscribers(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*hub.Hub)
		want  error
	}{
		{"before seeding", func(*hub.Hub) {}, hub.ErrNotReady},
		{"after closing", func(h *hub.Hub) { h.Seed(nil, 0); h.Close() }, hub.ErrClosed},
		{"too many", func(h *hub.Hub) {
			h.Seed(nil, 0)
			if _, err := h.Subscribe(); err != nil {
				t.Fatal(err)
			}
		}, hub.ErrTooManySubscribers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hub.New(hub.Config{MaxSubscribers: 1})
			tc.setup(h)
			_, err := h.Subscribe()
			if !errors.Is(err, tc.want) {
				t.Errorf("subscribe: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHubTooManySubscribersSaysTheLimit(t *testing.T) {
	h := hub.New(hub.Config{MaxSubscribers: 1})
	h.Seed(nil, 0)
	if _, err := h.Subscribe(); err != nil {
		t.Fatal(err)
	}
	_, err := h.Subscribe()
	var full *hub.TooManySubscribersError
	if !errors.As(err, &full) || full.Max != 1 {
		t.Errorf("subscribe: %v, want a TooManySubscribersError with Max 1", err)
	}
}

func TestHubCloseEndsSubscribers(t *testing.T) {
	h := hub.New(hub.Config{})
	h.Seed(nil, 0)
	s, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	<-s.Done()
	if !errors.Is(s.Err(), hub.ErrClosed) {
		t.Errorf("reason %v, want ErrClosed", s.Err())
	}
	h.Publish(committedCycle(1, 1, 1)) // after Close: ignored, not a panic on a closed channel
	h.Close()
	if h.Subscribers() != 0 {
		t.Errorf("%d subscribers after Close", h.Subscribers())
	}
}

func TestHubHandsEverySubscriberTheCyclePreparedOnce(t *testing.T) {
	h := hub.New(hub.Config{})
	h.Seed(nil, 0)
	a, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(committedCycle(1, 1, 1))
	if got := (<-a.Cycles()).Prepared; got != nil {
		t.Errorf("without a Prepare hook a cycle carries %v, want nil", got)
	}
	<-b.Cycles()

	prepared, afterPublish := 0, 0
	h.SetPrepare(func(c *domain.Committed) any { prepared++; return c.Cycle.ID * 100 })
	h.SetAfterPublish(func() { afterPublish++ })
	h.Publish(committedCycle(2, 2, 2))
	ca, cb := <-a.Cycles(), <-b.Cycles()
	if ca != cb || ca.Prepared != int64(200) || prepared != 1 || afterPublish != 1 {
		t.Errorf("subscribers got %v and %v, prepared %d times, after-publish hook called %d times; "+
			"want one shared cycle prepared as 200, once, and one call", ca.Prepared, cb.Prepared, prepared, afterPublish)
	}
	h.SetPrepare(nil)
	h.SetAfterPublish(nil)
	h.Publish(committedCycle(3, 3, 3)) // hooks removed: nothing prepared, nothing called
	if got := (<-a.Cycles()).Prepared; got != nil || prepared != 1 || afterPublish != 1 {
		t.Errorf("after removing the hooks a cycle carries %v, prepared %d times, after-publish %d; want nil, 1, 1",
			got, prepared, afterPublish)
	}
}
