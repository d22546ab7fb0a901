// Command streams measures the event streams under load: N concurrent WatchSectorEvents subscribers on loopback
// while the real ingest loop commits cycles of simulated traffic. It reports the delivery latency from commit
// to each subscriber, events lost, the messages sent, and the cycle time with and without the subscribers, and
// writes them into BENCHMARKS.md between the streams markers. Each of --modes is measured in turn: subscribers
// that ask for batches (batch_events: one message per cycle) or not (one message per event, as clients that
// predate batches get), and that decode every message whole or read only what the measurement needs.
//
//	go run ./bench/streams --pilots 3000 --subscribers 1000 --cycles 20 --out BENCHMARKS.md
//
// With --modes catchup it measures instead the API's load against ingest (catchup.go): streams that resume
// from sequence 0 over and over and a unary load, against the cycle, in a section of BENCHMARKS.md of its own:
//
//	go run ./bench/streams --modes catchup --pilots 3000 --subscribers 1000 --unary 32 --cycles 20 --out BENCHMARKS.md
//
// With --modes scale it measures three instances on one database (scale.go): the writer, a follower on the
// primary and a follower reading the hot standby, their subscribers' delivery, and a query load against each
// follower in turn, in a section of its own:
//
//	go run ./bench/streams --modes scale --pilots 3000 --subscribers 1000 --unary 32 --cycles 20 --out BENCHMARKS.md
//
// With --modes retention it measures the retention of one day's partitions (retention.go): Store.Prune of a
// filled day beside the writer's cycles, and a DELETE of an hour of positions (the old approach) for
// comparison, in a section of its own:
//
//	go run ./bench/streams --modes retention --pilots 3000 --cycles 30 --out BENCHMARKS.md
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
	"github.com/vatsector/vatsector/sim"
)

type options struct {
	pilots, subscribers, cycles, warmup, perConn, rounds int
	history, unary                                       int
	catchup                                              bool // --modes catchup: the contention benchmark
	interval                                             time.Duration
	pgAdmin, vatspy, out, cpuProfile                     string
	modes                                                []string
	// --modes scale: the hot standby's address, and how often its follower polls it (0: the service's default).
	standby        string
	followInterval time.Duration
	// feedTime is passed to the scale clients' process: the feed time of the last committed cycle, which
	// the statistics calls' range ends at.
	feedTime time.Time
	// --modes retention: events per cycle of the filled day; hours of the second day filled, and deleted from
	// its start (0: no DELETE).
	eventsPerCycle, deleteFillHours, deleteHours int
}

