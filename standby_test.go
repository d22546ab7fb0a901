package main

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/sim"
)

// Two processes on one PostgreSQL primary, the second reading a real hot standby of it (--read-database-url):
// its queries and its subscribers' stream are served from the standby while the writer's cycles go to the
// primary. With the standby's replay paused the stream gets nothing the standby lacks and the queries are
// refused once it is further behind than --max-read-lag, saying by how much; once replay resumes the subscriber
// gets every event of the replay once, in order, and the queries answer what the primary has.
func TestQueriesAndStreamsReadTheStandby(t *testing.T) {
	vatspy := shareddata.VATSpyDir(t)
	dbtest.UseStandby(t, true) // it pauses the standby's replay
	db := newPostgres(t, "")
	u, err := url.Parse(db.url)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = dbtest.StandbyAddr()
	standbyURL := u.String()
	dbtest.CatchUp(t) // the new database exists on the standby
	standby, err := sql.Open("pgx", standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Close() })
	primary := db.open(t)
	maxSequence := func(db *sql.DB) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow("SELECT COALESCE(MAX(sequence), 0) FROM sector_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	dir := t.TempDir()
	const cycles = 40
	if err := sim.WriteSnapshots(dir, sim.Config{Seed: 9, Pilots: 300}, cycles); err != nil {
		t.Fatal(err)
	}
	writer := startService(t, "writer", append(append(serviceFlags(vatspy), db.flags...),
		"--feed", "replay:"+dir, "--interval", "300ms", "--instance", "writer"), nil)
	if _, err := writer.waitFor(0, time.Minute, msgIs("ingest writer")); err != nil {
		t.Fatal(err)
	}
	reader := startService(t, "reader", append(append(serviceFlags(vatspy), db.flags...),
		"--read-database-url", standbyURL, "--max-read-lag", "2s", "--follow-interval", "50ms",
		"--feed", "replay:"+dir, "--instance", "reader"), nil)
	if _, err := reader.waitFor(0, time.Minute, func(l logLine) bool { return strings.HasPrefix(l.Msg, "standby") }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := reader.addr("serving gRPC")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	flights, ingestion := vatsectorv1.NewFlightServiceClient(conn), vatsectorv1.NewIngestServiceClient(conn)
	events := subscribe(t, ctx, addr)

	committed := func(n int) {
		t.Helper()
		seen := 0
		if _, err := writer.waitFor(0, 2*time.Minute, func(l logLine) bool {
			if l.Msg == "cycle committed" {
				seen++
			}
			return seen >= n
		}); err != nil {
			t.Fatal(err)
		}
	}
	committed(8)
	resume := dbtest.PauseReplay(t)
	held := maxSequence(standby)
	if _, err := events.waitThrough(held, time.Minute); err != nil {
		t.Fatalf("the reader's subscriber did not get what the standby has (through %d): %v", held, err)
	}
	// The writer goes on; the reader follows every 50 ms, so in the time of eight more cycles it would have
	// published them, were it reading the primary.
	committed(16)
	if ahead := maxSequence(primary); ahead <= held {
		t.Fatalf("the primary has events through %d, the paused standby through %d: the replay added none", ahead, held)
	}
	seqs, _ := events.waitThrough(held+1, 0)
	if n := len(seqs); n == 0 || seqs[n-1] != held {
		t.Fatalf("with the standby paused at sequence %d, the reader's subscriber got %d events: %v", held, n, seqs[max(0, n-3):])
	}

	// The queries are refused once the standby has lacked a cycle for longer than --max-read-lag.
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	var refusal error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); <-poll.C {
		if _, refusal = flights.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{}); refusal != nil {
			break
		}
	}
	if st := status.Convert(refusal); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "behind the primary") ||
		!strings.Contains(st.Message(), "the limit is 2s") {
		t.Fatalf("a query with the standby paused: %v; want UNAVAILABLE saying how far the standby is behind", refusal)
	}
	status1, err := ingestion.GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The lag as measured, plus the time since: how far behind it may be now.
	if r := status1.GetReadStandby(); r.GetServing() || r.GetCyclesBehind() == 0 ||
		r.GetLag().AsDuration()+status1.GetServerTime().AsTime().Sub(r.GetMeasuredAt().AsTime()) <= 2*time.Second {
		t.Errorf("read_standby while paused: %v; want not serving, cycles behind, lag over 2s", r)
	}

	resume()
	if _, err := writer.waitFor(0, 2*time.Minute, msgIs("feed exhausted")); err != nil {
		t.Fatal(err)
	}
	last := maxSequence(primary)
	seqs, err = events.waitThrough(last, time.Minute)
	if err != nil {
		t.Fatalf("the reader's subscriber after the standby resumed: %v after %d events", err, len(seqs))
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("the reader's subscriber: event %d has sequence %d: an event was lost or repeated", i, s)
		}
	}
	if int64(len(seqs)) != last {
		t.Fatalf("the reader's subscriber got %d events, the primary stored %d", len(seqs), last)
	}

	// Caught up, the standby answers what the primary has: the writer's own answer, from the primary.
	writerConn, err := grpc.NewClient(writer.addr("serving gRPC"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writerConn.Close() })
	want, err := vatsectorv1.NewFlightServiceClient(writerConn).ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got *vatsectorv1.ListFlightsResponse
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); <-poll.C {
		if got, err = flights.ListFlights(ctx, &vatsectorv1.ListFlightsRequest{PageSize: 1000}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("a query once the standby caught up: %v", err)
	}
	if len(got.GetFlights()) == 0 || len(got.GetFlights()) != len(want.GetFlights()) {
		t.Fatalf("the reader lists %d flights, the writer %d", len(got.GetFlights()), len(want.GetFlights()))
	}
	status2, err := ingestion.GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r := status2.GetReadStandby(); !r.GetServing() || r.GetCyclesBehind() != 0 {
		t.Errorf("read_standby caught up: %v; want serving, no cycle behind", r)
	}
	t.Logf("%d events over %d cycles; the standby was paused at sequence %d; refused while paused: %s",
		last, cycles, held, status.Convert(refusal).Message())
}
