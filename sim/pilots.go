package sim

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// phase is where a flight is in its life on the network.
type phase uint8

const (
	phaseDepGround phase = iota // at the gate: groundspeed 0, altitude about the field elevation
	phaseAirborne               // climbing, cruising or descending along the great circle
	phaseArrGround              // landed: parked until it disconnects
	phaseParked                 // connected without going anywhere (often without a flight plan)
)

// qnhMode is what a pilot's client reports as qnh_i_hg/qnh_mb: the simulator's sea-level pressure, which
// is standard (29.92) when the simulator runs without live weather.
type qnhMode uint8

const (
	qnhWeather qnhMode = iota // the pressure where the aircraft is: departure QNH turning into arrival QNH
	qnhNoWeather
)

// flight is one pilot connection, or a prefiled flight waiting to connect.
type flight struct {
	member      int
	cid         int64
	name        string
	callsign    string
	server      string
	pilotRating int
	milRating   *int
	fp          *feed.FlightPlan // published plan; nil for connections without one. Replaced, never modified.
	filed       time.Time        // when the plan was filed (last_updated in prefiles)
	typ         *acType
	vfr         bool

	dep, arr  int // airport indexes
	gc        greatCircle
	total     float64 // route length, NM
	flown     float64 // NM along the route
	cruiseAlt float64 // filed level, ft
	cruiseNow float64 // level actually flown: follows cruiseAlt gradually after an amendment
	cruiseGS  float64 // ground speed at cruise (TAS plus a per-flight wind), kt
	climbGrad float64 // ft per NM
	descGrad  float64

	phase       phase
	timer       int // steps left on the ground (departure, arrival, parked)
	depWait     int
	arrWait     int
	lat, lon    float64
	heading     int
	alt, gs     float64
	transponder string
	qnh         qnhMode
	qnhOffset   float64 // hPa: the simulator's weather is not the airport's exactly
	logon       time.Time

	frozen      *feed.Pilot // a ghost: the connection's last record, repeated until it times out
	frozenUntil int

	planJSON encodedPlan // fp encoded, refreshed when fp is replaced
}

// encodedPlan is a flight plan with its JSON. Plans change rarely (amendments) but are written every 15 s,
// so keeping their encoding halves the cost of writing a snapshot.
type encodedPlan struct {
	fp   *feed.FlightPlan
	json []byte
}

func (f *flight) encodedPlan() encodedPlan {
	if f.fp == nil {
		return encodedPlan{}
	}
	if f.planJSON.fp != f.fp {
		f.planJSON = encodedPlan{f.fp, appendFlightPlan(make([]byte, 0, 640), f.fp)}
	}
	return f.planJSON
}

// pickPilotMember returns a member with no connection or prefile, and marks it used.
func (w *world) pickPilotMember() int {
	for {
		m := w.rng.IntN(w.pilotMembers)
		if w.pilotUses[m] == 0 {
			w.pilotUses[m]++
			return m
		}
	}
}

