package server

import (
	"errors"
	"testing"

	"github.com/vatsector/vatsector/domain"
)

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
	h := NewHub(HubConfig{Buffer: 2})
	h.seed(nil, 0)
	stuck, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 5; id++ {
		h.Publish(committedCycle(id, id*10, id*10+1)) // returns although stuck never reads
		if got := (<-reader.ch).Cycle.ID; got != id {
			t.Fatalf("reader got cycle %d, want %d", got, id)
		}
	}
	select {
	case <-stuck.done:
	default:
		t.Fatal("the subscriber that never read is still subscribed after 5 cycles with a buffer of 2")
	}
	if !errors.Is(stuck.reason, errLagged) || h.Lagged() != 1 || h.Subscribers() != 1 {
		t.Errorf("reason %v, lagged %d, subscribers %d; want errLagged, 1, 1", stuck.reason, h.Lagged(), h.Subscribers())
	}
	if len(stuck.ch) != 2 {
		t.Errorf("stuck buffer holds %d cycles, want its 2", len(stuck.ch))
	}
	if seq, last := h.position(); seq != 51 || last.ID != 5 {
		t.Errorf("latest %d, cycle %d; want 51, 5", seq, last.ID)
	}
}

func TestHubSubscriptionStartsAtTheLatestCommit(t *testing.T) {
	h := NewHub(HubConfig{})
	// A cycle published before the hub is seeded (ingest ran first) is not lost, and seeding does not go back.
	h.Publish(committedCycle(3, 10, 12))
	h.seed(&domain.Cycle{ID: 2, LastSequence: ptr[int64](9)}, 9)
	s, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if s.startSeq != 12 || s.start.ID != 3 {
		t.Errorf("subscription starts at %d, cycle %d; want 12, 3", s.startSeq, s.start.ID)
	}
	h.Publish(committedCycle(4, 0, -1)) // a cycle without events moves the cycle, not the sequence
	s2, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if s2.startSeq != 12 || s2.start.ID != 4 {
		t.Errorf("second subscription starts at %d, cycle %d; want 12, 4", s2.startSeq, s2.start.ID)
	}
	if got := (<-s.ch).Cycle.ID; got != 4 {
		t.Errorf("first subscription got cycle %d, want 4", got)
	}
}

func TestHubRefusesSubscribers(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*Hub)
		kind  errorKind
	}{
		{"before seeding", func(*Hub) {}, kindUnavailable},
		{"after closing", func(h *Hub) { h.seed(nil, 0); h.Close() }, kindUnavailable},
		{"too many", func(h *Hub) {
			h.seed(nil, 0)
			if _, err := h.subscribe(); err != nil {
				t.Fatal(err)
			}
		}, kindExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(HubConfig{MaxSubscribers: 1})
			tc.setup(h)
			_, err := h.subscribe()
			var ae *apiError
			if !errors.As(err, &ae) || ae.kind != tc.kind {
				t.Errorf("subscribe: %v, want error kind %d", err, tc.kind)
			}
		})
	}
}

func TestHubCloseEndsSubscribers(t *testing.T) {
	h := NewHub(HubConfig{})
	h.seed(nil, 0)
	s, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	<-s.done
	var ae *apiError
	if !errors.As(s.reason, &ae) || ae.kind != kindUnavailable {
		t.Errorf("reason %v, want UNAVAILABLE", s.reason)
	}
	h.Publish(committedCycle(1, 1, 1)) // after Close: ignored, not a panic on a closed channel
	h.Close()
	if h.Subscribers() != 0 {
		t.Errorf("%d subscribers after Close", h.Subscribers())
	}
}
