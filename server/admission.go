package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// admission decides whether a call may start, before any handler runs: every client (a peer IP address) has
// a token bucket of requests, and a bound on the streams it holds open; all clients together have a bound on
// the open streams. A stream counts from the moment it is admitted until its handler returns, whatever it does
// meanwhile: waiting for a catch-up read, replaying stored events, live in the hub, or dropped from the hub and
// blocked sending to a client that stopped reading. (The hub's own bound counts only the streams subscribed at
// the instant, and waves of non-reading clients held 1,982 streams, RSS 153 → 557 MB, while the hub saw at
// most 1,024.)
type admission struct {
	maxStreams, maxPerClient int
	rate                     rate.Limit
	burst                    int
	now                      func() time.Time

	mu        sync.Mutex
	streams   int
	perClient map[string]int
	buckets   map[string]*clientBucket
	lastSweep time.Time
	// changed is closed and replaced whenever the number of open streams changes, so a test can wait for a
	// stream's handler to have returned without polling.
	changed chan struct{}

	open    *prometheus.GaugeVec
	refused *prometheus.CounterVec
}

type clientBucket struct {
	limiter *rate.Limiter
	last    time.Time
}

// Retry hints (google.rpc.RetryInfo) of the refusals. A stream slot frees when some stream ends, which the
// server cannot foresee: a few seconds spreads the reconnections of a wave of refused clients.
const (
	retryStreamsFull = 5 * time.Second
	// sweepEvery is how often buckets of clients that went quiet are forgotten.
	sweepEvery = time.Minute
)

func newAdmission(cfg Config) *admission {
	return &admission{
		maxStreams: cfg.MaxOpenStreams, maxPerClient: cfg.MaxStreamsPerClient,
		rate: rate.Limit(cfg.ClientRequestRate), burst: cfg.ClientRequestBurst, now: cfg.Now,
		perClient: map[string]int{}, buckets: map[string]*clientBucket{}, changed: make(chan struct{}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vatsector_api_open_streams",
			Help: "Streaming RPCs open now, from admission until their handler returns (live, catching up, or waiting), by method.",
		}, []string{"method"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vatsector_api_refused_total",
			Help: "Calls refused RESOURCE_EXHAUSTED before any handler ran, by reason (rate, client_streams, streams).",
		}, []string{"reason"}),
	}
}

func (a *admission) collectors() []prometheus.Collector {
	return []prometheus.Collector{a.open, a.refused}
}

// clientOf is the client a call is counted against: its peer's IP address (all connections of one host share
// its limits), or the whole address when it has no IP (in-memory connections in tests).
func clientOf(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return host
	}
	return p.Addr.String()
}

// allowRequest takes a token from the client's bucket, or says how long until one is there.
func (a *admission) allowRequest(client string) error {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	b, ok := a.buckets[client]
	if !ok {
		b = &clientBucket{limiter: rate.NewLimiter(a.rate, a.burst)}
		a.buckets[client] = b
	}
	b.last = now
	r := b.limiter.ReserveN(now, 1)
	if !r.OK() {
		a.refused.WithLabelValues("rate").Inc()
		return exhaustedRetryf(time.Second, "too many requests from %s (at most %g a second, bursts of %d): retry in 1s",
			client, float64(a.rate), a.burst)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		a.refused.WithLabelValues("rate").Inc()
		d = max(d.Round(time.Millisecond), time.Millisecond)
		return exhaustedRetryf(d, "too many requests from %s (at most %g a second, bursts of %d): retry in %v",
			client, float64(a.rate), a.burst, d)
	}
	return nil
}

// sweep forgets the buckets of clients quiet for longer than a bucket takes to refill: such a bucket is full,
// the same as a new one, so forgetting it changes nothing but the memory held. mu must be held.
func (a *admission) sweep(now time.Time) {
	if now.Sub(a.lastSweep) < sweepEvery {
		return
	}
	a.lastSweep = now
	refill := sweepEvery
	if a.rate > 0 {
		refill = max(refill, time.Duration(float64(a.burst)/float64(a.rate)*float64(time.Second)))
	}
	for client, b := range a.buckets {
		if now.Sub(b.last) > refill {
			delete(a.buckets, client)
		}
	}
}

