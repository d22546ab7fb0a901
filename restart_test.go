package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// restartScale is the size of the restart test: CI runs the short one, VATSECTOR_ROBUST_LONG=1 the long one.
type restartScale struct {
	snapshots, pilots int
	randomRounds      int // runs of the random-kill mode, each with a seed of its own
}

func restartSize() restartScale {
	if robustLong() {
		return restartScale{snapshots: 120, pilots: 600, randomRounds: 4}
	}
	return restartScale{snapshots: 40, pilots: 200, randomRounds: 1}
}

// TestRestartsLoseNothing runs the service binary over a recorded feed once uninterrupted (the reference) and
// then again, on a fresh database, stopped and started until the feed is exhausted: gracefully after every
// committed cycle, with kill -9 after every committed cycle, and with kill -9 at random moments. Every table
// must end exactly as in the reference, row for row and column for column: a restart may neither lose a
// snapshot, nor write one twice, nor store anything a run without restarts would not.
func TestRestartsLoseNothing(t *testing.T) {
	serviceBinary(t)
	seed := robustSeed(t)
	size := restartSize()
	sc := newScenario(t, seed, size.snapshots, size.pilots)
	dir := writeReplayDir(t, sc.snaps)
	t.Logf("feed: %d snapshots of %d pilots; %d controllers log off, %d flights return within the grace period, %d after it",
		len(sc.snaps), size.pilots, sc.controllersGone, sc.pilotsBack, sc.pilotsReturnAfterGrace)
	if sc.controllersGone == 0 || sc.pilotsBack == 0 || sc.pilotsReturnAfterGrace == 0 {
		t.Fatal("the generated feed lacks the cases the test is for")
	}
	args := func(db *database) []string {
		return append(append(serviceFlags(sc.sectors), db.flags...), "--feed", "replay:"+dir, "--interval", "0")
	}

	type mode struct {
		name string
		// next decides how run i (0-based) of the service ends: it returns after stopping the process, or
		// errExhausted once the process reported the end of the feed (and was stopped).
		next func(t *testing.T, s *service, i int) error
	}
	afterCommit := func(end func(s *service)) func(t *testing.T, s *service, i int) error {
		return func(t *testing.T, s *service, i int) error {
			at, err := s.waitFor(0, 2*time.Minute, msgIn("cycle committed", "feed exhausted"))
			if err != nil {
				t.Fatal(err)
			}
			if s.line(at).Msg == "feed exhausted" {
				s.stop()
				return errExhausted
			}
			end(s)
			return nil
		}
	}
	modes := []mode{
		// The control: a second uninterrupted run must match the reference, or the comparison itself is
		// broken (a volatile column compared, an unordered key) and the other modes' failures mean nothing.
		{"uninterrupted control", func(t *testing.T, s *service, i int) error {
			if _, err := s.waitFor(0, 5*time.Minute, msgIs("feed exhausted")); err != nil {
				t.Fatal(err)
			}
			s.stop()
			return errExhausted
		}},
		{"stop after every cycle", afterCommit(func(s *service) { s.stop() })},
		{"kill -9 after every cycle", afterCommit(func(s *service) { s.kill() })},
	}

	for _, dbk := range databases {
		t.Run(dbk.name, func(t *testing.T) {
			ref := dbk.new(t)
			start := time.Now()
			s := startService(t, "reference", args(ref), nil)
			loaded, err := s.waitFor(0, 2*time.Minute, msgIs("state loaded"))
			if err != nil {
				t.Fatal(err)
			}
			done, err := s.waitFor(loaded, 5*time.Minute, msgIs("feed exhausted"))
			if err != nil {
				t.Fatal(err)
			}
			perCycle := s.line(done).seen.Sub(s.line(loaded).seen) / time.Duration(len(sc.snaps))
			s.stop()
			if got := len(s.committed()); got != len(sc.snaps) {
				t.Fatalf("reference run committed %d cycles of %d snapshots\n%s", got, len(sc.snaps), s.tail(20))
			}
			want := dumpTables(t, ref.open(t))
			checkReference(t, want)
			t.Logf("reference: %d cycles in %v (%v a cycle)", len(sc.snaps), time.Since(start).Round(time.Millisecond), perCycle)

			all := modes
			for r := range size.randomRounds {
				rng := rand.New(rand.NewPCG(seed, uint64(r)))
				// The kills are spread over about two first cycles after the state is loaded, so that they land
				// in a cycle's decode, diff, write or commit as well as between cycles. A restarted process's
				// first cycle is slower than the reference's average (cold connections, statement descriptions),
				// so the window follows the slowest first cycle seen, and widens after runs that committed
				// nothing: the feed must get through within the bound on runs.
				window := 2*perCycle + 5*time.Millisecond
				dry := 0
				all = append(all, mode{fmt.Sprintf("kill -9 at random moments, round %d", r), func(t *testing.T, s *service, i int) error {
					if i == 0 {
						window, dry = 2*perCycle+5*time.Millisecond, 0
					}
					// From the state load on: before it, a kill only ever interrupts the start.
					loaded, err := s.waitFor(0, 2*time.Minute, msgIn("state loaded", "feed exhausted"))
					if err != nil {
						t.Fatal(err)
					}
					defer func() {
						first, err := s.waitFor(loaded, 0, msgIs("cycle committed"))
						if err != nil {
							if dry++; dry%3 == 0 {
								window += window / 2
							}
							return
						}
						dry = 0
						window = max(window, 2*s.line(first).seen.Sub(s.line(loaded).seen))
					}()
					delay := time.Duration(rng.Int64N(int64(window)))
					// Not a synchronisation: the delay is the fault, its moment drawn from the seed.
					timer := time.NewTimer(delay)
					defer timer.Stop()
					exhausted := make(chan error, 1)
					go func() {
						_, err := s.waitFor(0, 2*time.Minute, msgIs("feed exhausted"))
						exhausted <- err
					}()
					select {
					case err := <-exhausted:
						if err != nil {
							t.Fatal(err)
						}
						s.stop()
						return errExhausted
					case <-timer.C:
						s.kill()
						<-exhausted // ends as the process has exited
						return nil
					}
				}})
			}
			for _, m := range all {
				t.Run(m.name, func(t *testing.T) {
					db := dbk.new(t)
					start := time.Now()
					var committed []time.Time
					runs := 0
					// Bounded: a run that commits nothing still counts, so a service that cannot make progress
					// fails the test instead of looping.
					for limit := 10 * len(sc.snaps); ; runs++ {
						if runs >= limit {
							t.Fatalf("feed not exhausted after %d runs; %d cycles committed", runs, len(committed))
						}
						s := startService(t, fmt.Sprintf("run %d", runs), args(db), nil)
						err := m.next(t, s, runs)
						committed = append(committed, s.committed()...)
						if err == errExhausted {
							runs++
							break
						}
					}
					if dup := duplicates(committed); len(dup) > 0 {
						t.Errorf("cycles committed twice: %v", dup)
					}
					got := dumpTables(t, db.open(t))
					if diffs := diffTables(want, got, 5); len(diffs) > 0 {
						t.Errorf("after %d runs the database differs from the uninterrupted reference:\n  %s", runs, strings.Join(diffs, "\n  "))
					}
					t.Logf("%d runs, %d cycles committed, in %v", runs, len(committed), time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
}

// checkReference makes sure the reference stored what the comparison is about: controllers that logged off and
// unstaffed their sectors, and flights that departed.
func checkReference(t *testing.T, d map[string]*tableDump) {
	t.Helper()
	count := func(table, col, value string, not bool) int {
		tb := d[table]
		i := indexOf(tb.cols, col)
		n := 0
		for _, r := range tb.rows {
			if (r[i] == value) != not {
				n++
			}
		}
		return n
	}
	checks := []struct {
		what string
		n    int
	}{
		{"controllers disconnected", count("controllers", "disconnected_at", "NULL", true)},
		{"UNSTAFFED events", count("sector_events", "kind", `"unstaffed"`, false)},
		{"STAFFED events", count("sector_events", "kind", `"staffed"`, false)},
		{"flights disconnected", count("flights", "disconnected_at", "NULL", true)},
		{"flight plans", len(d["flight_plans"].keys)},
	}
	for _, c := range checks {
		if c.n == 0 {
			t.Errorf("reference run has no %s: the feed does not exercise what the test compares", c.what)
		}
	}
}

func indexOf(cols []string, col string) int {
	for i, c := range cols {
		if c == col {
			return i
		}
	}
	panic("no column " + col)
}

func duplicates(ts []time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, x := range ts {
		if seen[x] {
			out = append(out, x)
		}
		seen[x] = true
	}
	return out
}
