package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// The recorded snapshots the comparison uses (../shared/data/feeds, see its README): a consecutive pair 15 s
// apart, and one 34 minutes after the pair.
const (
	realFirst  = "vatsim-data-2023-08-07T232929Z.json"
	realSecond = "vatsim-data-2023-08-07T232944Z.json"
	realLater  = "vatsim-data-2023-08-08T000359Z.json"
)

// shape is what the comparison reads from a feed: per pilot and cycle, the rows a cycle writes; the connection
// churn between two snapshots; and what the rows hold.
type shape struct {
	Pilots int
	// Cycles is how many cycles the per-cycle rates average over.
	Cycles int
	// Per pilot and cycle.
	FlightRows, PlanRows, Opened, Closed, Events float64
	// ControllersPerPilot counts controllers and ATIS.
	ControllersPerPilot float64
	// Churn between two snapshots Gap apart: the later one's connections absent from the earlier, and the
	// earlier one's absent from the later, as shares.
	Gap       time.Duration
	New, Gone float64
	// PlanShare is the share of pilots with a flight plan; RouteRemarks the mean length of route + remarks.
	PlanShare, RouteRemarks float64
	// Row widths (mean pg_column_size of a row) of the tables whose size depends on what the feed says.
	FlightWidth, PlanWidth, ControllerWidth float64
}

type comparison struct{ Sim, Real shape }