// planRoute draws what a flight does: its airports, aircraft, level and ground times. It reserves nothing,
// so the initial population can draw and reject routes freely (see newWorld). A flight without a plan
// (noPlan) mostly just sits at the gate for a while, as many plan-less connections do.
func (w *world) planRoute(noPlan bool) *flight {
	rng := w.rng
	f := &flight{}
	f.dep = w.pickAirport()
	dep := &airports[f.dep]

	// Mostly airliners, some light aircraft (VFR when a neighbour is close enough).
	near := w.ap[f.dep].near
	switch r := rng.Float64(); {
	case r < 0.04 && len(near) > 0:
		f.vfr = true
		f.arr = near[rng.IntN(len(near))]
		f.typ = w.pickType(w.distance(f.dep, f.arr), classGA, classGA)
	case r < 0.10 && len(near) > 0:
		f.arr = near[rng.IntN(len(near))]
		f.typ = w.pickType(w.distance(f.dep, f.arr), classBizjet, classGA)
	default:
		f.arr = w.pickDestination(f.dep)
		f.typ = w.pickType(w.distance(f.dep, f.arr), classAirliner, classCargo)
	}
	arr := &airports[f.arr]
	f.gc = newGreatCircle(w.ap[f.dep].pos, w.ap[f.arr].pos)
	f.total = f.gc.theta * earthRadiusNM
	f.climbGrad, f.descGrad = 330, 318 // about 2,000 fpm at 360 kt, and the 3-degree path
	if f.typ.class == classGA {
		f.climbGrad, f.descGrad = 550, 400
	}

	// Level: within the type's band but lower on short hops (the cap grows 12,000 ft per 100 NM), clear of
	// both fields, by the semicircular rule (odd thousands eastbound); VFR adds 500 ft.
	_, _, course := f.gc.at(0)
	lo, hi := f.typ.minAlt, f.typ.maxAlt
	hi = min(hi, max(lo/2, 8000+int(f.total*120)))
	lo = min(lo, hi)
	alt := max(lo+rng.IntN(hi-lo+1), max(dep.elev, arr.elev)+2000)
	alt = alt / 1000 * 1000
	if odd := alt/1000%2 == 1; odd != (course < 180) {
		alt += 1000
	}
	if f.vfr {
		alt += 500
	}
	f.cruiseAlt = float64(alt)
	f.cruiseNow = f.cruiseAlt
	wind := rng.NormFloat64() * 35
	if f.typ.class == classGA {
		wind = rng.NormFloat64() * 8
	}
	f.cruiseGS = math.Max(float64(f.typ.vLow)+20, float64(f.typ.tas)+math.Max(-100, math.Min(120, wind)))

	// Pilots sit at the gate a long while before pushing back (some for hours), less after landing.
	f.depWait = w.cycles(w.between(10*time.Minute, time.Hour))
	if rng.Float64() < 0.2 {
		f.depWait = w.cycles(w.between(time.Hour, 3*time.Hour))
	}
	f.arrWait = w.cycles(w.between(2*time.Minute, 20*time.Minute))
	f.phase, f.timer = phaseDepGround, f.depWait
	if noPlan && rng.Float64() < 0.6 {
		f.phase, f.timer = phaseParked, w.cycles(w.between(10*time.Minute, 2*time.Hour))
	}
	return f
}

// lifetime is how many steps f stays connected, from logon to disconnect (ignoring the rare mid-flight
// disconnects).
func (w *world) lifetime(f *flight) int {
	if f.phase == phaseParked {
		return f.timer
	}
	return f.depWait + w.airborneSteps(f) + f.arrWait
}

// airborneSteps estimates the steps from take-off to landing: climb and descent are slower than cruise.
func (w *world) airborneSteps(f *flight) int {
	return int(f.total/(0.85*f.cruiseGS)*3600/w.dt) + 1
}

// planFlight completes a planned route into a flight for member: callsign, ratings, flight plan (none when
// noPlan). It reserves the callsign; the caller has reserved the member.
func (w *world) planFlight(f *flight, member int, noPlan bool) *flight {
	rng := w.rng
	h := w.memberHash(member)
	f.member, f.cid = member, w.cid(member)
	f.name = memberName(f.cid)
	f.pilotRating = pickWeighted(pilotRatingShares[:], float64(h&0xffff)/65536)
	mil := pickWeighted(militaryRatingShares[:], float64(h>>16&0xffff)/65536)
	f.milRating = &mil
	if rng.Float64() < 0.07 {
		f.qnh = qnhNoWeather
	}
	f.qnhOffset = rng.NormFloat64() * 1.5

	dep, arr := &airports[f.dep], &airports[f.arr]
	switch f.typ.class {
	case classAirliner:
		reg := dep.region
		if rng.Float64() < 0.3 {
			reg = arr.region
		}
		f.callsign = w.uniqueCallsign(func() string { return w.airlineCallsign(reg) })
	case classCargo:
		f.callsign = w.uniqueCallsign(func() string {
			return cargoAirlines[rng.IntN(len(cargoAirlines))] + w.flightNumber()
		})
	default:
		f.callsign = w.uniqueCallsign(func() string { return w.registration(dep.region) })
	}
	if !noPlan {
		f.fp = w.flightPlan(f)
	}
	return f
}

// newFlight plans a flight for a free member.
func (w *world) newFlight(noPlan bool) *flight {
	return w.planFlight(w.planRoute(noPlan), w.pickPilotMember(), noPlan)
}

// noPlanShare of connections come without a flight plan. Most of them leave sooner than flights do, so
// this makes about 5% of the online pilots, as recorded.
const noPlanShare = 0.12

