package sim

import (
	"math"
	"strconv"

	"github.com/vatsector/vatsector/feed"
)

// Transceivers: the simulator also produces the transceivers-data.json VATSIM publishes beside each snapshot
// (see feed.Transceivers), consistent with its pilots and controllers, and records which controller each pilot
// was meant to be working, so that a matcher can be checked against the intent.
//
// # Who has which radios
//
// Every random choice below comes from a hash of the seed and the connection (member and logon time), or of
// the connection and the snapshot time, never from the simulation's stream: the snapshots stay byte-identical
// to a simulator that never writes a transceivers file, and a snapshot's transceivers do not depend on which
// earlier ones were asked for.
//
//   - Controller positions (DEL to CTR and FSS) have several antennas on their frequency around their sector's
//     centre (the airport, or the mean of the FIR's airports for CTR and FSS): DEL and GND 3 within 1.5 km,
//     TWR 3-4 within 4 km, APP 4-6 within 45 km, CTR 5-8 (half of them at the FIR's airports, the rest within
//     250 km), FSS 6-8 within 500 km; 10 to 60 m above ground, and about a third of the remote APP, CTR and FSS
//     ones on hills (200-1,500 m of terrain: heightMslM is terrain plus heightAglM). 15% of APP and CTR
//     positions also transmit on a second frequency of their band, from 1 or 2 more antennas near the centre.
//   - ATIS stations have 1 or 2 antennas at their airport on the ATIS frequency.
//   - About 35% of observers (facility 0, _OBS and _SUP alike) have one antenna: half of them on 199.998, half
//     on a staffed controller's frequency next to that controller's sector centre (listening in), often nearer
//     to the pilots than the controller's own antennas: a matcher must not take the observer for the
//     controller. An observer whose callsign a pilot of the snapshot also uses (the simulator lets an observer
//     log on with an airline callsign) has no entry, since a callsign appears once in the file (a prefiled
//     pilot's callsign counts too: it may connect in the meantime).
//   - Pilots: 3% of connections run no voice client (no entry in the file), 1% have an entry with an empty
//     transceivers array, 8% ignore ATC and sit on UNICOM; the others tune radio 0 to the controller of the
//     sector they are in (a staffed position whose sector disc holds them, that suits their phase of flight,
//     whose antennas they can hear: ground positions before tower, approach and centre; approach below about
//     FL180; centre and FSS above), or to its second frequency one time in five when it has one, and to
//     UNICOM when no sector holds them. 10% have a second radio: UNICOM, guard 121.500, or another
//     controller's frequency (the next sector that holds them, else any staffed position's). 3% of
//     connections, when below 3,000 m above ground, sit on the frequency of a staffed position more than
//     600 km from every antenna of it and out of line of sight (a frequency left over from an earlier flight):
//     the range rule must reject them. A pilot's radios are at its feed position; heightMslM is the feed
//     altitude, heightAglM that less the terrain (the route's field elevations interpolated; 1.5-4.5 m, the
//     antenna on the fuselage, on the ground). Ghost connections (frozen, see spawnGhosts) have no entry.
//
// # Frequencies
//
// Controller and ATIS frequencies are the feed's "132.830" names in Hz (132830000): 8.33 kHz channel names are
// whole kHz, as in the real file. Guard is 121500000. UNICOM carries the real file's small offset, which
// depends on the longitude band of the radio: 122800000 + 1 + floor((lon+180)/30) Hz, 30-degree bands from
// -180 (+1 Hz) to 150..180 (+12 Hz; 180 itself counts in the last band).
//
// # The intent
//
// Intended names, for each pilot of the snapshot, the controller it works by this rule, "" for none: a pilot
// works a controller when one of its radios is on one of the controller's frequencies at kHz resolution
// ((Hz+500)/1000) and the pilot's radio is within line of sight of one of that controller's antennas on that
// frequency, d_km <= 4.12 * (sqrt(h1) + sqrt(h2)) with h1, h2 the two heights above ground in metres (a height
// not above 0 counts as 0) and d the haversine great-circle distance on a 6,371.0088 km sphere; when several
// qualify, the nearest antenna wins (ties: the controller first in the controllers list, then the lower
// antenna id). Only controller positions count: not observers (facility 0), not ATIS stations, and no antenna
// on UNICOM (122.800) or 199.998. The simulator computes it with that rule over its own generated radios (by
// frequency, exactly), so it is what the data says, including a pilot tuned to a controller whose frequency
// another position also uses nearer by.

