package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// The simulator is a feed source; the feed package's Source interface is structural, so this mirrors it
// rather than depending on it.
var _ interface {
	Fetch(ctx context.Context) ([]byte, error)
	String() string
} = (*Simulator)(nil)

// collect returns the next n snapshots of s.
func collect(t testing.TB, s *Simulator, n int) []*feed.Snapshot {
	t.Helper()
	out := make([]*feed.Snapshot, 0, n)
	for range n {
		snap, err := s.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, snap)
	}
	return out
}

// key is a connection key; tests do not depend on the feed package's own key type.
type key struct {
	cid      int64
	callsign string
	logon    int64
}

func pilotKey(p *feed.Pilot) key     { return key{p.CID, p.Callsign, p.LogonTime.UnixNano()} }
func ctrlKey(c *feed.Controller) key { return key{c.CID, c.Callsign, c.LogonTime.UnixNano()} }

func TestDeterministic(t *testing.T) {
	start := time.Date(2023, 8, 7, 23, 29, 29, 885643800, time.UTC)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{}},
		{"seed 42, 3000 pilots", Config{Seed: 42, Pilots: 3000}},
		{"own start and step", Config{Seed: -7, Pilots: 300, Start: start, Step: 20 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := New(tt.cfg), New(tt.cfg)
			ctx := context.Background()
			for i := range 20 {
				da, err := a.Fetch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				db, err := b.Fetch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(da, db) {
					t.Fatalf("cycle %d: snapshots differ (%d and %d bytes)", i, len(da), len(db))
				}
			}
		})
	}

	// And the seed matters.
	other := tests[0].cfg
	other.Seed++
	da, _ := New(tests[0].cfg).Fetch(context.Background())
	db, _ := New(other).Fetch(context.Background())
	if bytes.Equal(da, db) {
		t.Error("different seeds gave the same snapshot")
	}
}

func TestSnapshotInvariants(t *testing.T) {
	tests := []struct {
		pilots, cycles int
	}{
		{750, 120},
		{3000, 120},
		{30000, 12},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("pilots=%d", tt.pilots), func(t *testing.T) {
			if testing.Short() && tt.pilots > 3000 {
				t.Skip("-short")
			}
			s := New(Config{Seed: 3, Pilots: tt.pilots})
			cfg := s.Config()
			for i, snap := range collect(t, s, tt.cycles) {
				checkSnapshot(t, i, snap, cfg)
				checkCounts(t, i, snap, cfg.Pilots, s.w.targetATIS)
			}
		})
	}
}

