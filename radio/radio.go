// Package radio decides which controller each pilot is talking to, from the radios of the transceivers file:
// a pilot works a controller in a cycle when one of its radios is tuned to one of the controller's frequencies
// and it is within radio line of sight of one of the controller's antennas.
//
// # Frequencies
//
// Frequencies compare at kHz resolution (KHz): real files carry UNICOM at 122.800 MHz plus a few Hz that
// depend on where the station is (122800001 to 122800012 Hz), and 8.33 kHz channels such as 132.830 MHz are
// whole kHz, so rounding to the nearest kHz makes the same channel equal and keeps neighbouring channels (25 or
// 8.33 kHz apart) apart. The old service's ±5 kHz window joined 8.33 kHz neighbours.
//
// # Range
//
// Line of sight uses the radio horizon of a 4/3 earth radius, the standard allowance for VHF refraction:
// d_km = 4.12 × (√h1 + √h2), h the two antennas' heights above ground in metres. It needs only the heights
// the file gives (heightAglM), no terrain; above ground, not above sea level, because an antenna on a
// 1,000 m plateau sees no further than one on the coast at the same height over it. An aircraft at FL350
// (10,668 m) sees a ground antenna 30 m up 448 km away; at 1,000 ft, 95 km.
//
// # Who can be worked
//
// Only controller positions: not an observer, an ATIS, a station on UNICOM (122.800) or on 199.998 (the
// frequency observers and controllers without a position use). The caller says which connections those are;
// Eligible states the frequency rules.
//
// # Indexed by frequency
//
// An Index holds the eligible controllers' antennas by kHz, so a pilot's radio is compared with the antennas
// on its own frequency only: a cycle of 3,000 pilots is a few thousand map lookups and a handful of distances
// each, not 3,000 × every antenna.
package radio

import (
	"cmp"
	"math"
	"slices"
)

// KHz is a frequency in Hz rounded to the nearest kHz.
func KHz(hz int64) int64 { return (hz + 500) / 1000 }

// Frequencies no controller position is on: UNICOM, and 199.998 MHz (observers, positions without a
// frequency).
const (
	UnicomKHz     = 122800
	NoPositionKHz = 199998
)

// Eligible reports whether a frequency can be a controller position's: not UNICOM, not 199.998.
func Eligible(khz int64) bool { return khz != UnicomKHz && khz != NoPositionKHz && khz > 0 }

// Antenna is one of a station's transceivers: where it is and how high above the ground.
type Antenna struct {
	FrequencyHz int64
	Latitude    float64
	Longitude   float64
	HeightAGLm  float64
}

// Controller is a controller connection pilots may work: its id and its antennas (the transceivers of its
// callsign).
type Controller struct {
	ID       int64
	Antennas []Antenna
}

// earthRadiusKm is the mean earth radius (IUGG).
const earthRadiusKm = 6371.0088

// horizonKmPerSqrtM is the radio horizon of one antenna, in km per √(height in m), with a 4/3 earth radius.
const horizonKmPerSqrtM = 4.12

// site is an antenna in the form distances need.
type site struct {
	controller       int64
	antenna          int
	lat, cosLat, lon float64 // radians
	reach            float64 // horizonKmPerSqrtM × √height
}

// Index holds the eligible controllers' antennas by frequency.
type Index struct {
	byKHz map[int64][]site
}

// NewIndex indexes the antennas of the controllers on eligible frequencies. Antennas keep their controller's
// order, so that ties are broken by it.
func NewIndex(controllers []Controller) *Index {
	ix := &Index{byKHz: make(map[int64][]site, len(controllers))}
	for _, c := range controllers {
		for i, a := range c.Antennas {
			khz := KHz(a.FrequencyHz)
			if !Eligible(khz) || !validPlace(a.Latitude, a.Longitude) {
				continue
			}
			lat := a.Latitude * math.Pi / 180
			ix.byKHz[khz] = append(ix.byKHz[khz], site{
				controller: c.ID, antenna: i, lat: lat, cosLat: math.Cos(lat),
				lon: a.Longitude * math.Pi / 180, reach: reach(a.HeightAGLm),
			})
		}
	}
	return ix
}

// Match returns the controller a pilot with these radios works, and the distance in km to the antenna that
// decided it: among the antennas on one of the radios' frequencies within line of sight, the nearest; a tie
// goes to the lower controller id, then the lower antenna index. ok is false when no radio reaches one.
func (ix *Index) Match(radios []Antenna) (controller int64, km float64, ok bool) {
	bestKm := math.Inf(1)
	var best site
	for _, r := range radios {
		sites := ix.byKHz[KHz(r.FrequencyHz)]
		if len(sites) == 0 || !validPlace(r.Latitude, r.Longitude) {
			continue
		}
		lat := r.Latitude * math.Pi / 180
		cosLat, lon := math.Cos(lat), r.Longitude*math.Pi/180
		mine := reach(r.HeightAGLm)
		for _, s := range sites {
			limit := mine + s.reach
			// The great-circle distance is at least the latitudes' difference along a meridian: most antennas
			// on a busy frequency are rejected without the trigonometry.
			if earthRadiusKm*math.Abs(lat-s.lat) > limit {
				continue
			}
			d := distanceKm(lat, cosLat, lon, s.lat, s.cosLat, s.lon)
			if d > limit {
				continue
			}
			if d < bestKm || d == bestKm && cmp.Or(cmp.Compare(s.controller, best.controller), cmp.Compare(s.antenna, best.antenna)) < 0 {
				bestKm, best, ok = d, s, true
			}
		}
	}
	return best.controller, bestKm, ok
}

// Frequencies returns the indexed frequencies in kHz, sorted (for tests and logs).
func (ix *Index) Frequencies() []int64 {
	out := make([]int64, 0, len(ix.byKHz))
	for k := range ix.byKHz {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// reach is one antenna's radio horizon in km; a height below ground counts as on the ground.
func reach(heightM float64) float64 {
	if !(heightM > 0) { // NaN too
		return 0
	}
	return horizonKmPerSqrtM * math.Sqrt(heightM)
}

// LineOfSightKm is the greatest distance at which two antennas at these heights above ground see each other.
func LineOfSightKm(h1, h2 float64) float64 { return reach(h1) + reach(h2) }

// DistanceKm is the great-circle distance between two points in degrees.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	a, b := lat1*math.Pi/180, lat2*math.Pi/180
	return distanceKm(a, math.Cos(a), lon1*math.Pi/180, b, math.Cos(b), lon2*math.Pi/180)
}

// distanceKm is the haversine distance, latitudes and longitudes in radians with the latitudes' cosines
// precomputed: accurate at every distance, the short ones included, where the spherical law of cosines loses
// its digits.
func distanceKm(lat1, cosLat1, lon1, lat2, cosLat2, lon2 float64) float64 {
	sinHalfLat := math.Sin((lat2 - lat1) / 2)
	sinHalfLon := math.Sin((lon2 - lon1) / 2)
	h := sinHalfLat*sinHalfLat + cosLat1*cosLat2*sinHalfLon*sinHalfLon
	h = min(max(h, 0), 1)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

func validPlace(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}
