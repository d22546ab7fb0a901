// Command stats measures the statistics reads over a month of history: GetSectorTraffic over 30 days of hourly
// buckets for one sector, ListSectorTraffic over one day for every VATSpy sector, and GetStaffingProfile over
// four weeks, each called over loopback gRPC against the real server, p50 and p99.
//
// The history is the simulator's and the bench's: one hour of simulated traffic is ingested by the real Runner
// (at --pilots, 15 s cycles, VATSpy sectors), then its sector-hours and observed time are copied to each of the
// --days × 24 − 1 hours before it, and the visits entered during it (with flights of their own) to the --visit-days × 24 hours before it, written through
// the repository's cycle write (one transaction per copied hour).
//
//	go run ./bench/stats --pilots 3000 --days 30 --calls 200
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
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
	"github.com/vatsector/vatsector/sim"
)

type options struct {
	pilots, days, visitDays, calls int
	dialects                       []migrations.Dialect
	pgAdmin, vatspy                string
	keep                           bool
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(context.Background(), o, os.Stdout, log)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stats bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	o := options{}
	fs.IntVar(&o.pilots, "pilots", 3000, "simulated pilots of the ingested hour")
	fs.IntVar(&o.days, "days", 30, "days of hourly history (the ingested hour copied to the hours before it)")
	fs.IntVar(&o.visitDays, "visit-days", 2, "days of visits before the ingested hour (the distinct flights of a day are read from them)")
	fs.IntVar(&o.calls, "calls", 200, "calls of each RPC measured")
	dialects := fs.String("dialects", "postgres,sqlite", "databases, comma-separated")
	fs.StringVar(&o.pgAdmin, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL admin URL")
	fs.BoolVar(&o.keep, "keep", false, "keep the PostgreSQL database (bench_stats_PID) to explain its queries")
	fs.StringVar(&o.vatspy, "vatspy", "../shared/data/airspace/vatspy", "VATSpy folder; read, never copied")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, d := range strings.Split(*dialects, ",") {
		switch d := migrations.Dialect(strings.TrimSpace(d)); d {
		case migrations.Postgres, migrations.SQLite:
			o.dialects = append(o.dialects, d)
		default:
			return o, fmt.Errorf("--dialects: unknown %q", d)
		}
	}
	if o.days < 1 || o.visitDays < 1 || o.calls < 1 || o.pilots < 1 {
		return o, errors.New("--pilots, --days, --visit-days and --calls must be positive")
	}
	return o, nil
}

// The ingested hour: the simulator's default start is 18:00:00.12 on 2024-03-01, so 241 cycles cover the hour.
var baseHour = time.Date(2024, 3, 1, 18, 0, 0, 0, time.UTC)

func run(ctx context.Context, o options, out io.Writer, log *slog.Logger) error {
	set, err := airspace.LoadVATSpy(o.vatspy)
	if err != nil {
		return err
	}
	a, err := airspace.New(set)
	if err != nil {
		return err
	}
	sectors := ingest.NewAirspaceSectors(a)
	refs := make([]domain.SectorRef, len(set.Sectors))
	for i, s := range set.Sectors {
		refs[i] = domain.SectorRef{Set: set.Name, ID: s.ID}
	}
	fmt.Fprintf(out, "- Command: `go run ./bench/stats %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(out, "- Date: %s (UTC); load average before: %s\n", time.Now().UTC().Format("2006-01-02 15:04"), hostinfo.LoadAverage())
	fmt.Fprintf(out, "\n| database | RPC | request | rows read | response bytes | p50 ms | p99 ms |\n|---|---|---|--:|--:|--:|--:|\n")
	for _, d := range o.dialects {
		if err := runDialect(ctx, o, d, sectors, refs, out, log); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	fmt.Fprintf(out, "\nLoad average after: %s\n", hostinfo.LoadAverage())
	return nil
}

func openStore(ctx context.Context, o options, d migrations.Dialect) (*repository.Store, func(), error) {
	if d == migrations.SQLite {
		dir, err := os.MkdirTemp("", "bench-stats")
		if err != nil {
			return nil, nil, err
		}
		s, err := repository.Open(ctx, repository.Config{SQLitePath: filepath.Join(dir, "stats.db")})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close(); _ = os.RemoveAll(dir) }, nil
	}
	name := fmt.Sprintf("bench_stats_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, o.pgAdmin)
	if err != nil {
		return nil, nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, nil, err
	}
	drop := func() {
		if !o.keep {
			_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		_ = admin.Close(context.WithoutCancel(ctx))
	}
	s, err := repository.Open(ctx, repository.Config{DatabaseURL: strings.Replace(o.pgAdmin, "/test?", "/"+name+"?", 1)})
	if err != nil {
		drop()
		return nil, nil, err
	}
	return s, func() { _ = s.Close(); drop() }, nil
}

func runDialect(ctx context.Context, o options, d migrations.Dialect, sectors *ingest.AirspaceSectors, refs []domain.SectorRef,
	out io.Writer, log *slog.Logger,
) error {
	store, closeStore, err := openStore(ctx, o, d)
	if err != nil {
		return err
	}
	defer closeStore()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	runner, err := ingest.NewRunner(ingest.Config{Source: sim.New(sim.Config{Seed: 1, Pilots: o.pilots, Cycles: 241}),
		Store: store, Sectors: sectors.Current, Logger: log, WriteTimeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	if err := runner.Run(ctx); err != nil {
		return fmt.Errorf("ingest the hour: %w", err)
	}
	copied, err := copyHistory(ctx, o, store, runner.Status().LastCommitted.ID, refs)
	if err != nil {
		return err
	}
	log.Warn("history written", "dialect", d, "sector_hours", copied.hours, "visits", copied.visits)

	api, err := server.New(server.Config{Store: store, Status: runner, Sectors: sectors, Hub: hub.New(hub.Config{}),
		Logger: log, PollInterval: 15 * time.Second, ClientRequestRate: 1e6, ClientRequestBurst: 1e6,
		Now: func() time.Time { return baseHour.Add(59 * time.Minute) }})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = api.Serve(lis) }()
	defer func() { _ = api.Shutdown(context.WithoutCancel(ctx)) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	stats := vatsectorv1.NewStatsServiceClient(conn)

	// The sector with the most traffic in the ingested hour.
	busiest, err := stats.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Set: "vatspy", PageSize: 1,
		Range: rangeOf(baseHour, baseHour.Add(time.Hour))})
	if err != nil {
		return err
	}
	if len(busiest.GetSectors()) == 0 {
		return errors.New("no sector has traffic")
	}
	name := busiest.GetSectors()[0].GetName()
	end := baseHour.Add(time.Hour)
	calls := []struct {
		rpc, what string
		rows      int
		call      func() (proto.Message, error)
	}{
		{"GetSectorTraffic", fmt.Sprintf("%s, %d days, HOUR", name, o.days), o.days * 24, func() (proto.Message, error) {
			return stats.GetSectorTraffic(ctx, &vatsectorv1.GetSectorTrafficRequest{Name: name,
				Bucket: vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_HOUR, Range: rangeOf(end.Add(-time.Duration(o.days)*24*time.Hour), end)})
		}},
		{"GetSectorTraffic", fmt.Sprintf("%s, %d days, DAY", name, o.days), o.days, func() (proto.Message, error) {
			return stats.GetSectorTraffic(ctx, &vatsectorv1.GetSectorTrafficRequest{Name: name,
				Bucket: vatsectorv1.TrafficBucket_TRAFFIC_BUCKET_DAY, Range: rangeOf(end.Add(-time.Duration(o.days)*24*time.Hour), end)})
		}},
		{"ListSectorTraffic", "set vatspy, the UTC day (sector days), page of 1,000", -2, func() (proto.Message, error) {
			return stats.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Set: "vatspy", PageSize: 1000,
				Range: rangeOf(baseHour.Truncate(24*time.Hour), baseHour.Truncate(24*time.Hour).Add(24*time.Hour))})
		}},
		{"ListSectorTraffic", "set vatspy, the last 24 hours (visits), page of 1,000", -1, func() (proto.Message, error) {
			return stats.ListSectorTraffic(ctx, &vatsectorv1.ListSectorTrafficRequest{Set: "vatspy", PageSize: 1000,
				Range: rangeOf(end.Add(-24*time.Hour), end)})
		}},
		{"GetStaffingProfile", fmt.Sprintf("%s, 4 weeks", name), 4 * 7 * 24, func() (proto.Message, error) {
			return stats.GetStaffingProfile(ctx, &vatsectorv1.GetStaffingProfileRequest{Name: name, Weeks: 4})
		}},
	}
	// Rows read by the lists: the sector-hours of the last 24 hours (-1) or of the UTC day (-2).
	last24, _, err := store.SetHours(ctx, "vatspy", end.Add(-24*time.Hour), end)
	if err != nil {
		return err
	}
	utcDay, _, err := store.SetHours(ctx, "vatspy", baseHour.Truncate(24*time.Hour), baseHour.Truncate(24*time.Hour).Add(24*time.Hour))
	if err != nil {
		return err
	}
	for _, c := range calls {
		switch c.rows {
		case -1:
			c.rows = len(last24)
		case -2:
			c.rows = len(utcDay)
		}
		var size int
		times := make([]time.Duration, 0, o.calls)
		for i := range o.calls + 5 {
			start := time.Now()
			m, err := c.call()
			took := time.Since(start)
			if err != nil {
				return fmt.Errorf("%s: %w", c.rpc, err)
			}
			if i >= 5 { // the first calls warm the caches and the connection
				times = append(times, took)
			}
			size = proto.Size(m)
		}
		slices.Sort(times)
		fmt.Fprintf(out, "| %s | %s | %s | %d | %d | %.2f | %.2f |\n", dialectName(d), c.rpc, c.what, c.rows, size,
			ms(times[len(times)/2]), ms(times[(len(times)*99+99)/100-1]))
	}
	return nil
}

type copiedCounts struct{ hours, visits int }

// copyHistory copies the ingested hour's sector-hours and observed time to each of the hours before it, and to
// the visit-days before it the visits entered during the hour after its first cycle (the first cycle enters
// every flight into its sectors at once), each copy with flights of its own, one cycle write per copied hour.
func copyHistory(ctx context.Context, o options, store *repository.Store, lastCycle int64, refs []domain.SectorRef) (copiedCounts, error) {
	var n copiedCounts
	end := baseHour.Add(time.Hour)
	hours, observed, err := store.SectorHours(ctx, nil, baseHour, end)
	if err != nil {
		return n, err
	}
	if len(observed) != 1 || len(hours) == 0 {
		return n, fmt.Errorf("the ingested hour has %d sector-hours and %d observed hours", len(hours), len(observed))
	}
	spans, err := store.VisitSpans(ctx, refs, baseHour, end)
	if err != nil {
		return n, err
	}
	firstCycle := baseHour.Add(time.Second) // the simulator's first snapshot is at 18:00:00.12
	spans = slices.DeleteFunc(spans, func(v domain.VisitSpan) bool { return v.EnteredAt.Before(firstCycle) })
	var maxVisit, maxFlight int64
	if err := store.SQL().QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM sector_visits").Scan(&maxVisit); err != nil {
		return n, err
	}
	if err := store.SQL().QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM flights").Scan(&maxFlight); err != nil {
		return n, err
	}
	nextFlight := maxFlight
	for k := 1; k < o.days*24; k++ {
		shift := -time.Duration(k) * time.Hour
		w := &domain.CycleWrite{Cycle: domain.Cycle{ID: lastCycle + int64(k), UpdateTimestamp: baseHour.Add(shift),
			FetchedAt: baseHour.Add(shift)}}
		for _, h := range hours {
			h.Hour = h.Hour.Add(shift)
			h.Occupants, h.Staffed = 0, false // an hour that is over accrues nothing
			w.SectorHours = append(w.SectorHours, h)
		}
		w.ObservedHours = []domain.ObservedHour{{Hour: observed[0].Hour.Add(shift), Seconds: observed[0].Seconds}}
		if k <= o.visitDays*24 {
			flights := map[int64]int64{}
			for _, v := range spans {
				id, ok := flights[v.FlightID]
				if !ok {
					nextFlight++
					id, flights[v.FlightID] = nextFlight, nextFlight
					gone := end.Add(shift)
					w.Flights = append(w.Flights, domain.Flight{ID: id, CID: 1_000_000 + id, Callsign: fmt.Sprintf("C%d", id),
						LogonTime: baseHour.Add(shift), FirstSeen: baseHour.Add(shift), LastSeen: gone, LastUpdated: gone,
						DisconnectedAt: &gone})
				}
				maxVisit++
				out := end.Add(-time.Second)
				if v.ExitedAt != nil && v.ExitedAt.Before(out) {
					out = *v.ExitedAt
				}
				w.OpenedVisits = append(w.OpenedVisits, domain.Visit{ID: maxVisit, FlightID: id, Sector: v.Sector,
					EnteredAt: v.EnteredAt.Add(shift), Exit: &domain.VisitExit{At: out.Add(shift), Reason: domain.ExitLeft,
						DurationSeconds: out.Sub(v.EnteredAt).Seconds()}})
			}
		}
		if _, err := store.WriteCycle(ctx, w); err != nil {
			return n, fmt.Errorf("copy to %s: %w", baseHour.Add(shift).Format(time.DateTime), err)
		}
		n.hours += len(w.SectorHours)
		n.visits += len(w.OpenedVisits)
	}
	return n, nil
}

func rangeOf(from, until time.Time) *vatsectorv1.TimeRange {
	return &vatsectorv1.TimeRange{Start: timestamppb.New(from), End: timestamppb.New(until)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func dialectName(d migrations.Dialect) string {
	if d == migrations.Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}
