package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
	"github.com/vatsector/vatsector/sim"
	"github.com/vatsector/vatsector/web"
)

// serve runs the service until ctx ends: migrate, load sectors, ingest, serve gRPC, HTTP and metrics. Shutdown
// drains: health NOT_SERVING, ingest finishes the cycle in flight, RPCs get ShutdownGrace to finish, the pool
// closes last.
func serve(ctx context.Context, cfg *config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	store, err := repository.Open(ctx, cfg.storeConfig(log))
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("database ready", "dialect", store.Dialect(), "migrations_applied", len(applied))
	reg.MustRegister(collectors.NewDBStatsCollector(store.SQL(), "vatsector"),
		collectors.NewDBStatsCollector(store.IngestSQL(), "vatsector_ingest"))
	if standby := store.ReplicaSQL(); standby != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(standby, "vatsector_read_standby"),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "vatsector_read_standby_lag_seconds",
				Help: "How long the read standby has lacked a cycle the primary committed, as last measured (0 when it has every one).",
			}, func() float64 { st, _ := store.ReplicaStatus(); return st.Lag.Seconds() }))
	}

	sectors, follow, err := loadSectors(ctx, cfg, log)
	if err != nil {
		return err
	}
	src, err := newSource(cfg, log)
	if err != nil {
		return err
	}
	events := hub.New(hub.Config{})
	runner, err := ingest.NewRunner(ingest.Config{
		Source: src, Store: store, Sectors: sectors.Current, Interval: cfg.Interval, Grace: cfg.Grace,
		WriteTimeout: cfg.WriteTimeout, Publisher: events, Logger: log, Registerer: reg,
		Instance: cfg.Instance, Lease: cfg.WriterLease, FutureTolerance: cfg.FutureTolerance,
		FollowInterval: cfg.FollowInterval,
		Backlog:        int((cfg.Backlog + ingest.FeedCadence - 1) / ingest.FeedCadence),
	})
	if err != nil {
		return err
	}
	api, err := server.New(server.Config{
		Store: store, Status: runner, Sectors: sectors, Hub: events, Logger: log, Registerer: reg,
		PollInterval: cfg.Interval, MaxStreamsPerClient: cfg.StreamsPerClient, ClientRequestRate: cfg.ClientRate,
		ClientRequestBurst: cfg.ClientBurst, MaxConcurrentCatchUpReads: cfg.CatchUpReads, TLS: cfg.TLS,
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	var httpLis net.Listener
	if cfg.HTTPListen != "" {
		if httpLis, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			_ = lis.Close()
			return fmt.Errorf("--http-listen %s: %w", cfg.HTTPListen, err)
		}
	}
	if err := api.Ready(ctx); err != nil {
		_ = lis.Close()
		if httpLis != nil {
			_ = httpLis.Close()
		}
		return err
	}
	log.Info("serving gRPC", "addr", lis.Addr().String(), "tls", cfg.TLS != nil)
	if httpLis != nil {
		log.Info("serving HTTP (Connect, gRPC-Web, REST, the map page)", "addr", httpLis.Addr().String(), "tls", cfg.TLS != nil)
	}

	// Ingest runs on a context of its own: a stop signal ends it only after the API stopped taking new work
	// (health NOT_SERVING), and it finishes the cycle in flight.
	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIngest()
	g, gctx := errgroup.WithContext(ctx)
	ingestDone := make(chan struct{})
	g.Go(func() error {
		defer close(ingestDone)
		return runner.Run(ingestCtx)
	})
	g.Go(func() error { follow(gctx); return nil })
	g.Go(func() error { store.MonitorReplica(gctx, repository.DefaultReplicaCheckEvery); return nil })
	hours := cfg.SectorHoursRetention
	if hours == 0 {
		hours = -1 // the flag's 0 keeps them forever; Retention's 0 takes its default
	}
	retention := ingest.Retention{Store: store, Positions: cfg.PositionsRetention, Events: cfg.EventsRetention,
		SectorHours: hours, Logger: log,
		FeedNow: func() time.Time {
			if c := runner.Status().LastCommitted; c != nil {
				return c.UpdateTimestamp
			}
			return time.Time{}
		}}
	g.Go(func() error { retention.Run(gctx); return nil })
	g.Go(func() error { return api.Serve(lis) })
	if httpLis != nil {
		g.Go(func() error {
			return api.ServeWeb(httpLis, server.HTTPConfig{AllowedOrigins: cfg.CORSOrigins, Assets: webAssets()})
		})
	}
	var metricsSrv *http.Server
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		metricsSrv = &http.Server{Addr: cfg.MetricsListen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := metricsSrv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("--metrics-listen %s: %w", cfg.MetricsListen, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		// A finite source (replay) ending does not stop the service: it keeps serving what it ingested.
		<-gctx.Done()
		log.Info("shutting down", "wait", cfg.ShutdownWait)
		// Drain, then stop: NOT_SERVING first; then, for ShutdownWait, everything goes on as before, so that a
		// load balancer polling health sees NOT_SERVING and sends new clients elsewhere before anything is cut;
		// then ingest finishes its cycle in flight, streams end, RPCs get ShutdownGrace, and the pool closes
		// last (deferred above). A second signal ends the process at once (main).
		api.Drain()
		if cfg.ShutdownWait > 0 {
			t := time.NewTimer(cfg.ShutdownWait)
			<-t.C
		}
		stopIngest()
		<-ingestDone
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		if err := api.Shutdown(sctx); err != nil {
			log.Warn("shutdown", "err", err)
		}
		if metricsSrv != nil {
			_ = metricsSrv.Shutdown(sctx)
		}
		return nil
	})
	err = g.Wait()
	log.Info("stopped")
	return err
}

