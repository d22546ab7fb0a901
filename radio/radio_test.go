package radio

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKHz(t *testing.T) {
	for _, tc := range []struct {
		hz   int64
		want int64
	}{
		{122800000, 122800}, {122800001, 122800}, {122800012, 122800}, // UNICOM with its Hz offsets
		{132830000, 132830}, {132835000, 132835}, // 8.33 kHz neighbours stay apart
		{118700499, 118700}, {118700500, 118701},
	} {
		if got := KHz(tc.hz); got != tc.want {
			t.Errorf("KHz(%d) = %d, want %d", tc.hz, got, tc.want)
		}
	}
}

func TestDistanceAndLineOfSight(t *testing.T) {
	// Heathrow to Charles de Gaulle: 347.6 km on the sphere.
	if d := DistanceKm(51.4700, -0.4543, 49.0097, 2.5479); math.Abs(d-347.6) > 1 {
		t.Errorf("EGLL-LFPG %.1f km", d)
	}
	if d := DistanceKm(10, 179.9, 10, -179.9); math.Abs(d-21.9) > 0.1 {
		t.Errorf("across the antimeridian %.2f km", d)
	}
	if d := DistanceKm(51, 0, 51, 0.0001); d <= 0 || math.Abs(d-0.007) > 0.001 {
		t.Errorf("7 m apart: %.5f km", d)
	}
	// FL350 (10,668 m) and a ground antenna 30 m up: 448 km, as the package documents.
	if d := LineOfSightKm(10668, 30); math.Abs(d-448.1) > 0.5 {
		t.Errorf("line of sight FL350/30 m: %.1f km", d)
	}
	if d := LineOfSightKm(-5, math.NaN()); d != 0 {
		t.Errorf("antennas below ground: %v km", d)
	}
}

