package server

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/vatsector/vatsector/domain"
)

// Hub fans committed cycles out to the streams, in the manner of etcd's watchable store: ingest publishes each
// cycle once, after its commit; every subscriber has a bounded buffer of cycles, and Publish only ever tries a
// non-blocking send into it. A subscriber whose buffer is full has fallen behind: the hub drops it from live
// delivery instead of waiting for it (or buffering without bound), and its stream catches up from the stored
// events, then subscribes again (see watchEvents). So a stream that stops reading costs ingest nothing and
// other streams nothing, and holds at most Buffer cycles, shared with every other subscriber.
//
// Each cycle is handed out as one publishedCycle, which the streams share with its encodings: whatever the
// number of streams, an event is converted and marshalled once (see stream_encoding.go).
//
// A subscription also records, atomically with its registration, the latest committed sequence and cycle: a
// stream replays stored events up to that sequence and takes everything above it from its buffer, which is
// how a resume has neither a gap nor a duplicate.
type Hub struct {
	buffer  int
	maxSubs int

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	ready  bool
	closed bool
	// latestSeq and latest are the last committed event sequence and cycle, from the database at start
	// (seed) and from Publish after.
	latestSeq int64
	latest    *domain.Cycle
	// changed is closed and replaced whenever the set of subscribers changes, so a test can wait for a
	// stream to be registered without polling.
	changed chan struct{}

	lagged atomic.Int64
	// published is called after each Publish, outside the lock (the server refreshes its ingest health).
	published atomic.Pointer[func()]
}

// HubConfig bounds a Hub; zero values take the defaults.
type HubConfig struct {
	// Buffer is how many committed cycles a subscriber may be behind before it is dropped from live delivery
	// (DefaultHubBuffer). Cycles are shared, not copied, between subscribers.
	Buffer int
	// MaxSubscribers bounds the streams open at once (DefaultMaxSubscribers); more are RESOURCE_EXHAUSTED.
	MaxSubscribers int
}

const (
	// DefaultHubBuffer is four minutes of cycles at the feed's 15 s: a client that pauses that long is better
	// served from the database than from memory.
	DefaultHubBuffer      = 16
	DefaultMaxSubscribers = 1024
)

// errLagged ends a subscription whose buffer overflowed; the stream catches up and subscribes again.
var errLagged = errors.New("subscriber fell behind")

// NewHub returns a hub that refuses subscribers until the server seeds it from the database (Server.Ready).
func NewHub(cfg HubConfig) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultHubBuffer
	}
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	return &Hub{
		buffer: cfg.Buffer, maxSubs: cfg.MaxSubscribers,
		subs: map[*subscription]struct{}{}, changed: make(chan struct{}),
	}
}

// subscription is one stream's registration.
type subscription struct {
	ch chan *publishedCycle
	// done is closed by the hub when it drops the subscription; reason says why (errLagged, or the hub
	// closing). It is written before done is closed and read after.
	done   chan struct{}
	reason error
	// startSeq and start are the latest committed sequence and cycle when the subscription was registered:
	// everything above startSeq comes through ch.
	startSeq int64
	start    *domain.Cycle
}

// Publish implements ingest.Publisher: it never blocks, whatever the subscribers do. c must not be modified
// afterwards; it is shared by every subscriber.
func (h *Hub) Publish(c *domain.Committed) {
	h.publish(c)
	if fn := h.published.Load(); fn != nil {
		(*fn)()
	}
}

func (h *Hub) publish(c *domain.Committed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.advance(&c.Cycle, 0)
	shared := newPublishedCycle(c)
	dropped := false
	for s := range h.subs {
		select {
		case s.ch <- shared:
		default:
			h.drop(s, errLagged)
			h.lagged.Add(1)
			dropped = true
		}
	}
	if dropped {
		h.notify()
	}
}

// seed sets the starting point from the database and opens the hub to subscribers. Publishing may already
// have begun: the position only moves forward.
func (h *Hub) seed(last *domain.Cycle, latestSeq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance(last, latestSeq)
	h.ready = true
}

func (h *Hub) advance(c *domain.Cycle, seq int64) {
	if c != nil {
		if c.LastSequence != nil {
			seq = max(seq, *c.LastSequence)
		}
		if h.latest == nil || c.ID >= h.latest.ID {
			cp := *c
			h.latest = &cp
		}
	}
	h.latestSeq = max(h.latestSeq, seq)
}

// subscribe registers a subscriber; it fails while the server is starting or shutting down, and when too many
// streams are open.
func (h *Hub) subscribe() (*subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, unavailablef("the server is shutting down; reconnect with backoff")
	case !h.ready:
		return nil, unavailablef("the server is starting; reconnect with backoff")
	case len(h.subs) >= h.maxSubs:
		return nil, exhaustedRetryf(retryStreamsFull, "too many streams are open (%d): retry in %v", h.maxSubs, retryStreamsFull)
	}
	s := &subscription{
		ch: make(chan *publishedCycle, h.buffer), done: make(chan struct{}),
		startSeq: h.latestSeq, start: h.latest,
	}
	h.subs[s] = struct{}{}
	h.notify()
	return s, nil
}

// unsubscribe removes a subscriber the hub has not dropped already.
func (h *Hub) unsubscribe(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.notify()
	}
}

// Close drops every subscriber, whose streams end with UNAVAILABLE, and refuses new ones. Publish does nothing
// afterwards.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		h.drop(s, unavailablef("the server is shutting down; reconnect with backoff"))
	}
	h.notify()
}

// drop must be called with mu held.
func (h *Hub) drop(s *subscription, reason error) {
	delete(h.subs, s)
	s.reason = reason
	close(s.done)
}

// notify must be called with mu held.
func (h *Hub) notify() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Subscribers is the number of streams registered now.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Lagged is the number of times a subscriber was dropped from live delivery for falling behind.
func (h *Hub) Lagged() int64 { return h.lagged.Load() }

// position returns the last committed event sequence and cycle the hub knows of (the cycle is nil before any).
func (h *Hub) position() (int64, *domain.Cycle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latestSeq, h.latest
}

// subscribersChanged returns the number of subscribers and a channel closed at the next change.
func (h *Hub) subscribersChanged() (int, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs), h.changed
}