// Radio constants of the transceivers file.
const (
	unicomHz    = 122_800_000
	guardHz     = 121_500_000
	noFreqHz    = 199_998_000
	unicomKHz   = 122_800
	noFreqKHz   = 199_998
	radioEarthR = 6371.0088 // km, the IUGG mean radius
	horizonK    = 4.12      // km per sqrt(m): the 4/3-earth radio horizon
	feetToM     = 0.3048
)

// UnicomHz is the frequency, in Hz, of a UNICOM transceiver at longitude lon: 122.800 MHz plus the real
// file's offset of 1 to 12 Hz, one per 30-degree longitude band from -180.
func UnicomHz(lon float64) int64 { return unicomHz + int64(unicomOffset(lon)) }

func unicomOffset(lon float64) int {
	band := int(math.Floor((lon + 180) / 30))
	return 1 + max(0, min(11, band))
}

// RadioRangeKm is the line-of-sight range between two antennas at these heights above ground (metres):
// 4.12 * (sqrt(h1) + sqrt(h2)), a height not above 0 counting as 0.
func RadioRangeKm(h1, h2 float64) float64 { return radioReach(h1) + radioReach(h2) }

func radioReach(h float64) float64 {
	if !(h > 0) {
		return 0
	}
	return horizonK * math.Sqrt(h)
}

// RadioDistanceKm is the great-circle (haversine) distance the intent rule uses, positions in degrees.
func RadioDistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	a, b := lat1*math.Pi/180, lat2*math.Pi/180
	return havKm(a, math.Cos(a), lon1*math.Pi/180, b, math.Cos(b), lon2*math.Pi/180)
}

func havKm(lat1, cosLat1, lon1, lat2, cosLat2, lon2 float64) float64 {
	sinHalfLat := math.Sin((lat2 - lat1) / 2)
	sinHalfLon := math.Sin((lon2 - lon1) / 2)
	h := sinHalfLat*sinHalfLat + cosLat1*cosLat2*sinHalfLon*sinHalfLon
	h = min(max(h, 0), 1)
	return 2 * radioEarthR * math.Asin(math.Sqrt(h))
}

// khz is a frequency in Hz at kHz resolution.
func khz(hz int64) int64 { return (hz + 500) / 1000 }

// parseKHz reads the feed's "124.455" frequency names.
func parseKHz(s string) int64 {
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			break
		}
	}
	mhz, err := strconv.Atoi(whole)
	if err != nil {
		return 0
	}
	for len(frac) < 3 {
		frac += "0"
	}
	k, err := strconv.Atoi(frac[:3])
	if err != nil {
		return 0
	}
	return int64(mhz)*1000 + int64(k)
}

// hashRand is a splitmix64 sequence started from a hash of its keys: the transceivers' random source, kept
// apart from the world's stream.
type hashRand uint64

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func newHashRand(salt uint64, keys ...uint64) hashRand {
	h := mix64(salt)
	for _, k := range keys {
		h = mix64(h ^ k + 0x9e3779b97f4a7c15)
	}
	return hashRand(h)
}

func (r *hashRand) u64() uint64 {
	*r += 0x9e3779b97f4a7c15
	return mix64(uint64(*r))
}

func (r *hashRand) float() float64 { return float64(r.u64()>>11) * 0x1p-53 }

func (r *hashRand) intn(n int) int { return int(r.u64() % uint64(n)) }

