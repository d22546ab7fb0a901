package sim

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGenerate measures one feed cycle at network-like and stress loads: "struct" is the simulation
// step plus the feed.Snapshot (what a benchmark that skips JSON uses), "json" adds the vatsim-data.json
// encoding that Fetch returns. The 15 s feed cadence is the budget; the aim is tens of milliseconds.
func BenchmarkGenerate(b *testing.B) {
	for _, pilots := range []int{3000, 30000} {
		b.Run(fmt.Sprintf("pilots=%d/struct", pilots), func(b *testing.B) {
			s := New(Config{Seed: 1, Pilots: pilots})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Next(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("pilots=%d/json", pilots), func(b *testing.B) {
			s := New(Config{Seed: 1, Pilots: pilots})
			ctx := context.Background()
			b.ReportAllocs()
			var size int
			for b.Loop() {
				data, err := s.Fetch(ctx)
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size)/1e6, "MB/snapshot")
		})
	}
}

// BenchmarkNew measures building the initial traffic, which tests and replays pay once per simulator.
func BenchmarkNew(b *testing.B) {
	for _, pilots := range []int{3000, 30000} {
		b.Run(fmt.Sprintf("pilots=%d", pilots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				New(Config{Seed: 1, Pilots: pilots})
			}
		})
	}
}

// BenchmarkEncode measures the JSON encoding alone, into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, pilots := range []int{3000, 30000} {
		b.Run(fmt.Sprintf("pilots=%d", pilots), func(b *testing.B) {
			s := New(Config{Seed: 1, Pilots: pilots})
			if _, err := s.Next(); err != nil {
				b.Fatal(err)
			}
			buf := s.AppendJSON(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = s.AppendJSON(buf[:0])
			}
		})
	}
}
