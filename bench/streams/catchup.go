package main

// --modes catchup: the API against ingest. After a stored history, 1,000 streams resume from sequence 0 over
// and over and a unary load runs, all in the clients' process, while the real ingest loop commits the measured
// cycles; the same runs without any client are the baseline. It measures the cycle, the unary calls, the
// streams, and the waits of both pools (ingest's own must never wait).
//
// The child's side of the protocol differs from the subscribers' (process.go):
//
//	parent: "<latest sequence>"   before the child starts: the stored history
//	child:  "ready"               every stream is opened and the unary load is running
//	parent: "<latest sequence>"   after each committed cycle (every 50 ms at most)
//	parent: "end"                 the measured cycles are committed: stop
//	child:  a JSON catchUpResult, then it exits

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/internal/mdsection"
	"github.com/vatsector/vatsector/internal/wirecodec"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
)

const modeCatchUp mode = "catchup"

// The unary RPCs of the load, called in turn by each client goroutine.
var unaryRPCs = []string{"GetSectorOccupancy", "ListFlights", "GetIngestionStatus"}

// catchUpResult is what the clients saw.
type catchUpResult struct {
	Streams int `json:"streams"`
	// Completed catch-ups: streams that received every event from sequence 1 up to the latest sequence
	// committed when they opened; CompletedEvents is what those received, CompletedMicros how long each took.
	Completed       int     `json:"completed"`
	CompletedEvents int64   `json:"completed_events"`
	CompletedMicros []int64 `json:"completed_micros"`
	// Failed counts the streams that ended with an error other than the client's own cancel, by code.
	Failed map[string]int `json:"failed"`
	// Disordered counts the catch-ups (completed or cut short at the end) that received an event out of
	// order, twice, or after a gap.
	Disordered int   `json:"disordered"`
	Events     int64 `json:"events"` // events received by every stream
	// Unary holds each RPC's latencies in µs (successful calls), UnaryErrors its failures by code.
	Unary       map[string][]int64        `json:"unary"`
	UnaryErrors map[string]map[string]int `json:"unary_errors"`
	// LoadMicros is how long the unary load ran, from its first call to the driver's end.
	LoadMicros int64 `json:"load_micros"`
}

// catchUpSample is what one run of the catch-up benchmark (or its baseline) measured on the server's side.
type catchUpSample struct {
	client *catchUpResult // nil without clients
	// Pool figures over the measured cycles: WaitCount and WaitDuration deltas.
	ingestWaits, readWaits       int64
	ingestWaitDur, readWaitDur   time.Duration
	readPoolMax, ingestPoolMax   int
	history                      int64 // stored events when the measured cycles began
	gaugeSamples                 int
	waitingSum, waitingMax       float64
	readingMax                   float64
	cyclesBusy, cyclesMeasured   int // measured cycles during which a catch-up read ran or waited
	lagged                       float64
	maxOpenStreams, streamsAtEnd int
}

