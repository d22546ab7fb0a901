package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/internal/shareddata"
)

func TestSeqTrackerAndLost(t *testing.T) {
	type msg struct {
		events int
		last   int64
	}
	tests := []struct {
		name     string
		msgs     []msg
		from, to int64
		want     subscriberResult // the sequence fields only
		lost     int64
	}{
		{"every event once", []msg{{3, 12}, {0, 0}, {2, 14}, {1, 15}}, 10, 15,
			subscriberResult{FirstSequence: 10, LastSequence: 15}, 0},
		{"a gap", []msg{{3, 12}, {2, 16}}, 10, 16,
			subscriberResult{FirstSequence: 10, LastSequence: 16, Missing: 2}, 2},
		{"a message again", []msg{{3, 12}, {3, 12}, {2, 14}}, 10, 14,
			subscriberResult{FirstSequence: 10, LastSequence: 14, Repeated: 3}, 3},
		{"overlapping", []msg{{3, 12}, {3, 14}}, 10, 14,
			subscriberResult{FirstSequence: 10, LastSequence: 14, Repeated: 1}, 1},
		{"late start, early end", []msg{{2, 13}}, 10, 15,
			subscriberResult{FirstSequence: 12, LastSequence: 13}, 4},
		{"events from before the range", []msg{{4, 12}}, 10, 12,
			subscriberResult{FirstSequence: 9, LastSequence: 12}, 1},
		{"nothing", nil, 10, 15, subscriberResult{}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqTracker
			var received int64
			for _, m := range tt.msgs {
				s.add(m.events, m.last)
				received += int64(m.events)
			}
			got := subscriberResult{Received: received, FirstSequence: s.first, LastSequence: max(0, s.next-1),
				Missing: s.missing, Repeated: s.repeated}
			want := tt.want
			want.Received = received
			if got.FirstSequence != want.FirstSequence || got.LastSequence != want.LastSequence ||
				got.Missing != want.Missing || got.Repeated != want.Repeated {
				t.Errorf("tracked %+v, want %+v", got, want)
			}
			if l := got.lost(tt.from, tt.to); l != tt.lost {
				t.Errorf("lost(%d, %d) = %d, want %d", tt.from, tt.to, l, tt.lost)
			}
		})
	}
}

func TestProcStat(t *testing.T) {
	a, ok := parseProcStat("cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if !ok || a.busy != 160 || a.total != 980 {
		t.Fatalf("parseProcStat = %+v, %v; want busy 160 of 980", a, ok)
	}
	b, _ := parseProcStat("cpu  200 5 100 850 20 3 2 0 0 0\n")
	if got := busyPercent(a, b); got < 74.9 || got > 75.1 {
		t.Errorf("busyPercent = %.2f, want 75 (150 busy of 200)", got)
	}
	if got := busyPercent(b, a); got != 0 {
		t.Errorf("busyPercent backwards = %.2f, want 0", got)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 x 4 5"} {
		if _, ok := parseProcStat(bad); ok {
			t.Errorf("parseProcStat(%q) read a line", bad)
		}
	}
}

func TestPidStat(t *testing.T) {
	comm, ticks, ok := parsePidStat("2216 (postgres: a) b) S 1 2216 2216 0 -1 4194304 44798 4053946 0 69 15 152 37239 10140 20 0 1 0 3398")
	if !ok || comm != "postgres: a) b" || ticks != 167 {
		t.Errorf("parsePidStat = %q, %d, %v; want \"postgres: a) b\", 15+152, true", comm, ticks, ok)
	}
	for _, bad := range []string{"", "12 (x) S 1 2", "12 (x) S 1 2 3 4 5 6 7 8 9 u v"} {
		if _, _, ok := parsePidStat(bad); ok {
			t.Errorf("parsePidStat(%q) read a line", bad)
		}
	}
	a := cpuSnapshot{machine: cpuTimes{busy: 100, total: 1000}, self: 10, clients: map[int]uint64{7: 5},
		postgres: map[int]uint64{1: 50, 2: 20}}
	// 200 ticks of 2 CPUs pass: 100 ticks of each.
	b := cpuSnapshot{machine: cpuTimes{busy: 250, total: 1200}, self: 60, clients: map[int]uint64{7: 30},
		postgres: map[int]uint64{1: 60, 3: 15}} // 2 exited, 3 started
	u := usage(a, b, 2)
	if !u.measured || u.machine != 75 || u.self != 0.5 || u.clients != 0.25 || u.postgres != 0.25 {
		t.Errorf("usage = %+v, want 75%% busy, 0.5, 0.25 and 0.25 cores", u)
	}
}

// TestScaleCounts is the CI-sized scale benchmark: three instances on one database, one of them reading the
// standby, 10 subscribers each for 3 cycles at 200 pilots, then the query load. It checks counts, never times.
func TestScaleCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three instances, subscriber and client processes on PostgreSQL and its hot standby")
	}
	dbtest.UseStandby(t, false)
	o := options{
		pilots: 200, subscribers: 10, cycles: 4, warmup: 2, perConn: 5, unary: 4,
		interval: 300 * time.Millisecond, modes: []string{string(modeScale)}, standby: dbtest.StandbyAddr(),
		pgAdmin: "postgres://postgres@" + dbtest.PostgresAddr() + "/test?sslmode=disable",
		vatspy:  shareddata.VATSpyDir(t),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &scaleRun{o: o, started: time.Now()}
	if err := r.run(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(r.delivery.cycles) != o.cycles || r.expected == 0 || !r.contiguous {
		t.Fatalf("delivery: %d cycles, %d events in %d..%d (contiguous %v); want %d cycles with events", len(r.delivery.cycles),
			r.expected, r.from, r.to, r.contiguous, o.cycles)
	}
	for i, in := range r.instances {
		res := r.deliveryResults[i]
		if len(res) != o.subscribers {
			t.Errorf("%s: %d subscribers reported, want %d", in.name, len(res), o.subscribers)
		}
		for j, s := range res {
			if l := s.lost(r.from, r.to); l != 0 || s.Received != int64(r.expected) {
				t.Errorf("%s subscriber %d: received %d of %d events, %d lost (%+v)", in.name, j, s.Received, r.expected, l, s)
			}
		}
		if in.follow != nil && len(r.followLag[i]) != o.cycles {
			t.Errorf("%s published %d of the %d cycles", in.name, len(r.followLag[i]), o.cycles)
		}
	}
	if len(r.segments) != 6 {
		t.Fatalf("%d query-load segments, want 6", len(r.segments))
	}
	for i, p := range r.segments {
		if len(p.cycles) != o.cycles/2 {
			t.Errorf("segment %d (%s): %d cycles, want %d", i, p.name, len(p.cycles), o.cycles/2)
		}
		res := r.segmentResults[i]
		if (p.name == "none") != (res == nil) {
			t.Errorf("segment %d (%s): client results %v", i, p.name, res)
			continue
		}
		if res == nil {
			continue
		}
		for _, name := range scaleRPCs {
			if len(res.Unary[name]) == 0 {
				t.Errorf("segment %d (%s): no successful %s call (errors %v)", i, p.name, name, res.UnaryErrors[name])
			}
		}
		if res.LoadMicros <= 0 {
			t.Errorf("segment %d (%s): load time %d µs", i, p.name, res.LoadMicros)
		}
	}
	if len(r.report()) == 0 {
		t.Error("empty report")
	}
}
