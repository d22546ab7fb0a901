// Command bench measures the ingest cycle end to end, on PostgreSQL and SQLite, at several traffic scales, and
// writes the figures into BENCHMARKS.md:
//
//	go run ./bench --scales 750,3000,30000 --cycles 40 --out BENCHMARKS.md
//
// Each scenario (scale × dialect, plus a long run) gets a fresh database and, by default, a fresh process, so
// its peak resident set, allocation counters and garbage collector state are its own. A scenario feeds the
// deterministic simulator through the real ingest.Runner, then writes the same cycles again the old way (one
// statement per row, autocommit) and with a raw COPY, for comparison. See BENCHMARKS.md for what each figure
// means and how it is measured.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/migrations"
)

// options are the command's flags.
type options struct {
	scales       []int
	dialects     []migrations.Dialect
	cycles       int
	warmup       int
	seed         int64
	vatspy       string
	pgAdmin      string
	pgSchemaSQL  string
	oldCycles    int
	valuesCycles int
	copy         bool
	wire         bool
	longCycles   int
	longPilots   int
	longEvery    int
	sampleEvery  time.Duration
	out          string
	cpuProfile   string
	memProfile   string
	isolate      bool
	keep         bool
	timeout      time.Duration
	child        string
	// transceivers pairs each snapshot with the simulator's transceivers file (radio coverage in the cycle);
	// transceiversAB > 0 runs every ingest scenario that many times with and as many without, alternated.
	transceivers   bool
	transceiversAB int
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := &options{}
	scales := fs.String("scales", "750,3000,30000", "pilot counts to simulate, comma-separated")
	dialects := fs.String("dialects", "postgres,sqlite", "databases to run against, comma-separated")
	fs.IntVar(&o.cycles, "cycles", 40, "measured cycles per scenario")
	fs.IntVar(&o.warmup, "warmup", 5, "cycles ingested before measuring (the first ones insert every flight)")
	fs.Int64Var(&o.seed, "seed", 1, "simulator seed")
	fs.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder (Boundaries.geojson, VATSpy.dat); read, never copied")
	fs.StringVar(&o.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"PostgreSQL admin URL: bench databases are created and dropped through it")
	fs.StringVar(&o.pgSchemaSQL, "pg-schema-sql", "", "SQL run on each PostgreSQL bench database after the migrations, to measure a schema change (the report says so)")
	fs.IntVar(&o.oldCycles, "old-cycles", 3, "measured cycles also written one statement per row (0 disables)")
	fs.IntVar(&o.valuesCycles, "values-cycles", 10, "measured cycles also written with CreateInBatches VALUES lists, PostgreSQL (0 disables)")
	fs.BoolVar(&o.copy, "copy", true, "time a raw COPY of each measured cycle's rows (PostgreSQL)")
	fs.BoolVar(&o.wire, "wire", true, "count PostgreSQL round trips and connections on the wire (a loopback relay)")
	fs.IntVar(&o.longCycles, "long-cycles", 1000, "cycles of the long run on PostgreSQL (0 disables)")
	fs.IntVar(&o.longPilots, "long-pilots", 3000, "pilots of the long run")
	fs.IntVar(&o.longEvery, "long-every", 100, "cycles between the long run's memory readings")
	fs.DurationVar(&o.sampleEvery, "sample-every", 500*time.Microsecond, "pool statistics sampling interval")
	fs.StringVar(&o.out, "out", "", "Markdown file to write the results into (between its bench markers); empty prints only")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each scenario's ingest to FILE, the scenario name inserted before the extension")
	fs.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile of each scenario's ingest likewise")
	fs.BoolVar(&o.isolate, "isolate", true, "run each scenario in a fresh process (peak RSS and allocations are its own)")
	fs.BoolVar(&o.keep, "keep", false, "keep the bench databases instead of dropping them")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "give up after this long")
	fs.BoolVar(&o.transceivers, "transceivers", true, "serve the simulator's transceivers file with each snapshot: the cycle matches pilots' radios to controllers' antennas (radio coverage)")
	fs.IntVar(&o.transceiversAB, "transceivers-ab", 0, "run every scale × database N times with transceivers and N times without, alternated (with/without, then without/with), and compare them (overrides --transceivers)")
	fs.StringVar(&o.child, "child", "", "internal: run this JSON scenario and print its result")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*scales, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--scales: %q is not a pilot count", f)
		}
		o.scales = append(o.scales, n)
	}
	for _, f := range strings.Split(*dialects, ",") {
		switch d := migrations.Dialect(strings.TrimSpace(f)); d {
		case migrations.Postgres, migrations.SQLite:
			o.dialects = append(o.dialects, d)
		case "":
		default:
			return nil, fmt.Errorf("--dialects: unknown %q (postgres, sqlite)", f)
		}
	}
	if o.transceiversAB < 0 {
		return nil, errors.New("--transceivers-ab must not be negative")
	}
	if o.cycles <= 0 || o.warmup < 0 {
		return nil, errors.New("--cycles must be positive and --warmup not negative")
	}
	return o, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(os.Args[1:], os.Stdout, log); err != nil {
		log.Error("bench failed", "err", err)
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

	if o.child != "" {
		return runChild(ctx, o.child, stdout, log)
	}
	specs := plan(o, strconv.Itoa(os.Getpid()))
	for _, sp := range specs {
		if sp.Dialect == migrations.Postgres {
			if err := postgresReachable(o.pgAdmin); err != nil {
				return fmt.Errorf("PostgreSQL not reachable at %s (set --pg, or --dialects sqlite): %w", o.pgAdmin, err)
			}
			break
		}
	}
	m, err := describeMachine(ctx, o.pgAdmin, hasPostgres(specs))
	if err != nil {
		return err
	}
	m.Command = "go run ./bench " + strings.Join(args, " ")

	var e *env // loaded once when scenarios run in this process
	results := make([]*result, 0, len(specs))
	for _, sp := range specs {
		log.Info("scenario", "name", sp.Name)
		var res *result
		if o.isolate {
			res, err = runIsolated(ctx, sp, log)
		} else {
			if e == nil {
				if e, err = newEnv(o.vatspy, log); err != nil {
					return err
				}
			}
			res, err = runScenario(ctx, e, sp)
		}
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sp.Name, err)
		}
		results = append(results, res)
	}
	m.Finished = time.Now().UTC()
	m.LoadAfter = hostinfo.LoadAverage()

	section := render(m, results)
	if _, err := io.WriteString(stdout, section); err != nil {
		return err
	}
	if o.out != "" {
		return writeSection(o.out, section)
	}
	return nil
}