// cargoAirlines fly the freighter types.
var cargoAirlines = [...]string{"FDX", "UPS", "CLX", "GTI", "CKS", "BOX", "DHK"}

// distance between two airports, NM.
func (w *world) distance(a, b int) float64 { return angle(w.ap[a].pos, w.ap[b].pos) * earthRadiusNM }

// pickDestination returns an airline destination: mostly in the same region, as most flights are
// continental, and never closer than 60 NM nor beyond the longest-range type.
func (w *world) pickDestination(dep int) int {
	var arr int
	for range 16 {
		if w.rng.Float64() < 0.8 {
			arr = w.pickAirportIn(airports[dep].region)
		} else {
			arr = w.pickAirport()
		}
		if d := w.distance(dep, arr); arr != dep && d >= 60 && d <= 8000 {
			return arr
		}
	}
	if arr == dep {
		arr = (dep + 1) % len(airports)
	}
	return arr
}

// pickType returns a type of class a or b whose range fits dist, weighted by popularity; failing that, the
// type of those classes with the longest range.
func (w *world) pickType(dist float64, a, b acClass) *acType {
	total := 0.0
	var best *acType
	for i := range acTypes {
		t := &acTypes[i]
		if t.class != a && t.class != b {
			continue
		}
		if best == nil || t.maxDist > best.maxDist {
			best = t
		}
		if dist >= t.minDist && dist <= t.maxDist {
			total += t.weight
		}
	}
	if total == 0 {
		return best
	}
	x := w.rng.Float64() * total
	for i := range acTypes {
		t := &acTypes[i]
		if (t.class == a || t.class == b) && dist >= t.minDist && dist <= t.maxDist {
			if x < t.weight {
				return t
			}
			x -= t.weight
		}
	}
	return best
}

// uniqueCallsign draws callsigns until one is neither online nor prefiled, and reserves it.
func (w *world) uniqueCallsign(gen func() string) string {
	for {
		c := gen()
		if _, taken := w.pilotCallsigns[c]; !taken {
			w.pilotCallsigns[c] = struct{}{}
			return c
		}
	}
}

func (w *world) airlineCallsign(r region) string {
	al := airlines[r][w.pickCum(w.cumAirlines[r])]
	return al.icao + w.flightNumber()
}

// flightNumber is one to four digits, sometimes with the letter suffixes of real callsigns (NOZ425A, VIR23M).
func (w *world) flightNumber() string {
	digits := pickWeighted([]weighted[int]{{1, 5}, {2, 20}, {3, 40}, {4, 35}}, w.rng.Float64())
	n := 1 + w.rng.IntN(9)
	for range digits - 1 {
		n = n*10 + w.rng.IntN(10)
	}
	s := strconv.Itoa(n)
	switch r := w.rng.Float64(); {
	case r < 0.10:
		s += string(rune('A' + w.rng.IntN(26)))
	case r < 0.13 && digits <= 3:
		s += string(rune('A'+w.rng.IntN(26))) + string(rune('A'+w.rng.IntN(26)))
	}
	return s
}

// registration is a general-aviation callsign in the style of the region (N123AB, GABCD, DEABC, VHXYZ).
func (w *world) registration(r region) string {
	p := registrationPrefixes[r][w.rng.IntN(len(registrationPrefixes[r]))]
	var b strings.Builder
	b.WriteString(p)
	letter := func() { b.WriteByte(byte('A' + w.rng.IntN(26))) }
	digit := func() { b.WriteByte(byte('0' + w.rng.IntN(10))) }
	switch p {
	case "N":
		b.WriteByte(byte('1' + w.rng.IntN(9)))
		for range w.rng.IntN(4) {
			digit()
		}
		for range w.rng.IntN(3) {
			letter()
		}
	case "JA", "HL":
		for range 4 {
			digit()
		}
	default:
		n := 3
		if len(p) == 1 {
			n = 4
		}
		for range n {
			letter()
		}
	}
	return b.String()
}

// squawk is a discrete transponder code: four octal digits, avoiding the conspicuity and emergency codes.
func (w *world) squawk() string {
	for {
		var b [4]byte
		for i := range b {
			b[i] = byte('0' + w.rng.IntN(8))
		}
		switch s := string(b[:]); s {
		case "0000", "1200", "2000", "7000", "7500", "7600", "7700":
		default:
			return s
		}
	}
}

