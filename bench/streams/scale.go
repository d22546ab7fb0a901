package main

// --modes scale: three instances on one PostgreSQL database, in this process, each with a repository.Store,
// hub, server and ingest.Runner of its own and its own loopback port, as three processes of the service would
// have them:
//
//   - the writer: claims the database's ingest lease and runs the real ingest loop over the simulated feed;
//   - a follower on the primary: the lease is the writer's, so it follows the committed cycles
//     (Store.CommittedAfter), woken by the commit's notification (LISTEN/NOTIFY, Store.WaitForCycle);
//   - a follower on the hot standby: the same, with repository.Config.ReadDatabaseURL the same database on
//     the standby, so it polls every FollowInterval and its queries read the standby.
//
// The feed is held between phases (pacer): a phase's clients connect, then its cycles are let through one
// every --interval, and the driver waits for all of them to commit before the next phase, so every cycle
// belongs to exactly one phase. Phases, on one database, in one run:
//
//  1. warm-up cycles, no client;
//  2. delivery: --subscribers WatchSectorEvents streams (batch_events) on each instance at once, from one
//     child process per instance (the streams benchmark's subscribers), for --cycles cycles;
//  3. query load: --unary client goroutines from a child process calling GetSectorOccupancy, ListFlights
//     and GetSectorTraffic in turn, against the follower on the primary, then the follower on the standby,
//     with cycles without any client before and after (none, primary, standby, standby, primary, none: a
//     drift of the cycle time with the growing tables weighs on every target alike), --cycles cycles per
//     target in all.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
	"github.com/vatsector/vatsector/sim"
)

const modeScale mode = "scale"

// pacer lets the simulated feed through one snapshot per permit, each after a pause of its own, and holds it
// otherwise.
type pacer struct {
	inner   feed.Source
	permits chan struct{}
	pause   time.Duration
	// released, when not nil, is told (without waiting) each time a snapshot is let through: a cycle starts.
	released chan struct{}
}

func (p *pacer) grant(n int) {
	for range n {
		p.permits <- struct{}{}
	}
}

func (p *pacer) Fetch(ctx context.Context) ([]byte, error) {
	select {
	case <-p.permits:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.pause > 0 {
		t := time.NewTimer(p.pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	select {
	case p.released <- struct{}{}:
	default:
	}
	return p.inner.Fetch(ctx)
}

func (p *pacer) String() string { return p.inner.String() }

// idleSource is a follower's feed: it never has a snapshot. A follower never holds the lease here (its own
// Lease is an hour), but if it did, it would write nothing.
type idleSource struct{}

func (idleSource) Fetch(ctx context.Context) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (idleSource) String() string { return "none (follower)" }

// followMarker records when a follower publishes each cycle into its hub.
type followMarker struct {
	hub  *hub.Hub
	mu   sync.Mutex
	at   map[int64]time.Time
	last atomic.Int64 // id of the last cycle published
}

func (f *followMarker) Publish(c *domain.Committed) {
	now := time.Now()
	f.mu.Lock()
	f.at[c.Cycle.ID] = now
	f.mu.Unlock()
	f.hub.Publish(c)
	f.last.Store(c.Cycle.ID)
}

// Position is the hub's: where the follower starts following (ingest.Runner.followFrom).
func (f *followMarker) Position() (int64, *domain.Cycle) { return f.hub.Position() }

func (f *followMarker) publishedAt(id int64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[id]
	return t, ok
}

// instance is one of the three.
type instance struct {
	name, reads, wakes string
	store              *repository.Store
	hub                *hub.Hub
	api                *server.Server
	addr               string
	runner             *ingest.Runner
	follow             *followMarker // nil on the writer
	cancel             context.CancelFunc
	done               chan struct{} // closed when the runner returned, with err
	err                error
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = in.api.Shutdown(sctx)
	in.store.Close()
}

// cpuTimes is the machine's CPU time from /proc/stat's first line, in clock ticks.
type cpuTimes struct{ busy, total uint64 }

// parseProcStat reads the aggregate "cpu" line of /proc/stat: busy is everything but idle and iowait.
func parseProcStat(stat string) (cpuTimes, bool) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, false
	}
	var t cpuTimes
	// user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice).
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		t.total += n
		if i != 3 && i != 4 {
			t.busy += n
		}
	}
	return t, true
}