func main() {
	var o options
	flag.IntVar(&o.pilots, "pilots", 3000, "simulated pilots")
	flag.IntVar(&o.subscribers, "subscribers", 1000, "concurrent WatchSectorEvents streams")
	flag.IntVar(&o.cycles, "cycles", 20, "measured cycles without, then with, the subscribers")
	flag.IntVar(&o.warmup, "warmup", 5, "cycles before measuring")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the baseline and every mode, interleaved, pooled in the figures")
	flag.IntVar(&o.perConn, "streams-per-conn", 40, "streams per client connection (the server allows 100)")
	flag.IntVar(&o.history, "history", 150, "catchup: cycles ingested first with no pause, the stored history every stream catches up on")
	flag.IntVar(&o.unary, "unary", 32, "catchup: client goroutines calling GetSectorOccupancy, ListFlights and GetIngestionStatus in a loop")
	flag.DurationVar(&o.interval, "interval", time.Second, "pause between cycles, so streams drain as they would between 15 s cycles")
	flag.StringVar(&o.pgAdmin, "pg-admin", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL admin URL; a database is created and dropped")
	flag.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder")
	flag.StringVar(&o.out, "out", "", "BENCHMARKS.md to write the section into (stdout when empty)")
	subscribersOf := flag.String("subscribers-of", "", "internal: run the subscribers of one mode (--modes) against this address, driven over stdin/stdout")
	modes := flag.String("modes", "batch,batch-decode,per-event-decode", "how subscribers receive events, each mode measured in turn: batch or per-event, -decode to decode every message whole; "+
		"or catchup alone: streams that resume from sequence 0 over and over, and a unary load, against the cycle (its own section of BENCHMARKS.md)")
	flag.StringVar(&o.standby, "standby", "127.0.0.1:5433", "scale: host:port of the PostgreSQL hot standby of --pg-admin's server; the third instance reads its copy of the database there")
	flag.DurationVar(&o.followInterval, "follow-interval", 0, "scale: how often the standby-reading follower polls (0: ingest.DefaultFollowInterval)")
	flag.IntVar(&o.eventsPerCycle, "events-per-cycle", 130, "retention: sector events of each cycle of the filled day")
	flag.IntVar(&o.deleteFillHours, "delete-fill-hours", 24, "retention: hours of the day before yesterday filled for the old approach's DELETE")
	flag.IntVar(&o.deleteHours, "delete-hours", 1, "retention: hours of that day deleted from its start by the old approach's DELETE (0: no DELETE)")
	feedTime := flag.String("feed-time", "", "internal: the scale clients' feed time (RFC 3339)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each mode's cycles with subscribers (server, client streams and ingest share the process) to this file, the mode inserted before the extension")
	flag.Parse()
	if *feedTime != "" {
		t, err := time.Parse(time.RFC3339Nano, *feedTime)
		if err != nil {
			fmt.Fprintln(os.Stderr, "streams: --feed-time:", err)
			os.Exit(2)
		}
		o.feedTime = t
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if m := mode(*modes); *subscribersOf != "" && (m == modeCatchUp || m == modeScale) {
		if err := runCatchUpProcess(context.Background(), *subscribersOf, o, m, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "streams catch-up clients:", err)
			os.Exit(1)
		}
		return
	}
	if *subscribersOf != "" {
		if err := runSubscriberProcess(context.Background(), *subscribersOf, o, mode(*modes), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "streams subscribers:", err)
			os.Exit(1)
		}
		return
	}
	if err := runModes(context.Background(), o, *modes, log); err != nil {
		fmt.Fprintln(os.Stderr, "streams:", err)
		os.Exit(1)
	}
}

func runModes(ctx context.Context, o options, modes string, log *slog.Logger) error {
	var err error
	if o.modes, err = parseModes(modes); err != nil {
		return err
	}
	if o.modes[0] == string(modeScale) {
		return runScale(ctx, o, log)
	}
	if o.modes[0] == string(modeRetention) {
		return runRetention(ctx, o, log)
	}
	o.catchup = o.modes[0] == string(modeCatchUp)
	if !o.catchup {
		o.history = 0
	}
	started := time.Now().UTC()
	loadBefore := hostinfo.LoadAverage()
	// The baseline: the same cycles on a fresh database with no subscriber. Later cycles write into fuller
	// tables than earlier ones, so each mode's cycles are compared with the very same cycles without
	// subscribers, not with its own earlier cycles. Runs on this machine differ by up to ±10% from one to the
	// next whatever they do, so every round runs the baseline and each mode once, interleaved, and the figures
	// pool the rounds.
	none := o
	none.subscribers = 0
	var baseline []time.Duration
	var baselines []sample
	runs := map[string][]sample{}
	for round := 1; round <= o.rounds; round++ {
		fmt.Fprintf(os.Stderr, "streams: round %d: the cycles without subscribers\n", round)
		b, err := run(ctx, none, "none", log)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		baseline = append(baseline, b.cycles...)
		baselines = append(baselines, b)
		for _, m := range o.modes {
			fmt.Fprintf(os.Stderr, "streams: round %d: %s\n", round, m)
			s, err := run(ctx, o, mode(m), log)
			if err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			runs[m] = append(runs[m], s)
		}
	}
	if o.catchup {
		return reportCatchUp(ctx, o, baselines, runs[string(modeCatchUp)], started, loadBefore)
	}
	var rows []row
	for _, m := range o.modes {
		rows = append(rows, aggregate(mode(m), runs[m], baseline))
	}
	return report(o, rows, started, runtime.NumCPU())
}

