package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// Scenario kinds. Each is one function (scenarioFuncs); a new benchmark, such as the streams one with 1,000
// WatchSectorEvents subscribers, is a new kind with its own function and result fields.
const (
	kindIngest = "ingest" // warm-up + measured cycles through the Runner, then the COPY and one-row comparisons
	kindLong   = "long"   // many cycles through the Runner, resident memory checked at intervals
)

// spec is one scenario. It is JSON so the parent can hand it to a child process.
type spec struct {
	Name    string             `json:"name"`
	Kind    string             `json:"kind"`
	Dialect migrations.Dialect `json:"dialect"`
	Pilots  int                `json:"pilots"`
	Seed    int64              `json:"seed"`
	Warmup  int                `json:"warmup"`
	Cycles  int                `json:"cycles"`
	// OldCycles is how many measured cycles are also written the old way (one statement per row).
	OldCycles int `json:"old_cycles"`
	// ValuesCycles is how many measured cycles are also written with CreateInBatches VALUES lists (PostgreSQL).
	ValuesCycles int `json:"values_cycles"`
	// Copy times a raw COPY of every measured cycle's rows (PostgreSQL only).
	Copy bool `json:"copy"`
	// CheckpointEvery is the long run's interval, in cycles, between memory readings.
	CheckpointEvery int    `json:"checkpoint_every"`
	VATSpy          string `json:"vatspy"`
	// PGSchemaSQL is executed on every PostgreSQL bench database after the migrations (an experiment).
	PGSchemaSQL string `json:"pg_schema_sql,omitempty"`
	PGAdmin     string `json:"pg_admin"`
	DBName      string `json:"db_name"`
	// Wire routes PostgreSQL traffic through the round-trip counter.
	Wire        bool          `json:"wire"`
	SampleEvery time.Duration `json:"sample_every"`
	CPUProfile  string        `json:"cpu_profile,omitempty"`
	MemProfile  string        `json:"mem_profile,omitempty"`
	Keep        bool          `json:"keep"`
	// Transceivers serves the simulator's transceivers file with each snapshot (the source is a
	// feed.TransceiverSource), so the cycle matches radios; Round numbers the runs of --transceivers-ab (0: none).
	Transceivers bool `json:"transceivers"`
	Round        int  `json:"round,omitempty"`
}

// cycleSample is one measured cycle, as the Runner recorded it, plus what the bench counted around it.
type cycleSample struct {
	ID         int64 `json:"id"`
	Pilots     int   `json:"pilots"`
	Rows       int   `json:"rows"`
	Statements int   `json:"statements"`
	// RoundTrips counted on the wire between this cycle's publication and the previous one; -1 if not measured.
	RoundTrips int64 `json:"round_trips"`
	DecodeUS   int64 `json:"decode_us"`
	ClassifyUS int64 `json:"classify_us"`
	DiffUS     int64 `json:"diff_us"`
	WriteUS    int64 `json:"write_us"`
	CommitUS   int64 `json:"commit_us"`
	TotalUS    int64 `json:"total_us"`
}

// copySample is one cycle's rows written with COPY into staging tables.
type copySample struct {
	CycleID    int64 `json:"cycle_id"`
	Rows       int   `json:"rows"`
	US         int64 `json:"us"`
	RoundTrips int64 `json:"round_trips"`
	// OursUS is the Runner's write+commit of the same cycle.
	OursUS int64 `json:"ours_us"`
}

// oldSample is one cycle written one statement per row, autocommit.
type oldSample struct {
	CycleID    int64 `json:"cycle_id"`
	Rows       int   `json:"rows"`
	Statements int64 `json:"statements"`
	US         int64 `json:"us"`
	OursUS     int64 `json:"ours_us"`
}

// checkpoint is the long run's memory after a number of cycles.
type checkpoint struct {
	Cycle int   `json:"cycle"`
	RSSKB int64 `json:"rss_kb"`
	// RSSAfterGCKB is read right after a forced collection that returns free memory to the OS: what the
	// process holds, wherever its GC cycle was at the raw reading.
	RSSAfterGCKB int64 `json:"rss_after_gc_kb"`
	HeapLiveKB   int64 `json:"heap_live_kb"`
	// P50TotalUS is the median cycle time of the cycles since the previous checkpoint.
	P50TotalUS int64 `json:"p50_total_us"`
}

