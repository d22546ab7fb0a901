package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/tcpproxy"
	"github.com/vatsector/vatsector/sim"
)

// feedStep is one entry of a scripted feed: a snapshot the service must commit, or a fault. The server moves
// to the next step once the service committed the snapshot or fetched the step `fetches` times, so the script
// is deterministic without the test sleeping: it is driven by the service's own requests and log.
type feedStep struct {
	name    string
	snap    *feed.Snapshot // the snapshot served, if any
	valid   bool           // a snapshot that must be committed exactly once
	fetches int            // requests after which the step is over (for a valid snapshot: the give-up bound)
	serve   func(w http.ResponseWriter, r *http.Request, body []byte)
	enter   func() // runs when the server moves to this step, before serving it
	body    []byte
}

// scriptedFeed serves a script of steps at /vatsim-data.json.
type scriptedFeed struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	steps     []*feedStep
	cur       int
	served    int // requests of the current step
	committed map[time.Time]int
	drained   chan struct{} // closed when the last step is over
}

func newScriptedFeed(t *testing.T, steps []*feedStep) *scriptedFeed {
	f := &scriptedFeed{t: t, steps: steps, committed: map[time.Time]int{}, drained: make(chan struct{})}
	for _, s := range steps {
		if s.snap != nil {
			s.body = encodeSnapshot(t, s.snap)
		}
		if s.fetches == 0 {
			s.fetches = 1
			if s.valid {
				// A snapshot the service keeps failing to commit is given up after this many requests, so a
				// broken service fails the test instead of hanging it.
				s.fetches = 2
			}
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	// Close waits for a hanging handler; the service's process, stopped first, ends its request.
	t.Cleanup(f.srv.Close)
	if steps[0].enter != nil {
		steps[0].enter()
	}
	return f
}

func (f *scriptedFeed) url() string { return f.srv.URL + "/vatsim-data.json" }

// observe is the service's log hook: committed snapshots end their step.
func (f *scriptedFeed) observe(l logLine) {
	if l.Msg != "cycle committed" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed[l.UpdateTimestamp.UTC()]++
}

func (f *scriptedFeed) stepOver(s *feedStep) bool {
	if s.valid && f.committed[feedTS(s.snap)] > 0 {
		return true
	}
	return f.served >= s.fetches
}

func (f *scriptedFeed) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/vatsim-data.json" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	var enter func()
	for f.cur < len(f.steps) && f.stepOver(f.steps[f.cur]) {
		f.cur++
		f.served = 0
		if f.cur == len(f.steps) {
			close(f.drained)
		} else if e := f.steps[f.cur].enter; e != nil {
			enter = e
			break // enter runs unlocked; the next request goes on checking from here
		}
	}
	var step *feedStep
	if f.cur < len(f.steps) {
		step = f.steps[f.cur]
	} else {
		// After the script, the last snapshot again: the service just skips it.
		for i := len(f.steps) - 1; step == nil; i-- {
			if f.steps[i].valid {
				step = f.steps[i]
			}
		}
	}
	f.served++
	f.mu.Unlock()
	if enter != nil {
		enter()
	}
	if step.serve != nil {
		step.serve(w, r, step.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(step.body)
}

// position is where the script is, for failure messages.
func (f *scriptedFeed) position() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur >= len(f.steps) {
		return "script done"
	}
	return fmt.Sprintf("step %d (%s), served %d times", f.cur, f.steps[f.cur].name, f.served)
}

func feedTS(s *feed.Snapshot) time.Time {
	return s.General.UpdateTimestamp.UTC().Truncate(time.Microsecond)
}

// faultEnv is what a row's script may act on besides the feed.
type faultEnv struct {
	t     *testing.T
	db    *database
	proxy *tcpproxy.Proxy
	// background runs work a step starts (restoring the link later, resetting a setting) and is waited for.
	background sync.WaitGroup
	mu         sync.Mutex
	events     map[string]time.Time
}

func (e *faultEnv) mark(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events[name] = time.Now()
}

func (e *faultEnv) at(name string) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events[name]
}

// faultRow is one row of the fault matrix.
type faultRow struct {
	name     string
	postgres bool // PostgreSQL only (the fault is the database's)
	// script returns the steps, built on the clean snapshots; clean is what a faultless feed would have been,
	// the reference's input (nil: the valid snapshots of the script).
	script func(e *faultEnv, snaps []*feed.Snapshot) (steps []*feedStep, clean []*feed.Snapshot)
	check  func(t *testing.T, e *faultEnv, got map[string]*tableDump)
}

func valid(name string, s *feed.Snapshot) *feedStep {
	return &feedStep{name: name, snap: s, valid: true}
}

// around wraps fault steps in the common sequence: three snapshots, the fault, three more.
func around(snaps []*feed.Snapshot, fault ...*feedStep) []*feedStep {
	var steps []*feedStep
	for i, s := range snaps[:3] {
		steps = append(steps, valid(fmt.Sprintf("snapshot %d", i), s))
	}
	steps = append(steps, fault...)
	for i, s := range snaps[3:] {
		steps = append(steps, valid(fmt.Sprintf("snapshot %d", i+3), s))
	}
	return steps
}

func faultRows() []faultRow {
	return []faultRow{
		{name: "503 with Retry-After", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			return around(snaps, &feedStep{name: "503", fetches: 2, serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "busy", http.StatusServiceUnavailable)
			}}), nil
		}},
		{name: "truncated gzip body", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			var zipped bytes.Buffer
			zw := gzip.NewWriter(&zipped)
			_, _ = zw.Write(encodeSnapshot(e.t, snaps[3]))
			_ = zw.Close()
			cut := zipped.Bytes()[:zipped.Len()/2]
			return around(snaps, &feedStep{name: "truncated gzip", serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(cut)
			}}), nil
		}},
		{name: "hang past the request timeout", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			return around(snaps, &feedStep{name: "hang", serve: func(w http.ResponseWriter, r *http.Request, _ []byte) {
				// Until the client gives up (its request timeout), or the test ends.
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Minute):
				}
			}}), nil
		}},
		{name: "update_timestamp years in the future", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			future := *snaps[3]
			future.General.UpdateTimestamp = future.General.UpdateTimestamp.AddDate(5, 0, 0)
			return around(snaps, &feedStep{name: "future snapshot", snap: &future, fetches: 3}), nil
		}, check: func(t *testing.T, e *faultEnv, got map[string]*tableDump) {
			d := got["ingest_cycles"]
			i := indexOf(d.cols, "update_timestamp")
			for _, k := range d.keys {
				if ts := d.rows[k][i]; ts > "2028" {
					t.Errorf("cycle %s stored with update_timestamp %s, years in the future: such a snapshot must be refused", k, ts)
				}
			}
		}},
		{name: "out-of-range altitude and NUL in a name", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			bad := *snaps[3]
			bad.Pilots = slices.Clone(bad.Pilots)
			bad.Pilots[0].Altitude = 3000000000
			bad.Pilots[1].Name = "Nul\x00Byte"
			steps := around(snaps[:3])
			steps = append(steps, valid("snapshot 3 with two bad entries", &bad))
			for i, s := range snaps[4:] {
				steps = append(steps, valid(fmt.Sprintf("snapshot %d", i+4), s))
			}
			// The reference has the two entries dropped, as the service must drop them.
			clean := slices.Clone(snaps)
			without := *snaps[3]
			without.Pilots = slices.Clone(without.Pilots[2:])
			clean[3] = &without
			return steps, clean
		}},
		{name: "repeated snapshot", script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			return around(snaps, &feedStep{name: "snapshot 2 again", snap: snaps[2], fetches: 3}), nil
		}},
		{name: "database cut for longer than 3s", postgres: true, script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			steps := around(snaps[:3])
			// The feed goes on while the database is unreachable: each snapshot of the outage is served until
			// the service fetched it once, and must be kept and written once the link is back.
			for i := 3; i < 5; i++ {
				steps = append(steps, &feedStep{name: fmt.Sprintf("snapshot %d, database cut", i), snap: snaps[i], valid: true, fetches: 1})
			}
			steps[3].enter = func() { e.mark("cut"); e.proxy.Cut() }
			for i, s := range snaps[5:] {
				steps = append(steps, valid(fmt.Sprintf("snapshot %d", i+5), s))
			}
			steps[5].enter = func() {
				e.background.Add(1)
				go func() {
					defer e.background.Done()
					// The outage's length is the fault itself, not a wait for something to happen.
					time.Sleep(time.Until(e.at("cut").Add(3500 * time.Millisecond)))
					e.proxy.Restore()
					e.mark("restored")
				}()
			}
			return steps, nil
		}},
		{name: "statement_timeout set under the pool", postgres: true, script: func(e *faultEnv, snaps []*feed.Snapshot) ([]*feedStep, []*feed.Snapshot) {
			steps := around(snaps)
			steps[3].enter = func() { poisonSessions(e) }
			return steps, nil
		}, check: func(t *testing.T, e *faultEnv, got map[string]*tableDump) {
			reset := e.at("reset")
			if reset.IsZero() {
				t.Fatal("the setting was never reset: the service opened no new session")
			}
			t.Logf("setting reset %v after the service's sessions were terminated", reset.Sub(e.at("terminated")).Round(time.Millisecond))
		}},
	}
}