// startCPUProfile starts the CPU profiler when path is set; stop ends it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// cycleMark is what the publisher saw of a committed cycle.
type cycleMark struct {
	published time.Time
	last      int64 // last sequence of the cycle, 0 without events
	events    int
	total     time.Duration
	write     time.Duration
	measured  bool // with subscribers
}

// marker records each committed cycle before handing it to the hub, so subscribers can time their delivery.
type marker struct {
	hub   *hub.Hub
	mu    sync.RWMutex
	marks map[int64]*cycleMark
	with  atomic.Bool
	count atomic.Int64
	done  chan int64 // cycle ids, for the driver
	// latest is the last sequence published so far.
	latest atomic.Int64
}

func (m *marker) Publish(c *domain.Committed) {
	mk := &cycleMark{published: time.Now(), events: len(c.Events), total: time.Duration(c.Cycle.TotalUS) * time.Microsecond,
		write: time.Duration(c.Cycle.WriteUS) * time.Microsecond, measured: m.with.Load()}
	if c.Cycle.LastSequence != nil {
		mk.last = *c.Cycle.LastSequence
	}
	m.mu.Lock()
	m.marks[c.Cycle.ID] = mk
	m.mu.Unlock()
	m.hub.Publish(c)
	if mk.last > 0 {
		m.latest.Store(mk.last)
	}
	m.count.Add(1)
	select {
	case m.done <- c.Cycle.ID:
	default:
	}
}

// gate holds the feed after a number of snapshots until released: the subscribers connect in between.
type gate struct {
	inner   feed.Source
	after   int
	n       int
	release chan struct{}
	reached chan struct{}
	pause   time.Duration
	// pauseFrom is how many snapshots come first with no pause (the catch-up benchmark's stored history).
	pauseFrom int
}