// catchUpPhase runs the measured cycles of a catch-up run: m is "none" for the baseline.
func catchUpPhase(ctx context.Context, o options, m mode, addr string, store *repository.Store, mk *marker, g *gate,
	reg *prometheus.Registry, ingestDone chan error) (sample, error) {
	select {
	case <-g.reached:
	case err := <-ingestDone:
		return sample{}, fmt.Errorf("ingest ended early: %v", err)
	}
	cu := &catchUpSample{history: mk.latest.Load()}
	var fleet *subscriberProcess
	if m == modeCatchUp {
		var err error
		if fleet, err = startSubscribers(ctx, addr, o, m, strconv.FormatInt(cu.history, 10)); err != nil {
			return sample{}, err
		}
		defer fleet.kill()
		// Every stream is subscribed (the hub counts it) before the measured cycles start.
		deadline := time.Now().Add(2 * time.Minute)
		for mk.hub.Subscribers() < o.subscribers {
			if time.Now().After(deadline) {
				return sample{}, fmt.Errorf("only %d of %d streams subscribed after 2 minutes", mk.hub.Subscribers(), o.subscribers)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var feedErr error
	if fleet != nil {
		// The latest sequence, for the clients to know when a catch-up is complete.
		wg.Go(func() {
			sent := cu.history
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				if l := mk.latest.Load(); l != sent {
					if _, err := fmt.Fprintf(fleet.stdin, "%d\n", l); err != nil {
						feedErr = err
						return
					}
					sent = l
				}
			}
		})
	}
	first := int64(o.history + o.warmup + o.cycles)
	busy := map[int64]bool{}
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			// Taken while count == c, a sample falls in cycle c+1: between the publish of cycle c and of c+1.
			c := mk.count.Load()
			waiting, reading := gauge(reg, "vatsector_api_catchup_waiting"), gauge(reg, "vatsector_api_catchup_reading")
			if c < first || c >= first+int64(o.cycles) {
				continue
			}
			cu.gaugeSamples++
			cu.waitingSum += waiting
			cu.waitingMax, cu.readingMax = max(cu.waitingMax, waiting), max(cu.readingMax, reading)
			if waiting+reading > 0 {
				busy[c] = true
			}
			cu.maxOpenStreams = max(cu.maxOpenStreams, mk.hub.Subscribers())
		}
	})

	ib, rb := store.IngestPoolStats(), store.PoolStats()
	mk.with.Store(true)
	close(g.release)
	err := <-ingestDone
	ia, ra := store.IngestPoolStats(), store.PoolStats()
	close(stop)
	wg.Wait()
	if err != nil {
		return sample{}, err
	}
	if feedErr != nil {
		return sample{}, fmt.Errorf("tell the clients the latest sequence: %w", feedErr)
	}
	cu.ingestWaits, cu.ingestWaitDur = ia.WaitCount-ib.WaitCount, ia.WaitDuration-ib.WaitDuration
	cu.readWaits, cu.readWaitDur = ra.WaitCount-rb.WaitCount, ra.WaitDuration-rb.WaitDuration
	cu.readPoolMax, cu.ingestPoolMax = ra.MaxOpenConnections, ia.MaxOpenConnections
	cu.cyclesBusy, cu.cyclesMeasured = len(busy), o.cycles
	cu.lagged = gauge(reg, "vatsector_api_stream_lagged_total")
	cu.streamsAtEnd = mk.hub.Subscribers()
	if fleet != nil {
		if cu.client, err = fleet.finishCatchUp(); err != nil {
			return sample{}, err
		}
	}
	s := sample{catchUp: cu}
	for _, c := range mk.marks {
		if c.measured {
			s.cycles = append(s.cycles, c.total)
			s.writes = append(s.writes, c.write)
		}
	}
	if len(s.cycles) != o.cycles {
		return sample{}, fmt.Errorf("%d cycles measured, want %d", len(s.cycles), o.cycles)
	}
	return s, nil
}

// gauge reads one gauge or counter of the registry; 0 when absent.
func gauge(reg *prometheus.Registry, name string) float64 {
	if reg == nil {
		return 0
	}
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	return 0
}

// finishCatchUp stops the clients and collects what they saw.
func (p *subscriberProcess) finishCatchUp() (*catchUpResult, error) {
	if _, err := fmt.Fprintln(p.stdin, "end"); err != nil {
		return nil, err
	}
	var r catchUpResult
	if err := json.NewDecoder(p.stdout).Decode(&r); err != nil {
		return nil, fmt.Errorf("catch-up client results: %w", err)
	}
	_ = p.stdin.Close()
	return &r, p.cmd.Wait()
}