func (r *hashRand) between(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// radioSaltFor derives the transceivers' salt from the seed alone.
func radioSaltFor(seed int64) uint64 { return mix64(uint64(seed) ^ 0x7261_6469_6f5f_7478) }

// stationRadio is a controller's or ATIS station's radios, fixed for its session.
type stationRadio struct {
	lat, lon   float64 // sector centre, degrees
	centre     vec3
	radiusKm   float64 // the sector disc pilots are "in"
	cosRadius  float64
	radios     []feed.Radio // shared by every snapshot's Station: never modified
	primaryHz  int64
	secondHz   int64 // 0 when none
	primaryEnd int   // radios[:primaryEnd] are on primaryHz, the rest on secondHz
}

// destination is the point d km from (lat, lon) on the initial bearing brg (radians), in degrees.
func destination(lat, lon, d, brg float64) (float64, float64) {
	φ1, λ1 := lat*math.Pi/180, lon*math.Pi/180
	δ := d / radioEarthR
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(brg))
	λ2 := λ1 + math.Atan2(math.Sin(brg)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	lon2 := math.Mod(λ2*180/math.Pi+540, 360) - 180
	return φ2 * 180 / math.Pi, lon2
}

// round6 keeps six decimals (about 10 cm) for antenna positions; +0 for zero.
func round6(x float64) float64 {
	r := math.Round(x*1e6) / 1e6
	if r == 0 {
		return 0
	}
	return r
}

// scatter returns a point uniformly spread within rKm of (lat, lon).
func scatter(r *hashRand, lat, lon, rKm float64) (float64, float64) {
	return destination(lat, lon, rKm*math.Sqrt(r.float()), 2*math.Pi*r.float())
}

// radioOf returns c's radios, placing them on first use.
func (w *world) radioOf(c *atc, salt uint64) *stationRadio {
	if c.radio != nil {
		return c.radio
	}
	r := newHashRand(salt, 1, uint64(c.member), uint64(c.c.LogonTime.UnixNano()))
	sr := &stationRadio{}
	var reg region
	var fieldAps []int // airports a CTR puts antennas at
	if c.airport >= 0 {
		a := &airports[c.airport]
		sr.lat, sr.lon, reg = a.lat, a.lon, a.region
	} else {
		aps := w.apsOfFIR[c.fir]
		var sum vec3
		for _, ai := range aps {
			p := w.ap[ai].pos
			sum[0], sum[1], sum[2] = sum[0]+p[0], sum[1]+p[1], sum[2]+p[2]
		}
		n := math.Sqrt(dot(sum, sum))
		if n > 0 {
			sr.lat = math.Asin(max(-1, min(1, sum[2]/n))) * 180 / math.Pi
			sr.lon = math.Atan2(sum[1], sum[0]) * 180 / math.Pi
		}
		if len(aps) > 0 {
			reg = airports[aps[0]].region
		}
		fieldAps = aps
	}
	sr.centre = unit(sr.lat, sr.lon)
	sr.primaryHz = parseKHz(c.c.Frequency) * 1000

	var n int
	var spread, aglLo, aglHi float64
	hills := false
	lo, hi := 0, 0 // band of a second frequency, kHz
	switch c.c.Facility {
	case feed.FacilityDelivery, feed.FacilityGround:
		n, spread, sr.radiusKm, aglLo, aglHi = 3, 1.5, 3, 8, 20
	case feed.FacilityTower:
		n, spread, sr.radiusKm, aglLo, aglHi = 3+r.intn(2), 4, 25, 15, 45
	case feed.FacilityApproach:
		n, spread, sr.radiusKm, aglLo, aglHi = 4+r.intn(3), 45, 90, 20, 60
		hills, lo, hi = true, 118000, 135000
	case feed.FacilityCenter:
		n, spread, sr.radiusKm, aglLo, aglHi = 5+r.intn(4), 250, 400, 20, 60
		hills, lo, hi = true, 124000, 136000
	default: // FSS
		n, spread, sr.radiusKm, aglLo, aglHi = 6+r.intn(3), 500, 900, 20, 60
		hills = true
	}
	sr.cosRadius = math.Cos(sr.radiusKm / radioEarthR)
	elevM := 0.0
	if c.airport >= 0 {
		elevM = float64(airports[c.airport].elev) * feetToM
	}
	atFields := 0
	if c.c.Facility == feed.FacilityCenter && len(fieldAps) > 0 {
		atFields = min(n/2, len(fieldAps))
	}
	first := 0
	if len(fieldAps) > 0 {
		first = r.intn(len(fieldAps))
	}
	radios := make([]feed.Radio, 0, n+2)
	add := func(hz int64, lat, lon, terrain, agl float64) {
		radios = append(radios, feed.Radio{ID: len(radios), FrequencyHz: hz, Latitude: round6(lat),
			Longitude: round6(lon), HeightMSLm: round2(terrain + agl), HeightAGLm: round2(agl)})
	}
	for i := range n {
		agl := r.between(aglLo, aglHi)
		if i < atFields {
			a := &airports[fieldAps[(first+i)%len(fieldAps)]]
			lat, lon := scatter(&r, a.lat, a.lon, 3)
			add(sr.primaryHz, lat, lon, math.Max(0, float64(a.elev)*feetToM), agl)
			continue
		}
		lat, lon := scatter(&r, sr.lat, sr.lon, spread)
		terrain := elevM + r.between(0, 15)
		if hills && r.float() < 0.35 {
			terrain = r.between(200, 1500)
		}
		add(sr.primaryHz, lat, lon, math.Max(0, terrain), agl)
	}
	sr.primaryEnd = len(radios)
	if hi > lo && r.float() < 0.15 {
		k := lo + 25*r.intn((hi-lo)/25)
		if reg == regionEU && r.float() < 0.3 {
			k += []int{5, 10, 15}[r.intn(3)]
		}
		if int64(k)*1000 != sr.primaryHz {
			sr.secondHz = int64(k) * 1000
			for range 1 + r.intn(2) {
				lat, lon := scatter(&r, sr.lat, sr.lon, math.Min(spread, 10))
				add(sr.secondHz, lat, lon, elevM+r.between(0, 15), r.between(aglLo, aglHi))
			}
		}
	}
	sr.radios = radios
	c.radio = sr
	return sr
}

// atisRadioOf returns an ATIS station's antennas at its airport.
func atisRadioOf(a *atisStation, salt uint64) []feed.Radio {
	if a.radios != nil {
		return a.radios
	}
	r := newHashRand(salt, 2, uint64(a.owner.member), strHash(a.c.Callsign), uint64(a.c.LogonTime.UnixNano()))
	ap := &airports[a.airport]
	hz := parseKHz(a.c.Frequency) * 1000
	n := 1
	if r.float() < 0.3 {
		n = 2
	}
	a.radios = make([]feed.Radio, n)
	for i := range a.radios {
		lat, lon := scatter(&r, ap.lat, ap.lon, 1)
		agl := r.between(15, 35)
		a.radios[i] = feed.Radio{ID: i, FrequencyHz: hz, Latitude: round6(lat), Longitude: round6(lon),
			HeightMSLm: round2(math.Max(0, float64(ap.elev)*feetToM) + agl), HeightAGLm: round2(agl)}
	}
	return a.radios
}

// Pilot dispositions, per connection.
const (
	pilotSilentShare = 0.03 // no voice client: no entry
	pilotEmptyShare  = 0.01 // an entry without transceivers
	pilotUnicomShare = 0.08 // ignores ATC
	pilotTwoShare    = 0.10 // a second radio
	pilotStaleShare  = 0.03 // a far controller's frequency when low
	observerTxShare  = 0.35
	staleMinKm       = 600
	staleMaxAGL      = 3000 // m
)

// radioCycle is one snapshot's transceivers and intent.
type radioCycle struct {
	tx       feed.Transceivers
	intended []string // per pilot of the snapshot
}

// site is an indexed antenna: a controller's (index in the controllers list) radio.
type site struct {
	ctrl, ant        int
	lat, cosLat, lon float64 // radians
	reach            float64
}

// gridCells is the sector index: 5-degree cells.
const (
	gridDeg = 5
	gridLat = 180 / gridDeg
	gridLon = 360 / gridDeg
)

func gridCell(lat, lon float64) (int, int) {
	i := int(math.Floor((lat + 90) / gridDeg))
	j := int(math.Floor((lon + 180) / gridDeg))
	return max(0, min(gridLat-1, i)), ((j % gridLon) + gridLon) % gridLon
}

// radios builds the transceivers of snapshot s (the current state) and the intent.
func (w *world) radios(s *feed.Snapshot, salt uint64) *radioCycle {
	rc := &radioCycle{intended: make([]string, len(s.Pilots))}

	// Staffed positions, their sector grid and their antennas by kHz.
	type staffedCtrl struct {
		idx int
		sr  *stationRadio
	}
	var staffed []staffedCtrl
	var grid [gridLat * gridLon][]int32 // indexes into staffed
	byKHz := make(map[int64][]site, len(w.ctrls))
	for i, c := range w.ctrls {
		if c.c.Facility == feed.FacilityObserver {
			continue
		}
		sr := w.radioOf(c, salt)
		k := int32(len(staffed))
		staffed = append(staffed, staffedCtrl{i, sr})
		latSpan := sr.radiusKm / 111.195
		i0, _ := gridCell(sr.lat-latSpan, 0)
		i1, _ := gridCell(sr.lat+latSpan, 0)
		maxLat := math.Min(89.9, math.Max(math.Abs(sr.lat-latSpan), math.Abs(sr.lat+latSpan)))
		lonSpan := latSpan / math.Cos(maxLat*math.Pi/180)
		for gi := i0; gi <= i1; gi++ {
			if lonSpan >= 180 {
				for gj := range gridLon {
					grid[gi*gridLon+gj] = append(grid[gi*gridLon+gj], k)
				}
				continue
			}
			_, j0 := gridCell(0, sr.lon-lonSpan)
			cells := int(math.Ceil(2*lonSpan/gridDeg)) + 1
			for d := range min(cells+1, gridLon) {
				gj := (j0 + d) % gridLon
				grid[gi*gridLon+gj] = append(grid[gi*gridLon+gj], k)
			}
		}
		for a, rd := range sr.radios {
			kz := khz(rd.FrequencyHz)
			if kz == unicomKHz || kz == noFreqKHz || kz <= 0 {
				continue
			}
			lat := rd.Latitude * math.Pi / 180
			byKHz[kz] = append(byKHz[kz], site{ctrl: i, ant: a, lat: lat, cosLat: math.Cos(lat),
				lon: rd.Longitude * math.Pi / 180, reach: radioReach(rd.HeightAGLm)})
		}
	}
	// hears reports whether a radio at (lat, lon, agl) is within line of sight of one of sr's antennas in
	// radios[from:to].
	hears := func(sr *stationRadio, from, to int, lat, lon, agl float64) bool {
		mine := radioReach(agl)
		for _, a := range sr.radios[from:to] {
			limit := mine + radioReach(a.HeightAGLm)
			if math.Abs(lat-a.Latitude)*(math.Pi/180*radioEarthR) > limit {
				continue // farther along the meridian alone
			}
			if RadioDistanceKm(lat, lon, a.Latitude, a.Longitude) <= limit {
				return true
			}
		}
		return false
	}

	stations := make([]feed.Station, 0, len(s.Pilots)+len(s.Controllers)+len(s.ATIS))
	pilotRadios := make([]feed.Radio, 0, len(s.Pilots)+len(s.Pilots)/8)
	type pilotRef struct{ pilot, station, from, to int }
	refs := make([]pilotRef, 0, len(s.Pilots))
	for i, f := range w.flights {
		p := &s.Pilots[i]
		if f.frozen != nil {
			continue // a ghost: the client is gone
		}
		conn := newHashRand(salt, 3, uint64(f.member), uint64(f.logon.UnixNano()))
		disp := conn.float()
		two := conn.float() < pilotTwoShare
		secondMode := conn.intn(3)
		stale := conn.float() < pilotStaleShare
		useSecond := conn.float() < 0.2
		groundAGL := conn.between(1.5, 4.5)
		pick := conn.u64()
		if disp < pilotSilentShare {
			continue
		}
		if disp < pilotSilentShare+pilotEmptyShare {
			stations = append(stations, feed.Station{Callsign: p.Callsign, Radios: []feed.Radio{}})
			continue
		}

		msl := float64(p.Altitude) * feetToM
		var agl float64
		ground := f.phase != phaseAirborne
		if ground {
			agl = groundAGL
		} else {
			progress := 0.0
			if f.total > 0 {
				progress = f.flown / f.total
			}
			terrain := math.Max(0, (float64(airports[f.dep].elev)*(1-progress)+float64(airports[f.arr].elev)*progress)*feetToM)
			agl = math.Max(1, msl-terrain)
		}
		lat, lon := p.Latitude, p.Longitude

		// The sector holding the pilot: best-suited facility, then the nearest centre; second, the runner-up.
		rank := func(fac int) int {
			switch {
			case ground:
				switch fac {
				case feed.FacilityGround:
					return 0
				case feed.FacilityDelivery:
					if f.phase == phaseArrGround {
						return -1
					}
					return 1
				case feed.FacilityTower:
					return 2
				case feed.FacilityApproach:
					return 3
				case feed.FacilityCenter:
					return 4
				}
				return 5
			case agl < 1000:
				switch fac {
				case feed.FacilityTower:
					return 0
				case feed.FacilityApproach:
					return 1
				case feed.FacilityCenter:
					return 2
				case feed.FacilityFSS:
					return 3
				}
			case agl < 5500:
				switch fac {
				case feed.FacilityApproach:
					return 0
				case feed.FacilityCenter:
					return 1
				case feed.FacilityFSS:
					return 2
				}
			default:
				switch fac {
				case feed.FacilityCenter:
					return 0
				case feed.FacilityFSS:
					return 1
				}
			}
			return -1
		}
		pos := unit(lat, lon)
		gi, gj := gridCell(lat, lon)
		best, next := -1, -1
		var bestKey, nextKey [2]float64
		wantNext := two && secondMode == 2 // only then does the runner-up matter
		better := func(a, b [2]float64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
		for _, k := range grid[gi*gridLon+gj] {
			sc := &staffed[k]
			cosd := dot(pos, sc.sr.centre)
			if cosd < sc.sr.cosRadius {
				continue
			}
			rk := rank(w.ctrls[sc.idx].c.Facility)
			if rk < 0 {
				continue
			}
			key := [2]float64{float64(rk), -cosd}
			if wantNext && next >= 0 && !better(key, nextKey) || !wantNext && best >= 0 && !better(key, bestKey) {
				continue
			}
			if !hears(sc.sr, 0, sc.sr.primaryEnd, lat, lon, agl) {
				continue
			}
			if best < 0 || better(key, bestKey) {
				next, nextKey = best, bestKey
				best, bestKey = int(k), key
			} else {
				next, nextKey = int(k), key
			}
		}

		from := len(pilotRadios)
		addRadio := func(hz int64) {
			if khz(hz) == unicomKHz {
				hz = UnicomHz(lon) // a tower on 122.800 included: the client's UNICOM
			}
			pilotRadios = append(pilotRadios, feed.Radio{ID: len(pilotRadios) - from, FrequencyHz: hz,
				Latitude: lat, Longitude: lon, HeightMSLm: round2(msl), HeightAGLm: round2(agl)})
		}
		var first int64
		switch {
		case disp < pilotSilentShare+pilotEmptyShare+pilotUnicomShare:
			first = UnicomHz(lon)
		case stale && agl < staleMaxAGL && len(staffed) > 0:
			// A frequency left over from an earlier flight: a position far out of reach.
			start := int(pick % uint64(len(staffed)))
			for d := range len(staffed) {
				sc := &staffed[(start+d)%len(staffed)]
				kz := khz(sc.sr.primaryHz)
				if kz == unicomKHz || kz == noFreqKHz || kz <= 0 {
					continue
				}
				far := true
				for _, a := range sc.sr.radios[:sc.sr.primaryEnd] {
					d := RadioDistanceKm(lat, lon, a.Latitude, a.Longitude)
					if d < staleMinKm || d <= RadioRangeKm(agl, a.HeightAGLm)+50 {
						far = false
						break
					}
				}
				if far {
					first = sc.sr.primaryHz
					break
				}
			}
		}
		if first == 0 {
			if best >= 0 {
				sr := staffed[best].sr
				first = sr.primaryHz
				if sr.secondHz != 0 && useSecond && hears(sr, sr.primaryEnd, len(sr.radios), lat, lon, agl) {
					first = sr.secondHz
				}
			} else {
				first = UnicomHz(lon)
			}
		}
		addRadio(first)
		if two {
			var second int64
			switch {
			case secondMode == 0 && khz(first) != unicomKHz:
				second = UnicomHz(lon)
			case secondMode == 2 && next >= 0:
				second = staffed[next].sr.primaryHz
			case secondMode == 2 && len(staffed) > 0:
				second = staffed[int(pick>>32%uint64(len(staffed)))].sr.primaryHz
			default:
				second = guardHz
			}
			addRadio(second)
		}
		refs = append(refs, pilotRef{i, len(stations), from, len(pilotRadios)})
		stations = append(stations, feed.Station{Callsign: p.Callsign})
	}
	for _, ref := range refs {
		stations[ref.station].Radios = pilotRadios[ref.from:ref.to:ref.to]
	}

	// Controllers and observers, then ATIS stations.
	for _, c := range w.ctrls {
		if c.c.Facility != feed.FacilityObserver {
			stations = append(stations, feed.Station{Callsign: c.c.Callsign, Radios: c.radio.radios})
			continue
		}
		if _, taken := w.pilotCallsigns[c.c.Callsign]; taken {
			continue // a pilot online or prefiled has the callsign
		}
		r := newHashRand(salt, 4, uint64(c.member), uint64(c.c.LogonTime.UnixNano()))
		if r.float() >= observerTxShare {
			continue
		}
		listen := r.float() < 0.5
		hz := int64(noFreqHz)
		ap := &airports[r.intn(len(airports))]
		lat, lon, terrain, rKm := ap.lat, ap.lon, math.Max(0, float64(ap.elev)*feetToM), 20.0
		if listen && len(staffed) > 0 {
			start := r.intn(len(staffed))
			for d := range len(staffed) {
				sr := staffed[(start+d)%len(staffed)].sr
				if kz := khz(sr.primaryHz); kz != unicomKHz && kz != noFreqKHz && kz > 0 {
					hz, lat, lon, rKm = sr.primaryHz, sr.lat, sr.lon, math.Min(1, sr.radiusKm/20)
					terrain = sr.radios[0].HeightMSLm - sr.radios[0].HeightAGLm
					break
				}
			}
		}
		lat, lon = scatter(&r, lat, lon, rKm)
		agl := r.between(10, 30)
		stations = append(stations, feed.Station{Callsign: c.c.Callsign, Radios: []feed.Radio{{ID: 0,
			FrequencyHz: hz, Latitude: round6(lat), Longitude: round6(lon), HeightMSLm: round2(terrain + agl),
			HeightAGLm: round2(agl)}}})
	}
	for _, a := range w.atis {
		stations = append(stations, feed.Station{Callsign: a.c.Callsign, Radios: atisRadioOf(a, salt)})
	}
	rc.tx.Stations = stations

	// The intent, by the rule.
	for _, ref := range refs {
		st := &stations[ref.station]
		bestKm := math.Inf(1)
		bestCtrl, bestAnt := -1, -1
		for _, rd := range st.Radios {
			sites := byKHz[khz(rd.FrequencyHz)]
			if len(sites) == 0 {
				continue
			}
			lat := rd.Latitude * math.Pi / 180
			cosLat, lon := math.Cos(lat), rd.Longitude*math.Pi/180
			mine := radioReach(rd.HeightAGLm)
			for _, st := range sites {
				limit := mine + st.reach
				if radioEarthR*math.Abs(lat-st.lat) > limit {
					continue
				}
				d := havKm(lat, cosLat, lon, st.lat, st.cosLat, st.lon)
				if d > limit {
					continue
				}
				if d < bestKm || d == bestKm && (st.ctrl < bestCtrl || st.ctrl == bestCtrl && st.ant < bestAnt) {
					bestKm, bestCtrl, bestAnt = d, st.ctrl, st.ant
				}
			}
		}
		if bestCtrl >= 0 {
			rc.intended[ref.pilot] = w.ctrls[bestCtrl].c.Callsign
		}
	}
	return rc
}

// appendTransceivers writes a transceivers-data.json document.
func appendTransceivers(b []byte, t *feed.Transceivers) []byte {
	b = append(b, '[')
	for i := range t.Stations {
		st := &t.Stations[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"callsign":`...)
		b = appendString(b, st.Callsign)
		b = append(b, `,"transceivers":[`...)
		for j := range st.Radios {
			r := &st.Radios[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, int64(r.ID), 10)
			b = append(b, `,"frequency":`...)
			b = strconv.AppendInt(b, r.FrequencyHz, 10)
			b = append(b, `,"latDeg":`...)
			b = appendFixed(b, r.Latitude, 1e6)
			b = append(b, `,"lonDeg":`...)
			b = appendFixed(b, r.Longitude, 1e6)
			b = append(b, `,"heightMslM":`...)
			b = appendFixed(b, r.HeightMSLm, 100)
			b = append(b, `,"heightAglM":`...)
			b = appendFixed(b, r.HeightAGLm, 100)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// appendFixed writes x, which has at most log10(scale) decimals (the simulator rounds positions and heights
// so), as appendFloat would (the shortest decimal that reads back as x), with integer arithmetic instead of
// the general shortest-float algorithm. Any other x is written by appendFloat.
func appendFixed(b []byte, x, scale float64) []byte {
	n := math.Round(x * scale)
	if math.Abs(n) >= 1<<52 || float64(n)/scale != x {
		return appendFloat(b, x)
	}
	i := int64(n)
	if i < 0 {
		b = append(b, '-')
		i = -i
	}
	s := int64(scale)
	b = strconv.AppendInt(b, i/s, 10)
	frac := i % s
	if frac == 0 {
		return b
	}
	var buf [20]byte
	k := 0
	for d := s / 10; d > 0; d /= 10 {
		buf[k] = byte('0' + frac/d%10)
		k++
	}
	for buf[k-1] == '0' {
		k--
	}
	b = append(b, '.')
	return append(b, buf[:k]...)
}
