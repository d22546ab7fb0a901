package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/migrations"
)

// TestMain lets the test binary be the subscribers' process too: the bench starts itself with --subscribers-of.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args, "--subscribers-of") {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWebBenchCounts runs the bench at CI size (300 pilots, 10 calls per RPC and protocol, 20 subscribers of
// each protocol for 3 cycles) and checks what it counted and compared, never how long anything took: every
// protocol's answers equal native gRPC's, every GeoJSON has every sector, every subscriber got every cycle's
// message whole, with every flight, the same as native gRPC's, and the server let go of every stream.
func TestWebBenchCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests simulated traffic and starts a subscriber process")
	}
	for _, d := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == migrations.Postgres {
				dbtest.RequirePostgres(t)
			}
			o := options{pilots: 300, ingestCycles: 2, calls: 10, warmup: 2, geomCalls: 2, subscribers: 20, cycles: 3,
				warmupCycles: 1, tolerances: []float64{0, 0.02, 0.1}, modes: []string{modeConnectJSON, modeConnectProto, modeGRPC},
				pause: 20 * time.Millisecond, cycleTimeout: 30 * time.Second, dialect: d,
				pgAdmin: "postgres://postgres@" + dbtest.PostgresAddr() + "/test?sslmode=disable", vatspy: shareddata.VATSpyDir(t)}
			if d == migrations.Postgres {
				// The PostgreSQL run covers the store; the subscribers are the SQLite run's.
				o.modes = []string{modeConnectJSON}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r, err := run(ctx, o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			checkUnary(t, o, r)
			checkGeometry(t, r)
			checkWatch(t, o, r)
			var out bytes.Buffer
			report(&out, o, r)
			for _, want := range []string{"## HTTP surface and maps (issue 12)", "| `ListFlights` |", "| 0.02 | 1,098 |", "| Connect JSON, HTTP/1.1 | 20 |"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func checkUnary(t *testing.T, o options, r *results) {
	t.Helper()
	u := r.unary
	if u.busyOccupants <= 0 || !strings.HasPrefix(u.busySector, "sets/vatspy/sectors/") {
		t.Errorf("busiest sector %q with %d flights", u.busySector, u.busyOccupants)
	}
	if len(u.cells) != len(callNames) {
		t.Fatalf("%d calls measured, want %d", len(u.cells), len(callNames))
	}
	for ci, row := range u.cells {
		if len(row) != len(protocolNames) {
			t.Fatalf("%s: %d protocols, want %d", callNames[ci], len(row), len(protocolNames))
		}
		if u.responseBytes[ci] <= 0 || u.jsonBytes[ci] <= u.responseBytes[ci] {
			t.Errorf("%s: answer of %d bytes, %d in JSON", callNames[ci], u.responseBytes[ci], u.jsonBytes[ci])
		}
		for pi, c := range row {
			if c.calls != o.calls || c.mismatches != 0 || c.wireBytes <= 0 {
				t.Errorf("%s over %s: %d calls (want %d), %d answers unlike native gRPC's, %.0f bytes a call",
					callNames[ci], protocolNames[pi], c.calls, o.calls, c.mismatches, c.wireBytes)
			}
		}
	}
	// A page of 100 flights: every binary protocol carries about the message, JSON more.
	lf := u.cells[2]
	if lf[1].wireBytes <= lf[2].wireBytes || lf[2].wireBytes < float64(u.responseBytes[2]) {
		t.Errorf("ListFlights: %.0f bytes a call in Connect JSON, %.0f in Connect binary, message %d", lf[1].wireBytes, lf[2].wireBytes, u.responseBytes[2])
	}
}

func checkGeometry(t *testing.T, r *results) {
	t.Helper()
	if len(r.geometry) != 3 {
		t.Fatalf("%d tolerances measured, want 3", len(r.geometry))
	}
	for i, g := range r.geometry {
		if g.features != r.sectors || !strings.HasPrefix(g.contentType, "application/geo+json") {
			t.Errorf("tolerance %v: %d features (want every one of the %d sectors), content type %q", g.tolerance, g.features, r.sectors, g.contentType)
		}
		if i > 0 && (g.points >= r.geometry[i-1].points || g.bytes >= r.geometry[i-1].bytes) {
			t.Errorf("tolerance %v: %d points, %d bytes; tolerance %v: %d, %d: a coarser tolerance should keep fewer",
				g.tolerance, g.points, g.bytes, r.geometry[i-1].tolerance, r.geometry[i-1].points, r.geometry[i-1].bytes)
		}
		if r.gzip && (g.gzipEncoding != "gzip" || g.gzipBytes >= g.bytes/2) {
			t.Errorf("tolerance %v: %d bytes with gzip asked (%q), %d without", g.tolerance, g.gzipBytes, g.gzipEncoding, g.bytes)
		}
		if !r.gzip && g.gzipBytes != g.bytes {
			t.Errorf("tolerance %v: not compressed, yet %d bytes with gzip asked and %d without", g.tolerance, g.gzipBytes, g.bytes)
		}
	}
}

func checkWatch(t *testing.T, o options, r *results) {
	t.Helper()
	if len(r.watch) != len(o.modes) {
		t.Fatalf("%d modes measured, want %d", len(r.watch), len(o.modes))
	}
	if r.pilotsOnline < o.pilots {
		t.Errorf("%d flights online, want at least %d", r.pilotsOnline, o.pilots)
	}
	for _, w := range r.watch {
		if w.subscribed != o.subscribers+1 || w.leftAfter != 0 {
			t.Errorf("%s: %d hub subscribers while connected (want %d and the reference), %d left after they closed",
				w.mode, w.subscribed, o.subscribers, w.leftAfter)
		}
		if want := o.subscribers * (1 + o.warmupCycles + o.cycles); w.messages != want || w.wrongCounts != 0 || w.messagesShort != 0 {
			t.Errorf("%s: %d messages (want %d), %d streams with a wrong count, %d missing", w.mode, w.messages, want, w.wrongCounts, w.messagesShort)
		}
		if w.flights != r.pilotsOnline || w.flightsMismatch != 0 || w.hashMismatches != 0 || len(w.errors) != 0 {
			t.Errorf("%s: %d flights a message (want %d), %d without every flight, %d unlike native gRPC's, errors %q",
				w.mode, w.flights, r.pilotsOnline, w.flightsMismatch, w.hashMismatches, w.errors)
		}
		if w.mode == modeConnectJSON && w.payloadBytes <= w.protoBytes || w.mode != modeConnectJSON && w.payloadBytes != w.protoBytes {
			t.Errorf("%s: messages of %d bytes as sent, %d in binary", w.mode, w.payloadBytes, w.protoBytes)
		}
		if w.lastP50 <= 0 || w.lastP99 < w.lastP50 || w.firstP50 > w.lastP50 || w.serverCPU <= 0 || w.heapMax == 0 {
			t.Errorf("%s: delivery first %v, last %v / %v, CPU %v a cycle, heap %d: figures missing", w.mode, w.firstP50, w.lastP50, w.lastP99, w.serverCPU, w.heapMax)
		}
	}
}