// flightPlan files the plan of f: the fields and formats of the real feed, with a SimBrief-like remark.
func (w *world) flightPlan(f *flight) *feed.FlightPlan {
	rng := w.rng
	t := f.typ
	dep, arr := &airports[f.dep], &airports[f.arr]
	fp := &feed.FlightPlan{
		FlightRules:   "I",
		Aircraft:      t.icao + "/" + t.wake + "-" + t.equip,
		AircraftShort: t.icao,
		Departure:     dep.icao,
		Arrival:       arr.icao,
		Altitude:      strconv.Itoa(int(f.cruiseAlt)),
	}
	if rng.Float64() < 0.2 {
		fp.Aircraft = t.icao // many pilots file the bare type
	}
	fp.AircraftFAA = t.icao + "/" + t.faa
	if t.wake == "H" || t.wake == "J" {
		fp.AircraftFAA = "H/" + fp.AircraftFAA
	}
	if f.vfr {
		fp.FlightRules = "V"
	}
	if near := w.ap[f.arr].near; len(near) > 0 && rng.Float64() < 0.85 {
		fp.Alternate = airports[near[rng.IntN(len(near))]].icao
	}
	tas := t.tas + rng.IntN(21) - 10
	fp.CruiseTAS = strconv.Itoa(tas)
	if rng.Float64() < 0.02 {
		fp.CruiseTAS = "0" // some clients file no speed
	}
	enroute := time.Duration(f.total/float64(tas)*float64(time.Hour)) + 10*time.Minute
	depAt := w.now.Add(w.between(15*time.Minute, 90*time.Minute))
	fp.DepTime = depAt.Format("1504")
	fp.EnrouteTime = hhmm(enroute)
	fp.FuelTime = hhmm(enroute + w.between(45*time.Minute, 2*time.Hour))
	fp.Route = w.route(f.vfr)
	fp.Remarks = w.remarks(f, depAt)
	rev := pickWeighted([]weighted[int]{{0, 15}, {1, 40}, {2, 25}, {3, 10}, {4, 6}, {5, 4}}, rng.Float64())
	fp.RevisionID = &rev
	fp.AssignedTransponder = "0000"
	if rng.Float64() < 0.55 {
		fp.AssignedTransponder = w.squawk()
	}
	return fp
}

