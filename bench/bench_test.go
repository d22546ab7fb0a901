package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/migrations"
)

// TestHarnessCounts is the CI-sized benchmark: the whole harness at 200 pilots for 5 measured cycles on each
// dialect, asserting the counts the batching and pool design promise. It never asserts a duration: CI machines
// are shared and their timings mean nothing.
func TestHarnessCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ingest harness on real databases")
	}
	e, err := newEnv(shareddata.VATSpyDir(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			admin := "postgres://postgres@" + dbtest.PostgresAddr() + "/test?sslmode=disable"
			if d == migrations.Postgres {
				dbtest.RequirePostgres(t)
			}
			const pilots, cycles = 200, 5
			sp := spec{
				Name: fmt.Sprintf("%s-%d-test", d, pilots), Kind: kindIngest, Dialect: d, Pilots: pilots, Seed: 7,
				Warmup: 2, Cycles: cycles, OldCycles: 1, ValuesCycles: 1, Copy: true, PGAdmin: admin,
				DBName: fmt.Sprintf("bench_%d_%d_test", pilots, os.Getpid()), Wire: true,
				SampleEvery: 200 * time.Microsecond, Transceivers: true,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := runScenario(ctx, e, sp)
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, res)
		})
	}
}

func checkCounts(t *testing.T, res *result) {
	t.Helper()
	sp := res.Spec
	if len(res.Samples) != sp.Cycles {
		t.Fatalf("%d measured cycles, want %d", len(res.Samples), sp.Cycles)
	}
	// At 200 pilots every table fits in one batch: on PostgreSQL the transaction's settings, the writer claim's
	// renewal, at most one statement per table written (10, the sector hours and days and the observed hours
	// included) and the cycle record. More would mean a statement per row, or per something else that grows.
	const maxStatements = 13
	for _, c := range res.Samples {
		if c.Rows <= 0 {
			t.Errorf("cycle %d wrote no rows", c.ID)
		}
		if c.Statements < 2 || c.Statements > maxStatements {
			t.Errorf("cycle %d: %d statements, want 2..%d", c.ID, c.Statements, maxStatements)
		}
		if sp.Dialect == migrations.Postgres {
			// BEGIN and COMMIT on top of the statements; one more when the pool pings a connection idle for
			// over a second, which a stalled CI machine can cause.
			if c.RoundTrips < int64(c.Statements)+2 || c.RoundTrips > int64(c.Statements)+3 {
				t.Errorf("cycle %d: %d round trips for %d statements, want statements + 2 (+1 ping)", c.ID, c.RoundTrips, c.Statements)
			}
		} else if c.RoundTrips != -1 {
			t.Errorf("SQLite cycle %d: round trips %d, want -1 (not measured)", c.ID, c.RoundTrips)
		}
	}
	if res.MaxInUse != 1 {
		t.Errorf("max connections in use during ingest %d, want 1", res.MaxInUse)
	}
	if res.PoolSamples < 2 {
		t.Errorf("only %d pool samples", res.PoolSamples)
	}
	if sp.Dialect == migrations.Postgres && res.WireConns != 1 {
		t.Errorf("%d connections carried ingest traffic, want 1", res.WireConns)
	}
	if res.Waits != 0 {
		t.Errorf("%d pool waits during ingest, want 0", res.Waits)
	}
	if res.MaxInUseBetween != 0 || res.InUseIdle != 0 {
		t.Errorf("connections in use between cycles %d, at idle %d; want 0 and 0", res.MaxInUseBetween, res.InUseIdle)
	}
	if res.AllocObjectsPerCycle <= 0 {
		t.Errorf("allocations per cycle %v, want > 0", res.AllocObjectsPerCycle)
	}
	if len(res.Old) != sp.OldCycles {
		t.Fatalf("%d cycles written the old way, want %d", len(res.Old), sp.OldCycles)
	}
	for _, o := range res.Old {
		// Every row is at least one statement (a new flight is two: UPDATE, then INSERT).
		if o.Statements < int64(o.Rows) {
			t.Errorf("old way cycle %d: %d statements for %d rows", o.CycleID, o.Statements, o.Rows)
		}
	}
	if sp.Dialect == migrations.Postgres {
		if len(res.Copy) != sp.Cycles {
			t.Fatalf("%d cycles copied, want %d", len(res.Copy), sp.Cycles)
		}
		for i, c := range res.Copy {
			if c.Rows != res.Samples[i].Rows {
				t.Errorf("COPY of cycle %d: %d rows, the cycle wrote %d", c.CycleID, c.Rows, res.Samples[i].Rows)
			}
		}
		if len(res.WireLatency) == 0 {
			t.Error("no per-request wire latency recorded")
		}
		if len(res.Values) != sp.ValuesCycles {
			t.Fatalf("%d cycles written with VALUES lists, want %d", len(res.Values), sp.ValuesCycles)
		}
		for _, v := range res.Values {
			// Small enough for one batch per table: as many statements as the store's own write.
			if v.Statements < 2 || v.Statements > 8 {
				t.Errorf("VALUES cycle %d: %d statements for %d rows, want 2..8", v.CycleID, v.Statements, v.Rows)
			}
		}
	} else if len(res.Values) != 0 {
		t.Errorf("SQLite wrote %d cycles with VALUES lists, want none (PostgreSQL only)", len(res.Values))
	}
}
