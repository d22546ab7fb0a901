package feed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vatsector/vatsector/internal/shareddata"
)

// BenchmarkDecode measures Decode on the biggest shared snapshot and on generated snapshots up to the 30,000
// pilots (~30 MB) the service is sized for.
func BenchmarkDecode(b *testing.B) { benchDecoders(b, Decode) }

// BenchmarkDecodeStd is the same work through encoding/json (the reference decoder), for comparison.
func BenchmarkDecodeStd(b *testing.B) {
	benchDecoders(b, func(data []byte) (*Snapshot, error) { return decode(data, decodeStd) })
}

func benchDecoders(b *testing.B, dec func([]byte) (*Snapshot, error)) {
	b.Run("shared", func(b *testing.B) {
		var biggest string
		var size int64
		for _, f := range shareddata.Feeds(b) {
			if st, err := os.Stat(f); err == nil && st.Size() > size {
				biggest, size = f, st.Size()
			}
		}
		data, err := os.ReadFile(biggest)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d bytes", filepath.Base(biggest), len(data))
		benchDecode(b, dec, data)
	})
	for _, n := range []int{1_000, 30_000} {
		b.Run(fmt.Sprintf("generated/pilots=%d", n), func(b *testing.B) {
			data := mustMarshal(b, genSnapshot(baseTime, n, n/10, n/20))
			b.Logf("%d bytes", len(data))
			benchDecode(b, dec, data)
		})
	}
}

func benchDecode(b *testing.B, dec func([]byte) (*Snapshot, error), data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLooksLikeSnapshot is what the HTTP source adds per fetch to detect garbage from a mirror.
func BenchmarkLooksLikeSnapshot(b *testing.B) {
	data := mustMarshal(b, genSnapshot(baseTime, 30_000, 3_000, 1_500))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := looksLikeSnapshot(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValid compares the sources' syntax check with json.Valid.
func BenchmarkValid(b *testing.B) {
	data := mustMarshal(b, genSnapshot(baseTime, 30_000, 3_000, 1_500))
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			json.Valid(data)
		}
	})
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			validJSON(data)
		}
	})
}