func (g *gate) Fetch(ctx context.Context) ([]byte, error) {
	if g.n == g.after {
		close(g.reached)
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.n > g.pauseFrom && g.pause > 0 {
		t := time.NewTimer(g.pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	g.n++
	return g.inner.Fetch(ctx)
}

func (g *gate) String() string { return g.inner.String() }

// mode is how subscribers ask for and read events: "batch" or "per-event", "-decode" appended when they decode
// every message whole.
type mode string

func (m mode) batch() bool  { return strings.HasPrefix(string(m), "batch") }
func (m mode) decode() bool { return strings.HasSuffix(string(m), "-decode") }

func parseModes(list string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(list, ",") {
		switch m {
		case "batch", "batch-decode", "per-event", "per-event-decode", string(modeCatchUp), string(modeScale), string(modeRetention):
			out = append(out, m)
		default:
			return nil, fmt.Errorf("--modes: unknown mode %q (batch, batch-decode, per-event, per-event-decode; or catchup, scale or retention alone)", m)
		}
	}
	if slices.Contains(out, string(modeCatchUp)) && len(out) > 1 {
		return nil, errors.New("--modes: catchup is measured alone (its runs store a history first, which the other modes' baseline has not)")
	}
	if slices.Contains(out, string(modeRetention)) && len(out) > 1 {
		return nil, errors.New("--modes: retention is measured alone (it fills a database of its own with a day of history)")
	}
	if slices.Contains(out, string(modeScale)) && len(out) > 1 {
		return nil, errors.New("--modes: scale is measured alone (it runs three instances on one database of its own)")
	}
	return out, nil
}

// createDatabase creates the database name on the server of pgAdmin (a URL of its test database) and returns its
// URL, and drop, which drops it, whatever still connects to it.
func createDatabase(ctx context.Context, admin *pgx.Conn, pgAdmin, name string) (string, func() error, error) {
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop := func() error {
		if _, err := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		return nil
	}
	return strings.Replace(pgAdmin, "/test?", "/"+name+"?", 1), drop, nil
}

// run measures one mode on a fresh database, server and set of subscribers.
func run(ctx context.Context, o options, m mode, log *slog.Logger) (sample, error) {
	name := fmt.Sprintf("bench_streams_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return sample{}, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	url, drop, err := createDatabase(ctx, admin, o.pgAdmin, name)
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = drop() }()
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: url})
	if err != nil {
		return sample{}, err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return sample{}, err
	}
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return sample{}, err
	}
	a, err := airspace.New(set)
	if err != nil {
		return sample{}, err
	}
	sectors := ingest.NewAirspaceSectors(a)

	maxSubscribers := o.subscribers + 16
	if o.catchup {
		// Streams that caught up reconnect at once: the old one may not have left yet when the new one comes.
		maxSubscribers = 2*o.subscribers + 16
	}
	events := hub.New(hub.Config{MaxSubscribers: maxSubscribers})
	mk := &marker{hub: events, marks: map[int64]*cycleMark{}, done: make(chan int64, 1)}
	first := o.history + o.warmup + o.cycles
	g := &gate{
		inner: sim.New(sim.Config{Seed: 1, Pilots: o.pilots, Cycles: first + o.cycles}), after: first,
		release: make(chan struct{}), reached: make(chan struct{}), pause: o.interval, pauseFrom: o.history,
	}
	runner, err := ingest.NewRunner(ingest.Config{Source: g, Store: store, Sectors: sectors.Current, Publisher: mk,
		Logger: log, WriteTimeout: 5 * time.Minute})
	if err != nil {
		return sample{}, err
	}
	// The service sends a heartbeat after two feed cycles without events (30 s); cycles here come every
	// --interval, so the heartbeat comes after two of those.
	cfg := server.Config{Store: store, Status: runner, Sectors: sectors, Hub: events, Logger: log,
		HeartbeatInterval: 2 * o.interval, PollInterval: 15 * time.Second,
		// Every subscriber connects from loopback: the per-client bounds would treat them as one client.
		MaxStreamsPerClient: o.subscribers + 16, ClientRequestRate: 1e6, ClientRequestBurst: o.subscribers + 16}
	var reg *prometheus.Registry
	if o.catchup {
		cfg.MaxStreamsPerClient = maxSubscribers
		cfg.ClientRequestBurst = 2*o.subscribers + o.unary + 16
		// The catch-up gauges are read from the server's own metrics.
		reg = prometheus.NewRegistry()
		cfg.Registerer = reg
	}
	api, err := server.New(cfg)
	if err != nil {
		return sample{}, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	if err := api.Ready(ctx); err != nil {
		return sample{}, err
	}
	go api.Serve(lis)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = api.Shutdown(sctx)
	}()
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- runner.Run(ctx) }()

	// Phase 1: cycles with no subscriber.
	select {
	case <-g.reached:
	case err := <-ingestDone:
		return sample{}, fmt.Errorf("ingest ended early: %v", err)
	}

	if o.catchup {
		return catchUpPhase(ctx, o, m, lis.Addr().String(), store, mk, g, reg, ingestDone)
	}

	// Phase 2: the subscribers connect, each proving it is subscribed by a first heartbeat, then the feed goes on.
	// They run in a process of their own, as clients do: the server's runtime (its collector, its scheduler)
	// carries only the server's goroutines and memory.
	var fleet *subscriberProcess
	if o.subscribers > 0 {
		if fleet, err = startSubscribers(ctx, lis.Addr().String(), o, m, ""); err != nil {
			return sample{}, err
		}
		defer fleet.kill()
	}
	// The profile covers what the figures compare: the cycles with subscribers and their delivery.
	profile := o.cpuProfile
	if profile != "" {
		ext := filepath.Ext(profile)
		profile = strings.TrimSuffix(profile, ext) + "." + string(m) + ext
	}
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return sample{}, err
	}
	mk.with.Store(true)
	close(g.release)
	if err := <-ingestDone; err != nil {
		return sample{}, errors.Join(err, stopProfile())
	}
	var lastSeq int64
	var expected int
	for _, m := range mk.marks {
		if m.measured {
			lastSeq = max(lastSeq, m.last)
			expected += m.events
		}
	}
	var results []subscriberResult
	if fleet != nil {
		if results, err = fleet.finish(lastSeq); err != nil {
			return sample{}, errors.Join(err, stopProfile())
		}
	}
	if err := stopProfile(); err != nil {
		return sample{}, err
	}
	return measure(mk, results, expected), nil
}

