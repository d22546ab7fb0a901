package ingest_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

// intending is a finite simulated feed that remembers, for each snapshot it served, whom the simulator meant
// each pilot to be talking to.
type intending struct {
	sim      *sim.Simulator
	left     int
	intended map[time.Time]map[string]string
}

func (s *intending) Fetch(ctx context.Context) ([]byte, error) {
	if s.left == 0 {
		return nil, io.EOF
	}
	s.left--
	b, err := s.sim.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.intended[s.sim.Snapshot().General.UpdateTimestamp.UTC().Truncate(time.Microsecond)] = s.sim.Intended()
	return b, nil
}

func (s *intending) FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error) {
	return s.sim.FetchTransceivers(ctx, at)
}

func (s *intending) String() string { return "intending " + s.sim.String() }

var _ feed.TransceiverSource = (*intending)(nil)

// A simulated hour through the real runner and store: every stored position's coverage is what the simulator
// meant, flight by flight and cycle by cycle: on the intended controller's frequency in range, or on none.
func TestSimulatedHourCoverageIsTheSimulatorsIntent(t *testing.T) {
	sectors := loadVATSpy(t)
	for _, tc := range []struct {
		pilots, cycles int
	}{{300, 240}} {
		t.Run(fmt.Sprintf("%d pilots, %d cycles", tc.pilots, tc.cycles), func(t *testing.T) {
			store := dbtest.Open(t, migrations.SQLite, repository.Pool{})
			src := &intending{sim: sim.New(sim.Config{Seed: 3, Pilots: tc.pilots}), left: tc.cycles, intended: map[time.Time]map[string]string{}}
			run(t, store, sectors, src, nil)
			rows, err := store.SQL().QueryContext(context.Background(), `SELECT p.observed_at, f.callsign,
				CASE WHEN p.on_frequency IS NULL THEN 'unknown' WHEN p.on_frequency THEN COALESCE(c.callsign, '?') ELSE '' END
				FROM positions p JOIN flights f ON f.id = p.flight_id LEFT JOIN controllers c ON c.id = p.controller_id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var positions, working, wrong int
			seen := map[time.Time]int{}
			for rows.Next() {
				var (
					at                 time.Time
					callsign, reported string
				)
				if err := rows.Scan(&at, &callsign, &reported); err != nil {
					t.Fatal(err)
				}
				at = at.UTC()
				want, ok := src.intended[at][callsign]
				if !ok {
					t.Fatalf("%s at %v: no intent recorded (cycles recorded: %d)", callsign, at, len(src.intended))
				}
				positions++
				seen[at]++
				if reported != "" {
					working++
				}
				if reported != want {
					if wrong++; wrong <= 10 {
						t.Errorf("%s at %v: stored %q, the simulator meant %q", callsign, at, reported, want)
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(seen) != tc.cycles || wrong > 0 {
				t.Fatalf("%d cycles stored of %d, %d of %d positions wrong", len(seen), tc.cycles, wrong, positions)
			}
			// The comparison means something only if many positions work a controller and many do not.
			if working < positions/10 || working > positions*9/10 {
				t.Fatalf("%d of %d positions working a controller: the simulation does not test both outcomes", working, positions)
			}
			t.Logf("%d positions over %d cycles, %d working a controller, all as the simulator meant", positions, len(seen), working)
		})
	}
}

// withTransceivers is a scripted feed whose transceivers file comes from fetch.
type withTransceivers struct {
	*scripted
	fetch func(at time.Time) ([]byte, error)
}

func (s withTransceivers) FetchTransceivers(_ context.Context, at time.Time) ([]byte, error) {
	return s.fetch(at)
}

// A cycle whose transceivers file is missing, stale, failed or malformed still commits, every row of it, with
// its coverage unknown: never stored as off frequency.
func TestCycleWithoutTransceiversCommitsWithCoverageUnknown(t *testing.T) {
	at := t0
	body := func() *scripted {
		return &scripted{bodies: [][]byte{snapshot(t, at, []feed.Pilot{pilot("BAW1", 51, -1, 30000, at.Add(-time.Hour)),
			pilot("DLH2", 50, 8, 30000, at.Add(-time.Hour))}, nil)}}
	}
	valid := []byte(`[{"callsign": "BAW1", "transceivers": [{"id": 0, "frequency": 122800004, "latDeg": 51, "lonDeg": -1,
		"heightMslM": 9000, "heightAglM": 9000}]}]`)
	for _, tc := range []struct {
		name  string
		src   feed.Source
		known bool
	}{
		{"the source has no transceivers", body(), false},
		{"none for the snapshot", withTransceivers{body(), func(time.Time) ([]byte, error) {
			return nil, fmt.Errorf("stale: %w", feed.ErrNoTransceivers)
		}}, false},
		{"the fetch failed", withTransceivers{body(), func(time.Time) ([]byte, error) { return nil, io.ErrUnexpectedEOF }}, false},
		{"a malformed file", withTransceivers{body(), func(time.Time) ([]byte, error) { return []byte(`{"not": "an array"}`), nil }}, false},
		{"a file", withTransceivers{body(), func(got time.Time) ([]byte, error) {
			if !got.Equal(at) {
				return nil, fmt.Errorf("asked for %v, want the snapshot's %v", got, at)
			}
			return valid, nil
		}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := dbtest.Open(t, migrations.SQLite, repository.Pool{})
			run(t, store, customSectors(t), tc.src, nil)
			want := []string{"BAW1|unknown", "DLH2|unknown"}
			cycle := []string{"1|false"}
			if tc.known {
				want = []string{"BAW1|off", "DLH2|off"} // UNICOM, and no station at all
				cycle = []string{"1|true"}
			}
			got := dump(t, store, `SELECT f.callsign, CASE WHEN p.on_frequency IS NULL THEN 'unknown' WHEN p.on_frequency
				THEN 'on' ELSE 'off' END FROM positions p JOIN flights f ON f.id = p.flight_id ORDER BY f.callsign`)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("positions %v, want %v", got, want)
			}
			if got := dump(t, store, "SELECT id, CASE WHEN coverage_known THEN 'true' ELSE 'false' END FROM ingest_cycles WHERE error IS NULL"); fmt.Sprint(got) != fmt.Sprint(cycle) {
				t.Errorf("cycles %v, want %v", got, cycle)
			}
		})
	}
}
