package main

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/migrations"
)

// TestStatsBenchCounts runs the statistics bench at CI size (100 pilots, two days of history, one call of each
// RPC) on each database and checks that the lists read the copied history and every call answered, never how
// long it took.
func TestStatsBenchCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests an hour of simulated traffic on real databases")
	}
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == migrations.Postgres {
				dbtest.RequirePostgres(t)
			}
			o := options{pilots: 100, days: 2, visitDays: 1, calls: 1, dialects: []migrations.Dialect{d},
				pgAdmin: "postgres://postgres@" + dbtest.PostgresAddr() + "/test?sslmode=disable", vatspy: shareddata.VATSpyDir(t)}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var out bytes.Buffer
			if err := run(ctx, o, &out, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			var rows [][]string
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(line, "| "+dialectName(d)+" |") {
					rows = append(rows, strings.Split(line, " | "))
				}
			}
			if len(rows) != 5 {
				t.Fatalf("%d result rows, want 5:\n%s", len(rows), out.String())
			}
			for _, r := range rows {
				read, _ := strconv.Atoi(r[3])
				size, _ := strconv.Atoi(r[4])
				// Every sector of the set with traffic in the day: the copied hours hold them all.
				if r[1] == "ListSectorTraffic" && read < 19*20 {
					t.Errorf("%s %s: %d sector-hours read, want the day's copies of the hour's", r[1], r[2], read)
				}
				if size <= 0 {
					t.Errorf("%s %s: an empty response", r[1], r[2])
				}
			}
		})
	}
}
