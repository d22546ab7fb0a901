// Command streams measures the event streams under load: N concurrent WatchSectorEvents subscribers on loopback
// while the real ingest loop commits cycles of simulated traffic. It reports the delivery latency from commit
// to each subscriber, events lost, the messages sent, and the cycle time with and without the subscribers, and
// writes them into BENCHMARKS.md between the streams markers. Each of --modes is measured in turn: subscribers
// that ask for batches (batch_events: one message per cycle) or not (one message per event, as clients that
// predate batches get), and that decode every message whole or read only what the measurement needs.
//
//	go run ./bench/streams --pilots 3000 --subscribers 1000 --cycles 20 --out BENCHMARKS.md
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vatsector/vatsector/airspace"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/ingest/feed"
	"github.com/vatsector/vatsector/ingest/sim"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
)

type options struct {
	pilots, subscribers, cycles, warmup, perConn int
	interval                                     time.Duration
	pgAdmin, vatspy, out, cpuProfile             string
	modes                                        []string
}

func main() {
	var o options
	flag.IntVar(&o.pilots, "pilots", 3000, "simulated pilots")
	flag.IntVar(&o.subscribers, "subscribers", 1000, "concurrent WatchSectorEvents streams")
	flag.IntVar(&o.cycles, "cycles", 20, "measured cycles without, then with, the subscribers")
	flag.IntVar(&o.warmup, "warmup", 5, "cycles before measuring")
	flag.IntVar(&o.perConn, "streams-per-conn", 40, "streams per client connection (the server allows 100)")
	flag.DurationVar(&o.interval, "interval", time.Second, "pause between cycles, so streams drain as they would between 15 s cycles")
	flag.StringVar(&o.pgAdmin, "pg-admin", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL admin URL; a database is created and dropped")
	flag.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder")
	flag.StringVar(&o.out, "out", "", "BENCHMARKS.md to write the section into (stdout when empty)")
	modes := flag.String("modes", "batch,batch-decode,per-event-decode", "how subscribers receive events, each mode measured in turn: batch or per-event, -decode to decode every message whole")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each mode's cycles with subscribers (server, client streams and ingest share the process) to this file, the mode inserted before the extension")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
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
	started := time.Now().UTC()
	// The baseline: the same cycles on a fresh database with no subscriber. Later cycles write into fuller
	// tables than earlier ones, so each mode's cycles are compared with the very same cycles of this run, not
	// with its own earlier cycles.
	fmt.Fprintf(os.Stderr, "streams: measuring the same cycles without subscribers\n")
	none := o
	none.subscribers = 0
	baseline, err := run(ctx, none, "none", log)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var rows []row
	for _, m := range o.modes {
		fmt.Fprintf(os.Stderr, "streams: measuring %s\n", m)
		r, err := run(ctx, o, mode(m), log)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		r.cycleWithout = baseline.cycleWith
		rows = append(rows, r)
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
	measured  bool // with subscribers
}

// marker records each committed cycle before handing it to the hub, so subscribers can time their delivery.
type marker struct {
	hub   *server.Hub
	mu    sync.RWMutex
	marks map[int64]*cycleMark
	with  atomic.Bool
	count atomic.Int64
	done  chan int64 // cycle ids, for the driver
}

func (m *marker) Publish(c *ingest.Committed) {
	mk := &cycleMark{published: time.Now(), events: len(c.Events), total: time.Duration(c.Cycle.TotalUS) * time.Microsecond, measured: m.with.Load()}
	if c.Cycle.LastSequence != nil {
		mk.last = *c.Cycle.LastSequence
	}
	m.mu.Lock()
	m.marks[c.Cycle.ID] = mk
	m.mu.Unlock()
	m.hub.Publish(c)
	m.count.Add(1)
	select {
	case m.done <- c.Cycle.ID:
	default:
	}
}

func (m *marker) mark(cycle int64) *cycleMark {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.marks[cycle]
}

// gate holds the feed after a number of snapshots until released: the subscribers connect in between.
type gate struct {
	inner   feed.Source
	after   int
	n       int
	release chan struct{}
	reached chan struct{}
	pause   time.Duration
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
	if g.n > 0 && g.pause > 0 {
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
		case "batch", "batch-decode", "per-event", "per-event-decode":
			out = append(out, m)
		default:
			return nil, fmt.Errorf("--modes: unknown mode %q (batch, batch-decode, per-event, per-event-decode)", m)
		}
	}
	return out, nil
}

// run measures one mode on a fresh database, server and set of subscribers.
func run(ctx context.Context, o options, m mode, log *slog.Logger) (row, error) {
	name := fmt.Sprintf("bench_streams_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return row{}, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return row{}, err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	url := strings.Replace(o.pgAdmin, "/test?", "/"+name+"?", 1)
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: url})
	if err != nil {
		return row{}, err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return row{}, err
	}
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return row{}, err
	}
	a, err := airspace.New(set)
	if err != nil {
		return row{}, err
	}
	sectors := ingest.NewAirspaceSectors(a)

	hub := server.NewHub(server.HubConfig{MaxSubscribers: o.subscribers + 16})
	mk := &marker{hub: hub, marks: map[int64]*cycleMark{}, done: make(chan int64, 1)}
	first := o.warmup + o.cycles
	g := &gate{
		inner: sim.New(sim.Config{Seed: 1, Pilots: o.pilots, Cycles: first + o.cycles}), after: first,
		release: make(chan struct{}), reached: make(chan struct{}), pause: o.interval,
	}
	runner, err := ingest.NewRunner(ingest.Config{Source: g, Store: store, Sectors: sectors.Current, Publisher: mk,
		Logger: log, WriteTimeout: 5 * time.Minute})
	if err != nil {
		return row{}, err
	}
	api, err := server.New(server.Config{Store: store, Status: runner, Sectors: sectors, Hub: hub, Logger: log,
		HeartbeatInterval: 200 * time.Millisecond, PollInterval: 15 * time.Second})
	if err != nil {
		return row{}, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row{}, err
	}
	if err := api.Ready(ctx); err != nil {
		return row{}, err
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
		return row{}, fmt.Errorf("ingest ended early: %v", err)
	}

	// Phase 2: the subscribers connect, each proving it is subscribed by a first heartbeat, then the feed goes on.
	subs, err := subscribe(ctx, lis.Addr().String(), o, m, mk)
	if err != nil {
		return row{}, err
	}
	// The profile covers what the figures compare: the cycles with subscribers and their delivery.
	profile := o.cpuProfile
	if profile != "" {
		ext := filepath.Ext(profile)
		profile = strings.TrimSuffix(profile, ext) + "." + string(m) + ext
	}
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return row{}, err
	}
	mk.with.Store(true)
	close(g.release)
	if err := <-ingestDone; err != nil {
		return row{}, errors.Join(err, stopProfile())
	}
	var lastSeq int64
	var expected int
	for _, m := range mk.marks {
		if m.measured {
			lastSeq = max(lastSeq, m.last)
			expected += m.events
		}
	}
	// Every subscriber has everything once it saw the last sequence; give stragglers 60 s.
	deadline := time.After(60 * time.Second)
	for _, s := range subs {
		select {
		case <-s.caughtUp(lastSeq):
		case <-deadline:
		}
	}
	if err := stopProfile(); err != nil {
		return row{}, err
	}
	subs.close()
	return measure(o, m, mk, subs, expected), nil
}

