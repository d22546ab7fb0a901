// Command sizing measures how much one PostgreSQL database holds and writes for the VATSIM feed: it ingests
// the deterministic simulator through the real ingest path (ingest.Runner and repository.Store, as the
// service does) into a fresh database, then reports rows per table per cycle and per day, bytes per row (heap
// and indexes), WAL per cycle, cycle time, and projections to a day, 48 hours, a year and the steady state at
// the default retentions:
//
//	go run ./bench/sizing --pilots 3000 --cycles 240 --out docs/sizing.md
//
// The figures go between the sizing markers of --out; the rest of the file (the prose) is left alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/hostinfo"
)

type options struct {
	pilots, cycles, warmup int
	bigPilots, bigCycles   int
	window                 int
	seed                   int64
	pgAdmin                string
	vatspy                 string
	realDir                string
	out                    string
	keep                   bool
	timeout                time.Duration
	dbPrefix               string
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("sizing", flag.ContinueOnError)
	o := &options{}
	fs.IntVar(&o.pilots, "pilots", 3000, "pilots the simulator keeps online")
	fs.IntVar(&o.cycles, "cycles", 240, "measured cycles (240 = one hour of feed at 15 s)")
	fs.IntVar(&o.warmup, "warmup", 5, "cycles ingested before measuring (the first inserts every flight); at least 1")
	fs.IntVar(&o.bigPilots, "big-pilots", 30000, "pilots of a second, short run (0 disables)")
	fs.IntVar(&o.bigCycles, "big-cycles", 20, "measured cycles of the second run")
	fs.IntVar(&o.window, "window", 0, "cycles per WAL window, the checkpoint interval the full-page image estimate assumes (0: the server's checkpoint_timeout ÷ 15 s)")
	fs.Int64Var(&o.seed, "seed", 1, "simulator seed")
	fs.StringVar(&o.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"PostgreSQL admin URL (a superuser: pg_walinspect): the measured databases are created and dropped through it")
	fs.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder (Boundaries.geojson, VATSpy.dat)")
	fs.StringVar(&o.realDir, "real", "../shared/data/feeds", "recorded feed snapshots to compare the simulator with (empty skips)")
	fs.StringVar(&o.out, "out", "", "Markdown file whose sizing section is replaced (empty prints only)")
	fs.BoolVar(&o.keep, "keep", false, "keep the measured databases")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.pilots <= 0 || o.cycles <= 0 || o.warmup < 1 || o.bigPilots < 0 || o.bigCycles < 0 || o.window < 0 {
		return nil, errors.New("--pilots and --cycles must be positive, --warmup at least 1, the others not negative")
	}
	o.dbPrefix = fmt.Sprintf("sizing_%d", os.Getpid())
	return o, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(os.Args[1:], os.Stdout, log); err != nil {
		log.Error("sizing failed", "err", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer, log *slog.Logger) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	m, err := describeMachine(ctx, o.pgAdmin)
	if err != nil {
		return err
	}
	m.Command = strings.TrimSpace("go run ./bench/sizing " + strings.Join(args, " "))
	if o.window == 0 {
		o.window = max(1, int(m.CheckpointTimeout/cyclePeriod))
	}
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return fmt.Errorf("load VATSpy from %s (set --vatspy): %w", o.vatspy, err)
	}
	a, err := airspace.New(set)
	if err != nil {
		return err
	}
	sectors := ingest.NewAirspaceSectors(a)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	rep := &report{Machine: m, Options: *o}
	base := scenario{Seed: o.seed, Warmup: o.warmup, Window: o.window, PGAdmin: o.pgAdmin, Keep: o.keep}
	sc := base
	sc.Name, sc.Pilots, sc.Cycles, sc.DBName = fmt.Sprintf("%d pilots", o.pilots), o.pilots, o.cycles, o.dbPrefix+"_main"
	if rep.Main, err = runScenario(ctx, sectors, sc, log, quiet); err != nil {
		return fmt.Errorf("%s: %w", sc.Name, err)
	}
	if o.bigPilots > 0 && o.bigCycles > 0 {
		sc := base
		sc.Name, sc.Pilots, sc.Cycles, sc.DBName = fmt.Sprintf("%d pilots", o.bigPilots), o.bigPilots, o.bigCycles, o.dbPrefix+"_big"
		sc.Warmup = min(o.warmup, 3)
		if rep.Big, err = runScenario(ctx, sectors, sc, log, quiet); err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
	}
	if o.realDir != "" {
		if _, err := os.Stat(o.realDir); err != nil {
			rep.RealSkipped = fmt.Sprintf("recorded snapshots not found at %s", o.realDir)
			log.Warn("comparison with the recorded feed skipped", "err", err)
		} else if rep.Real, err = compareReal(ctx, sectors, o.realDir, o, rep.Main, quiet); err != nil {
			return fmt.Errorf("comparison with the recorded feed: %w", err)
		}
	}
	m.Finished = time.Now().UTC()
	m.LoadAfter = hostinfo.LoadAverage()

	section := rep.render()
	if _, err := io.WriteString(stdout, section); err != nil {
		return err
	}
	if o.out != "" {
		return writeSection(o.out, section)
	}
	return nil
}

// machine describes where the figures come from.
type machine struct {
	Command            string
	Started, Finished  time.Time
	NProc              int
	CPUModel, MemTotal string
	Kernel, GoVersion  string
	LoadBefore         string
	LoadAfter          string
	Postgres           string
	Settings           []setting
	CheckpointTimeout  time.Duration
}

type setting struct{ Name, Value string }

// postgresSettings are the settings the figures depend on.
var postgresSettings = []string{"shared_buffers", "checkpoint_timeout", "max_wal_size", "full_page_writes",
	"wal_compression", "wal_level", "synchronous_commit", "fsync", "autovacuum"}

func describeMachine(ctx context.Context, pgAdmin string) (*machine, error) {
	m := newMachine()
	conn, err := pgx.Connect(ctx, pgAdmin)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s (set --pg): %w", pgAdmin, err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&m.Postgres); err != nil {
		return nil, err
	}
	for _, name := range postgresSettings {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return nil, err
		}
		m.Settings = append(m.Settings, setting{name, v})
	}
	var secs int64
	if err := conn.QueryRow(ctx, "SELECT setting::bigint FROM pg_settings WHERE name = 'checkpoint_timeout'").Scan(&secs); err != nil {
		return nil, err
	}
	m.CheckpointTimeout = time.Duration(secs) * time.Second
	return m, nil
}