// loadSectors loads the configured sector sources and returns the loop that reloads them: on SIGHUP, when one
// of their files changes, and when the map-data endpoint names a new VATSpy release. A source with problems
// stops the start with all of them listed; the VATSpy download alone may be missing (first start without
// network): the service then starts without it and tries again every minute.
func loadSectors(ctx context.Context, cfg *config, log *slog.Logger) (*ingest.AirspaceSectors, func(context.Context), error) {
	srcs := &airspace.Sources{List: cfg.Sectors, Logger: log,
		MapData: &airspace.MapData{Endpoint: cfg.MapDataURL, CacheDir: filepath.Join(cfg.DataDir, "vatspy"), Logger: log}}
	a, err := srcs.Load(ctx)
	switch {
	case a == nil:
		return nil, nil, err
	case err != nil:
		log.Error("no VATSpy data yet; starting without it and retrying every minute", "err", err)
	}
	log.Info("sectors loaded", "sectors", a.Len(), "sets", airspace.SetSummary(a))
	sectors := ingest.NewAirspaceSectors(a)
	return sectors, func(ctx context.Context) {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		reload := make(chan struct{}, 1)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					select {
					case reload <- struct{}{}:
					default: // a reload is pending already
					}
				}
			}
		}()
		srcs.Follow(ctx, sectors, airspace.FollowOptions{Reload: reload, Refresh: cfg.SectorsRefresh})
	}, nil
}

// newSource builds the configured feed source.
func newSource(cfg *config, log *slog.Logger) (feed.Source, error) {
	switch cfg.Feed.Kind {
	case "replay":
		return feed.ReplaySource(cfg.Feed.Dir, feed.ReplayOptions{Logger: log})
	case "sim":
		// The simulation starts now so its snapshots are newer than anything already ingested, and follows the
		// wall clock: polled faster than every 15 s it repeats its snapshot, as the live feed does, instead of
		// running its feed time ahead of the clock (which ingest then refuses).
		return sim.New(sim.Config{Seed: 1, Pilots: cfg.Feed.N, Clock: time.Now}), nil
	default:
		return feed.NewHTTPSource(cfg.Feed.URL, cfg.httpOptions(log))
	}
}

// webAssets are the map page's built files; the web package embeds them.
func webAssets() fs.FS { return web.Assets() }