// openStream admits a stream of client, or refuses it; release must be called when its handler returns.
func (a *admission) openStream(client, method string) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.streams >= a.maxStreams:
		a.refused.WithLabelValues("streams").Inc()
		return nil, exhaustedRetryf(retryStreamsFull, "too many streams are open (%d): retry in %v", a.maxStreams, retryStreamsFull)
	case a.perClient[client] >= a.maxPerClient:
		a.refused.WithLabelValues("client_streams").Inc()
		return nil, exhaustedRetryf(retryStreamsFull, "%s has %d streams open, the most one client may: close one, or retry in %v",
			client, a.maxPerClient, retryStreamsFull)
	}
	a.streams++
	a.perClient[client]++
	a.open.WithLabelValues(method).Inc()
	a.notify()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.streams--
			if a.perClient[client]--; a.perClient[client] == 0 {
				delete(a.perClient, client)
			}
			a.open.WithLabelValues(method).Dec()
			a.notify()
		})
	}, nil
}

// notify must be called with mu held.
func (a *admission) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// openStreams returns the number of streams open and a channel closed at the next change.
func (a *admission) openStreams() (int, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.streams, a.changed
}

// interceptors refuse, before validation and the handler, the calls over the client's rate and the streams
// over either bound; the error map above them in the chain turns the refusal into its status.
func (a *admission) interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := a.allowRequest(clientOf(ctx)); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		client := clientOf(ctx)
		if err := a.allowRequest(client); err != nil {
			return err
		}
		release, err := a.openStream(client, info.FullMethod)
		if err != nil {
			return err
		}
		defer release()
		return handler(srv, ss)
	}
	return unary, stream
}

// catchUpGate bounds the stored-history reads of streams running at once. 1,000 streams resuming from
// sequence 0 took every connection of the pool: cycles went from 60 ms to 9.6 s, unary calls waited 1.5 s
// (p50), 714 streams failed. With a couple of catch-up reads at a time the pool always has connections left
// for unary calls and ingest, and the catching-up streams lose little: each read is a page of a few hundred
// events that the database serves in milliseconds, while the stream then spends far longer sending the page.
// A stream takes a slot for one page read, not for its whole catch-up, so a slow reader never holds one.
type catchUpGate struct {
	slots chan struct{}

	mu      sync.Mutex
	waiting int
	changed chan struct{}

	waitingGauge, readingGauge prometheus.GaugeFunc
}

func newCatchUpGate(n int) *catchUpGate {
	g := &catchUpGate{slots: make(chan struct{}, n), changed: make(chan struct{})}
	g.waitingGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vatsector_api_catchup_waiting", Help: "Streams waiting for a catch-up read slot.",
	}, func() float64 { n, _ := g.waiters(); return float64(n) })
	g.readingGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vatsector_api_catchup_reading", Help: "Catch-up reads of stored events running now.",
	}, func() float64 { return float64(len(g.slots)) })
	return g
}

func (g *catchUpGate) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.waitingGauge, g.readingGauge}
}

// acquire waits for a slot until ctx ends or stop is closed (the stream's subscription was dropped); a nil
// gate has no bound.
func (g *catchUpGate) acquire(ctx context.Context, stop <-chan struct{}) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	g.addWaiting(1)
	defer g.addWaiting(-1)
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-stop:
		return nil, errors.New("the subscription ended while waiting for a catch-up read")
	}
}

func (g *catchUpGate) release() { <-g.slots }

func (g *catchUpGate) addWaiting(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting += d
	close(g.changed)
	g.changed = make(chan struct{})
}

// waiters returns the number of streams waiting and a channel closed at the next change.
func (g *catchUpGate) waiters() (int, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting, g.changed
}
