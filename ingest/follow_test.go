package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// positioned is a recorder that says where it is, as the hub does: the follower starts after it.
type positioned struct {
	recorder
	at *domain.Cycle
}

func (p *positioned) Position() (int64, *domain.Cycle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.cycles); n > 0 {
		return 0, &p.cycles[n-1].Cycle
	}
	return 0, p.at
}

// gated serves its bodies one by one, each only once the test lets it through, then io.EOF.
type gated struct {
	bodies [][]byte
	next   chan struct{}
	mu     sync.Mutex
}

func (g *gated) Fetch(ctx context.Context) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.bodies) == 0 {
		return nil, io.EOF
	}
	select {
	case <-g.next:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b := g.bodies[0]
	g.bodies = g.bodies[1:]
	return b, nil
}

func (g *gated) String() string { return "gated" }

// A standby publishes the writer's cycles to its own streams, each once and in order, while the writer writes,
// and the last ones when it takes over, before its own: its subscribers see what the writer's see.
func TestAStandbyPublishesTheWritersCycles(t *testing.T) {
	sectors := customSectors(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		ctx := context.Background()
		writerLog := &recorder{}
		bodies := writerBodies(t, 6)
		src := &gated{bodies: bodies[:4], next: make(chan struct{})}
		writer, err := ingest.NewRunner(ingest.Config{Source: src, Store: store, Sectors: sectors.Current, Publisher: writerLog,
			Instance: "writer", Lease: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		writerDone := make(chan error, 1)
		go func() { writerDone <- writer.Run(ctx) }()
		src.next <- struct{}{} // the writer claimed and fetches its first snapshot

		standbyLog := &positioned{}
		standby := make(chan struct{})
		followed := make(chan struct{}, 16)
		standbyLog.onPublish = func() { followed <- struct{}{} }
		interval := 10 * time.Millisecond
		sb, err := ingest.NewRunner(ingest.Config{Source: &scripted{bodies: bodies[4:]}, Store: store, Sectors: sectors.Current,
			Publisher: standbyLog, Instance: "standby", Lease: 200 * time.Millisecond, FollowInterval: interval,
			Logger: slog.New(signalOn{msg: "standby", ch: standby})})
		if err != nil {
			t.Fatal(err)
		}
		standbyDone := make(chan error, 1)
		go func() { standbyDone <- sb.Run(ctx) }()
		<-standby
		// While it stands by, every cycle the writer commits reaches the standby's streams.
		<-followed
		for range 3 {
			src.next <- struct{}{}
			<-followed
		}
		if err := <-writerDone; err != nil { // the writer's feed ends; it releases its claim
			t.Fatal(err)
		}
		if err := <-standbyDone; err != nil { // the standby takes over, ingests its two, and its feed ends
			t.Fatal(err)
		}
		ids := func(cs []*domain.Committed) (out []string) {
			for _, c := range cs {
				var seqs []int64
				for _, e := range c.Events {
					seqs = append(seqs, e.Sequence)
				}
				out = append(out, fmt.Sprintf("%d%v", c.Cycle.ID, seqs))
			}
			return out
		}
		got, want := ids(standbyLog.cycles), ids(append(slices.Clone(writerLog.cycles), standbyLog.cycles[len(writerLog.cycles):]...))
		if len(standbyLog.cycles) != 6 || !slices.Equal(got, want) || !slices.Equal(got[:4], ids(writerLog.cycles)) {
			t.Fatalf("the standby's streams got %v; the writer published %v, then the standby its own two", got, ids(writerLog.cycles))
		}
		for _, c := range standbyLog.cycles[:4] {
			if c.Flights == nil || len(c.Flights) != 1 || c.Flights[0].Callsign != "WRT1" {
				t.Errorf("cycle %d followed with flights %+v, want WRT1 (one cycle followed at a time)", c.Cycle.ID, c.Flights)
			}
		}
		var _ feed.Source = src
	})
}
