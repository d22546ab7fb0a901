package feed

import (
	"fmt"
	"testing"
)

// genTransceivers is a plausible transceivers file for n stations: every fifth a controller with several
// radios on ground sites, the others pilots with COM1 and COM2 (UNICOM's Hz offset on some).
func genTransceivers(n int) []Station {
	out := make([]Station, n)
	for i := range out {
		lat, lon := -60+float64(i%1200)*0.1, -170+float64(i%3400)*0.1
		st := Station{Callsign: fmt.Sprintf("TST%04d", i)}
		radios := 2
		if i%5 == 0 {
			st.Callsign += "_CTR"
			radios = 1 + i%4
		}
		for r := range radios {
			f := int64(118_000_000 + (i*25_000+r*8_333)%19_000_000)
			if i%7 == 0 && r == 1 {
				f = 122_800_007
			}
			st.Radios = append(st.Radios, Radio{ID: r, FrequencyHz: f, Latitude: lat + float64(r)*0.001,
				Longitude: lon - float64(r)*0.001, HeightMSLm: 1234.5678 + float64(i), HeightAGLm: 1000.25 + float64(r)})
		}
		out[i] = st
	}
	return out
}

// transceiversJSON writes stations in the file's own shape.
func transceiversJSON(t testing.TB, stations []Station) []byte {
	t.Helper()
	type radio struct {
		ID         int     `json:"id"`
		Frequency  int64   `json:"frequency"`
		LatDeg     float64 `json:"latDeg"`
		LonDeg     float64 `json:"lonDeg"`
		HeightMslM float64 `json:"heightMslM"`
		HeightAglM float64 `json:"heightAglM"`
	}
	type station struct {
		Callsign     string  `json:"callsign"`
		Transceivers []radio `json:"transceivers"`
	}
	list := make([]station, len(stations))
	for i, s := range stations {
		list[i] = station{Callsign: s.Callsign, Transceivers: []radio{}}
		for _, r := range s.Radios {
			list[i].Transceivers = append(list[i].Transceivers, radio{r.ID, r.FrequencyHz, r.Latitude, r.Longitude, r.HeightMSLm, r.HeightAGLm})
		}
	}
	return mustMarshal(t, list)
}

// BenchmarkDecodeTransceivers decodes a file of 3,000 and of 30,000 stations.
func BenchmarkDecodeTransceivers(b *testing.B) {
	for _, n := range []int{3_000, 30_000} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			data := transceiversJSON(b, genTransceivers(n))
			b.Logf("%d bytes", len(data))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeTransceivers(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