// runCatchUpProcess is the clients' side; m selects the unary mix (unaryCalls).
func runCatchUpProcess(ctx context.Context, addr string, o options, m mode, in io.Reader, out io.Writer) error {
	lines := bufio.NewReader(in)
	var latest atomic.Int64
	readSeq := func() (string, error) {
		line, err := lines.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "end" {
			return line, nil
		}
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return "", fmt.Errorf("latest sequence %q: %w", line, err)
		}
		latest.Store(n)
		return line, nil
	}
	if _, err := readSeq(); err != nil {
		return err
	}
	dial := func() (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(server.DefaultMaxSendMsgSize)))
	}
	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	// The unary load has connections of its own, 8 goroutines each.
	var unaryConns []*grpc.ClientConn
	for range (o.unary + 7) / 8 {
		c, err := dial()
		if err != nil {
			return err
		}
		conns, unaryConns = append(conns, c), append(unaryConns, c)
	}
	var sectors []*vatsectorv1.Sector
	if len(unaryConns) > 0 {
		var err error
		if sectors, err = busiestSectors(ctx, unaryConns[0], 16); err != nil {
			return err
		}
	}
	rpcs := unaryRPCs
	if m == modeScale {
		rpcs = scaleRPCs
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	streams := make([]*catchUpStream, o.subscribers)
	var streamConn *grpc.ClientConn
	for i := range streams {
		if i%o.perConn == 0 {
			var err error
			if streamConn, err = dial(); err != nil {
				return err
			}
			conns = append(conns, streamConn)
		}
		st := &catchUpStream{conn: streamConn, latest: &latest, fields: newWireFields(), failed: map[string]int{}}
		streams[i] = st
		wg.Go(func() { st.loop(ctx) })
	}
	workers := make([]*unaryWorker, o.unary)
	for i := range workers {
		w := &unaryWorker{id: i, calls: unaryCalls(m, unaryConns[i/8], sectors, o.feedTime), lat: make([][]int64, len(rpcs)),
			errs: make([]map[string]int, len(rpcs))}
		workers[i] = w
		wg.Go(func() { w.loop(ctx) })
	}
	loadStarted := time.Now()
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	for {
		line, err := readSeq()
		if err != nil {
			return fmt.Errorf("read from the driver: %w", err)
		}
		if line == "end" {
			break
		}
	}
	cancel()
	loadMicros := time.Since(loadStarted).Microseconds()
	wg.Wait()

	r := catchUpResult{Streams: len(streams), Failed: map[string]int{}, Unary: map[string][]int64{},
		UnaryErrors: map[string]map[string]int{}, LoadMicros: loadMicros}
	for _, st := range streams {
		r.Completed += st.completed
		r.CompletedEvents += st.completedEvents
		r.CompletedMicros = append(r.CompletedMicros, st.completedMicros...)
		r.Disordered += st.disordered
		r.Events += st.events
		for code, n := range st.failed {
			r.Failed[code] += n
		}
	}
	for _, w := range workers {
		for k, name := range rpcs {
			r.Unary[name] = append(r.Unary[name], w.lat[k]...)
			for code, n := range w.errs[k] {
				if r.UnaryErrors[name] == nil {
					r.UnaryErrors[name] = map[string]int{}
				}
				r.UnaryErrors[name][code] += n
			}
		}
	}
	return json.NewEncoder(out).Encode(r)
}

// busiestSectors lists the sectors and picks the n with the most flights, for GetSectorOccupancy.
func busiestSectors(ctx context.Context, conn *grpc.ClientConn, n int) ([]*vatsectorv1.Sector, error) {
	resp, err := vatsectorv1.NewSectorServiceClient(conn).ListSectors(ctx, &vatsectorv1.ListSectorsRequest{PageSize: 1000})
	if err != nil {
		return nil, fmt.Errorf("list sectors: %w", err)
	}
	ss := resp.GetSectors()
	if len(ss) == 0 {
		return nil, errors.New("list sectors: none")
	}
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].GetFlightCount() > ss[j].GetFlightCount() })
	return ss[:min(n, len(ss))], nil
}

// catchUpStream resumes from sequence 0, receives every stored event, and once it reached the latest
// sequence committed when it opened, cancels and resumes from 0 again.
type catchUpStream struct {
	conn   *grpc.ClientConn
	latest *atomic.Int64
	fields wireFields
	// Written by loop only, read once it returned.
	completed, disordered int
	completedEvents       int64
	completedMicros       []int64
	events                int64
	failed                map[string]int
}