type subscriber struct {
	recv     func() (received, error)
	cancel   context.CancelFunc
	received atomic.Int64 // events
	messages atomic.Int64 // messages carrying events
	seen     atomic.Int64
	// arrivals holds, per cycle, when the message with the highest sequence of that cycle arrived: the one
	// that completed the cycle. Written by loop only; read once it is done.
	arrivals map[int64]arrival
	mu       sync.Mutex
	reached  chan struct{}
	ready    chan struct{} // closed at the first message
	target   atomic.Int64
	done     chan struct{}

	// seqs checks that the events came once each, in order, with no gap. Written by loop only.
	seqs seqTracker
}

func (s *subscriber) caughtUp(seq int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target.Store(seq)
	if s.seen.Load() >= seq {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return s.reached
}

type subscribers []*subscriber

func (ss subscribers) close() {
	for _, s := range ss {
		s.cancel()
		<-s.done
	}
}

func subscribe(ctx context.Context, addr string, o options, m mode) (subscribers, error) {
	var conns []*grpc.ClientConn
	var subs subscribers
	for i := range o.subscribers {
		if i%o.perConn == 0 {
			c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, err
			}
			conns = append(conns, c)
		}
		sctx, cancel := context.WithCancel(ctx)
		req := &vatsectorv1.WatchSectorEventsRequest{BatchEvents: m.batch()}
		open := openSummarizing
		if m.decode() {
			open = openDecoding
		}
		recv, err := open(sctx, conns[len(conns)-1], req)
		if err != nil {
			cancel()
			return nil, err
		}
		s := &subscriber{recv: recv, cancel: cancel, reached: make(chan struct{}), done: make(chan struct{}),
			ready: make(chan struct{}), arrivals: map[int64]arrival{}}
		go s.loop()
		subs = append(subs, s)
	}
	// The first message of each stream (a heartbeat) proves the hub registered it.
	for i, s := range subs {
		select {
		case <-s.ready:
		case <-s.done:
			return nil, fmt.Errorf("subscriber %d ended before its first message", i)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return subs, nil
}

func (s *subscriber) loop() {
	defer close(s.done)
	first := true
	for {
		r, err := s.recv()
		if err != nil {
			return
		}
		if first {
			close(s.ready)
			first = false
		}
		if r.events == 0 {
			continue
		}
		now := time.Now()
		s.messages.Add(1)
		s.received.Add(int64(r.events))
		s.seqs.add(r.events, r.lastSequence)
		// A cycle's last event ends the last message of that cycle, whether messages carry one event or a batch.
		last := r.lastSequence
		if a, ok := s.arrivals[r.lastCycleID]; !ok || last > a.LastSequence {
			s.arrivals[r.lastCycleID] = arrival{LastSequence: last, AtUnixNano: now.UnixNano()}
		}
		s.seen.Store(last)
		s.mu.Lock()
		if t := s.target.Load(); t > 0 && last >= t {
			select {
			case <-s.reached:
			default:
				close(s.reached)
			}
		}
		s.mu.Unlock()
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d))*p+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

// row is what one mode measured.
type row struct {
	mode                                mode
	subscribers, cycles, eventsPerCycle int
	messagesPerCycle, delivered, lost   int64
	p50, p99, cycleWithout, cycleWith   time.Duration
}

func (r row) change() float64 {
	return float64(r.cycleWith-r.cycleWithout) / float64(max(r.cycleWithout, 1)) * 100
}

// sample is what one run of a mode measured.
type sample struct {
	latencies, cycles   []time.Duration // delivery latencies; totals of the measured cycles
	writes              []time.Duration // write phases of the measured cycles
	catchUp             *catchUpSample  // --modes catchup
	subscribers, events int             // events: committed in the measured cycles
	delivered, messages int64
}

func measure(mk *marker, subs []subscriberResult, expected int) sample {
	var with []time.Duration
	for _, c := range mk.marks {
		if c.measured {
			with = append(with, c.total)
		}
	}
	var lat []time.Duration
	var received, messages int64
	for _, s := range subs {
		for cycle, a := range s.Arrivals {
			if c := mk.marks[cycle]; c != nil && c.measured && c.last == a.LastSequence {
				lat = append(lat, time.Unix(0, a.AtUnixNano).Sub(c.published))
			}
		}
		received += s.Received
		messages += s.Messages
	}
	return sample{latencies: lat, cycles: with, subscribers: len(subs), events: expected, delivered: received, messages: messages}
}

// aggregate pools a mode's runs into its row, its cycles compared with the pooled baseline cycles.
func aggregate(m mode, runs []sample, baseline []time.Duration) row {
	r := row{mode: m}
	var lat, cycles []time.Duration
	var events int
	for _, s := range runs {
		lat, cycles = append(lat, s.latencies...), append(cycles, s.cycles...)
		r.subscribers = s.subscribers
		events += s.events
		r.delivered += s.delivered
		r.messagesPerCycle += s.messages
		r.lost += int64(s.events)*int64(s.subscribers) - s.delivered
	}
	r.cycles = len(cycles)
	r.eventsPerCycle = events / max(r.cycles, 1)
	r.messagesPerCycle /= int64(max(r.cycles, 1))
	r.p50, r.p99 = percentile(lat, 0.5), percentile(lat, 0.99)
	r.cycleWithout, r.cycleWith = percentile(baseline, 0.5), percentile(cycles, 0.5)
	return r
}

func report(o options, rows []row, started time.Time, cpus int) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n- Command: `go run ./bench/streams --pilots %d --subscribers %d --cycles %d --rounds %d --modes %s --out BENCHMARKS.md`\n",
		o.pilots, o.subscribers, o.cycles, o.rounds, strings.Join(o.modes, ","))
	fmt.Fprintf(&b, "- Date: %s → %s (UTC); %d CPUs; PostgreSQL on loopback; %d client connections of %d streams, in a process of their own on the same machine; a cycle every %v; each mode on a fresh database, server and set of subscribers, none of which filters\n",
		started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"), cpus, (o.subscribers+o.perConn-1)/o.perConn, o.perConn, o.interval)
	fmt.Fprintf(&b, "- Delivery latency: from the publish call right after the commit to the moment a subscriber received the cycle's last event (one sample per subscriber per cycle)\n")
	fmt.Fprintf(&b, "- Modes: `batch` asks for `batch_events` (one message per cycle, at most 1,000 events each), `per-event` does not (one message per event, as clients that predate batches get). `-decode` subscribers decode every message into the generated Go types, as an application would; the others read from each message only what the measurement needs (how many events, the last one's sequence and cycle id): the clients share the server's 2 cores, and decoding 1,000 copies of each batch is their applications' work, not delivery\n")
	fmt.Fprintf(&b, "- Cycle time: p50 of the measured cycles with the subscribers connected, against the p50 of the very same cycles (same simulated snapshots, same database state) in runs without subscribers; %d rounds of the runs without subscribers and of every mode, interleaved, pooled (runs on this machine differ by up to ±10%% from one to the next)\n\n", o.rounds)
	fmt.Fprintf(&b, "| mode | subscribers | cycles measured | events per cycle (mean) | messages per cycle (all subscribers) | delivery p50 | delivery p99 | events delivered | events lost | cycle p50 without subscribers | cycle p50 with | change |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.1f ms | %.1f ms | %d | %d | %.1f ms | %.1f ms | %+.0f%% |\n",
			r.mode, r.subscribers, r.cycles, r.eventsPerCycle, r.messagesPerCycle, ms(r.p50), ms(r.p99), r.delivered, r.lost,
			ms(r.cycleWithout), ms(r.cycleWith), r.change())
	}
	fmt.Fprintf(&b, "\nTargets, per mode: p99 delivery ≤ 50 ms after commit, zero lost, cycle p50 within 10%% of without.\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "- %s: p99 %s, lost %s, cycle %s\n", r.mode,
			verdict(r.p99 <= 50*time.Millisecond), verdict(r.lost == 0), verdict(r.change() <= 10))
	}
	return writeSection(o.out, "<!-- streams:begin", "<!-- streams:end -->", b.Bytes())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