// busyPercent is the share of the machine's CPU time between a and b that was not idle, 0 to 100.
func busyPercent(a, b cpuTimes) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total) * 100
}

// parsePidStat reads a /proc/PID/stat line: the command name and the process's own user and system time, in
// clock ticks (fields 14 and 15; the name, field 2, is in parentheses and may hold spaces).
func parsePidStat(stat string) (comm string, ticks uint64, ok bool) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < 13 {
		return "", 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return stat[open+1 : end], utime + stime, true
}

// cpuSnapshot is the machine's CPU time and that of the processes the report names, at one moment.
type cpuSnapshot struct {
	machine  cpuTimes
	self     uint64         // this process: the three instances
	clients  map[int]uint64 // the subscribers' or clients' processes, by pid
	postgres map[int]uint64 // every process named postgres: both servers, by pid
}

func takeCPU(clients []int) cpuSnapshot {
	s := cpuSnapshot{clients: map[int]uint64{}, postgres: map[int]uint64{}}
	s.machine, _ = parseProcStat(readProc("/proc/stat"))
	_, s.self, _ = parsePidStat(readProc("/proc/self/stat"))
	for _, pid := range clients {
		if _, t, ok := parsePidStat(readProc(fmt.Sprintf("/proc/%d/stat", pid))); ok {
			s.clients[pid] = t
		}
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, t, ok := parsePidStat(readProc(fmt.Sprintf("/proc/%d/stat", pid))); ok && comm == "postgres" {
			s.postgres[pid] = t
		}
	}
	return s
}

// cpuUse is what a phase used: the machine's busy share, and cores (of runtime.NumCPU) by process group.
type cpuUse struct {
	machine                 float64 // percent busy
	self, clients, postgres float64 // cores
	measured                bool
}

// usage is the CPU used between a and b. A process that started in between counts from zero; one that ended
// in between (a PostgreSQL backend that closed) is missing from both: the PostgreSQL figure is a lower bound.
func usage(a, b cpuSnapshot, cpus int) cpuUse {
	elapsed := float64(b.machine.total-a.machine.total) / float64(max(cpus, 1)) // ticks of one CPU
	if elapsed <= 0 {
		return cpuUse{}
	}
	delta := func(before, after map[int]uint64) (n uint64) {
		for pid, t := range after {
			n += t - min(t, before[pid])
		}
		return n
	}
	return cpuUse{machine: busyPercent(a.machine, b.machine), self: float64(b.self-min(b.self, a.self)) / elapsed,
		clients: float64(delta(a.clients, b.clients)) / elapsed, postgres: float64(delta(a.postgres, b.postgres)) / elapsed, measured: true}
}

// phase is what the driver recorded of one phase: its cycles (ids) and the machine's CPU meanwhile.
type phase struct {
	name   string
	cycles []int64
	cpu    cpuUse
	// standby: the standby follower's measured lag (ReplicaStatus) sampled every 100 ms during the phase.
	lagSamples, lagRefusing int
	lagMax                  time.Duration
	behindMax               int64
}

// scaleRun is everything one run measured.
type scaleRun struct {
	o                      options
	started                time.Time
	loadBefore, loadAfter  string
	pgVersion              string
	standbyVersion         string
	marks                  map[int64]*cycleMark
	instances              []*instance
	delivery               phase
	deliveryResults        [][]subscriberResult // by instance
	followLag              [][]time.Duration    // by instance: writer publish → this hub's publish
	from, to               int64                // the delivery cycles' sequences
	expected               int                  // events in the delivery cycles
	contiguous             bool
	segments               []phase
	segmentResults         []*catchUpResult // nil for the segments without load
	readPoolMax, ingestMax int
}

// runScale runs the scale benchmark once and writes its section.
func runScale(ctx context.Context, o options, log *slog.Logger) error {
	r := &scaleRun{o: o, started: time.Now().UTC(), loadBefore: hostinfo.LoadAverage()}
	if err := r.run(ctx, log); err != nil {
		return err
	}
	r.loadAfter = hostinfo.LoadAverage()
	return writeSection(o.out, "<!-- scale:begin", "<!-- scale:end -->", r.report())
}