// result is what a scenario measured.
type result struct {
	Spec      spec          `json:"spec"`
	DBVersion string        `json:"db_version"`
	Elapsed   time.Duration `json:"elapsed"`
	Samples   []cycleSample `json:"samples"`
	// CheckpointUS are the SQLite log checkpoints run after measured cycles' publishes (none on PostgreSQL).
	CheckpointUS []int64 `json:"checkpoint_us,omitempty"`
	// SnapshotBytes is the size of the last snapshot's JSON, TransceiversBytes of its transceivers file (0
	// without).
	SnapshotBytes     int `json:"snapshot_bytes"`
	TransceiversBytes int `json:"transceivers_bytes,omitempty"`

	// MaxInUse is the highest pool InUse sampled during Run, PoolSamples how many samples were taken.
	MaxInUse    int `json:"max_in_use"`
	PoolSamples int `json:"pool_samples"`
	// WireConns is the number of physical connections that carried traffic during Run (-1: not measured),
	// WireOpened the number opened during Run.
	WireConns  int   `json:"wire_conns"`
	WireOpened int64 `json:"wire_opened"`
	// MaxInUseBetween is the highest pool InUse when a cycle was published, after its commit.
	MaxInUseBetween int           `json:"max_in_use_between"`
	Waits           int64         `json:"waits"`
	WaitDuration    time.Duration `json:"wait_duration"`
	InUseIdle       int           `json:"in_use_idle"`
	OpenIdle        int           `json:"open_idle"`
	// WireLatency is, per kind of request, the wire latency over the measured cycles (PostgreSQL with the relay).
	WireLatency []wireLatency `json:"wire_latency,omitempty"`

	AllocObjectsPerCycle float64 `json:"alloc_objects_per_cycle"`
	AllocBytesPerCycle   float64 `json:"alloc_bytes_per_cycle"`
	PeakRSSKB            int64   `json:"peak_rss_kb"`
	RSSAfterKB           int64   `json:"rss_after_kb"`

	Copy        []copySample `json:"copy,omitempty"`
	Old         []oldSample  `json:"old,omitempty"`
	Values      []oldSample  `json:"values,omitempty"`
	Checkpoints []checkpoint `json:"checkpoints,omitempty"`
}

// env is what every scenario of a process shares.
type env struct {
	sectors *ingest.AirspaceSectors
	log     *slog.Logger
}

func newEnv(vatspyDir string, log *slog.Logger) (*env, error) {
	set, err := airspace.LoadVATSpy(vatspyDir)
	if err != nil {
		return nil, fmt.Errorf("load VATSpy from %s (set --vatspy): %w", vatspyDir, err)
	}
	a, err := airspace.New(set)
	if err != nil {
		return nil, err
	}
	return &env{sectors: ingest.NewAirspaceSectors(a), log: log}, nil
}

// scenarioFuncs maps each kind to the function that runs it.
func scenarioFuncs() map[string]func(context.Context, *env, spec) (*result, error) {
	return map[string]func(context.Context, *env, spec) (*result, error){
		kindIngest: runIngestScenario,
		kindLong:   runLongScenario,
	}
}

func runScenario(ctx context.Context, e *env, sp spec) (*result, error) {
	fn, ok := scenarioFuncs()[sp.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown scenario kind %q", sp.Kind)
	}
	start := time.Now()
	res, err := fn(ctx, e, sp)
	if res != nil {
		res.Elapsed = time.Since(start)
	}
	return res, err
}

func runIngestScenario(ctx context.Context, e *env, sp spec) (*result, error) {
	return withDatabase(ctx, e, sp, func(st *session) (*result, error) {
		res, err := st.ingest(ctx, nil)
		if err != nil {
			return nil, err
		}
		if sp.OldCycles > 0 || sp.ValuesCycles > 0 || (sp.Copy && sp.Dialect == migrations.Postgres) {
			if err := st.compare(ctx, res); err != nil {
				return nil, fmt.Errorf("comparisons: %w", err)
			}
		}
		return res, nil
	})
}

