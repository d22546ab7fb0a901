// Command web measures the HTTP surface against native gRPC, in one run against one in-process service:
//
//  1. the same unary calls (GetIngestionStatus, GetSectorOccupancy of a busy VATSpy sector, a ListFlights page
//     of 100 flights) over native gRPC (HTTP/2 on the gRPC port), Connect JSON, Connect binary, gRPC-Web and REST
//     GET, the last four over HTTP/1.1, called one after the other, interleaved across protocols in rounds;
//  2. GET /v1/sectors:geojson of every VATSpy sector at a few tolerances: bytes (plain and gzip), the first
//     (uncached) request and cached ones;
//  3. WatchFlights with many subscribers in a process of their own (Connect JSON over HTTP/1.1, each its own
//     connection, as browsers' maps; Connect binary and native gRPC for comparison): per cycle, the time from the
//     publish to the last subscriber having the message, message sizes, the server process's CPU and heap.
//
// The service ingests --ingest-cycles snapshots of the simulator (--pilots) with the real VATSpy sectors through
// the real ingest.Runner, then stands still for the unary calls and the geometry; WatchFlights cycles are
// published by the bench through the hub the server was given (the last ingested cycle's flights, moved a little
// each cycle), so that the CPU per cycle is the fan-out's alone, not ingest's. It prints a Markdown section.
//
//	go run ./bench/web --pilots 3000 --calls 500 --subscribers 200 --cycles 20
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
	"github.com/vatsector/vatsector/sim"
)

type options struct {
	pilots, ingestCycles, calls, warmup, geomCalls int
	subscribers, cycles, warmupCycles              int
	tolerances                                     []float64
	modes                                          []string
	pause, cycleTimeout                            time.Duration
	dialect                                        migrations.Dialect
	pgAdmin, vatspy, cpuProfile                    string
	args                                           []string // the command line, for the report
}

// Child process flags (the subscribers), set by the parent.
type childOptions struct {
	base, grpcAddr, mode string
	subscribers          int
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o, child, err := parseFlags(os.Args[1:])
	if err == nil && child != nil {
		err = runChild(context.Background(), *child, os.Stdin, os.Stdout)
	} else if err == nil {
		var r *results
		r, err = run(context.Background(), o, log)
		if err == nil {
			report(os.Stdout, o, r)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "web bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, *childOptions, error) {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	o := options{args: args}
	fs.IntVar(&o.pilots, "pilots", 3000, "simulated pilots")
	fs.IntVar(&o.ingestCycles, "ingest-cycles", 5, "simulator snapshots ingested by the real Runner before measuring")
	fs.IntVar(&o.calls, "calls", 500, "measured calls of each unary RPC per protocol")
	fs.IntVar(&o.warmup, "warmup", 20, "unmeasured calls of each RPC per protocol first")
	fs.IntVar(&o.geomCalls, "geometry-calls", 30, "cached GeoJSON requests per tolerance and encoding")
	tolerances := fs.String("tolerances", "0,0.02,0.1", "GeoJSON tolerances (degrees), comma-separated")
	fs.IntVar(&o.subscribers, "subscribers", 200, "WatchFlights subscribers, each on its own connection")
	fs.IntVar(&o.cycles, "cycles", 20, "measured WatchFlights cycles per mode")
	fs.IntVar(&o.warmupCycles, "warmup-cycles", 2, "WatchFlights cycles published before measuring, per mode")
	modes := fs.String("modes", "connect-json,connect-proto,grpc", "WatchFlights subscriber protocols, each measured in turn: connect-json, connect-proto (both HTTP/1.1), grpc (native HTTP/2)")
	fs.DurationVar(&o.pause, "pause", 300*time.Millisecond, "pause after every subscriber has a cycle before the next publish")
	fs.DurationVar(&o.cycleTimeout, "cycle-timeout", 60*time.Second, "how long a cycle may take to reach every subscriber")
	db := fs.String("db", "postgres", "database: postgres or sqlite")
	fs.StringVar(&o.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL admin URL; a database is created and dropped")
	fs.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder; read, never copied")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the server's process during each mode's measured WatchFlights cycles to this file, the mode inserted before the extension")
	var child childOptions
	fs.StringVar(&child.base, "subscribers-of", "", "internal: run the WatchFlights subscribers against this HTTP base URL, driven over stdin/stdout")
	fs.StringVar(&child.grpcAddr, "grpc-addr", "", "internal: the gRPC address for --subscribers-of")
	fs.StringVar(&child.mode, "mode", "", "internal: the subscribers' protocol for --subscribers-of")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	if child.base != "" {
		child.subscribers = o.subscribers
		return o, &child, nil
	}
	switch d := migrations.Dialect(*db); d {
	case migrations.Postgres, migrations.SQLite:
		o.dialect = d
	default:
		return o, nil, fmt.Errorf("--db: unknown %q", *db)
	}
	for _, t := range strings.Split(*tolerances, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		v, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return o, nil, fmt.Errorf("--tolerances: %w", err)
		}
		o.tolerances = append(o.tolerances, v)
	}
	for _, m := range strings.Split(*modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case modeConnectJSON, modeConnectProto, modeGRPC:
			o.modes = append(o.modes, m)
		case "":
		default:
			return o, nil, fmt.Errorf("--modes: unknown %q", m)
		}
	}
	if o.pilots < 1 || o.ingestCycles < 1 || o.calls < 1 || o.geomCalls < 1 || o.subscribers < 1 || o.cycles < 1 {
		return o, nil, errors.New("--pilots, --ingest-cycles, --calls, --geometry-calls, --subscribers and --cycles must be positive")
	}
	return o, nil, nil
}

