package ingest

import (
	"testing"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/sim"
)

// BenchmarkDiff measures the tracker's Diff at 3,000 simulated pilots over the VATSpy sectors, cycle after
// cycle across an hour boundary (the first cycle of an hour seeds its distinct flights from every open visit):
// diff-µs is a whole Diff, rollups-µs its rollups' part (diffRollups, computed again on the same plan), and
// first-of-hour-µs the rollups' part of the first cycle of the hour. Rows is the sector-hours a cycle writes.
func BenchmarkDiff(b *testing.B) {
	set, err := airspace.LoadVATSpy(shareddata.VATSpyDir(b))
	if err != nil {
		b.Fatal(err)
	}
	a, err := airspace.New(set)
	if err != nil {
		b.Fatal(err)
	}
	sectors := NewAirspaceSectors(a).Current()
	s := sim.New(sim.Config{Seed: 1, Pilots: 3000, Start: time.Date(2024, 3, 1, 18, 50, 0, 0, time.UTC)})
	snaps := make([]*feed.Snapshot, 60) // 15 minutes: the hour boundary at the 41st
	cls := make([]Classification, len(snaps))
	for i := range snaps {
		snap, err := s.Next()
		if err != nil {
			b.Fatal(err)
		}
		snaps[i], cls[i] = snap, Classify(snap, sectors)
	}
	var diff, rollups, first time.Duration
	var n, crossings, rows int
	for b.Loop() {
		tr := NewTracker(nil, 0)
		for i, snap := range snaps {
			start := time.Now()
			plan := tr.Diff(snap, cls[i], sectors)
			d := time.Since(start)
			start = time.Now()
			plan.diffRollups(tr, plan.timestamp)
			r := time.Since(start)
			if i > 0 && hourOf(plan.timestamp) != hourOf(tr.last) {
				first += r
				crossings++
			} else if i >= 5 { // past the first cycles, which open every visit
				diff += d
				rollups += r
				rows += len(plan.Write.SectorHours)
				n++
			}
			tr.Apply(plan)
		}
	}
	b.ReportMetric(float64(diff.Microseconds())/float64(n), "diff-µs")
	b.ReportMetric(float64(rollups.Microseconds())/float64(n), "rollups-µs")
	b.ReportMetric(float64(rows)/float64(n), "rows/cycle")
	if crossings > 0 {
		b.ReportMetric(float64(first.Microseconds())/float64(crossings), "first-of-hour-µs")
	}
	b.ReportMetric(0, "ns/op")
}
