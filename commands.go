package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// migrate applies (up, the default) or lists (status) migrations.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	action := "up"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		action, args = args[0], args[1:]
	}
	if action != "up" && action != "status" {
		return fmt.Errorf("migrate %q: want up or status", action)
	}
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	store, err := repository.Open(ctx, cfg.storeConfig(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if action == "up" {
		applied, err := store.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d migrations applied %v\n", store.Dialect(), len(applied), applied)
		return nil
	}
	st, err := store.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range st {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(stdout, "%05d  %-8s %s\n", m.Version, state, m.Name)
	}
	return nil
}

// record saves snapshots of a feed into a folder, one file per update_timestamp, for replay: polled from the
// live network or an HTTP mirror, or made by the simulator as fast as it can (--feed sim:N).
func record(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("vatsector record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "folder to save snapshots into (created if missing); required")
	feedURL := fs.String("feed", "live", "live, an http(s):// URL serving status.json or vatsim-data.json, or sim:N (simulated traffic with N pilots, written as fast as possible; needs --count)")
	every := fs.Duration("interval", 15*time.Second, "poll interval (live and http feeds)")
	count := fs.Int("count", 0, "stop after saving this many snapshots (0: until interrupted; sim:N needs one)")
	start := fs.String("start", "", "sim:N only: update_timestamp of the first snapshot, RFC 3339 (default 2024-03-01T18:00:00.1234567Z)")
	seed := fs.Int64("seed", 1, "sim:N only: the simulation's seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *dir == "" {
		return fmt.Errorf("record: --dir is required")
	}
	if *count < 0 {
		return fmt.Errorf("record: invalid --count %d", *count)
	}
	spec, err := parseFeed(*feedURL)
	if err != nil || (spec.Kind != "live" && spec.Kind != "http" && spec.Kind != "sim") {
		return fmt.Errorf("record: invalid --feed %q: want live, an http(s):// URL or sim:N", *feedURL)
	}
	if spec.Kind == "sim" {
		cfg := sim.Config{Seed: *seed, Pilots: spec.N}
		if *start != "" {
			if cfg.Start, err = time.Parse(time.RFC3339, *start); err != nil {
				return fmt.Errorf("record: invalid --start %q: want an RFC 3339 time such as 2024-03-01T18:00:00Z", *start)
			}
		}
		if *count == 0 {
			return fmt.Errorf("record: --feed sim:N needs --count (the simulation never ends)")
		}
		return sim.WriteSnapshots(*dir, cfg, *count)
	}
	for _, name := range []string{"start", "seed"} {
		if set[name] {
			return fmt.Errorf("record: --%s is for --feed sim:N only", name)
		}
	}
	cfg := &config{LogFormat: "text"}
	log := newLogger(cfg, stderr)
	src, err := feed.NewHTTPSource(spec.URL, feed.HTTPOptions{Logger: log})
	if err != nil {
		return err
	}
	return feed.Record(ctx, src, *dir, *every, *count, log)
}

// healthcheck asks a running service for its gRPC health, overall or of one service name; it exits non-zero
// unless SERVING.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vatsector healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:50051", "gRPC address of the service")
	timeout := fs.Duration("timeout", 3*time.Second, "deadline of the check")
	wait := fs.Bool("wait", false, "wait (up to --timeout) for the service to start and report SERVING, instead of checking once")
	service := fs.String("service", "", `health service name to ask about: "" for the whole server, or e.g. vatsector.v1.IngestService, NOT_SERVING while ingestion is wedged`)
	useTLS := fs.Bool("tls", false, "connect over TLS, trusting the system's certificate authorities (a service started with --tls-cert)")
	tlsCA := fs.String("tls-ca", "", "connect over TLS, trusting this PEM certificate (authority) file; for a self-signed --tls-cert, that file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds := insecure.NewCredentials()
	switch {
	case *tlsCA != "":
		c, err := credentials.NewClientTLSFromFile(*tlsCA, "")
		if err != nil {
			return fmt.Errorf("healthcheck: --tls-ca %s: %w", *tlsCA, err)
		}
		creds = c
	case *useTLS:
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := healthpb.NewHealthClient(conn)
	if *wait {
		// Watch streams every status change; WaitForReady rides out a server that is not listening yet.
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: *service}, grpc.WaitForReady(true))
		if err != nil {
			return fmt.Errorf("healthcheck %s: %w", *addr, err)
		}
		for {
			resp, err := stream.Recv()
			if err != nil {
				return fmt.Errorf("healthcheck %s: not serving within %v: %w", *addr, *timeout, err)
			}
			if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				fmt.Fprintln(stdout, resp.GetStatus())
				return nil
			}
		}
	}
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: *service})
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", *addr, err)
	}
	fmt.Fprintln(stdout, resp.GetStatus())
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("healthcheck %s: %s", *addr, resp.GetStatus())
	}
	return nil
}