// results is everything one run measured.
type results struct {
	started, finished   time.Time
	loadBefore          string
	loadAfter           string
	dbVersion           string
	pilotsOnline        int
	sectors             int
	lastCycleID         int64
	unary               *unaryResults
	geometry            []geometryResult
	gzip                bool
	watch               []watchResult
	heapBeforeWatchLive uint64
}

// env is the service under test.
type env struct {
	store    *repository.Store
	hub      *hub.Hub
	api      *server.Server
	runner   *ingest.Runner
	grpcAddr string
	base     string // http://127.0.0.1:port
	sectors  int
}

func run(ctx context.Context, o options, log *slog.Logger) (*results, error) {
	r := &results{started: time.Now().UTC(), loadBefore: hostinfo.LoadAverage()}
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return nil, err
	}
	a, err := airspace.New(set)
	if err != nil {
		return nil, err
	}
	sectors := ingest.NewAirspaceSectors(a)
	r.sectors = len(set.Sectors)

	store, closeStore, version, err := openStore(ctx, o)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	r.dbVersion = version
	if _, err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	h := hub.New(hub.Config{MaxSubscribers: max(hub.DefaultMaxSubscribers, 2*o.subscribers)})
	runner, err := ingest.NewRunner(ingest.Config{Source: sim.New(sim.Config{Seed: 1, Pilots: o.pilots, Cycles: o.ingestCycles,
		// Feed times of now: the ingestion status is OK, not STALE (whose reason counts the seconds), so that
		// every answer of the standing service is the same.
		Start: time.Now().Add(-time.Duration(o.ingestCycles+1) * 15 * time.Second)}),
		Store: store, Sectors: sectors.Current, Logger: log, WriteTimeout: 5 * time.Minute, Publisher: h})
	if err != nil {
		return nil, err
	}
	api, err := server.New(server.Config{Store: store, Status: runner, Sectors: sectors, Hub: h, Logger: log,
		// An hour: the ingestion status stays OK (not STALE) while the service stands still for the calls.
		PollInterval: time.Hour,
		// Every client of the bench is on loopback, one address: the per-client bounds are lifted.
		ClientRequestRate: 1e9, ClientRequestBurst: 1e9, MaxStreamsPerClient: 4 * o.subscribers,
	})
	if err != nil {
		return nil, err
	}
	if err := api.Ready(ctx); err != nil {
		return nil, err
	}
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	served := make(chan error, 2)
	go func() { served <- api.Serve(glis) }()
	go func() { served <- api.ServeWeb(hlis, server.HTTPConfig{}) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = api.Shutdown(sctx)
		<-served
		<-served
	}()
	if err := runner.Run(ctx); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	e := &env{store: store, hub: h, api: api, runner: runner, grpcAddr: glis.Addr().String(),
		base: "http://" + hlis.Addr().String(), sectors: r.sectors}
	last := runner.Status().LastCommitted
	if last == nil {
		return nil, errors.New("ingest committed no cycle")
	}
	r.lastCycleID = last.ID
	if sub, err := h.Subscribe(); err == nil {
		if p := sub.Last(); p != nil {
			r.pilotsOnline = len(p.Flights)
		}
		h.Unsubscribe(sub)
	}

	// The geometry first: nothing else asks for it, so its first requests are the uncached ones.
	r.geometry, r.gzip, err = measureGeometry(ctx, e, o)
	if err != nil {
		return nil, fmt.Errorf("geometry: %w", err)
	}
	r.unary, err = measureUnary(ctx, e, o)
	if err != nil {
		return nil, fmt.Errorf("unary: %w", err)
	}
	r.watch, err = measureWatch(ctx, e, o)
	if err != nil {
		return nil, fmt.Errorf("WatchFlights: %w", err)
	}
	r.finished = time.Now().UTC()
	r.loadAfter = hostinfo.LoadAverage()
	return r, nil
}

func openStore(ctx context.Context, o options) (*repository.Store, func(), string, error) {
	if o.dialect == migrations.SQLite {
		dir, err := os.MkdirTemp("", "bench-web")
		if err != nil {
			return nil, nil, "", err
		}
		s, err := repository.Open(ctx, repository.Config{SQLitePath: filepath.Join(dir, "web.db")})
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, nil, "", err
		}
		var v string
		_ = s.SQL().QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v)
		return s, func() { _ = s.Close(); _ = os.RemoveAll(dir) }, "SQLite " + v + " (modernc, pure Go), file in the temp folder", nil
	}
	name := fmt.Sprintf("bench_web_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return nil, nil, "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close(ctx)
		return nil, nil, "", err
	}
	drop := func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(context.WithoutCancel(ctx))
	}
	var v string
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&v)
	s, err := repository.Open(ctx, repository.Config{DatabaseURL: strings.Replace(o.pgAdmin, "/test?", "/"+name+"?", 1)})
	if err != nil {
		drop()
		return nil, nil, "", err
	}
	return s, func() { _ = s.Close(); drop() }, "PostgreSQL " + v + ", same machine, over loopback TCP", nil
}

// cpuTime is the process's user and system CPU time so far (getrusage RUSAGE_SELF).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard drains and closes a body.
func discard(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
}