// TestOddConfigs runs loads and steps far from the defaults: the invariants hold even where the counts
// cannot be near their targets (one pilot) and where a step spans whole flight phases.
func TestOddConfigs(t *testing.T) {
	tests := []Config{
		{Seed: 1, Pilots: 1},
		{Seed: 2, Pilots: 7, Step: time.Second},
		{Seed: 3, Pilots: 40, Step: time.Hour},
		{Seed: 4, Pilots: 300, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, // whole-second snapshots
	}
	for _, cfg := range tests {
		t.Run(fmt.Sprintf("pilots=%d step=%s", cfg.Pilots, cfg.Step), func(t *testing.T) {
			s := New(cfg)
			for i, snap := range collect(t, s, 200) {
				checkSnapshot(t, i, snap, s.Config())
			}
		})
	}
}

func checkSnapshot(t *testing.T, i int, snap *feed.Snapshot, cfg Config) {
	t.Helper()
	g := snap.General
	wantTS := cfg.Start.Add(time.Duration(i) * cfg.Step)
	if !g.UpdateTimestamp.Equal(wantTS) {
		t.Fatalf("snapshot %d: update_timestamp %v, want %v (consecutive snapshots one step apart)", i,
			g.UpdateTimestamp, wantTS)
	}
	if g.Update != wantTS.Format("20060102150405") || g.Version != 3 {
		t.Errorf("snapshot %d: update %q version %d", i, g.Update, g.Version)
	}
	if want := len(snap.Pilots) + len(snap.Controllers) + len(snap.ATIS); g.ConnectedClients != want {
		t.Errorf("snapshot %d: connected_clients %d, want %d", i, g.ConnectedClients, want)
	}
	cids := map[int64]bool{}
	for _, p := range snap.Pilots {
		cids[p.CID] = true
	}
	for _, l := range [][]feed.Controller{snap.Controllers, snap.ATIS} {
		for _, c := range l {
			cids[c.CID] = true
		}
	}
	if g.UniqueUsers != len(cids) {
		t.Errorf("snapshot %d: unique_users %d, want %d distinct CIDs", i, g.UniqueUsers, len(cids))
	}

	// Keys and callsigns are unique per list; times are ordered; values are in range.
	lists := []struct {
		name string
		keys []key
		cs   []string
	}{{name: "pilots"}, {name: "controllers"}, {name: "atis"}}
	for _, p := range snap.Pilots {
		lists[0].keys = append(lists[0].keys, pilotKey(&p))
		lists[0].cs = append(lists[0].cs, p.Callsign)
		checkTimes(t, i, p.Callsign, p.LogonTime, p.LastUpdated, g.UpdateTimestamp)
		if p.CID < 1_000_000 || p.CID > 9_999_999 {
			t.Errorf("snapshot %d: %s has cid %d, want seven digits", i, p.Callsign, p.CID)
		}
		if p.Name != fmt.Sprintf("Member %d", p.CID) {
			t.Errorf("snapshot %d: %s is named %q", i, p.Callsign, p.Name)
		}
		if p.Heading < 0 || p.Heading > 360 || math.Abs(p.Latitude) > 90 || math.Abs(p.Longitude) > 180 {
			t.Errorf("snapshot %d: %s at %v,%v heading %d", i, p.Callsign, p.Latitude, p.Longitude, p.Heading)
		}
		if p.Groundspeed < 0 || p.Groundspeed > 700 || p.Altitude < -200 || p.Altitude > 50000 {
			t.Errorf("snapshot %d: %s at %d ft, %d kt", i, p.Callsign, p.Altitude, p.Groundspeed)
		}
	}
	for li, l := range [][]feed.Controller{snap.Controllers, snap.ATIS} {
		for _, c := range l {
			lists[li+1].keys = append(lists[li+1].keys, ctrlKey(&c))
			lists[li+1].cs = append(lists[li+1].cs, c.Callsign)
			checkTimes(t, i, c.Callsign, c.LogonTime, c.LastUpdated, g.UpdateTimestamp)
		}
	}
	for _, l := range lists {
		if d := duplicates(l.keys); d != nil {
			t.Errorf("snapshot %d: %s has duplicate connection keys %v", i, l.name, d)
		}
		if d := duplicates(l.cs); d != nil {
			t.Errorf("snapshot %d: %s has duplicate callsigns %v", i, l.name, d)
		}
	}
}

// checkCounts checks that counts stay near their targets for n pilots. ATIS stations are n/12 up to what
// the airport table allows (atis).
func checkCounts(t *testing.T, i int, snap *feed.Snapshot, n, atis int) {
	t.Helper()
	if p := len(snap.Pilots); p < n*97/100 || p > n*103/100 {
		t.Errorf("snapshot %d: %d pilots, want about %d", i, p, n)
	}
	if c := len(snap.Controllers); c < n/10*85/100 || c > n/10*115/100 {
		t.Errorf("snapshot %d: %d controllers, want about %d", i, c, n/10)
	}
	if a := len(snap.ATIS); a < atis/2 || a > atis {
		t.Errorf("snapshot %d: %d ATIS, want about %d", i, a, atis)
	}
	if want := min((n+6)/12, atisCapacity()*4/5); atis != want {
		t.Errorf("ATIS target %d, want %d", atis, want)
	}
	obs := 0
	for _, c := range snap.Controllers {
		if c.Facility == feed.FacilityObserver {
			obs++
			if c.Frequency != feed.NoFrequency {
				t.Errorf("snapshot %d: observer %s on %s", i, c.Callsign, c.Frequency)
			}
		}
	}
	if share := float64(obs) / float64(len(snap.Controllers)); share < 0.30 || share > 0.45 {
		t.Errorf("snapshot %d: observers are %.0f%% of controllers, want 30-45%%", i, share*100)
	}
}

func checkTimes(t *testing.T, i int, callsign string, logon, updated, ts time.Time) {
	t.Helper()
	if logon.IsZero() || updated.Before(logon) || updated.After(ts) {
		t.Errorf("snapshot %d: %s logon %v, last_updated %v, update_timestamp %v", i, callsign, logon, updated, ts)
	}
}

func duplicates[T comparable](list []T) []T {
	seen := map[T]bool{}
	var dup []T
	for _, v := range list {
		if seen[v] {
			dup = append(dup, v)
		}
		seen[v] = true
	}
	return dup
}

// TestMovement checks that airborne aircraft move like the real feed's (median 1.75 NM per 15 s), never
// jump, and head where they go.
func TestMovement(t *testing.T) {
	tests := []struct {
		name     string
		step     time.Duration
		lo, hi   float64 // plausible median, NM
		jumpMax  float64 // NM in one step: an airliner at 600 kt ground speed
		minPairs int
	}{
		{"feed cadence", 15 * time.Second, 1, 3, 2.6, 5000},
		{"one minute", time.Minute, 4, 12, 10.5, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snaps := collect(t, New(Config{Seed: 5, Pilots: 750, Step: tt.step}), 30)
			var moves []float64
			for i := 1; i < len(snaps); i++ {
				prev := map[key]*feed.Pilot{}
				for j := range snaps[i-1].Pilots {
					p := &snaps[i-1].Pilots[j]
					prev[pilotKey(p)] = p
				}
				for j := range snaps[i].Pilots {
					p := &snaps[i].Pilots[j]
					q := prev[pilotKey(p)]
					if q == nil || p.Groundspeed == 0 || q.Groundspeed == 0 {
						continue
					}
					d := distanceNM(q.Latitude, q.Longitude, p.Latitude, p.Longitude)
					if d > tt.jumpMax {
						t.Errorf("%s moved %.1f NM in one step (%d kt)", p.Callsign, d, p.Groundspeed)
					}
					if d > 0.5 {
						// The course flown points where the heading said (great circles turn slowly).
						c := initialCourse(q.Latitude, q.Longitude, p.Latitude, p.Longitude)
						if diff := math.Abs(math.Mod(c-float64(q.Heading)+540, 360) - 180); diff > 5 {
							t.Errorf("%s headed %d but flew %.0f", p.Callsign, q.Heading, c)
						}
					}
					moves = append(moves, d)
				}
			}
			if len(moves) < tt.minPairs {
				t.Fatalf("only %d airborne pairs", len(moves))
			}
			sort.Float64s(moves)
			med := moves[len(moves)/2]
			if med < tt.lo || med > tt.hi {
				t.Errorf("median movement %.2f NM, want %.0f-%.0f NM", med, tt.lo, tt.hi)
			}
			t.Logf("median movement %.2f NM over %d airborne pairs", med, len(moves))
		})
	}
}