func hhmm(d time.Duration) string {
	m := int(d.Minutes())
	return twoDigits(m/60%100) + twoDigits(m%60)
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// fixName is a five-letter waypoint name, alternating consonants and vowels so that it reads like one.
func (w *world) fixName(b *strings.Builder) {
	const consonants, vowels = "BDFGKLMNPRSTVZ", "AEIOU"
	for i := range 5 {
		if i%2 == 0 {
			b.WriteByte(consonants[w.rng.IntN(len(consonants))])
		} else {
			b.WriteByte(vowels[w.rng.IntN(len(vowels))])
		}
	}
}

// route is a plausible route string: SID, airways and fixes, STAR for IFR; DCT or VFR for VFR.
func (w *world) route(vfr bool) string {
	if vfr {
		return [...]string{"DCT", "VFR", "VFR DIRECT", ""}[w.rng.IntN(4)]
	}
	const airwayPrefixes = "LMNQTJYAGUZ"
	var b strings.Builder
	w.fixName(&b)
	b.WriteByte(byte('1' + w.rng.IntN(9)))
	b.WriteByte(byte('A' + w.rng.IntN(26)))
	for range 1 + w.rng.IntN(5) {
		b.WriteByte(' ')
		w.fixName(&b)
		b.WriteByte(' ')
		if w.rng.Float64() < 0.3 {
			b.WriteString("DCT")
		} else {
			b.WriteByte(airwayPrefixes[w.rng.IntN(len(airwayPrefixes))])
			b.WriteString(strconv.Itoa(1 + w.rng.IntN(999)))
		}
	}
	b.WriteByte(' ')
	w.fixName(&b)
	b.WriteByte(' ')
	w.fixName(&b)
	b.WriteByte(byte('1' + w.rng.IntN(9)))
	b.WriteByte(byte('A' + w.rng.IntN(26)))
	return b.String()
}

// remarks follow the ICAO item 18 style most pilots file through SimBrief, ending with the voice flag.
func (w *world) remarks(f *flight, dof time.Time) string {
	voice := pickWeighted([]weighted[string]{{"/V/", 90}, {"/T/", 7}, {"/R/", 3}}, w.rng.Float64())
	if f.typ.class == classGA {
		return "RMK/" + remarksTail[w.rng.IntN(4)] + " " + voice
	}
	var b strings.Builder
	b.WriteString("PBN/A1B1C1D1O1S2 DOF/")
	b.WriteString(dof.Format("060102"))
	b.WriteString(" REG/")
	b.WriteString(w.registration(airports[f.dep].region))
	if len(f.callsign) > 3 {
		b.WriteString(" OPR/")
		b.WriteString(f.callsign[:3])
	}
	b.WriteString(" PER/C RMK/")
	b.WriteString(remarksTail[w.rng.IntN(len(remarksTail))])
	b.WriteByte(' ')
	b.WriteString(voice)
	return b.String()
}

// prefile plans a flight filed at filed that connects later.
func (w *world) prefile(filed time.Time) *flight {
	f := w.newFlight(false)
	f.filed = filed
	fp := *f.fp
	rev := w.rng.IntN(2)
	fp.RevisionID = &rev
	fp.AssignedTransponder = "0000"
	f.fp = &fp
	return f
}

// connect brings f online at logon, at the gate of its departure airport.
func (w *world) connect(f *flight, logon time.Time) {
	f.logon = logon
	f.server = w.serverFor(airports[f.dep].region)
	f.lat, f.lon = w.gate(f.dep)
	f.heading = w.rng.IntN(360)
	if w.rng.Float64() < 0.005 {
		f.heading = 360 // some simulators report due north as 360
	}
	// What clients leave in the transponder before a controller assigns a code, in recorded proportions.
	f.transponder = pickWeighted([]weighted[string]{{"2000", 45}, {"1200", 18}, {"7000", 15}, {"1234", 7},
		{"2200", 5}, {"1000", 4}, {"0000", 2}}, w.rng.Float64())
	switch {
	case f.vfr && airports[f.dep].region == regionNA:
		f.transponder = "1200"
	case f.vfr:
		f.transponder = "7000"
	case f.fp != nil && f.fp.AssignedTransponder != "0000" && w.rng.Float64() < 0.4:
		f.transponder = f.fp.AssignedTransponder
	}
}

// serverFor picks an FSD server a client from region would connect to.
func (w *world) serverFor(r region) string {
	var cands [len(servers)]int
	n := 0
	for i := range servers {
		for _, sr := range servers[i].regions {
			if sr == r {
				cands[n] = i
				n++
				break
			}
		}
	}
	if n == 0 {
		return servers[w.rng.IntN(len(servers))].ident
	}
	return servers[cands[w.rng.IntN(n)]].ident
}

// gate is a parking position: within about half a nautical mile of the airport's reference point.
func (w *world) gate(ap int) (lat, lon float64) {
	a := &airports[ap]
	dlat := (w.rng.Float64() - 0.5) * 0.012
	dlon := (w.rng.Float64() - 0.5) * 0.012 / math.Max(0.2, math.Cos(a.lat*math.Pi/180))
	return a.lat + dlat, math.Max(-180, math.Min(180, a.lon+dlon))
}

// placeInitially connects f in the past, u steps into its life (u < lifetime), so that the first snapshot
// looks like the middle of a session rather than everyone at the gate.
func (w *world) placeInitially(f *flight, u int) {
	w.connect(f, w.instant(w.now.Add(-time.Duration(u+1)*w.cfg.Step), w.cfg.Step, true))
	if f.phase == phaseParked {
		f.timer -= u
		return
	}
	air := w.airborneSteps(f)
	switch {
	case u < f.depWait:
		f.timer = f.depWait - u
	case u < f.depWait+air:
		f.phase = phaseAirborne
		f.flown = f.total * float64(u-f.depWait) / float64(air)
		w.takeoff(f)
		w.position(f)
	default:
		f.phase = phaseArrGround
		f.timer = f.depWait + air + f.arrWait - u
		f.lat, f.lon = w.gate(f.arr)
		f.gs, f.alt = 0, float64(airports[f.arr].elev)
	}
}

// stepFlight advances f by one step and reports whether it stays connected.
func (w *world) stepFlight(f *flight) bool {
	if f.frozen != nil {
		return w.cycle < f.frozenUntil
	}
	if w.rng.Float64() < w.perStep(12*time.Hour) {
		return false // simulator crash or pilot gone to bed mid-flight
	}
	if f.fp != nil && f.phase != phaseArrGround && w.rng.Float64() < w.perStep(3*time.Hour) {
		w.amend(f)
	}
	switch f.phase {
	case phaseDepGround:
		f.timer--
		if f.timer <= 0 {
			f.phase = phaseAirborne
			f.flown = 0
			w.takeoff(f)
			w.fly(f)
		}
	case phaseAirborne:
		w.fly(f)
	case phaseArrGround, phaseParked:
		f.timer--
		return f.timer > 0
	}
	return true
}

// takeoff sets the squawk a controller assigned (and sometimes assigns one then).
func (w *world) takeoff(f *flight) {
	if f.fp == nil {
		return
	}
	if f.fp.AssignedTransponder == "0000" && !f.vfr && w.rng.Float64() < 0.4 {
		fp := *f.fp
		fp.AssignedTransponder = w.squawk()
		f.fp = &fp
	}
	if f.fp.AssignedTransponder != "0000" && w.rng.Float64() < 0.85 {
		f.transponder = f.fp.AssignedTransponder
	}
}

// amend replaces f's flight plan by a new revision: a new level, a controller-amended route (the feed marks
// those with a leading +) or new remarks.
func (w *world) amend(f *flight) {
	fp := *f.fp
	rev := 1
	if fp.RevisionID != nil {
		rev = *fp.RevisionID + 1
	}
	fp.RevisionID = &rev
	switch r := w.rng.Float64(); {
	case r < 0.4 && !f.vfr:
		alt := int(f.cruiseAlt) + []int{-2000, 2000}[w.rng.IntN(2)]
		alt = max(alt, max(airports[f.dep].elev, airports[f.arr].elev)+2000)
		alt = min(alt, f.typ.maxAlt)
		f.cruiseAlt = float64(alt)
		fp.Altitude = strconv.Itoa(alt)
	case r < 0.8:
		fp.Route = "+" + w.route(f.vfr)
	default:
		fp.Remarks = w.remarks(f, w.now)
	}
	f.fp = &fp
}

// profile is the altitude at a distance along the route: the lowest of the climb, the level and the
// descent, so that the vertical path follows from the position alone.
func (f *flight) profile(flown float64) float64 {
	climb := float64(airports[f.dep].elev) + flown*f.climbGrad
	desc := float64(airports[f.arr].elev) + (f.total-flown)*f.descGrad
	return math.Min(f.cruiseNow, math.Min(climb, desc))
}

// speedAt is the ground speed at an altitude: from the take-off or approach speed near the field to the
// cruise speed at the level.
func (f *flight) speedAt(alt float64) float64 {
	ref := float64(airports[f.dep].elev)
	if f.flown > f.total/2 {
		ref = float64(airports[f.arr].elev)
	}
	frac := 1.0
	if span := f.cruiseNow - ref; span > 500 {
		frac = math.Max(0, math.Min(1, (alt-ref)/span))
	}
	low := float64(f.typ.vLow)
	return low + (f.cruiseGS-low)*frac
}

// fly moves an airborne flight along its great circle for one step, landing it at the end.
func (w *world) fly(f *flight) {
	if f.cruiseNow != f.cruiseAlt {
		rate := 1500.0 / 60 * w.dt
		f.cruiseNow += math.Max(-rate, math.Min(rate, f.cruiseAlt-f.cruiseNow))
	}
	f.flown += f.speedAt(f.profile(f.flown)) * w.dt / 3600
	if f.flown >= f.total {
		f.flown = f.total
		f.phase = phaseArrGround
		f.timer = f.arrWait
		f.lat, f.lon = w.gate(f.arr)
		f.gs, f.alt = 0, float64(airports[f.arr].elev)
		return
	}
	w.position(f)
}

// position sets lat, lon, heading, altitude and ground speed from the distance flown.
func (w *world) position(f *flight) {
	lat, lon, course := f.gc.at(f.flown / f.total)
	f.lat, f.lon = lat, lon
	f.heading = int(math.Round(course))
	f.alt = f.profile(f.flown)
	f.gs = f.speedAt(f.alt)
}

// release forgets a disconnected flight's callsign and member use.
func (w *world) release(f *flight) {
	w.pilotUses[f.member]--
	delete(w.pilotCallsigns, f.callsign)
}

// spawnGhosts makes a few pilots reconnect under another callsign while the old connection lingers frozen
// for some minutes: the real feed's ghost connections, with one CID on two pilots.
func (w *world) spawnGhosts(prev time.Time) {
	expected := float64(len(w.flights)) * w.perStep(28*time.Hour)
	n := int(expected)
	if w.rng.Float64() < expected-float64(n) {
		n++
	}
	for range n {
		f := w.flights[w.rng.IntN(len(w.flights))]
		if f.frozen != nil {
			continue
		}
		rec := new(feed.Pilot)
		w.record(f, rec)
		g := *f
		f.frozen = rec
		f.frozenUntil = w.cycle + w.cycles(w.between(time.Minute, 10*time.Minute))
		tries := 0
		g.callsign = w.uniqueCallsign(func() string {
			tries++
			cs := f.callsign + string(rune('A'+w.rng.IntN(26)))
			if tries > 20 { // the 26 one-letter variants may all be taken
				cs += string(rune('A' + w.rng.IntN(26)))
			}
			return cs
		})
		g.logon = w.instant(prev, w.cfg.Step, true)
		w.pilotUses[g.member]++
		w.flights = append(w.flights, &g)
	}
}

// record writes f's entry of the pilots list.
func (w *world) record(f *flight, p *feed.Pilot) {
	if f.frozen != nil {
		*p = *f.frozen
		return
	}
	rng := w.rng
	*p = feed.Pilot{
		CID:            f.cid,
		Name:           f.name,
		Callsign:       f.callsign,
		Server:         f.server,
		PilotRating:    f.pilotRating,
		MilitaryRating: f.milRating,
		Latitude:       round5(f.lat),
		Longitude:      round5(f.lon),
		Transponder:    f.transponder,
		Heading:        f.heading,
		FlightPlan:     f.fp,
		LogonTime:      f.logon,
	}
	if f.phase == phaseAirborne {
		p.Altitude = int(math.Round(f.alt))
		if f.alt == f.cruiseNow {
			p.Altitude += rng.IntN(17) - 8 // autopilots hold a level within a few feet
		}
		p.Groundspeed = int(math.Round(f.gs))
	} else {
		// Parked at a field near sea level, a small error makes the altitude negative, as in the real feed.
		field := f.dep
		if f.phase == phaseArrGround {
			field = f.arr
		}
		p.Altitude = airports[field].elev + rng.IntN(25) - 12
	}

	if f.qnh == qnhNoWeather {
		p.QNHInHg, p.QNHMb = 29.92, 1013
	} else {
		progress := 0.0
		switch f.phase {
		case phaseAirborne:
			progress = f.flown / f.total
		case phaseArrGround:
			progress = 1
		}
		hpa := float64(w.ap[f.dep].qnh)*(1-progress) + float64(w.ap[f.arr].qnh)*progress + f.qnhOffset
		// Rounded to 0.01 inHg, about 1.5% of pilots report exactly 30.00, which the feed writes as 30.
		p.QNHInHg = round2(hpa / 33.8639)
		p.QNHMb = int(math.Round(p.QNHInHg * 33.8639))
	}

	// Clients report every few seconds, so last_updated trails the snapshot; a few report coarser times,
	// which the feed prints with fewer fractional digits.
	lu := w.now.Add(-50*time.Millisecond - time.Duration(rng.Int64N(int64(5*time.Second)))).Truncate(100)
	switch r := rng.Float64(); {
	case r < 0.02:
		lu = lu.Truncate(time.Second)
	case r < 0.04:
		lu = lu.Truncate(time.Millisecond)
	}
	if lu.Before(f.logon) {
		lu = f.logon.Add(time.Duration(rng.Int64N(int64(w.now.Sub(f.logon)) + 1))).Truncate(100)
		if lu.Before(f.logon) {
			lu = f.logon
		}
	}
	p.LastUpdated = lu
}
