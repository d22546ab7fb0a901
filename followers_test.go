package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/sim"
)

// eventLog is one subscriber's WatchSectorEvents stream from sequence 0: every sequence it received, in order.
type eventLog struct {
	mu      sync.Mutex
	seqs    []int64
	err     error
	changed chan struct{}
}

func subscribe(t *testing.T, ctx context.Context, addr string) *eventLog {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	after := int64(0)
	stream, err := vatsectorv1.NewSectorServiceClient(conn).WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{
		AfterSequence: &after, BatchEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	l := &eventLog{changed: make(chan struct{})}
	go func() {
		for {
			m, err := stream.Recv()
			l.mu.Lock()
			if err != nil {
				l.err = err
			} else {
				for _, e := range m.GetEvents().GetEvents() {
					l.seqs = append(l.seqs, e.GetSequence())
				}
			}
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return l
}

// waitThrough waits until the stream has received sequence last (or ended, or the deadline passed).
func (l *eventLog) waitThrough(last int64, timeout time.Duration) ([]int64, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		seqs, err, changed := append([]int64(nil), l.seqs...), l.err, l.changed
		l.mu.Unlock()
		if n := len(seqs); n > 0 && seqs[n-1] >= last || err != nil {
			return seqs, err
		}
		select {
		case <-changed:
		case <-deadline.C:
			return seqs, fmt.Errorf("through %d not reached within %v", last, timeout)
		}
	}
}

// Three processes on one PostgreSQL database, one writing and two standing by: the subscribers of all three
// get every event of the replay once, in order, live; after the writer is killed (SIGKILL), a standby takes
// over within its lease, and the subscribers of both survivors miss nothing.
func TestEveryInstanceStreams(t *testing.T) {
	vatspy := shareddata.VATSpyDir(t)
	db := newPostgres(t, "")
	dir := t.TempDir()
	if err := sim.WriteSnapshots(dir, sim.Config{Seed: 5, Pilots: 300}, 24); err != nil {
		t.Fatal(err)
	}
	instance := func(name string) *service {
		args := append(append(serviceFlags(vatspy), db.flags...), "--feed", "replay:"+dir, "--interval", "300ms",
			"--instance", name, "--writer-lease", "10s")
		return startService(t, name, args, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	writer := instance("writer")
	if _, err := writer.waitFor(0, time.Minute, msgIs("ingest writer")); err != nil {
		t.Fatal(err)
	}
	followers := []*service{instance("follower-1"), instance("follower-2")}
	logs := map[string]*eventLog{"writer": subscribe(t, ctx, writer.addr("serving gRPC"))}
	for _, f := range followers {
		if _, err := f.waitFor(0, time.Minute, func(l logLine) bool { return strings.HasPrefix(l.Msg, "standby") }); err != nil {
			t.Fatal(err)
		}
		logs[f.name] = subscribe(t, ctx, f.addr("serving gRPC"))
	}
	// Half the replay, then the writer dies mid-stride.
	commits := 0
	if _, err := writer.waitFor(0, 2*time.Minute, func(l logLine) bool {
		if l.Msg == "cycle committed" {
			commits++
		}
		return commits >= 12
	}); err != nil {
		t.Fatal(err)
	}
	writer.kill()
	var next *service
	for _, f := range followers {
		if _, err := f.waitFor(0, time.Minute, msgIs("ingest writer")); err == nil {
			next = f
			break
		}
	}
	if next == nil {
		t.Fatal("no follower took over")
	}
	if _, err := next.waitFor(0, 2*time.Minute, msgIs("feed exhausted")); err != nil {
		t.Fatal(err)
	}
	store := db.open(t)
	var last int64
	if err := store.QueryRow("SELECT COALESCE(MAX(sequence), 0) FROM sector_events").Scan(&last); err != nil {
		t.Fatal(err)
	}
	var cycles int
	if err := store.QueryRow("SELECT COUNT(*) FROM ingest_cycles WHERE error IS NULL").Scan(&cycles); err != nil {
		t.Fatal(err)
	}
	if cycles != 24 || last == 0 {
		t.Fatalf("%d cycles and %d events stored; want the replay's 24 cycles, with events", cycles, last)
	}
	for _, f := range followers {
		seqs, err := logs[f.name].waitThrough(last, time.Minute)
		if err != nil {
			t.Fatalf("%s's subscriber: %v after %d events", f.name, err, len(seqs))
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("%s's subscriber: event %d has sequence %d: an event was lost or repeated", f.name, i, s)
			}
		}
		if int64(len(seqs)) != last {
			t.Fatalf("%s's subscriber got %d events, %d stored", f.name, len(seqs), last)
		}
	}
	// The writer's subscriber got everything up to the kill, in order, and then its stream ended.
	seqs, err := logs["writer"].waitThrough(last+1, 30*time.Second)
	if err == nil || errors.Is(err, io.EOF) && len(seqs) == 0 {
		t.Fatalf("the killed writer's stream: %v", err)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("writer's subscriber: event %d has sequence %d", i, s)
		}
	}
	t.Logf("%d events over 24 cycles: each follower's subscriber got all of them once, in order; %s took over", last, next.name)
}
