package ingest_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/tcpproxy"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// live is a feed that moves on whether or not its reader keeps up, like the real network. before[n] runs just
// before the n-th snapshot (from 1) is handed out, so a test can cut the database at an exact point of the feed.
type live struct {
	mu     sync.Mutex
	bodies [][]byte
	next   int
	before map[int]func()
}

func (l *live) Fetch(context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == len(l.bodies) {
		return nil, io.EOF
	}
	l.next++
	if f := l.before[l.next]; f != nil {
		f()
	}
	return l.bodies[l.next-1], nil
}

func (l *live) String() string { return "live (test)" }

// TestDatabaseOutageLosesNoSnapshot cuts ingest off PostgreSQL while a live feed hands out four snapshots.
// They used to be given up after three tries a second apart, so an outage of more than about 2 s lost them;
// now they wait in the backlog and are written in order when the database is back, to the same rows as a run
// that saw no outage. A backlog too small for the outage drops the oldest, counted.
func TestDatabaseOutageLosesNoSnapshot(t *testing.T) {
	sectors := customSectors(t)
	const snapshots, cutAt, restoreAt = 8, 3, 7 // snapshots 3, 4, 5 and 6 come while the database is cut off
	bodies := func() [][]byte {
		var out [][]byte
		for i := range snapshots {
			out = append(out, snapshot(t, t0.Add(time.Duration(i)*15*time.Second), pilots(10+i), nil))
		}
		return out
	}
	clean := dbtest.Open(t, migrations.Postgres, repository.Pool{})
	runWith(t, ingest.Config{Source: &live{bodies: bodies()}, Store: clean, Sectors: sectors.Current})

	for _, tc := range []struct {
		backlog  int
		dropped  int64
		inCycles []int // pilot counts of the committed cycles, in order
	}{
		{backlog: ingest.DefaultBacklog, inCycles: []int{10, 11, 12, 13, 14, 15, 16, 17}},
		// Snapshots 3, 4 and 5 make way for 6 and 7, the newest when the database is back.
		{backlog: 2, dropped: 3, inCycles: []int{10, 11, 15, 16, 17}},
	} {
		t.Run(fmt.Sprintf("backlog %d", tc.backlog), func(t *testing.T) {
			u, err := url.Parse(dbtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			proxy, err := tcpproxy.New(u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			u.Host = proxy.Addr()
			store, err := repository.Open(context.Background(), repository.Config{DatabaseURL: u.String(), QueryTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var during ingest.Status
			var r *ingest.Runner
			src := &live{bodies: bodies(), before: map[int]func(){
				cutAt: proxy.Cut,
				restoreAt: func() {
					during = r.Status()
					proxy.Restore()
				},
			}}
			r, err = ingest.NewRunner(ingest.Config{Source: src, Store: store, Sectors: sectors.Current,
				Interval: 10 * time.Millisecond, WriteTimeout: 5 * time.Second, Backlog: tc.backlog})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := r.Run(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}

			if during.Totals.Cycles != cutAt-1 || during.Backlog != min(tc.backlog, restoreAt-cutAt) || during.Totals.Failures == 0 {
				t.Errorf("during the outage: %d cycles committed, %d failed, backlog %d; want %d committed and the rest waiting",
					during.Totals.Cycles, during.Totals.Failures, during.Backlog, cutAt-1)
			}
			st := r.Status()
			if st.Totals.Cycles != int64(len(tc.inCycles)) || st.Totals.Dropped != tc.dropped || st.Totals.GivenUp != 0 || st.Backlog != 0 {
				t.Errorf("totals %+v, backlog %d: want %d committed, %d dropped, none given up", st.Totals, st.Backlog, len(tc.inCycles), tc.dropped)
			}
			var want []string
			for _, n := range tc.inCycles {
				want = append(want, fmt.Sprint(n))
			}
			if got := dump(t, store, "SELECT pilots FROM ingest_cycles WHERE error IS NULL ORDER BY id"); !slices.Equal(got, want) {
				t.Errorf("committed cycles of %v pilots, in order; want %v", got, want)
			}
			if tc.dropped > 0 {
				return
			}
			for _, q := range []string{
				"SELECT id, callsign, last_seen, disconnected_at FROM flights ORDER BY id",
				"SELECT flight_id, observed_at, latitude, longitude FROM positions ORDER BY flight_id, observed_at",
				"SELECT id, flight_id, sector_id, entered_at, exited_at, exit_reason FROM sector_visits ORDER BY id",
				"SELECT sequence, kind, sector_id, occurred_at, flight_id FROM sector_events ORDER BY sequence",
			} {
				if a, b := dump(t, clean, q), dump(t, store, q); !slices.Equal(a, b) {
					t.Errorf("%s after the outage differs from a run without one:\n%s", q, firstDiff(a, b))
				}
			}
		})
	}
}
