package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
)

// beforeFetch is a scripted source that calls a hook before handing out each snapshot.
type beforeFetch struct {
	bodies [][]byte
	n      int
	hook   func(n int)
}

func (s *beforeFetch) Fetch(context.Context) ([]byte, error) {
	if s.n == len(s.bodies) {
		return nil, io.EOF
	}
	s.hook(s.n)
	s.n++
	return s.bodies[s.n-1], nil
}

func (s *beforeFetch) String() string { return "before-fetch" }

func writerBodies(t *testing.T, n int) [][]byte {
	var bodies [][]byte
	for i := range n {
		bodies = append(bodies, snapshot(t, t0.Add(time.Duration(i)*15*time.Second),
			[]feed.Pilot{pilot("WRT1", 51, 0.5, 1000, t0.Add(-time.Hour))}, nil))
	}
	return bodies
}

func TestAWriterWhoseClaimWasTakenStopsWithoutWriting(t *testing.T) {
	sectors := customSectors(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		ctx := context.Background()
		src := &beforeFetch{bodies: writerBodies(t, 3), hook: func(n int) {
			if n == 2 { // after two committed cycles, another instance claims (lease 0: at once)
				if _, err := store.ClaimWriter(ctx, "other", 0, time.Now()); err != nil {
					t.Errorf("claim by another instance: %v", err)
				}
			}
		}}
		r, err := ingest.NewRunner(ingest.Config{Source: src, Store: store, Sectors: sectors.Current, Instance: "first"})
		if err != nil {
			t.Fatal(err)
		}
		err = r.Run(ctx)
		if !errors.Is(err, domain.ErrSuperseded) {
			t.Fatalf("Run = %v, want ErrSuperseded", err)
		}
		if st := r.Status(); st.Totals.Cycles != 2 || st.Writer != nil {
			t.Errorf("status after being superseded: %d cycles, writer %+v; want 2 and none", st.Totals.Cycles, st.Writer)
		}
		if got := dump(t, store, "SELECT COUNT(*) FROM ingest_cycles"); fmt.Sprint(got) != "[2]" {
			t.Errorf("cycles stored %v, want [2]: the fenced cycle must write nothing, not even its failure", got)
		}
		// The other instance keeps its claim: the superseded one did not release it.
		if _, err := store.ClaimWriter(ctx, "third", time.Hour, time.Now()); !errors.Is(err, domain.ErrWriterBusy) {
			t.Errorf("claim after the superseded writer stopped: %v, want ErrWriterBusy", err)
		}
	})
}

func TestAStandbyTakesOverWhenTheWriterLetsGo(t *testing.T) {
	sectors := customSectors(t)
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, store *repository.Store) {
		ctx := context.Background()
		// Renewed, as far as the standby's 40 ms lease can tell, an hour from now: on a loaded machine more than
		// 40 ms may pass before the standby first tries, and a claim renewed now would have run out by then.
		held, err := store.ClaimWriter(ctx, "writer", time.Hour, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		standby := make(chan struct{})
		log := slog.New(signalOn{msg: "standby", ch: standby})
		r, err := ingest.NewRunner(ingest.Config{Source: &scripted{bodies: writerBodies(t, 2)}, Store: store,
			Sectors: sectors.Current, Instance: "standby", Lease: 40 * time.Millisecond, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		<-standby
		if st := r.Status(); st.Writer != nil || st.StandbyFor == nil || st.StandbyFor.Holder != "writer" || st.Totals.Cycles != 0 {
			t.Errorf("standby status: writer %+v, standing by for %+v, %d cycles; want none, writer, 0", st.Writer, st.StandbyFor, st.Totals.Cycles)
		}
		// The writer stops and releases its claim; the standby claims at its next try and ingests.
		if err := store.ReleaseWriter(ctx, held.Epoch); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := r.Status(); st.Totals.Cycles != 2 || st.StandbyFor != nil {
			t.Errorf("after taking over: %d cycles, standing by for %+v; want 2 and nobody", st.Totals.Cycles, st.StandbyFor)
		}
	})
}

// signalOn is a log handler that closes ch at the first record whose message starts with msg.
type signalOn struct {
	msg string
	ch  chan struct{}
}

func (h signalOn) Enabled(context.Context, slog.Level) bool { return true }
func (h signalOn) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.msg) {
		select {
		case <-h.ch:
		default:
			close(h.ch)
		}
	}
	return nil
}
func (h signalOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalOn) WithGroup(string) slog.Handler      { return h }