func TestMatch(t *testing.T) {
	london := Controller{ID: 10, Antennas: []Antenna{
		{FrequencyHz: 132830000, Latitude: 51.5, Longitude: -0.1, HeightAGLm: 30},
		{FrequencyHz: 132830000, Latitude: 53.5, Longitude: -2.2, HeightAGLm: 300},
	}}
	neighbour := Controller{ID: 11, Antennas: []Antenna{{FrequencyHz: 132835000, Latitude: 51.5, Longitude: -0.1, HeightAGLm: 30}}}
	paris := Controller{ID: 5, Antennas: []Antenna{{FrequencyHz: 128100000, Latitude: 49.0, Longitude: 2.5, HeightAGLm: 30}}}
	observer := Controller{ID: 3, Antennas: []Antenna{{FrequencyHz: 199998000, Latitude: 51.5, Longitude: -0.1, HeightAGLm: 30}}}
	unicom := Controller{ID: 4, Antennas: []Antenna{{FrequencyHz: 122800004, Latitude: 51.5, Longitude: -0.1, HeightAGLm: 30}}}
	ix := NewIndex([]Controller{london, neighbour, paris, observer, unicom})
	radio := func(hz int64, lat, lon, h float64) Antenna {
		return Antenna{FrequencyHz: hz, Latitude: lat, Longitude: lon, HeightAGLm: h}
	}
	for _, tc := range []struct {
		name   string
		radios []Antenna
		want   int64 // 0: none
	}{
		{"on frequency, in range", []Antenna{radio(132830000, 51.6, -0.5, 10000)}, 10},
		{"a few Hz off the channel", []Antenna{radio(132830007, 51.6, -0.5, 10000)}, 10},
		{"the 8.33 kHz neighbour's channel", []Antenna{radio(132835000, 51.6, -0.5, 10000)}, 11},
		{"on frequency, out of range (low, 700 km away)", []Antenna{radio(132830000, 45.5, -0.5, 300)}, 0},
		{"the nearer antenna of the same controller decides", []Antenna{radio(132830000, 54, -2, 3000)}, 10},
		{"second radio on another controller", []Antenna{radio(121500000, 49.1, 2.4, 3000), radio(128100000, 49.1, 2.4, 3000)}, 5},
		{"two radios on two controllers: the nearer antenna wins", []Antenna{radio(132830000, 49.3, 2.2, 10000), radio(128100000, 49.3, 2.2, 10000)}, 5},
		{"observer's 199.998 is no position", []Antenna{radio(199998000, 51.5, -0.1, 10000)}, 0},
		{"UNICOM is no position", []Antenna{radio(122800004, 51.5, -0.1, 10000)}, 0},
		{"no radio", nil, 0},
		{"a radio out of the world", []Antenna{radio(132830000, 95, 0, 10000)}, 0},
	} {
		got, _, ok := ix.Match(tc.radios)
		if !ok {
			got = 0
		}
		if got != tc.want {
			t.Errorf("%s: controller %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := ix.Frequencies(); len(got) != 3 {
		t.Errorf("indexed frequencies %v: UNICOM and 199.998 must not be", got)
	}
}

// Match agrees with a brute-force scan of every radio against every antenna, ties and all.
func TestMatchAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	freqs := []int64{118700000, 121500000, 122800003, 124225000, 128100000, 132830000, 132835000, 199998000}
	for round := range 20 {
		var ctls []Controller
		for id := int64(1); id <= 40; id++ {
			c := Controller{ID: id}
			f := freqs[rng.IntN(len(freqs))]
			lat, lon := 40+rng.Float64()*20, -10+rng.Float64()*30
			for range 1 + rng.IntN(6) {
				c.Antennas = append(c.Antennas, Antenna{FrequencyHz: f + int64(rng.IntN(9)), Latitude: lat + rng.NormFloat64(),
					Longitude: lon + rng.NormFloat64(), HeightAGLm: rng.Float64() * 300})
			}
			ctls = append(ctls, c)
		}
		if round%2 == 1 { // duplicate antennas: ties between controllers and within one
			ctls = append(ctls, Controller{ID: 99, Antennas: ctls[0].Antennas})
			ctls[1].Antennas = append(ctls[1].Antennas, ctls[1].Antennas...)
		}
		ix := NewIndex(ctls)
		for range 300 {
			var radios []Antenna
			lat, lon, h := 38+rng.Float64()*24, -12+rng.Float64()*34, rng.Float64()*12000
			for range rng.IntN(3) {
				radios = append(radios, Antenna{FrequencyHz: freqs[rng.IntN(len(freqs))] + int64(rng.IntN(9)), Latitude: lat, Longitude: lon, HeightAGLm: h})
			}
			got, gotKm, ok := ix.Match(radios)
			want, wantKm, wantOK := bruteForce(ctls, radios)
			if ok != wantOK || ok && (got != want || math.Abs(gotKm-wantKm) > 1e-9) {
				t.Fatalf("round %d, radios %v: %d at %.3f km (%v), brute force %d at %.3f km (%v)", round, radios, got, gotKm, ok, want, wantKm, wantOK)
			}
		}
	}
}

// bruteForce is the rule written plainly: every radio against every antenna of every controller.
func bruteForce(ctls []Controller, radios []Antenna) (int64, float64, bool) {
	best, bestKm, bestAntenna, found := int64(0), math.Inf(1), 0, false
	for _, r := range radios {
		for _, c := range ctls {
			for i, a := range c.Antennas {
				khz := (a.FrequencyHz + 500) / 1000
				if khz == 122800 || khz == 199998 || khz != (r.FrequencyHz+500)/1000 {
					continue
				}
				d := DistanceKm(r.Latitude, r.Longitude, a.Latitude, a.Longitude)
				if d > 4.12*(math.Sqrt(max(r.HeightAGLm, 0))+math.Sqrt(max(a.HeightAGLm, 0))) {
					continue
				}
				if !found || d < bestKm || d == bestKm && (c.ID < best || c.ID == best && i < bestAntenna) {
					best, bestKm, bestAntenna, found = c.ID, d, i, true
				}
			}
		}
	}
	return best, bestKm, found
}

func BenchmarkMatch3000Pilots(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var ctls []Controller
	for id := int64(1); id <= 300; id++ {
		f := 118000000 + int64(rng.IntN(800))*25000
		lat, lon := -60+rng.Float64()*130, -180+rng.Float64()*360
		c := Controller{ID: id}
		for range 5 {
			c.Antennas = append(c.Antennas, Antenna{FrequencyHz: f, Latitude: lat + rng.NormFloat64(), Longitude: min(max(lon+rng.NormFloat64(), -180), 180), HeightAGLm: 30})
		}
		ctls = append(ctls, c)
	}
	pilots := make([][]Antenna, 3000)
	for i := range pilots {
		c := ctls[rng.IntN(len(ctls))]
		a := c.Antennas[0]
		pilots[i] = []Antenna{{FrequencyHz: a.FrequencyHz, Latitude: a.Latitude + rng.NormFloat64(), Longitude: a.Longitude, HeightAGLm: 9000}}
	}
	b.ReportAllocs()
	for b.Loop() {
		ix := NewIndex(ctls)
		for _, r := range pilots {
			ix.Match(r)
		}
	}
}