func initialCourse(lat1, lon1, lat2, lon2 float64) float64 {
	r := math.Pi / 180
	y := math.Sin((lon2-lon1)*r) * math.Cos(lat2*r)
	x := math.Cos(lat1*r)*math.Sin(lat2*r) - math.Sin(lat1*r)*math.Cos(lat2*r)*math.Cos((lon2-lon1)*r)
	return math.Mod(math.Atan2(y, x)/r+360, 360)
}

// TestFlightLifecycle follows connections through a simulated hour and a half: some flight is seen airborne,
// then parked at its destination, then gone; new connections take the place of those that leave.
func TestFlightLifecycle(t *testing.T) {
	s := New(Config{Seed: 11, Pilots: 750})
	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	initial := map[key]bool{}
	for i := range first.Pilots {
		initial[pilotKey(&first.Pilots[i])] = true
	}
	type track struct {
		airborne, landed bool
		arrival          string
	}
	tracks := map[key]*track{}
	completed, newcomers := 0, 0
	prev := first
	for range 360 {
		snap, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		now := map[key]bool{}
		connections := map[int64]int{}
		for i := range snap.Pilots {
			connections[snap.Pilots[i].CID]++
		}
		for i := range snap.Pilots {
			p := &snap.Pilots[i]
			k := pilotKey(p)
			now[k] = true
			if !initial[k] && tracks[k] == nil {
				newcomers++
				// Pilots connect at the gate, except when reconnecting mid-flight while the old connection
				// lingers (a ghost: the same CID twice).
				if p.Groundspeed != 0 && connections[p.CID] < 2 {
					t.Errorf("new connection %s is moving at %d kt", p.Callsign, p.Groundspeed)
				}
			}
			tr := tracks[k]
			if tr == nil {
				tr = &track{}
				tracks[k] = tr
			}
			if p.FlightPlan == nil {
				continue
			}
			if p.Groundspeed > 0 {
				tr.airborne = true
			} else if tr.airborne && nearAirport(p, p.FlightPlan.Arrival) {
				tr.landed, tr.arrival = true, p.FlightPlan.Arrival
			}
		}
		for i := range prev.Pilots {
			k := pilotKey(&prev.Pilots[i])
			if tr := tracks[k]; tr != nil && !now[k] && tr.airborne && tr.landed {
				completed++
			}
		}
		prev = snap
	}
	if completed == 0 {
		t.Error("no flight was seen flying, landing and disconnecting")
	}
	if newcomers < 100 {
		t.Errorf("%d new connections in 90 minutes, want more than 100", newcomers)
	}
	t.Logf("%d complete flights, %d new connections", completed, newcomers)
}