func (r *scaleRun) run(ctx context.Context, log *slog.Logger) (err error) {
	o := r.o
	name := fmt.Sprintf("bench_scale_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	_ = admin.QueryRow(ctx, "SELECT version()").Scan(&r.pgVersion)
	dbURL, drop, err := createDatabase(ctx, admin, o.pgAdmin, name)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drop()) }()
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	u.Host = o.standby
	standbyURL := u.String()

	sectors, err := loadSectors(o)
	if err != nil {
		return err
	}

	// The writer first: it migrates the database and claims the lease before the followers start.
	w, err := startWriter(ctx, o, log, dbURL, sectors, sim.Config{Seed: 1, Pilots: o.pilots}, nil)
	if err != nil {
		return err
	}
	writer, writerStore, writerRunner, mk, pace := w.instance, w.instance.store, w.instance.runner, w.marker, w.pacer
	r.instances = append(r.instances, writer)
	defer func() {
		// Followers first, so that none claims the lease the writer releases when it stops.
		for _, in := range slices.Backward(r.instances) {
			in.stop()
		}
	}()

	// The database exists on the standby once it replayed the primary's WAL up to now.
	if err := waitForStandby(ctx, admin, o.standby); err != nil {
		return err
	}
	for _, f := range []struct {
		name, reads, wakes string
		cfg                repository.Config
		interval           time.Duration
	}{
		{"follower-primary", "primary", "NOTIFY (LISTEN)", repository.Config{DatabaseURL: dbURL}, 0},
		{"follower-standby", "hot standby", "poll", repository.Config{DatabaseURL: dbURL, ReadDatabaseURL: standbyURL}, o.followInterval},
	} {
		store, err := repository.Open(ctx, f.cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := store.CatchUpReplica(ctx); err != nil {
			store.Close()
			return fmt.Errorf("%s: %w", f.name, err)
		}
		h := hub.New(hub.Config{MaxSubscribers: o.subscribers + 16})
		fm := &followMarker{hub: h, at: map[int64]time.Time{}}
		wakes := f.wakes
		if f.interval > 0 {
			wakes += " every " + f.interval.String()
		} else if f.cfg.ReadDatabaseURL != "" {
			wakes += " every " + ingest.DefaultFollowInterval.String()
		}
		runner, err := ingest.NewRunner(ingest.Config{Source: idleSource{}, Store: store, Sectors: sectors.Current,
			Publisher: fm, Logger: log, Instance: "scale-" + f.name, Lease: time.Hour, FollowInterval: f.interval})
		if err != nil {
			store.Close()
			return err
		}
		in, err := startInstance(ctx, o, log, f.name, f.reads, wakes, store, h, runner, sectors, fm)
		if err != nil {
			store.Close()
			return err
		}
		r.instances = append(r.instances, in)
	}
	if st, ok := r.instances[2].store.ReplicaStatus(); !ok || !st.Serving(time.Now()) {
		return fmt.Errorf("the standby follower's queries would be refused at start: %+v", st)
	}
	sa, err := url.Parse(o.pgAdmin)
	if err != nil {
		return err
	}
	sa.Host = o.standby
	if c, err := pgx.Connect(ctx, sa.String()); err == nil {
		_ = c.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&r.standbyVersion)
		_ = c.Close(ctx)
	}
	r.readPoolMax, r.ingestMax = writerStore.PoolStats().MaxOpenConnections, writerStore.IngestPoolStats().MaxOpenConnections

	// The standby follower's measured lag, sampled throughout, by phase.
	var current atomic.Pointer[phase]
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	var sampleMu sync.Mutex
	sampling.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
			p := current.Load()
			st, _ := r.instances[2].store.ReplicaStatus()
			if p == nil {
				continue
			}
			sampleMu.Lock()
			p.lagSamples++
			if !st.Serving(time.Now()) {
				p.lagRefusing++
			}
			p.lagMax, p.behindMax = max(p.lagMax, st.Lag), max(p.behindMax, st.CyclesBehind)
			sampleMu.Unlock()
		}
	})
	defer func() {
		stopSampling()
		sampling.Wait()
	}()

	committed := 0
	taken := map[int64]bool{}
	// cycles lets n more cycles through and returns their ids once all are committed and both followers
	// published them.
	cycles := func(p *phase, n int, clients ...*subscriberProcess) error {
		var pids []int
		for _, c := range clients {
			pids = append(pids, c.cmd.Process.Pid)
		}
		current.Store(p)
		before := takeCPU(pids)
		committed += n
		pace.grant(n)
		deadline := time.Now().Add(time.Duration(n)*o.interval + 5*time.Minute)
		for mk.count.Load() < int64(committed) {
			select {
			case <-mk.done:
			case <-writer.done:
				return fmt.Errorf("ingest ended early: %v", writer.err)
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %d of %d cycles committed in time", p.name, mk.count.Load(), committed)
			}
		}
		p.cpu = usage(before, takeCPU(pids), runtime.NumCPU())
		mk.mu.RLock()
		var last int64
		for id := range mk.marks {
			if !taken[id] {
				taken[id] = true
				p.cycles = append(p.cycles, id)
			}
			last = max(last, id)
		}
		mk.mu.RUnlock()
		slices.Sort(p.cycles)
		if len(p.cycles) != n {
			return fmt.Errorf("%s: %d cycles committed, want %d", p.name, len(p.cycles), n)
		}
		for _, in := range r.instances[1:] {
			for in.follow.last.Load() < last {
				if time.Now().After(deadline) {
					return fmt.Errorf("%s: %s did not publish cycle %d in time", p.name, in.name, last)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		current.Store(nil)
		return nil
	}

	fmt.Fprintf(os.Stderr, "streams scale: %d warm-up cycles\n", o.warmup)
	if err := cycles(&phase{name: "warm-up"}, o.warmup); err != nil {
		return err
	}
	r.marks = mk.marks // read once the phases are done (marker writes are over by then)

	// Delivery.
	fmt.Fprintf(os.Stderr, "streams scale: %d subscribers on each of the %d instances\n", o.subscribers, len(r.instances))
	subs := o
	subs.unary = 0
	var fleets []*subscriberProcess
	defer func() {
		for _, f := range fleets {
			f.kill()
		}
	}()
	for _, in := range r.instances {
		f, err := startSubscribers(ctx, in.addr, subs, "batch", "")
		if err != nil {
			return fmt.Errorf("%s's subscribers: %w", in.name, err)
		}
		fleets = append(fleets, f)
		if n := in.hub.Subscribers(); n != o.subscribers {
			return fmt.Errorf("%s: %d subscribers in the hub, want %d", in.name, n, o.subscribers)
		}
	}
	r.delivery.name = "delivery"
	fmt.Fprintf(os.Stderr, "streams scale: %d cycles with the subscribers\n", o.cycles)
	if err := cycles(&r.delivery, o.cycles, fleets...); err != nil {
		return err
	}
	mk.mu.RLock()
	for _, id := range r.delivery.cycles {
		c := mk.marks[id]
		if c.events == 0 {
			continue
		}
		if r.from == 0 {
			r.from = c.last - int64(c.events) + 1
		}
		r.to = c.last
		r.expected += c.events
	}
	mk.mu.RUnlock()
	r.contiguous = r.to-r.from+1 == int64(r.expected)
	r.deliveryResults = make([][]subscriberResult, len(fleets))
	errs := make([]error, len(fleets))
	var wg sync.WaitGroup
	for i, f := range fleets {
		wg.Go(func() { r.deliveryResults[i], errs[i] = f.finish(r.to) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, in := range r.instances {
		var lag []time.Duration
		if in.follow != nil {
			for _, id := range r.delivery.cycles {
				if at, ok := in.follow.publishedAt(id); ok {
					lag = append(lag, at.Sub(mk.marks[id].published))
				}
			}
		}
		r.followLag = append(r.followLag, lag)
	}
	// The streams are gone before the query load.
	deadline := time.Now().Add(time.Minute)
	for _, in := range r.instances {
		for in.hub.Subscribers() > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %d subscribers still in the hub a minute after they left", in.name, in.hub.Subscribers())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Query load. TODO(partitions): once events and positions are partitioned by day, a phase here that drops
	// one day's partition (the retention) while the cycles and the load run, with its cycles reported as a
	// target of their own.
	half := max(1, o.cycles/2)
	targets := map[string]*instance{"none": nil, "primary": r.instances[1], "standby": r.instances[2]}
	for _, t := range []string{"none", "primary", "standby", "standby", "primary", "none"} {
		p := &phase{name: t}
		var fleet *subscriberProcess
		var clients []*subscriberProcess
		if in := targets[t]; in != nil {
			load := o
			load.subscribers = 0
			if c := writerRunner.Status().LastCommitted; c != nil {
				load.feedTime = c.UpdateTimestamp
			}
			fmt.Fprintf(os.Stderr, "streams scale: %d cycles with %d clients on %s\n", half, o.unary, in.name)
			if fleet, err = startSubscribers(ctx, in.addr, load, modeScale, "0"); err != nil {
				return fmt.Errorf("%s's clients: %w", in.name, err)
			}
			fleets, clients = append(fleets, fleet), []*subscriberProcess{fleet}
		} else {
			fmt.Fprintf(os.Stderr, "streams scale: %d cycles without clients\n", half)
		}
		if err := cycles(p, half, clients...); err != nil {
			return err
		}
		var res *catchUpResult
		if fleet != nil {
			if res, err = fleet.finishCatchUp(); err != nil {
				return err
			}
		}
		sampleMu.Lock()
		r.segments = append(r.segments, *p)
		sampleMu.Unlock()
		r.segmentResults = append(r.segmentResults, res)
	}
	return nil
}

// loadSectors loads the VATSpy sectors of --vatspy.
func loadSectors(o options) (*ingest.AirspaceSectors, error) {
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return nil, err
	}
	a, err := airspace.New(set)
	if err != nil {
		return nil, err
	}
	return ingest.NewAirspaceSectors(a), nil
}

// writerInstance is the instance that runs the real ingest loop over the paced simulated feed, with the
// marker that records its commits.
type writerInstance struct {
	instance *instance
	marker   *marker
	pacer    *pacer
}

// startWriter opens and migrates dbURL, runs prepare on the migrated store (nil: nothing) before any cycle,
// and starts the writer: the real ingest loop over feed, paced (one snapshot per permit, each after
// --interval), its server and hub. It returns once the writer holds the ingest lease.
func startWriter(ctx context.Context, o options, log *slog.Logger, dbURL string, sectors *ingest.AirspaceSectors,
	feed sim.Config, prepare func(*repository.Store) error) (*writerInstance, error) {
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: dbURL})
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if prepare != nil {
		if err := prepare(store); err != nil {
			store.Close()
			return nil, err
		}
	}
	events := hub.New(hub.Config{MaxSubscribers: o.subscribers + 16})
	mk := &marker{hub: events, marks: map[int64]*cycleMark{}, done: make(chan int64, 1)}
	pace := &pacer{inner: sim.New(feed), permits: make(chan struct{}, 4096), pause: o.interval,
		released: make(chan struct{}, 1)}
	runner, err := ingest.NewRunner(ingest.Config{Source: pace, Store: store, Sectors: sectors.Current,
		Publisher: mk, Logger: log, WriteTimeout: 5 * time.Minute, Instance: "scale-writer"})
	if err != nil {
		store.Close()
		return nil, err
	}
	in, err := startInstance(ctx, o, log, "writer", "primary", "its own commits", store, events, runner, sectors, nil)
	if err != nil {
		store.Close()
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for runner.Status().Writer == nil {
		if time.Now().After(deadline) {
			in.stop()
			return nil, errors.New("the writer did not claim the lease within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &writerInstance{instance: in, marker: mk, pacer: pace}, nil
}

// startInstance starts one instance's server and runner.
func startInstance(ctx context.Context, o options, log *slog.Logger, name, reads, wakes string, store *repository.Store,
	h *hub.Hub, runner *ingest.Runner, sectors *ingest.AirspaceSectors, fm *followMarker) (*instance, error) {
	api, err := server.New(server.Config{Store: store, Status: runner, Sectors: sectors, Hub: h, Logger: log,
		HeartbeatInterval: 2 * o.interval, PollInterval: 15 * time.Second,
		// Every client connects from loopback: the per-client bounds would treat them as one client.
		MaxStreamsPerClient: o.subscribers + 16, ClientRequestRate: 1e6, ClientRequestBurst: o.subscribers + o.unary + 16})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := api.Ready(ctx); err != nil {
		_ = lis.Close()
		return nil, err
	}
	go api.Serve(lis)
	rctx, cancel := context.WithCancel(ctx)
	in := &instance{name: name, reads: reads, wakes: wakes, store: store, hub: h, api: api, addr: lis.Addr().String(),
		runner: runner, follow: fm, cancel: cancel, done: make(chan struct{})}
	go func() {
		var wg sync.WaitGroup
		// What serve.go runs beside the runner: the standby's lag measurement (nothing without one).
		wg.Go(func() { store.MonitorReplica(rctx, repository.DefaultReplicaCheckEvery) })
		in.err = runner.Run(rctx)
		cancel()
		wg.Wait()
		close(in.done)
	}()
	return in, nil
}

// waitForStandby waits until the standby has replayed the primary's WAL up to its current position.
func waitForStandby(ctx context.Context, primary *pgx.Conn, standbyAddr string) error {
	var lsn string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		return err
	}
	cfg := primary.Config().Copy()
	host, port, err := net.SplitHostPort(standbyAddr)
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port = host, uint16(p)
	standby, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("the standby at %s: %w", standbyAddr, err)
	}
	defer standby.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(time.Minute)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var done *bool
		if err := standby.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done); err != nil {
			return fmt.Errorf("the standby's replay position: %w", err)
		}
		if done == nil {
			return fmt.Errorf("the server at %s is not a hot standby", standbyAddr)
		}
		if *done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the standby did not replay the primary's WAL up to %s within a minute", lsn)
		}
		time.Sleep(wait)
	}
}

// cycleTimes are the writer's cycle totals and write phases of the cycles of some phases.
func (r *scaleRun) cycleTimes(ps ...phase) (total, write []time.Duration) {
	for _, p := range ps {
		for _, id := range p.cycles {
			total = append(total, r.marks[id].total)
			write = append(write, r.marks[id].write)
		}
	}
	return total, write
}

func (r *scaleRun) segmentsOf(name string) (ps []phase, res []*catchUpResult) {
	for i, p := range r.segments {
		if p.name == name {
			ps, res = append(ps, p), append(res, r.segmentResults[i])
		}
	}
	return ps, res
}

// meanCPU is the mean of the phases' CPU use, each phase weighing alike.
func meanCPU(ps []phase) cpuUse {
	var m cpuUse
	n := 0.0
	for _, p := range ps {
		if !p.cpu.measured {
			continue
		}
		m.machine, m.self, m.clients, m.postgres = m.machine+p.cpu.machine, m.self+p.cpu.self, m.clients+p.cpu.clients, m.postgres+p.cpu.postgres
		n++
	}
	if n == 0 {
		return cpuUse{}
	}
	return cpuUse{machine: m.machine / n, self: m.self / n, clients: m.clients / n, postgres: m.postgres / n, measured: true}
}

func (u cpuUse) String() string {
	if !u.measured {
		return "—"
	}
	return fmt.Sprintf("%.0f%% / %.2f / %.2f / %.2f", u.machine, u.self, u.clients, u.postgres)
}

func lagOf(ps ...phase) string {
	var samples, refusing int
	var lag time.Duration
	var behind int64
	for _, p := range ps {
		samples, refusing = samples+p.lagSamples, refusing+p.lagRefusing
		lag, behind = max(lag, p.lagMax), max(behind, p.behindMax)
	}
	return fmt.Sprintf("%.0f ms / %d / %d of %d", ms(lag), behind, refusing, samples)
}

func (r *scaleRun) report() []byte {
	o := r.o
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n- Command: `go run ./bench/streams --modes scale --pilots %d --subscribers %d --unary %d --warmup %d --cycles %d --out BENCHMARKS.md`\n",
		o.pilots, o.subscribers, o.unary, o.warmup, o.cycles)
	fmt.Fprintf(&b, "- Date: %s → %s (UTC)\n", r.started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (`nproc`), %s, %s RAM, Linux %s; load average (1/5/15 min) before: %s, after: %s — the machine is shared with other work, and everything below runs on it: the primary, the standby, the three instances, the subscribers' and the clients' processes\n",
		runtime.NumCPU(), hostinfo.CPUModel(), hostinfo.MemTotal(), hostinfo.Kernel(), r.loadBefore, r.loadAfter)
	fmt.Fprintf(&b, "- Go: %s; PostgreSQL: %s; the hot standby (%s, server_version %s) streams from it on the same machine; all over loopback TCP\n",
		runtime.Version(), r.pgVersion, o.standby, r.standbyVersion)
	fmt.Fprintf(&b, "- One database, three instances in this process, each with a `repository.Store`, hub, server, `ingest.Runner` and loopback port of its own: the writer (holds the ingest lease, `sim` seed 1 at %s pilots through the real loop); a follower on the primary (woken by the commit's NOTIFY); a follower with `ReadDatabaseURL` the same database on the standby (polls every %v; its queries read the standby, refused past `MaxReadLag` %v). Service defaults but for the per-client bounds, lifted (every client is on loopback, one IP): read pool %d, ingest pool %d; followers' own lease 1 h so that none takes over while the feed is held between phases\n",
		thousands(int64(o.pilots)), orDefault(o.followInterval, ingest.DefaultFollowInterval), repository.DefaultMaxReadLag, r.readPoolMax, r.ingestMax)
	fmt.Fprintf(&b, "- Cycles: one every %v (the feed is held between phases while clients connect; a phase's cycles all commit, and both followers publish them, before the next phase); %d warm-up cycles first. p50/p99 are nearest rank; cycle times are the writer Runner's own records\n",
		o.interval, o.warmup)
	fmt.Fprintf(&b, "- Delivery: %s `WatchSectorEvents` streams (`batch_events`, %d per connection, the streams benchmark's `batch` subscribers: they read the count, last sequence and cycle id of each message) on each instance at once — %s in all, one child process per instance — for %d cycles. Latency: from the writer's publish call right after its commit to a subscriber receiving the cycle's last event, one sample per subscriber per cycle with events. Lost: per subscriber, every event of the measured cycles' sequences %s..%s not received exactly once (missing, repeated, or out of range)\n",
		thousands(int64(o.subscribers)), o.perConn, thousands(int64(o.subscribers*len(r.instances))), o.cycles, thousands(r.from), thousands(r.to))
	fmt.Fprintf(&b, "- Query load: %d client goroutines (8 per connection) in a child process, each calling in turn with no pause `GetSectorOccupancy` (one of the 16 busiest sectors, by resource name, default page), `ListFlights` (the flights inside one of those sectors, page of 100) and `StatsService.GetSectorTraffic` (one of those sectors, HOUR buckets over the 24 h ending at the last committed feed time); against the follower on the primary, then the follower on the standby, in segments of %d cycles: none, primary, standby, standby, primary, none (no subscriber connected). Calls a second: over the time the load ran, from its first call (just before its segment's first cycle) to its segment's last commit\n\n",
		o.unary, max(1, o.cycles/2))

	if !r.contiguous {
		fmt.Fprintf(&b, "**The delivery cycles' sequences are not contiguous** (%d events in %d..%d): the lost counts below include the gaps.\n\n", r.expected, r.from, r.to)
	}
	eventsPerCycle := r.expected / max(len(r.delivery.cycles), 1)
	fmt.Fprintf(&b, "| instance | reads | follows by | subscribers | cycles | events per cycle (mean) | follow p50 / p99 (writer's publish → this hub's) | delivery p50 | delivery p99 | events delivered | events lost |\n|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, in := range r.instances {
		res := r.deliveryResults[i]
		var lat []time.Duration
		var delivered, lost int64
		for _, s := range res {
			for cycle, a := range s.Arrivals {
				if c := r.marks[cycle]; c != nil && slices.Contains(r.delivery.cycles, cycle) && c.last == a.LastSequence {
					lat = append(lat, time.Unix(0, a.AtUnixNano).Sub(c.published))
				}
			}
			delivered += s.Received
			lost += s.lost(r.from, r.to)
		}
		lost += int64(o.subscribers-len(res)) * int64(r.expected) // streams that never reported
		follow := "—"
		if in.follow != nil {
			follow = fmt.Sprintf("%.1f / %.1f ms", ms(percentile(r.followLag[i], .5)), ms(percentile(r.followLag[i], .99)))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %.1f ms | %.1f ms | %s | %s |\n", in.name, in.reads, in.wakes,
			thousands(int64(len(res))), len(r.delivery.cycles), eventsPerCycle, follow, ms(percentile(lat, .5)), ms(percentile(lat, .99)),
			thousands(delivered), thousands(lost))
	}
	dt, _ := r.cycleTimes(r.delivery)
	none, _ := r.segmentsOf("none")
	nt, _ := r.cycleTimes(none...)
	fmt.Fprintf(&b, "\nOver the delivery cycles the machine's %d CPUs were %.0f%% busy (`/proc/stat`: every process, other work's included); of them, in cores: %.2f this process (the three instances' servers, hubs and runners), %.2f the three subscriber processes, %.2f PostgreSQL (every `postgres` process of both servers, a lower bound: backends that exited meanwhile are missing; other work's queries included). The writer's cycle p50 with the %s subscribers connected: %.1f ms (p99 %.1f ms), against %.1f ms in the cycles without any client below (later cycles, fuller tables).\n\n",
		runtime.NumCPU(), r.delivery.cpu.machine, r.delivery.cpu.self, r.delivery.cpu.clients, r.delivery.cpu.postgres,
		thousands(int64(o.subscribers*len(r.instances))), ms(percentile(dt, .5)), ms(percentile(dt, .99)), ms(percentile(nt, .5)))

	fmt.Fprintf(&b, "| query load on | RPC | calls | calls a second | errors | p50 | p99 |\n|---|---|--:|--:|--:|--:|--:|\n")
	type cycleRow struct {
		label  string
		ps     []phase
		cpu    cpuUse
		errors int
	}
	rows := []cycleRow{{label: "no client", ps: none, cpu: meanCPU(none)}}
	for _, t := range []struct{ name, label string }{{"primary", "follower-primary (reads the primary)"}, {"standby", "follower-standby (reads the standby)"}} {
		ps, res := r.segmentsOf(t.name)
		var seconds float64
		lat := map[string][]int64{}
		errs := map[string]map[string]int{}
		for _, c := range res {
			seconds += float64(c.LoadMicros) / 1e6
			for name, l := range c.Unary {
				lat[name] = append(lat[name], l...)
			}
			for name, m := range c.UnaryErrors {
				if errs[name] == nil {
					errs[name] = map[string]int{}
				}
				for k, n := range m {
					errs[name][k] += n
				}
			}
		}
		var calls, failed int
		for _, name := range scaleRPCs {
			l := micros(lat[name])
			n := 0
			var codes []string
			for k, c := range errs[name] {
				n += c
				codes = append(codes, fmt.Sprintf("%s %d", k, c))
			}
			slices.Sort(codes)
			e := strconv.Itoa(n)
			if n > 0 {
				e += " (" + strings.Join(codes, ", ") + ")"
			}
			calls, failed = calls+len(l)+n, failed+n
			fmt.Fprintf(&b, "| %s | `%s` | %s | %.0f | %s | %.1f ms | %.1f ms |\n", t.name, name, thousands(int64(len(l)+n)),
				float64(len(l)+n)/max(seconds, 1e-9), e, ms(percentile(l, .5)), ms(percentile(l, .99)))
		}
		fmt.Fprintf(&b, "| %s | all | %s | %.0f | %d | | |\n", t.name, thousands(int64(calls)), float64(calls)/max(seconds, 1e-9), failed)
		rows = append(rows, cycleRow{label: fmt.Sprintf("%d clients on %s", o.unary, t.label), ps: ps, cpu: meanCPU(ps), errors: failed})
	}
	fmt.Fprintf(&b, "\n| writer's cycle at %s pilots | cycles | total p50 | total p99 | write p50 | change of p50 | CPU: machine busy / cores for the instances / the clients / PostgreSQL (mean of segments) | standby lag max / cycles behind max / samples refusing queries (every 100 ms) |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
		thousands(int64(o.pilots)))
	base := percentile(nt, .5)
	for _, row := range rows {
		t, w := r.cycleTimes(row.ps...)
		fmt.Fprintf(&b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %+.0f%% | %s | %s |\n", row.label, len(t), ms(percentile(t, .5)),
			ms(percentile(t, .99)), ms(percentile(w, .5)), change(percentile(t, .5), base), row.cpu, lagOf(row.ps...))
	}
	t, w := r.cycleTimes(r.delivery)
	fmt.Fprintf(&b, "| (delivery: %s subscribers, above) | %d | %.1f ms | %.1f ms | %.1f ms | %+.0f%% | %s | %s |\n",
		thousands(int64(o.subscribers*len(r.instances))), len(t), ms(percentile(t, .5)), ms(percentile(t, .99)), ms(percentile(w, .5)),
		change(percentile(t, .5), base), r.delivery.cpu, lagOf(r.delivery))
	b.WriteString("\n")
	return b.Bytes()
}

// orDefault is d, or def when d is zero.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