// compareReal measures the recorded pair through the real ingest path, and the simulator the same way.
func compareReal(ctx context.Context, sectors *ingest.AirspaceSectors, dir string, o *options, main *outcome,
	log *slog.Logger) (*comparison, error) {
	var snaps [3]*feed.Snapshot
	for i, name := range []string{realFirst, realSecond, realLater} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if snaps[i], err = feed.Decode(b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var c comparison
	c.Real.Gap = snaps[2].General.UpdateTimestamp.Sub(snaps[1].General.UpdateTimestamp)
	c.Real.New, c.Real.Gone = churn(snaps[1], snaps[2])
	c.Real.PlanShare, c.Real.RouteRemarks = plans(snaps[1])
	c.Real.ControllersPerPilot = float64(len(snaps[1].Controllers)+len(snaps[1].ATIS)) / float64(len(snaps[1].Pilots))
	if err := ingestPair(ctx, sectors, dir, o, &c.Real, log); err != nil {
		return nil, fmt.Errorf("ingest the recorded pair: %w", err)
	}

	// The simulator: the same churn over the same gap, a snapshot well after the start.
	gap := int(c.Real.Gap.Round(cyclePeriod) / cyclePeriod)
	const from = 5
	s := sim.New(sim.Config{Seed: o.seed, Pilots: o.pilots, Cycles: from + gap + 1})
	var a, b *feed.Snapshot
	for i := 0; i <= from+gap; i++ {
		snap, err := s.Next()
		if err != nil {
			return nil, err
		}
		switch i {
		case from:
			a = snap
		case from + gap:
			b = snap
		}
	}
	c.Sim.Gap = b.General.UpdateTimestamp.Sub(a.General.UpdateTimestamp)
	c.Sim.New, c.Sim.Gone = churn(a, b)
	c.Sim.PlanShare, c.Sim.RouteRemarks = plans(a)
	c.Sim.ControllersPerPilot = float64(len(a.Controllers)+len(a.ATIS)) / float64(len(a.Pilots))
	var pilots, fl, pl, op, cl, ev int
	for _, x := range main.Samples {
		pilots += x.Pilots
		fl += x.Flights
		pl += x.Plans
		op += x.Opened
		cl += x.Closed
		ev += x.Events
	}
	c.Sim.Cycles = len(main.Samples)
	c.Sim.Pilots = pilots / max(1, len(main.Samples))
	per := func(n int) float64 { return float64(n) / float64(max(1, pilots)) }
	c.Sim.FlightRows, c.Sim.PlanRows, c.Sim.Opened, c.Sim.Closed, c.Sim.Events = per(fl), per(pl), per(op), per(cl), per(ev)
	c.Sim.FlightWidth = main.table("flights").Width
	c.Sim.PlanWidth = main.table("flight_plans").Width
	c.Sim.ControllerWidth = main.table("controllers").Width
	return &c, nil
}

// churn is the share of b's connections not in a, and of a's not in b.
func churn(a, b *feed.Snapshot) (newShare, goneShare float64) {
	keys := func(s *feed.Snapshot) map[feed.ConnKey]bool {
		m := make(map[feed.ConnKey]bool, len(s.Pilots))
		for _, p := range s.Pilots {
			m[feed.KeyOf(p.CID, p.Callsign, p.LogonTime)] = true
		}
		return m
	}
	ka, kb := keys(a), keys(b)
	var added, gone int
	for k := range kb {
		if !ka[k] {
			added++
		}
	}
	for k := range ka {
		if !kb[k] {
			gone++
		}
	}
	return float64(added) / float64(max(1, len(kb))), float64(gone) / float64(max(1, len(ka)))
}

// plans is the share of pilots with a flight plan and the mean length of route + remarks among them.
func plans(s *feed.Snapshot) (share, routeRemarks float64) {
	n, chars := 0, 0
	for _, p := range s.Pilots {
		if p.FlightPlan != nil {
			n++
			chars += len(p.FlightPlan.Route) + len(p.FlightPlan.Remarks)
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(n) / float64(len(s.Pilots)), float64(chars) / float64(n)
}

// pairRecorder keeps the committed cycles of the pair.
type pairRecorder struct{ cycles []domain.Cycle }

func (p *pairRecorder) Publish(c *domain.Committed) { p.cycles = append(p.cycles, c.Cycle) }

// ingestPair writes the recorded consecutive pair through the Runner into a fresh database: the second
// cycle's rows are one real cycle's.
func ingestPair(ctx context.Context, sectors *ingest.AirspaceSectors, dir string, o *options, out *shape,
	log *slog.Logger) (err error) {
	tmp, err := os.MkdirTemp("", "vatsector-sizing-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	abs, err := filepath.Abs(dir) // a relative target would make a dangling link
	if err != nil {
		return err
	}
	for _, name := range []string{realFirst, realSecond} {
		if err := os.Symlink(filepath.Join(abs, name), filepath.Join(tmp, name)); err != nil {
			return err
		}
	}
	src, err := feed.ReplaySource(tmp, feed.ReplayOptions{Logger: log})
	if err != nil {
		return err
	}
	dbURL, drop, err := createDatabase(ctx, o.pgAdmin, o.dbPrefix+"_real")
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			err = errors.Join(err, drop(dctx))
		}()
	}
	store, err := repository.Open(ctx, repository.Config{DatabaseURL: dbURL, QueryTimeout: time.Minute})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	rec := &pairRecorder{}
	runner, err := ingest.NewRunner(ingest.Config{Source: src, Store: store, Sectors: sectors.Current, Publisher: rec,
		WriteTimeout: 5 * time.Minute, Logger: log})
	if err != nil {
		return err
	}
	if err := runner.Run(ctx); err != nil {
		return err
	}
	if len(rec.cycles) != 2 {
		return fmt.Errorf("%d cycles committed of 2", len(rec.cycles))
	}
	cy := rec.cycles[1]
	out.Cycles, out.Pilots = 1, cy.Pilots
	per := func(n int) float64 { return float64(n) / float64(max(1, cy.Pilots)) }
	out.FlightRows, out.PlanRows = per(cy.FlightsWritten), per(cy.FlightPlansWritten)
	out.Opened, out.Closed, out.Events = per(cy.VisitsOpened), per(cy.VisitsClosed), per(cy.EventsWritten)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for t, w := range map[string]*float64{"flights": &out.FlightWidth, "flight_plans": &out.PlanWidth, "controllers": &out.ControllerWidth} {
		var v *float64
		if err := conn.QueryRow(ctx, "SELECT avg(pg_column_size(t.*))::float8 FROM "+t+" t").Scan(&v); err != nil {
			return err
		}
		if v != nil {
			*w = *v
		}
	}
	return nil
}