// runLongScenario ingests many cycles and reads the resident set every CheckpointEvery cycles: the tracked
// state is bounded (departed flights are forgotten after an hour of feed time), so memory must level off.
func runLongScenario(ctx context.Context, e *env, sp spec) (*result, error) {
	return withDatabase(ctx, e, sp, func(st *session) (*result, error) {
		var cps []checkpoint
		last := 0
		onCycle := func(n int, samples []cycleSample) {
			if sp.CheckpointEvery <= 0 || n%sp.CheckpointEvery != 0 {
				return
			}
			ps, err := readProcStatus()
			if err != nil {
				e.log.Warn("read /proc/self/status", "err", err)
			}
			debug.FreeOSMemory()
			afterGC, err := readProcStatus()
			if err != nil {
				e.log.Warn("read /proc/self/status", "err", err)
			}
			totals := make([]int64, 0, len(samples)-last)
			for _, s := range samples[last:] {
				totals = append(totals, s.TotalUS)
			}
			last = len(samples)
			cps = append(cps, checkpoint{
				Cycle: n, RSSKB: ps.RSSKB, RSSAfterGCKB: afterGC.RSSKB, HeapLiveKB: int64(st.allocs.read().HeapLive / 1024),
				P50TotalUS: percentile(totals, 50),
			})
			e.log.Info("long run", "cycle", n, "rss_mb", ps.RSSKB/1024, "rss_after_gc_mb", afterGC.RSSKB/1024)
		}
		res, err := st.ingest(ctx, onCycle)
		if err != nil {
			return nil, err
		}
		res.Checkpoints = cps
		return res, nil
	})
}

// session is one scenario's database, store and counters.
type session struct {
	env    *env
	spec   spec
	db     *database
	store  *repository.Store
	wire   *wireCounter // nil when not counting (SQLite, or --wire=false)
	allocs *allocCounter
	// wireURL is the database's URL through the wire counter ("" without it).
	wireURL string
}

// withDatabase creates the scenario's database, opens the store (through the wire counter on PostgreSQL),
// runs fn and drops the database whatever happens.
func withDatabase(ctx context.Context, e *env, sp spec, fn func(*session) (*result, error)) (_ *result, err error) {
	db, err := createDatabase(ctx, sp.Dialect, sp.PGAdmin, sp.DBName)
	if err != nil {
		return nil, err
	}
	if !sp.Keep {
		defer func() {
			// The caller's context may be the one that expired; dropping must still happen.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if derr := db.drop(dctx); derr != nil {
				err = errors.Join(err, fmt.Errorf("drop database: %w", derr))
			}
		}()
	}
	st := &session{env: e, spec: sp, db: db, allocs: newAllocCounter()}
	if sp.Dialect == migrations.Postgres && sp.Wire {
		target, err := hostOf(db.url)
		if err != nil {
			return nil, err
		}
		if st.wire, err = startWireCounter(target); err != nil {
			return nil, err
		}
		defer st.wire.close()
		if st.wireURL, err = withHost(db.url, st.wire.addr()); err != nil {
			return nil, err
		}
	}
	if st.store, err = openStore(ctx, db, st.wireURL, sp.PGSchemaSQL); err != nil {
		return nil, err
	}
	defer func() {
		if cerr := st.store.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	return fn(st)
}