// plan lists the scenarios of a run: every scale on every dialect, then the long run.
func plan(o *options, runID string) []spec {
	base := spec{
		Seed: o.seed, Warmup: o.warmup, Cycles: o.cycles, OldCycles: o.oldCycles, ValuesCycles: o.valuesCycles, Copy: o.copy,
		VATSpy: o.vatspy, PGAdmin: o.pgAdmin, PGSchemaSQL: o.pgSchemaSQL, Wire: o.wire, SampleEvery: o.sampleEvery, Keep: o.keep,
		Transceivers: o.transceivers,
	}
	var specs []spec
	if o.transceiversAB > 0 {
		for round := 1; round <= o.transceiversAB; round++ {
			// with/without, then without/with: neither variant always runs first.
			order := []bool{true, false}
			if round%2 == 0 {
				order = []bool{false, true}
			}
			for _, n := range o.scales {
				for _, d := range o.dialects {
					for _, tx := range order {
						sp := base
						sp.Kind, sp.Dialect, sp.Pilots, sp.Transceivers, sp.Round = kindIngest, d, n, tx, round
						suffix := "tx"
						if !tx {
							suffix = "notx"
						}
						sp.Name = fmt.Sprintf("%s-%d-%s-%d", d, n, suffix, round)
						sp.DBName = fmt.Sprintf("bench_%d_%s_%s_%d", n, suffix, runID, round)
						specs = append(specs, sp)
					}
				}
			}
		}
	} else {
		for _, n := range o.scales {
			for _, d := range o.dialects {
				sp := base
				sp.Kind, sp.Dialect, sp.Pilots = kindIngest, d, n
				sp.Name = fmt.Sprintf("%s-%d", d, n)
				if !sp.Transceivers {
					sp.Name += "-notx"
				}
				sp.DBName = fmt.Sprintf("bench_%d_%s", n, runID)
				specs = append(specs, sp)
			}
		}
	}
	if o.longCycles > 1 && hasDialect(o.dialects, migrations.Postgres) {
		sp := base
		sp.Kind, sp.Dialect, sp.Pilots = kindLong, migrations.Postgres, o.longPilots
		// One cycle of warm-up keeps the startup (LoadState's queries) out of the first cycle's round trips;
		// checkpoints count every cycle, the warm-up one included.
		sp.Warmup, sp.Cycles, sp.OldCycles, sp.ValuesCycles, sp.Copy, sp.CheckpointEvery = 1, o.longCycles-1, 0, 0, false, o.longEvery
		sp.Name = fmt.Sprintf("postgres-%d-long", o.longPilots)
		sp.DBName = fmt.Sprintf("bench_%d_%s_long", o.longPilots, runID)
		specs = append(specs, sp)
	}
	for i := range specs {
		specs[i].CPUProfile = profilePath(o.cpuProfile, specs[i].Name)
		specs[i].MemProfile = profilePath(o.memProfile, specs[i].Name)
	}
	return specs
}

// profilePath inserts the scenario name before the extension: cpu.pprof → cpu.postgres-3000.pprof.
func profilePath(path, name string) string {
	if path == "" {
		return ""
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + name + ext
}

func hasDialect(ds []migrations.Dialect, d migrations.Dialect) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func hasPostgres(specs []spec) bool {
	for _, s := range specs {
		if s.Dialect == migrations.Postgres {
			return true
		}
	}
	return false
}

// runIsolated runs a scenario in a new process of this same binary and reads its result from its stdout.
func runIsolated(ctx context.Context, sp spec, log *slog.Logger) (*result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "--child", string(data))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	// Ask the child to stop cleanly (it drops its databases) before it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 2 * time.Minute
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("child process: %w", err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("child result: %w", err)
	}
	log.Debug("scenario done", "name", sp.Name)
	return &res, nil
}

// runChild is the child side of runIsolated.
func runChild(ctx context.Context, specJSON string, stdout io.Writer, log *slog.Logger) error {
	var sp spec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		return fmt.Errorf("--child: %w", err)
	}
	e, err := newEnv(sp.VATSpy, log)
	if err != nil {
		return err
	}
	res, err := runScenario(ctx, e, sp)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
