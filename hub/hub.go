// Package hub fans committed cycles out to their subscribers: ingest publishes each cycle once, after its
// commit, and every stream of the API (or, later, a replica) takes it from here without ever holding ingest up.
//
// The hub knows nothing of a transport. What a transport needs once per cycle for all its subscribers (the
// server's shared proto encodings) it prepares in a hook the hub calls once per published cycle; what a
// transport tells its clients when the hub refuses or drops a subscriber it derives from the hub's errors.
// This is how etcd's v3rpc adapts the MVCC watchable store to gRPC.
package hub

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vatsector/vatsector/domain"
)

// The hub's refusals and the reasons it ends a subscription. A transport turns them into its own statuses.
var (
	// ErrClosed: the hub was closed (the process is stopping); it takes no subscriber and ends every one.
	ErrClosed = errors.New("hub: closed")
	// ErrNotReady: the hub was not seeded from the database yet, so it does not know where a subscriber
	// would start.
	ErrNotReady = errors.New("hub: not seeded yet")
	// ErrTooManySubscribers: Config.MaxSubscribers are subscribed already. The error returned is a
	// *TooManySubscribersError, which says the limit.
	ErrTooManySubscribers = errors.New("hub: too many subscribers")
	// ErrLagged ends a subscription whose buffer overflowed: its subscriber catches up from storage, then
	// subscribes again.
	ErrLagged = errors.New("hub: subscriber fell behind")
)

// TooManySubscribersError is the refusal of a subscriber over the limit; it matches ErrTooManySubscribers.
type TooManySubscribersError struct {
	Max int
}

func (e *TooManySubscribersError) Error() string {
	return fmt.Sprintf("%v (%d)", ErrTooManySubscribers, e.Max)
}

func (e *TooManySubscribersError) Is(target error) bool { return target == ErrTooManySubscribers }

// Hub fans committed cycles out to subscribers, in the manner of etcd's watchable store: ingest publishes each
// cycle once, after its commit; every subscriber has a bounded buffer of cycles, and Publish only ever tries a
// non-blocking send into it. A subscriber whose buffer is full has fallen behind: the hub drops it from live
// delivery (ErrLagged) instead of waiting for it (or buffering without bound), and the subscriber catches up
// from the stored events, then subscribes again. So a subscriber that stops reading costs ingest nothing and
// other subscribers nothing, and holds at most Buffer cycles, shared with every other subscriber.
//
// Each cycle is handed out as one *Published, shared by every subscriber with what the Prepare hook made of
// it: whatever the number of subscribers, the work a transport does once per cycle is done once.
//
// A subscription also records, atomically with its registration, the latest committed sequence and cycle: a
// subscriber replays stored events up to that sequence and takes everything above it from its buffer, which
// is how a resume has neither a gap nor a duplicate.
type Hub struct {
	buffer  int
	maxSubs int

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	ready  bool
	closed bool
	// latestSeq and latest are the last committed event sequence and cycle, from the database at start
	// (Seed) and from Publish after.
	latestSeq int64
	latest    *domain.Cycle
	// last is the newest cycle published, with its preparation, for subscribers that start from it.
	last *Published
	// changed is closed and replaced whenever the set of subscribers changes, so a test can wait for a
	// subscriber to be registered without polling.
	changed chan struct{}

	lagged atomic.Int64
	// prepare and published are set by the transport after the hub is built (the hub is ingest's Publisher
	// before the server exists), and may be set while ingest publishes: hence atomics, not Config fields.
	prepare   atomic.Pointer[func(*domain.Committed) any]
	published atomic.Pointer[func()]
}

// Config bounds a Hub; zero values take the defaults.
type Config struct {
	// Buffer is how many committed cycles a subscriber may be behind before it is dropped from live delivery
	// (DefaultBuffer). Cycles are shared, not copied, between subscribers.
	Buffer int
	// MaxSubscribers bounds the subscribers at once (DefaultMaxSubscribers); more are refused with
	// ErrTooManySubscribers.
	MaxSubscribers int
}

const (
	// DefaultBuffer is four minutes of cycles at the feed's 15 s: a client that pauses that long is better
	// served from the database than from memory.
	DefaultBuffer         = 16
	DefaultMaxSubscribers = 1024
)

// New returns a hub that refuses subscribers (ErrNotReady) until it is seeded from the database (Seed).
func New(cfg Config) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	return &Hub{
		buffer: cfg.Buffer, maxSubs: cfg.MaxSubscribers,
		subs: map[*Subscription]struct{}{}, changed: make(chan struct{}),
	}
}

// Published is a committed cycle as the hub hands it to every subscriber: the cycle, shared read-only, and
// what the Prepare hook returned for it (nil without a hook).
type Published struct {
	*domain.Committed
	Prepared any
}

// Subscription is one subscriber's registration.
type Subscription struct {
	cycles chan *Published
	// done is closed by the hub when it drops the subscription; reason says why. It is written before done
	// is closed and read after.
	done   chan struct{}
	reason error
	// startSeq and start are the latest committed sequence and cycle when the subscription was registered:
	// everything above startSeq comes through cycles.
	startSeq int64
	start    *domain.Cycle
	// last is the newest cycle published before the subscription was registered; nil when none was since
	// the hub started.
	last *Published
}