func nearAirport(p *feed.Pilot, icao string) bool {
	for i := range airports {
		if airports[i].icao == icao {
			return distanceNM(p.Latitude, p.Longitude, airports[i].lat, airports[i].lon) < 1
		}
	}
	return false
}

func TestCyclesLimit(t *testing.T) {
	tests := []struct {
		name   string
		cycles int
		fetch  bool
	}{
		{"fetch", 3, true},
		{"next", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Seed: 1, Pilots: 50, Cycles: tt.cycles})
			get := func() error {
				if tt.fetch {
					_, err := s.Fetch(context.Background())
					return err
				}
				_, err := s.Next()
				return err
			}
			for i := range tt.cycles {
				if err := get(); err != nil {
					t.Fatalf("snapshot %d: %v", i, err)
				}
			}
			for range 2 {
				if err := get(); !errors.Is(err, io.EOF) {
					t.Fatalf("after %d snapshots: %v, want io.EOF", tt.cycles, err)
				}
			}
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := New(Config{Pilots: 10})
	if _, err := s.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch with a canceled context: %v", err)
	}
	if s.Snapshot() != nil {
		t.Fatal("a canceled Fetch advanced the simulation")
	}
}

// TestSnapshotsStayValid checks that a kept snapshot is not changed by later steps: flight plans and ATIS
// texts are shared between snapshots, so the simulator must replace them rather than edit them.
func TestSnapshotsStayValid(t *testing.T) {
	s := New(Config{Seed: 2, Pilots: 750})
	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	before := s.AppendJSON(nil)
	collect(t, s, 400)            // long enough for amendments, new ATIS letters, departures
	s2 := &Simulator{last: first} // no encoded plans: everything is written from the snapshot itself
	after := s2.AppendJSON(nil)
	// Prefiles are not part of feed.Snapshot; compare the lists it holds.
	cut := func(b []byte) []byte { return b[:bytes.Index(b, []byte(`],"servers":`))] }
	if !bytes.Equal(cut(before), cut(after)) {
		t.Fatal("a snapshot changed after later steps")
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixtures")
	cfg := Config{Seed: 9, Pilots: 40, Cycles: 4}
	paths, err := WriteDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"vatsim-data-2024-03-01T180000Z.json", "vatsim-data-2024-03-01T180015Z.json",
		"vatsim-data-2024-03-01T180030Z.json", "vatsim-data-2024-03-01T180045Z.json",
	}
	var got []string
	for _, p := range paths {
		got = append(got, filepath.Base(p))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	s := New(cfg)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fetched, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, fetched) {
			t.Errorf("%s differs from the simulator's snapshot", p)
		}
	}

	bad := []Config{{Cycles: 0}, {Cycles: 2, Step: time.Millisecond}, {Cycles: 2, Step: 1500 * time.Millisecond}}
	for _, bad := range bad {
		if _, err := WriteDir(dir, bad); err == nil {
			t.Errorf("WriteDir(%+v) succeeded", bad)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	s := New(Config{Pilots: -1, Cycles: -3, Start: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3600))})
	c := s.Config()
	if c.Pilots != DefaultPilots || c.Step != DefaultStep || c.Cycles != 0 || c.Start.Location() != time.UTC ||
		!c.Start.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("effective config %+v", c)
	}
	if s.String() == "" {
		t.Error("empty String")
	}
}
