package ingest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/sim"
)

// BenchmarkMatchRadios measures the radio matching of one cycle at 750, 3,000 and 30,000 simulated pilots over
// the VATSpy sectors. The tracker is brought to a steady state first: warm-up cycles of the simulator, each with
// its transceivers file (sim.Transceivers, what the Runner decodes from the file), through Diff and Apply, so
// most pilots are already in contact and a cycle records only the contacts that change. Then, on the next
// snapshot:
//
//   - match: matchRadios alone, as Diff calls it (the index of the controllers' antennas, one Match per
//     position, the contact events and flight rows that change), on a fresh plan each iteration (the plan is
//     made by a Diff without transceivers, untimed);
//   - diff-with / diff-without: the whole Diff of that snapshot with its transceivers and without (Diff does
//     not change the tracker, so every iteration computes the same cycle); the difference is what matching adds
//     to the diff phase of the cycle.
//
// The transceivers file's decode (feed.BenchmarkDecodeTransceivers) is in none of them.
func BenchmarkMatchRadios(b *testing.B) {
	set, err := airspace.LoadVATSpy(shareddata.VATSpyDir(b))
	if err != nil {
		b.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		b.Fatal(err)
	}
	sectors := NewAirspaceSectors(a).Current()
	for _, pilots := range []int{750, 3000, 30000} {
		const warmup = 8
		s := sim.New(sim.Config{Seed: 1, Pilots: pilots, Start: time.Date(2024, 3, 1, 18, 0, 0, 0, time.UTC)})
		tr := NewTracker(nil, 0)
		var snap *feed.Snapshot
		var txs *feed.Transceivers
		var cls Classification
		for i := 0; i <= warmup; i++ {
			if snap, err = s.Next(); err != nil {
				b.Fatal(err)
			}
			txs, cls = s.Transceivers(), Classify(snap, sectors)
			if i < warmup {
				snap.Transceivers = txs
				tr.Apply(tr.Diff(snap, cls, sectors))
			}
		}
		with, without := *snap, *snap
		with.Transceivers, without.Transceivers = txs, nil
		radios := 0
		for i := range txs.Stations {
			radios += len(txs.Stations[i].Radios)
		}

		b.Run(fmt.Sprintf("pilots=%d/match", pilots), func(b *testing.B) {
			b.ReportAllocs()
			var positions, events, flights, working int
			for range b.N {
				b.StopTimer()
				p := tr.Diff(&without, cls, sectors)
				pp := positionPilots(&without, p)
				ev, fl := len(p.Write.Events), len(p.Write.Flights)
				b.StartTimer()
				p.matchRadios(tr, &with, pp)
				b.StopTimer()
				positions, events, flights = len(p.Write.Positions), len(p.Write.Events)-ev, len(p.Write.Flights)-fl
				working = 0
				for i := range p.Write.Positions {
					if p.Write.Positions[i].ControllerID != 0 {
						working++
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(positions), "positions")
			b.ReportMetric(float64(working), "working")
			b.ReportMetric(float64(events), "contact-events")
			b.ReportMetric(float64(flights), "extra-flight-rows")
			b.ReportMetric(float64(len(txs.Stations)), "stations")
			b.ReportMetric(float64(radios), "radios")
		})
		b.Run(fmt.Sprintf("pilots=%d/diff-with", pilots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.Diff(&with, cls, sectors)
			}
		})
		b.Run(fmt.Sprintf("pilots=%d/diff-without", pilots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.Diff(&without, cls, sectors)
			}
		})
	}
}

// positionPilots rebuilds, for a plan Diff made without transceivers, the pilots of its positions as Diff
// collects them for matchRadios: one per position, in order, with where the flight's row is written (-1 none).
func positionPilots(snap *feed.Snapshot, p *Plan) []positionPilot {
	written := make(map[int64]int, len(p.Write.Flights))
	for i := range p.Write.Flights {
		if _, ok := written[p.Write.Flights[i].ID]; !ok {
			written[p.Write.Flights[i].ID] = i
		}
	}
	seen := make(map[connKey]bool, len(snap.Pilots))
	out := make([]positionPilot, 0, len(p.Write.Positions))
	for i := range snap.Pilots {
		pl := &snap.Pilots[i]
		key := keyOf(pl.CID, pl.Callsign, feedTime(pl.LogonTime))
		if seen[key] {
			continue
		}
		seen[key] = true
		fs := p.flights[key]
		w, ok := written[fs.row.ID]
		if !ok {
			w = -1
		}
		out = append(out, positionPilot{callsign: pl.Callsign, flight: fs, written: w})
	}
	if len(out) != len(p.Write.Positions) {
		panic(fmt.Sprintf("%d pilots for %d positions", len(out), len(p.Write.Positions)))
	}
	return out
}