// Last is the newest cycle this hub published before the subscription was registered (nil when it published
// none since it started): what a subscriber that shows the current state of everything (every flight's
// position) starts from. It must not be modified.
func (s *Subscription) Last() *Published { return s.last }

// Cycles delivers the cycles published after the subscription started, in order. It is never closed: wait
// on Done as well.
func (s *Subscription) Cycles() <-chan *Published { return s.cycles }

// Done is closed when the hub drops the subscription (see Err).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the hub dropped the subscription, ErrLagged or ErrClosed, once Done is closed; nil before.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.reason
	default:
		return nil
	}
}

// StartSequence is the latest committed event sequence when the subscription was registered: every event
// above it comes through Cycles, every event up to it is in storage.
func (s *Subscription) StartSequence() int64 { return s.startSeq }

// Start is the latest committed cycle when the subscription was registered (nil before any); it must not be
// modified.
func (s *Subscription) Start() *domain.Cycle { return s.start }

// SetPrepare sets the hook that turns each published cycle, once, into what every subscriber receives with it
// (Published.Prepared). It runs on the publisher's goroutine before any subscriber sees the cycle, so it
// should defer costly work to first use, as the server's encodings do. A nil hook prepares nothing.
func (h *Hub) SetPrepare(prepare func(*domain.Committed) any) {
	if prepare == nil {
		h.prepare.Store(nil)
		return
	}
	h.prepare.Store(&prepare)
}

// SetAfterPublish sets the hook called after each Publish, outside the hub's lock (the server refreshes its
// ingest health). A nil hook removes it.
func (h *Hub) SetAfterPublish(fn func()) {
	if fn == nil {
		h.published.Store(nil)
		return
	}
	h.published.Store(&fn)
}

// Publish implements ingest.Publisher: it never blocks, whatever the subscribers do. c must not be modified
// afterwards; it is shared by every subscriber.
func (h *Hub) Publish(c *domain.Committed) {
	shared := &Published{Committed: c}
	if prepare := h.prepare.Load(); prepare != nil {
		shared.Prepared = (*prepare)(c)
	}
	h.publish(shared)
	if fn := h.published.Load(); fn != nil {
		(*fn)()
	}
}

func (h *Hub) publish(shared *Published) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.advance(&shared.Cycle, 0)
	if h.last == nil || shared.Cycle.ID > h.last.Cycle.ID {
		h.last = shared
	}
	dropped := false
	for s := range h.subs {
		select {
		case s.cycles <- shared:
		default:
			h.drop(s, ErrLagged)
			h.lagged.Add(1)
			dropped = true
		}
	}
	if dropped {
		h.notify()
	}
}

// Seed sets the starting point from the database and opens the hub to subscribers. Publishing may already
// have begun: the position only moves forward.
func (h *Hub) Seed(last *domain.Cycle, latestSeq int64) {
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

// Subscribe registers a subscriber; it fails with ErrClosed, ErrNotReady or ErrTooManySubscribers. The
// subscriber must Unsubscribe when it stops reading, unless the hub dropped it.
func (h *Hub) Subscribe() (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case !h.ready:
		return nil, ErrNotReady
	case len(h.subs) >= h.maxSubs:
		return nil, &TooManySubscribersError{Max: h.maxSubs}
	}
	s := &Subscription{
		cycles: make(chan *Published, h.buffer), done: make(chan struct{}),
		startSeq: h.latestSeq, start: h.latest, last: h.last,
	}
	h.subs[s] = struct{}{}
	h.notify()
	return s, nil
}

// Unsubscribe removes a subscriber the hub has not dropped already.
func (h *Hub) Unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.notify()
	}
}

// Close drops every subscriber with ErrClosed and refuses new ones. Publish does nothing afterwards.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		h.drop(s, ErrClosed)
	}
	h.notify()
}

// drop must be called with mu held.
func (h *Hub) drop(s *Subscription, reason error) {
	delete(h.subs, s)
	s.reason = reason
	close(s.done)
}

// notify must be called with mu held.
func (h *Hub) notify() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Buffer is how many cycles a subscriber may be behind before it is dropped.
func (h *Hub) Buffer() int { return h.buffer }

// MaxSubscribers is how many subscribers the hub takes at once.
func (h *Hub) MaxSubscribers() int { return h.maxSubs }

// Subscribers is the number of subscribers registered now.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Lagged is the number of times a subscriber was dropped from live delivery for falling behind.
func (h *Hub) Lagged() int64 { return h.lagged.Load() }

// Position returns the last committed event sequence and cycle the hub knows of (the cycle is nil before
// any; it must not be modified).
func (h *Hub) Position() (int64, *domain.Cycle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latestSeq, h.latest
}

// SubscribersChanged returns the number of subscribers and a channel closed at the next change, so that a
// caller (a test) can wait for a subscriber to come or go without polling.
func (h *Hub) SubscribersChanged() (int, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs), h.changed
}