type subscriber struct {
	recv      func() (received, error)
	cancel    context.CancelFunc
	received  atomic.Int64 // events
	messages  atomic.Int64 // messages carrying events
	seen      atomic.Int64
	latencies []time.Duration
	mu        sync.Mutex
	reached   chan struct{}
	ready     chan struct{} // closed at the first message
	target    atomic.Int64
	done      chan struct{}
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

func subscribe(ctx context.Context, addr string, o options, m mode, mk *marker) (subscribers, error) {
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
		s := &subscriber{recv: recv, cancel: cancel, reached: make(chan struct{}), done: make(chan struct{}), ready: make(chan struct{})}
		go s.loop(mk)
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

func (s *subscriber) loop(mk *marker) {
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
		// A cycle's last event ends the last message of that cycle, whether messages carry one event or a batch.
		last := r.lastSequence
		if m := mk.mark(r.lastCycleID); m != nil && m.measured && m.last == last {
			s.latencies = append(s.latencies, now.Sub(m.published))
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

func measure(o options, m mode, mk *marker, subs subscribers, expected int) row {
	var without, with []time.Duration
	for id, c := range mk.marks {
		switch {
		case c.measured:
			with = append(with, c.total)
		case id > int64(o.warmup): // the first cycles fill an empty database: not representative
			without = append(without, c.total)
		}
	}
	var lat []time.Duration
	var received, messages int64
	for _, s := range subs {
		lat = append(lat, s.latencies...)
		received += s.received.Load()
		messages += s.messages.Load()
	}
	return row{
		mode: m, subscribers: len(subs), cycles: len(with), eventsPerCycle: expected / max(len(with), 1),
		messagesPerCycle: messages / int64(max(len(with), 1)), delivered: received,
		lost: int64(expected)*int64(len(subs)) - received,
		p50:  percentile(lat, 0.5), p99: percentile(lat, 0.99),
		cycleWithout: percentile(without, 0.5), cycleWith: percentile(with, 0.5),
	}
}

func report(o options, rows []row, started time.Time, cpus int) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n- Command: `go run ./bench/streams --pilots %d --subscribers %d --cycles %d --modes %s --out BENCHMARKS.md`\n",
		o.pilots, o.subscribers, o.cycles, strings.Join(o.modes, ","))
	fmt.Fprintf(&b, "- Date: %s → %s (UTC); %d CPUs; PostgreSQL on loopback; %d client connections of %d streams, in the same process as the server; a cycle every %v; each mode on a fresh database, server and set of subscribers, none of which filters\n",
		started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"), cpus, (o.subscribers+o.perConn-1)/o.perConn, o.perConn, o.interval)
	fmt.Fprintf(&b, "- Delivery latency: from the publish call right after the commit to the moment a subscriber received the cycle's last event (one sample per subscriber per cycle)\n")
	fmt.Fprintf(&b, "- Modes: `batch` asks for `batch_events` (one message per cycle, at most 1,000 events each), `per-event` does not (one message per event, as clients that predate batches get). `-decode` subscribers decode every message into the generated Go types, as an application would; the others read from each message only what the measurement needs (how many events, the last one's sequence and cycle id): the 1,000 clients share the server's 2 cores, and decoding 1,000 copies of each batch is their applications' work, not delivery\n")
	fmt.Fprintf(&b, "- Cycle time: p50 of the measured cycles with the subscribers connected, against the p50 of the very same cycles (same simulated snapshots, same database state) in a run without subscribers\n\n")
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
	if o.out == "" {
		_, err := io.Copy(os.Stdout, &b)
		return err
	}
	doc, err := os.ReadFile(o.out)
	if err != nil {
		return err
	}
	const begin, end = "<!-- streams:begin", "<!-- streams:end -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return errors.New("streams markers not found in " + o.out)
	}
	lineEnd := bytes.IndexByte(doc[i:], '\n') + i + 1
	out := append(append(append([]byte{}, doc[:lineEnd]...), b.Bytes()...), doc[j:]...)
	return os.WriteFile(o.out, out, 0o644)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