func (st *catchUpStream) loop(ctx context.Context) {
	zero := int64(0)
	req := &vatsectorv1.WatchSectorEventsRequest{AfterSequence: &zero, BatchEvents: true}
	desc := &grpc.StreamDesc{StreamName: "WatchSectorEvents", ServerStreams: true}
	for ctx.Err() == nil {
		if err := st.catchUp(ctx, desc, req); err != nil {
			st.failed[status.Code(err).String()]++
			// A refusal or an outage would otherwise spin.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// catchUp runs one catch-up; it returns an error only when the stream failed (not when ctx ended).
func (st *catchUpStream) catchUp(ctx context.Context, desc *grpc.StreamDesc, req *vatsectorv1.WatchSectorEventsRequest) error {
	target := st.latest.Load()
	started := time.Now()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := st.conn.NewStream(sctx, desc, vatsectorv1.SectorService_WatchSectorEvents_FullMethodName, grpc.ForceCodecV2(wirecodec.Codec{}))
	if err == nil {
		err = cs.SendMsg(req)
	}
	if err == nil {
		err = cs.CloseSend()
	}
	next, ordered := int64(1), true
	for err == nil {
		var msg []byte
		if err = cs.RecvMsg(&msg); err != nil {
			break
		}
		err = st.fields.eachSequence(msg, func(seq int64) {
			if seq != next {
				ordered = false
			}
			next = seq + 1
			st.events++
		})
		if err == nil && next-1 >= target {
			if !ordered {
				st.disordered++
			} else {
				st.completed++
				st.completedEvents += next - 1
				st.completedMicros = append(st.completedMicros, time.Since(started).Microseconds())
			}
			return nil
		}
	}
	if !ordered {
		st.disordered++
	}
	if ctx.Err() != nil {
		return nil // the client's own cancel, at the end
	}
	return err
}

// unaryWorker calls the unary RPCs in turn with no pause.
type unaryWorker struct {
	id    int
	calls []unaryCall
	lat   [][]int64 // µs, per RPC
	errs  []map[string]int
}

// unaryCall is one RPC of the load; i counts the worker's calls, to vary the arguments.
type unaryCall func(ctx context.Context, i int) error

// The scale benchmark's mix (--modes scale): what a sector page shows, its traffic over the last day, hour
// by hour, from StatsService.
var scaleRPCs = []string{"GetSectorOccupancy", "ListFlights", "GetSectorTraffic"}

// unaryCalls are the calls of unaryRPCs (catchup) or scaleRPCs (scale), in that order, on conn. sectors are the
// busiest, each call taking the next; feedTime is the last committed cycle's, where the traffic range ends.
func unaryCalls(m mode, conn *grpc.ClientConn, sectors []*vatsectorv1.Sector, feedTime time.Time) []unaryCall {
	sc := vatsectorv1.NewSectorServiceClient(conn)
	fc := vatsectorv1.NewFlightServiceClient(conn)
	ic := vatsectorv1.NewIngestServiceClient(conn)
	st := vatsectorv1.NewStatsServiceClient(conn)
	sector := func(i int) *vatsectorv1.Sector { return sectors[i%len(sectors)] }
	if m != modeScale {
		return []unaryCall{
			func(ctx context.Context, i int) error {
				_, err := sc.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{SectorId: sector(i).GetId()})
				return err
			},
			func(ctx context.Context, i int) error {
				_, err := fc.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 100})
				return err
			},
			func(ctx context.Context, i int) error {
				_, err := ic.GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{})
				return err
			},
		}
	}
	day := &vatsectorv1.TimeRange{Start: timestamppb.New(feedTime.Add(-24 * time.Hour)), End: timestamppb.New(feedTime)}
	return []unaryCall{
		func(ctx context.Context, i int) error {
			_, err := sc.GetSectorOccupancy(ctx, &vatsectorv1.GetSectorOccupancyRequest{Name: sector(i).GetResourceName()})
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := fc.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{SectorId: sector(i).GetResourceName(), PageSize: 100})
			return err
		},
		func(ctx context.Context, i int) error {
			_, err := st.GetSectorTraffic(ctx, &vatsectorv1.GetSectorTrafficRequest{Name: sector(i).GetResourceName(), Range: day,
				Bucket: vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR})
			return err
		},
	}
}

func (w *unaryWorker) loop(ctx context.Context) {
	for i := 0; ; i++ {
		k := (w.id + i) % len(w.calls)
		t := time.Now()
		err := w.calls[k](ctx, w.id+i)
		d := time.Since(t)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if w.errs[k] == nil {
				w.errs[k] = map[string]int{}
			}
			w.errs[k][status.Code(err).String()]++
			continue
		}
		w.lat[k] = append(w.lat[k], d.Microseconds())
	}
}

func micros(us []int64) []time.Duration {
	d := make([]time.Duration, len(us))
	for i, v := range us {
		d[i] = time.Duration(v) * time.Microsecond
	}
	return d
}

func change(with, without time.Duration) float64 {
	return float64(with-without) / float64(max(without, 1)) * 100
}