// poisonSessions makes every new session of the test database run with statement_timeout = 1ms, forces the
// service onto new sessions, and resets the database default as soon as the service has one: its pooled
// sessions keep the poisoned setting unless the service sets what it relies on itself.
func poisonSessions(e *faultEnv) {
	t := e.t
	u, err := url.Parse(e.db.url)
	if err != nil {
		t.Error(err)
		return
	}
	name := strings.TrimPrefix(u.Path, "/")
	host, port, _ := strings.Cut(dbtest.PostgresAddr(), ":")
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@%s:%s/%s?sslmode=disable", host, port, name))
	if err != nil {
		t.Error(err)
		return
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	conn, err := admin.Conn(ctx) // one session, opened before the setting, so the test's own queries run
	if err != nil {
		t.Error(err)
		return
	}
	exec := func(q string, args ...any) {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	exec(fmt.Sprintf(`ALTER DATABASE %q SET statement_timeout = '1ms'`, name))
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	e.mark("terminated")
	// Sessions started after this are the service's new ones; terminated ones may linger in the view a moment.
	var since time.Time
	if err := conn.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&since); err != nil {
		t.Error(err)
		return
	}
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		defer conn.Close()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			var n int
			if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_start > $2`, name, since).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			if n > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, with the deadline above
		}
		exec(fmt.Sprintf(`ALTER DATABASE %q RESET statement_timeout`, name))
		e.mark("reset")
	}()
}

// faultSnapshots is the matrix's feed: short, since every row replays it twice.
func faultSnapshots(t *testing.T, seed uint64) []*feed.Snapshot {
	// Enough pilots that a cycle's statements take longer than the poisoned 1ms statement_timeout.
	n, pilots := 8, 400
	if robustLong() {
		pilots = 1500
	}
	s := sim.New(sim.Config{Seed: int64(seed), Pilots: pilots})
	var out []*feed.Snapshot
	for range n {
		snap, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, snap)
	}
	return out
}

// TestFaultMatrix serves the service, over HTTP, a scripted feed with one fault per row (feed faults on both
// databases, database faults on PostgreSQL) and checks that every valid snapshot was stored exactly once and
// that the tables hold as many rows as a clean replay of the same snapshots stores.
func TestFaultMatrix(t *testing.T) {
	serviceBinary(t)
	seed := robustSeed(t)
	snaps := faultSnapshots(t, seed)
	sectors := writeSectors(t, snaps)
	for _, row := range faultRows() {
		t.Run(row.name, func(t *testing.T) {
			for _, dbk := range databases {
				if row.postgres && dbk.name != "postgres" {
					continue
				}
				t.Run(dbk.name, func(t *testing.T) {
					start := time.Now()
					e := &faultEnv{t: t, events: map[string]time.Time{}}
					if row.postgres {
						dbtest.RequirePostgres(t)
						p, err := tcpproxy.New(dbtest.PostgresAddr())
						if err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { _ = p.Close() })
						e.proxy = p
						e.db = newPostgres(t, p.Addr())
					} else {
						e.db = dbk.new(t)
					}
					steps, clean := row.script(e, snaps)
					var want []time.Time
					for _, s := range steps {
						if s.valid {
							want = append(want, feedTS(s.snap))
						}
					}
					if clean == nil {
						for _, s := range steps {
							if s.valid {
								clean = append(clean, s.snap)
							}
						}
					}
					f := newScriptedFeed(t, steps)
					s := startService(t, "service", append(append(serviceFlags(sectors), e.db.flags...),
						// A hanging mirror is given up after 2 s and one retry, not the default 10 s and three.
						"--feed", f.url(), "--interval", "50ms", "--feed-timeout", "2s", "--feed-retries", "1"), f.observe)
					select {
					case <-f.drained:
					case <-time.After(2 * time.Minute):
						t.Fatalf("feed script not done within 2 minutes: at %s\n%s", f.position(), s.tail(20))
					}
					// The last snapshot's step can end by its commit: the script is done once it is stored.
					s.stop()
					e.background.Wait()
					got := dumpTables(t, e.db.open(t))

					ref := referenceCounts(t, dbk.new(t), sectors, clean)
					checkCycles(t, got, want)
					for _, tb := range tables {
						if tb.name == "ingest_cycles" {
							continue
						}
						if g, w := len(got[tb.name].keys), ref[tb.name]; g != w {
							t.Errorf("%s: %d rows, a clean replay of the same snapshots stores %d", tb.name, g, w)
						}
					}
					if row.check != nil {
						row.check(t, e, got)
					}
					if t.Failed() {
						t.Logf("service log:\n%s", s.tail(30))
					}
					t.Logf("%v", time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
}

// checkCycles compares the committed cycles with the valid snapshots served: each stored, once, in order.
func checkCycles(t *testing.T, got map[string]*tableDump, want []time.Time) {
	t.Helper()
	d := got["ingest_cycles"]
	i := indexOf(d.cols, "update_timestamp")
	var stored []string
	for _, k := range d.keys {
		stored = append(stored, d.rows[k][i])
	}
	var wantS []string
	for _, ts := range want {
		wantS = append(wantS, render(ts))
	}
	if !slices.Equal(stored, wantS) {
		t.Errorf("committed cycles (by id):\n    %s\nwant every valid snapshot served, once, in order:\n    %s\nmissing: %v\nunexpected: %v",
			strings.Join(stored, "\n    "), strings.Join(wantS, "\n    "), minusStrings(wantS, stored), minusStrings(stored, wantS))
	}
}

func minusStrings(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// referenceCounts replays clean through the service into db and returns its row counts.
func referenceCounts(t *testing.T, db *database, sectors string, clean []*feed.Snapshot) map[string]int {
	t.Helper()
	dir := writeReplayDir(t, clean)
	s := startService(t, "reference", append(append(serviceFlags(sectors), db.flags...), "--feed", "replay:"+dir, "--interval", "0"), nil)
	if _, err := s.waitFor(0, 2*time.Minute, msgIs("feed exhausted")); err != nil {
		t.Fatal(err)
	}
	s.stop()
	d := dumpTables(t, db.open(t))
	out := map[string]int{}
	for name, td := range d {
		out[name] = len(td.keys)
	}
	if out["ingest_cycles"] != len(clean) {
		t.Fatalf("reference replay committed %d cycles of %d snapshots\n%s", out["ingest_cycles"], len(clean), s.tail(20))
	}
	return out
}