// ingest runs the simulated feed through the real Runner and measures it. onCycle, if set, is called after each
// published cycle with the number of cycles so far and the measured samples.
func (st *session) ingest(ctx context.Context, onCycle func(n int, samples []cycleSample)) (*result, error) {
	sp := st.spec
	res := &result{Spec: sp, WireConns: -1}
	var err error
	if res.DBVersion, err = dbVersion(ctx, st.store); err != nil {
		return nil, err
	}
	src := &measuredSource{inner: sim.New(simConfig(sp)), allocs: st.allocs}
	var source feed.Source = src
	if sp.Transceivers {
		source = radioSource{src}
	}
	rec := &recorder{
		warmup: sp.Warmup, store: st.store, wire: st.wire, allocs: st.allocs, src: src, onCycle: onCycle,
		samples: make([]cycleSample, 0, sp.Cycles),
	}
	runner, err := ingest.NewRunner(ingest.Config{
		Source: source, Store: st.store, Sectors: st.env.sectors.Current, Publisher: rec,
		// A shared machine can stall a cycle; a timed-out write would be retried and spoil the run, so the
		// bound is generous. Failures are still checked below.
		WriteTimeout: 5 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	rec.status = runner.Status

	// Start from a collected heap returned to the system, so the garbage of loading the airspace (or of a
	// previous in-process scenario) is neither in the peak resident set nor in the next collection's work.
	runtime.GC()
	debug.FreeOSMemory()
	if err := resetPeakRSS(); err != nil {
		st.env.log.Warn("cannot reset the peak resident set: it includes loading the airspace", "err", err)
	}
	before := st.store.IngestPoolStats()
	if st.wire != nil {
		st.wire.mark()
		st.wire.resetLatencies()
		rec.lastRT = st.wire.RoundTrips()
	}
	opened := int64(0)
	if st.wire != nil {
		opened = st.wire.Accepted()
	}
	if sp.Warmup == 0 {
		rec.start = st.allocs.read()
	}
	stopProfile, err := startCPUProfile(sp.CPUProfile)
	if err != nil {
		return nil, err
	}
	sampler := startPoolSampler(ctx, st.store.IngestSQL(), sp.SampleEvery)
	st.env.log.Info("ingest", "scenario", sp.Name, "pilots", sp.Pilots, "cycles", sp.Warmup+sp.Cycles)
	runErr := runner.Run(ctx)
	res.MaxInUse, res.PoolSamples = sampler.finish()
	stopProfile()
	after := st.store.IngestPoolStats()
	ps, psErr := readProcStatus()
	if runErr != nil {
		return nil, fmt.Errorf("run: %w", runErr)
	}
	if psErr != nil {
		st.env.log.Warn("no /proc/self/status: memory figures unavailable", "err", psErr)
		ps = procStatus{RSSKB: -1, PeakKB: -1}
	}
	status := runner.Status()
	if status.Totals.Failures > 0 || status.Totals.Cycles != int64(sp.Warmup+sp.Cycles) || len(rec.samples) != sp.Cycles {
		return nil, fmt.Errorf("ingest incomplete: %d cycles committed of %d, %d failures (last error: %s)",
			status.Totals.Cycles, sp.Warmup+sp.Cycles, status.Totals.Failures, status.LastError)
	}
	if err := writeMemProfile(sp.MemProfile); err != nil {
		return nil, err
	}

	res.Samples = rec.samples
	if status.LastCheckpoint > 0 { // the last cycle's, which no later publish reported
		rec.checkpoints = append(rec.checkpoints, status.LastCheckpoint.Microseconds())
	}
	res.CheckpointUS = rec.checkpoints
	res.SnapshotBytes, res.TransceiversBytes = src.lastSize, src.lastTxSize
	res.MaxInUseBetween = rec.maxInUseBetween
	res.Waits, res.WaitDuration = after.WaitCount-before.WaitCount, after.WaitDuration-before.WaitDuration
	res.InUseIdle, res.OpenIdle = after.InUse, after.OpenConnections
	if st.wire != nil {
		res.WireConns = st.wire.usedSinceMark()
		res.WireOpened = st.wire.Accepted() - opened
		res.WireLatency = st.wire.latencies()
	}
	if n := len(rec.samples); n > 0 {
		d := rec.end.sub(rec.start)
		res.AllocObjectsPerCycle, res.AllocBytesPerCycle = float64(d.Objects)/float64(n), float64(d.Bytes)/float64(n)
	}
	res.PeakRSSKB, res.RSSAfterKB = ps.PeakKB, ps.RSSKB
	return res, nil
}

func simConfig(sp spec) sim.Config {
	return sim.Config{Seed: sp.Seed, Pilots: sp.Pilots, Cycles: sp.Warmup + sp.Cycles}
}

func dbVersion(ctx context.Context, s *repository.Store) (string, error) {
	q := "SELECT 'SQLite ' || sqlite_version()"
	if s.Dialect() == migrations.Postgres {
		q = "SELECT version()"
	}
	var v string
	if err := s.SQL().QueryRowContext(ctx, q).Scan(&v); err != nil {
		return "", fmt.Errorf("database version: %w", err)
	}
	return v, nil
}

// measuredSource is the simulator as the Runner's feed source. It keeps the simulator's own allocations (the
// JSON it generates stands for the HTTP body) out of the per-cycle figures, which cover decode to publish.
type measuredSource struct {
	inner      *sim.Simulator
	allocs     *allocCounter
	excluded   allocTotals
	lastSize   int
	lastTxSize int
}

func (s *measuredSource) Fetch(ctx context.Context) ([]byte, error) {
	before := s.allocs.read()
	data, err := s.inner.Fetch(ctx)
	s.excluded = s.excluded.add(s.allocs.read().sub(before))
	if err == nil {
		s.lastSize = len(data)
	}
	return data, err
}

func (s *measuredSource) String() string { return s.inner.String() }

// radioSource is measuredSource that also serves the simulator's transceivers file of each snapshot, the
// Runner's feed.TransceiverSource: the Runner decodes it and the tracker matches the radios. Generating the
// file is kept out of the allocation figures, as generating the snapshot is; decoding it is not.
type radioSource struct{ *measuredSource }

var _ feed.TransceiverSource = radioSource{}

func (s radioSource) FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error) {
	before := s.allocs.read()
	data, err := s.inner.FetchTransceivers(ctx, at)
	s.excluded = s.excluded.add(s.allocs.read().sub(before))
	if err == nil {
		s.lastTxSize = len(data)
	}
	return data, err
}

// recorder is the Runner's Publisher: it is called on the ingest goroutine right after each commit, which is
// where a cycle's wire round trips end and where "between cycles" is.
type recorder struct {
	warmup  int
	n       int
	store   *repository.Store
	wire    *wireCounter
	allocs  *allocCounter
	src     *measuredSource
	onCycle func(n int, samples []cycleSample)

	lastRT          int64
	samples         []cycleSample
	maxInUseBetween int
	start, end      allocTotals // allocation counters, the simulator's share removed
	// status is the Runner's; at a publish its LastCheckpoint is the checkpoint that followed the previous
	// cycle, collected into checkpoints for measured cycles (SQLite).
	status      func() ingest.Status
	checkpoints []int64
}

func (r *recorder) Publish(c *domain.Committed) {
	r.n++
	if r.n-1 > r.warmup {
		if d := r.status().LastCheckpoint; d > 0 {
			r.checkpoints = append(r.checkpoints, d.Microseconds())
		}
	}
	inUse := r.store.IngestPoolStats().InUse
	rt := int64(-1)
	if r.wire != nil {
		cur := r.wire.RoundTrips()
		rt, r.lastRT = cur-r.lastRT, cur
	}
	now := r.allocs.read().sub(r.src.excluded)
	if r.n <= r.warmup {
		r.start = now
		if r.n == r.warmup && r.wire != nil {
			r.wire.resetLatencies()
		}
		return
	}
	r.end = now
	r.maxInUseBetween = max(r.maxInUseBetween, inUse)
	cy := &c.Cycle
	r.samples = append(r.samples, cycleSample{
		ID: cy.ID, Pilots: cy.Pilots, Rows: rowsOfCycle(cy), Statements: cy.Statements, RoundTrips: rt,
		DecodeUS: cy.DecodeUS, ClassifyUS: cy.ClassifyUS, DiffUS: cy.DiffUS, WriteUS: cy.WriteUS,
		CommitUS: cy.CommitUS, TotalUS: cy.TotalUS,
	})
	if r.onCycle != nil {
		r.onCycle(r.n, r.samples)
	}
}

// rowsOfCycle is the number of rows a committed cycle wrote, its own record included.
func rowsOfCycle(c *domain.Cycle) int {
	return c.FlightsWritten + c.FlightPlansWritten + c.PositionsWritten + c.VisitsOpened + c.VisitsClosed +
		c.EventsWritten + c.ControllersWritten + 1
}

// rowsOfWrite is the same count from what a cycle is about to write.
func rowsOfWrite(w *domain.CycleWrite) int {
	return len(w.Flights) + len(w.FlightPlans) + len(w.Positions) + len(w.OpenedVisits) + len(w.ClosedVisits) +
		len(w.Events) + len(w.Controllers) + 1
}

// rowsOfRows is the same count from a cycle's rows.
func rowsOfRows(w *repository.CycleWrite) int {
	return len(w.Flights) + len(w.FlightPlans) + len(w.Positions) + len(w.OpenedVisits) + len(w.ClosedVisits) +
		len(w.Events) + len(w.Controllers) + 1
}

func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// writeMemProfile writes the allocation profile (alloc_space/alloc_objects since start, inuse after a GC).
func writeMemProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