// reportCatchUp writes the catch-up section between its markers.
func reportCatchUp(ctx context.Context, o options, base, load []sample, started time.Time, loadBefore string) error {
	pool := func(ss []sample, f func(sample) []time.Duration) []time.Duration {
		var d []time.Duration
		for _, s := range ss {
			d = append(d, f(s)...)
		}
		return d
	}
	cycles := func(s sample) []time.Duration { return s.cycles }
	writes := func(s sample) []time.Duration { return s.writes }
	bc, lc := pool(base, cycles), pool(load, cycles)
	bw, lw := pool(base, writes), pool(load, writes)

	var agg catchUpResult
	agg.Failed, agg.Unary, agg.UnaryErrors = map[string]int{}, map[string][]int64{}, map[string]map[string]int{}
	var lcu, bcu catchUpSample
	var history int64
	sum := func(dst *catchUpSample, s *catchUpSample) {
		dst.ingestWaits += s.ingestWaits
		dst.ingestWaitDur += s.ingestWaitDur
		dst.readWaits += s.readWaits
		dst.readWaitDur += s.readWaitDur
		dst.readPoolMax, dst.ingestPoolMax = s.readPoolMax, s.ingestPoolMax
		dst.gaugeSamples += s.gaugeSamples
		dst.waitingSum += s.waitingSum
		dst.waitingMax = max(dst.waitingMax, s.waitingMax)
		dst.readingMax = max(dst.readingMax, s.readingMax)
		dst.cyclesBusy += s.cyclesBusy
		dst.cyclesMeasured += s.cyclesMeasured
		dst.lagged += s.lagged
		dst.maxOpenStreams = max(dst.maxOpenStreams, s.maxOpenStreams)
	}
	for _, s := range base {
		sum(&bcu, s.catchUp)
	}
	for _, s := range load {
		sum(&lcu, s.catchUp)
		history += s.catchUp.history
		c := s.catchUp.client
		agg.Streams = c.Streams
		agg.Completed += c.Completed
		agg.CompletedEvents += c.CompletedEvents
		agg.CompletedMicros = append(agg.CompletedMicros, c.CompletedMicros...)
		agg.Disordered += c.Disordered
		agg.Events += c.Events
		for k, n := range c.Failed {
			agg.Failed[k] += n
		}
		for name, l := range c.Unary {
			agg.Unary[name] = append(agg.Unary[name], l...)
		}
		for name, m := range c.UnaryErrors {
			if agg.UnaryErrors[name] == nil {
				agg.UnaryErrors[name] = map[string]int{}
			}
			for k, n := range m {
				agg.UnaryErrors[name][k] += n
			}
		}
	}
	failed := 0
	for _, n := range agg.Failed {
		failed += n
	}
	pgVersion := "unknown"
	if c, err := pgx.Connect(ctx, o.pgAdmin); err == nil {
		_ = c.QueryRow(ctx, "SELECT version()").Scan(&pgVersion)
		_ = c.Close(ctx)
	}
	measuredSeconds := float64(len(load)) * float64(o.cycles) * o.interval.Seconds()

	var b bytes.Buffer
	fmt.Fprintf(&b, "\n- Command: `go run ./bench/streams --modes catchup --pilots %d --subscribers %d --unary %d --history %d --warmup %d --cycles %d --rounds %d --out BENCHMARKS.md`\n",
		o.pilots, o.subscribers, o.unary, o.history, o.warmup, o.cycles, o.rounds)
	fmt.Fprintf(&b, "- Date: %s → %s (UTC)\n", started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (`nproc`), %s, %s RAM, Linux %s; load average (1/5/15 min) before: %s, after: %s — the machine is shared with other work\n",
		runtime.NumCPU(), hostinfo.CPUModel(), hostinfo.MemTotal(), hostinfo.Kernel(), loadBefore, hostinfo.LoadAverage())
	fmt.Fprintf(&b, "- Go: %s; PostgreSQL: %s, same machine, over loopback TCP\n", runtime.Version(), pgVersion)
	fmt.Fprintf(&b, "- The service's defaults: read pool %d connections, ingest's own pool %d (`repository.IngestPoolSize`), %d catch-up reads at a time (`MaxConcurrentCatchUpReads`), replay pages of %d events; only the per-client bounds are lifted (every client is on loopback, one IP)\n",
		lcu.readPoolMax, lcu.ingestPoolMax, server.DefaultMaxConcurrentCatchUpReads, server.DefaultReplayPageSize)
	fmt.Fprintf(&b, "- Each run, on a fresh database, server and (with load) client process: `sim` seed 1 at %s pilots through the real `ingest.Runner`; %d cycles with no pause store the history (%s events stored when the load starts, mean of the runs), %d warm-up cycles and %d measured cycles follow, one every %v\n",
		thousands(int64(o.pilots)), o.history, thousands(history/int64(max(len(load), 1))), o.warmup, o.cycles, o.interval)
	fmt.Fprintf(&b, "- Load, from a process of its own: %s `WatchSectorEvents` streams (`batch_events`, %d per connection), each with `after_sequence` 0; a stream that has received every event up to the latest sequence committed when it opened has caught up: it cancels and resumes from 0 again, so catch-up reads are queued throughout the measured cycles. %d client goroutines (8 per connection) call `GetSectorOccupancy` (one of the 16 busiest sectors, default page), `ListFlights` (page of 100) and `GetIngestionStatus` in turn, with no pause. The load starts once every stream is subscribed, before the measured cycles\n",
		thousands(int64(o.subscribers)), o.perConn, o.unary)
	fmt.Fprintf(&b, "- Without load: the same runs with no client at all. %d rounds of the runs without and with load, interleaved, pooled. p50/p99 are nearest rank (with fewer than 100 cycles p99 is the slowest one); cycle times are the Runner's own records (`ingest_cycles`)\n\n", o.rounds)

	fmt.Fprintf(&b, "| cycle at %s pilots | cycles measured | total p50 | total p99 | write p50 | write p99 |\n|---|--:|--:|--:|--:|--:|\n", thousands(int64(o.pilots)))
	fmt.Fprintf(&b, "| without load | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", len(bc), ms(percentile(bc, .5)), ms(percentile(bc, .99)), ms(percentile(bw, .5)), ms(percentile(bw, .99)))
	fmt.Fprintf(&b, "| with %s catch-up streams and %d unary clients | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", thousands(int64(o.subscribers)), o.unary, len(lc), ms(percentile(lc, .5)), ms(percentile(lc, .99)), ms(percentile(lw, .5)), ms(percentile(lw, .99)))
	fmt.Fprintf(&b, "| change | | %+.0f%% | %+.0f%% | %+.0f%% | %+.0f%% |\n\n",
		change(percentile(lc, .5), percentile(bc, .5)), change(percentile(lc, .99), percentile(bc, .99)),
		change(percentile(lw, .5), percentile(bw, .5)), change(percentile(lw, .99), percentile(bw, .99)))

	fmt.Fprintf(&b, "| unary RPC under load | calls | calls a second | errors | p50 | p99 |\n|---|--:|--:|--:|--:|--:|\n")
	unaryErrors := 0
	for _, name := range unaryRPCs {
		l := micros(agg.Unary[name])
		errs := 0
		var codes []string
		for k, n := range agg.UnaryErrors[name] {
			errs += n
			codes = append(codes, fmt.Sprintf("%s %d", k, n))
		}
		unaryErrors += errs
		slices.Sort(codes)
		e := strconv.Itoa(errs)
		if errs > 0 {
			e += " (" + strings.Join(codes, ", ") + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %.0f | %s | %.1f ms | %.1f ms |\n", name, thousands(int64(len(l))), float64(len(l))/measuredSeconds, e,
			ms(percentile(l, .5)), ms(percentile(l, .99)))
	}
	cuTimes := micros(agg.CompletedMicros)
	failedText := strconv.Itoa(failed)
	if failed > 0 {
		var codes []string
		for k, n := range agg.Failed {
			codes = append(codes, fmt.Sprintf("%s %d", k, n))
		}
		slices.Sort(codes)
		failedText += " (" + strings.Join(codes, ", ") + ")"
	}
	meanWaiting := func(c catchUpSample) float64 { return c.waitingSum / float64(max(c.gaugeSamples, 1)) }
	fmt.Fprintf(&b, "\n| streams and pools, over the measured cycles | without load | with load |\n|---|--:|--:|\n")
	fmt.Fprintf(&b, "| streams (most subscribed at once, sampled) | 0 | %d (%d) |\n", agg.Streams, lcu.maxOpenStreams)
	fmt.Fprintf(&b, "| catch-ups completed (events each, mean) | — | %s (%s) |\n", thousands(int64(agg.Completed)), thousands(agg.CompletedEvents/int64(max(agg.Completed, 1))))
	cuTime := "none completed"
	if len(cuTimes) > 0 {
		cuTime = fmt.Sprintf("%.0f / %.0f ms", ms(percentile(cuTimes, .5)), ms(percentile(cuTimes, .99)))
	}
	fmt.Fprintf(&b, "| catch-up time from opening to the last event, p50 / p99 | — | %s |\n", cuTime)
	fmt.Fprintf(&b, "| events received by the streams (a second, all streams) | — | %s (%s) |\n", thousands(agg.Events), thousands(int64(float64(agg.Events)/measuredSeconds)))
	fmt.Fprintf(&b, "| streams failed (an error other than the client's own cancel) | — | %s |\n", failedText)
	fmt.Fprintf(&b, "| catch-ups with an event out of order, repeated or missing | — | %d |\n", agg.Disordered)
	fmt.Fprintf(&b, "| streams whose live buffer the hub dropped while they replayed (lagged: they go on from their checkpoint, not a failure) | — | %s |\n", thousands(int64(lcu.lagged)))
	fmt.Fprintf(&b, "| ingest pool waits (WaitCount delta, WaitDuration delta) | %d, %v | %d, %v |\n", bcu.ingestWaits, bcu.ingestWaitDur, lcu.ingestWaits, lcu.ingestWaitDur)
	fmt.Fprintf(&b, "| read pool waits (WaitCount delta, WaitDuration delta) | %d, %v | %s, %v |\n", bcu.readWaits, bcu.readWaitDur.Round(time.Millisecond), thousands(lcu.readWaits), lcu.readWaitDur.Round(time.Millisecond))
	fmt.Fprintf(&b, "| catch-up reads waiting for a slot, mean / max (`vatsector_api_catchup_waiting`, every 20 ms) | %.0f / %.0f | %.0f / %.0f |\n", meanWaiting(bcu), bcu.waitingMax, meanWaiting(lcu), lcu.waitingMax)
	fmt.Fprintf(&b, "| catch-up reads running, max (`vatsector_api_catchup_reading`) | %.0f | %.0f |\n", bcu.readingMax, lcu.readingMax)
	fmt.Fprintf(&b, "| measured cycles during which a catch-up read ran or waited | %d of %d | %d of %d |\n\n", bcu.cyclesBusy, bcu.cyclesMeasured, lcu.cyclesBusy, lcu.cyclesMeasured)

	if agg.Completed == 0 && agg.Streams > 0 {
		fmt.Fprintf(&b, "No catch-up completed within the measured cycles: %s streams × %s stored events in pages of %d, %d reads at a time, is far more than the measured cycles could serve, so no stream reached its target and resumed from 0 again. The catch-up pressure throughout is those first catch-ups, queued for a read slot (the waiting gauge above).\n\n",
			thousands(int64(agg.Streams)), thousands(history/int64(max(len(load), 1))), server.DefaultReplayPageSize, server.DefaultMaxConcurrentCatchUpReads)
	}
	ch := change(percentile(lc, .5), percentile(bc, .5))
	fmt.Fprintf(&b, "- Cycle p50 with load within +10%% of without: %s (%+.0f%%)\n", verdict(ch <= 10), ch)
	fmt.Fprintf(&b, "- Ingest pool waits = 0: %s (%d with load, %d without)\n", verdict(lcu.ingestWaits == 0 && bcu.ingestWaits == 0), lcu.ingestWaits, bcu.ingestWaits)
	fmt.Fprintf(&b, "- No stream failed, every catch-up in order with no gap or repeat: %s (%d failed, %d disordered)\n", verdict(failed == 0 && agg.Disordered == 0), failed, agg.Disordered)
	fmt.Fprintf(&b, "- No unary call failed: %s (%d)\n", verdict(unaryErrors == 0), unaryErrors)
	fmt.Fprintf(&b, "- Catch-up reads in flight or queued during every measured cycle: %s (%d of %d)\n", verdict(lcu.cyclesBusy == lcu.cyclesMeasured), lcu.cyclesBusy, lcu.cyclesMeasured)
	return writeSection(o.out, "<!-- catchup:begin", "<!-- catchup:end -->", b.Bytes())
}

// writeSection replaces what is between the markers of out (stdout when out is empty).
func writeSection(out, begin, end string, section []byte) error {
	if out == "" {
		_, err := os.Stdout.Write(section)
		return err
	}
	return mdsection.Write(out, "", begin, end, string(section))
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func readProc(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
