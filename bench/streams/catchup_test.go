package main

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
)

// TestMain lets the test binary be the clients' process too: the harness starts itself with --subscribers-of.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args, "--subscribers-of") {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCatchUpCounts is the CI-sized catch-up benchmark: 20 streams resuming from 0 over and over and a unary
// load against 200 pilots for 3 measured cycles. It checks counts, never times.
func TestCatchUpCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ingest loop, the server and a client process on PostgreSQL")
	}
	dbtest.RequirePostgres(t)
	o := options{
		pilots: 200, subscribers: 20, cycles: 3, warmup: 1, rounds: 1, perConn: 10, history: 20, unary: 4,
		interval: 300 * time.Millisecond, catchup: true, modes: []string{string(modeCatchUp)},
		pgAdmin: "postgres://postgres@" + dbtest.PostgresAddr() + "/test?sslmode=disable",
		vatspy:  shareddata.VATSpyDir(t),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	for _, m := range []mode{"none", modeCatchUp} {
		t.Run(string(m), func(t *testing.T) {
			s, err := run(ctx, o, m, log)
			if err != nil {
				t.Fatal(err)
			}
			cu := s.catchUp
			if len(s.cycles) != o.cycles || len(s.writes) != o.cycles {
				t.Errorf("%d cycles and %d write phases measured, want %d", len(s.cycles), len(s.writes), o.cycles)
			}
			if cu.ingestWaits != 0 {
				t.Errorf("ingest pool waited %d times (%v), want 0", cu.ingestWaits, cu.ingestWaitDur)
			}
			if cu.history <= 0 {
				t.Errorf("no stored history before the measured cycles")
			}
			c := cu.client
			if m == "none" {
				if c != nil {
					t.Errorf("clients in the baseline")
				}
				return
			}
			if c == nil {
				t.Fatal("no client results")
			}
			if c.Streams != o.subscribers {
				t.Errorf("%d streams, want %d", c.Streams, o.subscribers)
			}
			if len(c.Failed) != 0 {
				t.Errorf("streams failed: %v", c.Failed)
			}
			if c.Disordered != 0 {
				t.Errorf("%d catch-ups received an event out of order, twice or after a gap", c.Disordered)
			}
			// How many catch-ups complete within the measured cycles depends on the machine's speed alone (on a
			// loaded 2-core machine under -race, 11 of 20 in one run and none in another), as the report says,
			// so no count is asserted; what each completed one delivered is checked exactly below.
			if c.CompletedEvents < int64(c.Completed)*cu.history {
				t.Errorf("%d events in %d completed catch-ups: fewer than the %d stored each", c.CompletedEvents, c.Completed, cu.history)
			}
			if len(c.CompletedMicros) != c.Completed {
				t.Errorf("%d catch-up times for %d catch-ups", len(c.CompletedMicros), c.Completed)
			}
			for _, name := range unaryRPCs {
				if len(c.Unary[name]) == 0 {
					t.Errorf("no successful %s call", name)
				}
				if len(c.UnaryErrors[name]) != 0 {
					t.Errorf("%s failed: %v", name, c.UnaryErrors[name])
				}
			}
		})
	}
}
