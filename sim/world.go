package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// world is the simulated network between two snapshots. Everything random comes from rng, consumed in a
// fixed order, and lists are kept in slices (maps only answer membership), so a Config replays exactly.
type world struct {
	cfg   Config
	rng   *rand.Rand
	dt    float64 // seconds per step
	cycle int     // index of the current snapshot
	now   time.Time
	// skipped is feed time jumped over (Config.Clock after a pause): now is Start + skipped + cycle steps.
	skipped time.Duration

	ap          []apState
	cumAll      []float64             // cumulative airport weights
	regionAps   [numRegions][]int     // airports of each region
	cumRegion   [numRegions][]float64 // their cumulative weights
	cumAirlines [numRegions][]float64
	firsOf      map[string][]int // FIR code -> indexes into firs
	apsOfFIR    map[string][]int // FIR code -> airports in it
	cumFIRAps   []float64        // cumulative weights of airports whose FIR has CTR positions
	firAps      []int

	cidOffset  int64  // per seed, so that different seeds do not share CIDs
	memberSalt uint64 // per seed, for member attributes (rating) that must not depend on the call order

	flights        []*flight // online pilots in connection order
	queue          []*flight // prefiled flight plans, oldest first; they connect from the front
	pilotCallsigns map[string]struct{}
	pilotUses      []uint8 // per pilot member: connections plus prefiles
	pilotMembers   int

	ctrls         []*atc
	atis          []*atisStation
	ctrlCallsigns map[string]struct{}
	atisCallsigns map[string]struct{}
	ctrlBusy      []bool
	ctrlBase      int // member index of the first controller member
	ctrlMembers   int
	observers     int // observers among ctrls, to keep their share realistic

	targetPilots, targetCtrls, targetATIS, targetPrefiles int

	seen    []uint32 // per member (pilot then controller members): the snapshot it was last counted in
	seenGen uint32
}

// apState is an airport's simulated state: position and weather (for QNH and ATIS texts).
type apState struct {
	pos       vec3
	qnh       int // hPa
	windDir   int // degrees, multiple of 10
	windKt    int
	temp, dew int
	near      []int // airports within 300 NM: GA destinations and alternates
}

func newWorld(cfg Config, rng *rand.Rand) *world {
	n := cfg.Pilots
	w := &world{
		cfg:            cfg,
		rng:            rng,
		dt:             cfg.Step.Seconds(),
		now:            cfg.Start,
		firsOf:         map[string][]int{},
		apsOfFIR:       map[string][]int{},
		pilotCallsigns: make(map[string]struct{}, n+n/8),
		ctrlCallsigns:  map[string]struct{}{},
		atisCallsigns:  map[string]struct{}{},
	}
	w.cidOffset = int64(rng.Uint64() % cidSpan)
	w.memberSalt = rng.Uint64()

	w.ap = make([]apState, len(airports))
	w.cumAll = make([]float64, len(airports))
	total := 0.0
	for i := range airports {
		a := &airports[i]
		total += a.weight
		w.cumAll[i] = total
		w.regionAps[a.region] = append(w.regionAps[a.region], i)
		prev := 0.0
		if k := len(w.cumRegion[a.region]); k > 0 {
			prev = w.cumRegion[a.region][k-1]
		}
		w.cumRegion[a.region] = append(w.cumRegion[a.region], prev+a.weight)
		w.apsOfFIR[a.fir] = append(w.apsOfFIR[a.fir], i)
		st := &w.ap[i]
		st.pos = unit(a.lat, a.lon)
		st.qnh = 1013 + int(math.Round(rng.NormFloat64()*8))
		st.qnh = max(975, min(1045, st.qnh))
		st.windDir = 10 * rng.IntN(36)
		st.windKt = rng.IntN(22)
		st.temp = 5 + rng.IntN(25)
		st.dew = st.temp - 1 - rng.IntN(10)
	}
	for i := range airports {
		for j := range airports {
			if i != j && angle(w.ap[i].pos, w.ap[j].pos)*earthRadiusNM <= 300 {
				w.ap[i].near = append(w.ap[i].near, j)
			}
		}
	}
	for r := range numRegions {
		t := 0.0
		for _, a := range airlines[r] {
			t += a.weight
			w.cumAirlines[r] = append(w.cumAirlines[r], t)
		}
	}
	for i := range firs {
		w.firsOf[firs[i].fir] = append(w.firsOf[firs[i].fir], i)
	}
	t := 0.0
	for i := range airports {
		if len(w.firsOf[airports[i].fir]) > 0 {
			t += airports[i].weight
			w.firAps = append(w.firAps, i)
			w.cumFIRAps = append(w.cumFIRAps, t)
		}
	}

	w.targetPilots = n
	w.targetPrefiles = max(1, n/12)
	w.targetCtrls = max(1, (n+5)/10)
	w.targetATIS = min(max(1, (n+6)/12), atisCapacity()*4/5)
	// Pools four times the online counts: members come back, but not all at once.
	w.pilotMembers = 4*n + 64
	w.pilotUses = make([]uint8, w.pilotMembers)
	w.ctrlBase = w.pilotMembers
	w.ctrlMembers = 4*w.targetCtrls + 64
	w.ctrlBusy = make([]bool, w.ctrlMembers)
	w.seen = make([]uint32, w.pilotMembers+w.ctrlMembers)

	// The pilots online at any instant are a length-biased sample of flights: a twelve-hour flight is online
	// during twelve times more snapshots than a one-hour hop. Drawing routes with probability proportional
	// to their lifetime, then a uniform point of that lifetime, starts the simulation in its steady state
	// instead of drifting from a short-haul-heavy start for hours.
	longest := w.cycles(16 * time.Hour)
	w.flights = make([]*flight, 0, n+n/16)
	for range n {
		var f *flight
		var u int
		var noPlan bool
		for {
			noPlan = rng.Float64() < noPlanShare
			f = w.planRoute(noPlan)
			if u = rng.IntN(longest); u < w.lifetime(f) {
				break
			}
		}
		w.planFlight(f, w.pickPilotMember(), noPlan)
		w.placeInitially(f, u)
		w.flights = append(w.flights, f)
	}
	for range w.targetPrefiles {
		w.queue = append(w.queue, w.prefile(w.instant(w.now.Add(-2*time.Hour), 2*time.Hour, true)))
	}
	w.initATC()
	return w
}

// cidSpan keeps CIDs at seven digits: 1,000,000 + a permutation of [0, cidSpan).
const cidSpan = 9_000_000

// cid maps a member index to a stable seven-digit CID. 7919 is prime and shares no factor with cidSpan
// (2^6 * 3^2 * 5^6), so distinct members get distinct CIDs.
func (w *world) cid(member int) int64 {
	return 1_000_000 + (int64(member)*7919+w.cidOffset)%cidSpan
}

// memberHash gives a member's fixed attributes (ratings) independently of when it connects.
func (w *world) memberHash(member int) uint64 {
	x := uint64(member) + w.memberSalt
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func memberName(cid int64) string { return "Member " + strconv.FormatInt(cid, 10) }

// pickCum returns the index whose cumulative weight covers a uniform draw.
func (w *world) pickCum(cum []float64) int {
	x := w.rng.Float64() * cum[len(cum)-1]
	return sort.Search(len(cum), func(i int) bool { return cum[i] > x })
}

func (w *world) pickAirport() int { return w.pickCum(w.cumAll) }

func (w *world) pickAirportIn(r region) int { return w.regionAps[r][w.pickCum(w.cumRegion[r])] }

// cycles converts a duration to whole steps, at least one.
func (w *world) cycles(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds()/w.dt)))
}

// between returns a duration uniformly in [lo, hi).
func (w *world) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)))
}

// perStep converts a mean time between events to the probability of one event in a step.
func (w *world) perStep(mean time.Duration) float64 { return w.dt / mean.Seconds() }

// instant returns a time in (base, base+span] at the feed's 100 ns resolution. With seven set, the last
// fractional digit is non-zero, so the time prints with seven fractional digits like logon times do.
func (w *world) instant(base time.Time, span time.Duration, seven bool) time.Time {
	ticks := max(1, int64(span/100))
	t := base.Add(time.Duration(1+w.rng.Int64N(ticks)) * 100).Truncate(100)
	if seven && t.Nanosecond()/100%10 == 0 {
		if end := base.Add(span); t.Add(100).After(end) {
			t = t.Add(-100) // never past the snapshot the connection appears in
		} else {
			t = t.Add(100)
		}
	}
	return t
}

// advance moves the world one step forward: pilots fly, land and leave, controllers come and go, and new
// connections replace the ones that left.
// skip moves the feed time on by d (whole steps) without simulating them: the next advance lands d later.
// Timers count cycles, so traffic carries on from where it was.
func (w *world) skip(d time.Duration) { w.skipped += d }

func (w *world) advance() {
	prev := w.now
	w.cycle++
	w.now = w.cfg.Start.Add(w.skipped + time.Duration(w.cycle)*w.cfg.Step)

	kept := w.flights[:0]
	for _, f := range w.flights {
		if w.stepFlight(f) {
			kept = append(kept, f)
		} else {
			w.release(f)
		}
	}
	clear(w.flights[len(kept):])
	w.flights = kept
	w.spawnGhosts(prev)

	// Connections happen between the two snapshots; most come from the prefile queue, as real pilots
	// file before they connect.
	for live := w.live(); live < w.target(); live++ {
		var f *flight
		switch r := w.rng.Float64(); {
		case r < noPlanShare:
			f = w.newFlight(true)
		case r < 0.9 && len(w.queue) > 0:
			f = w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
		default:
			f = w.newFlight(false)
		}
		w.connect(f, w.instant(prev, w.cfg.Step, true))
		w.flights = append(w.flights, f)
	}
	for len(w.queue) < w.targetPrefiles {
		w.queue = append(w.queue, w.prefile(w.instant(prev, w.cfg.Step, true)))
	}
	w.advanceATC(prev)
}

// target is the number of pilots to keep online: Config.Pilots, swelling and ebbing by 1.5% over four
// hours so that counts are not constant, as on the network.
func (w *world) target() int {
	n := float64(w.targetPilots)
	return int(math.Round(n + 0.015*n*math.Sin(2*math.Pi*float64(w.cycle)*w.dt/(4*3600))))
}

// live counts pilots that are not frozen ghosts: the target is for pilots actually flying.
func (w *world) live() int {
	n := 0
	for _, f := range w.flights {
		if f.frozen == nil {
			n++
		}
	}
	return n
}

// snapshot builds the feed snapshot of the current state, and what its JSON needs besides.
func (w *world) snapshot() (*feed.Snapshot, snapshotExtra) {
	s := &feed.Snapshot{
		Pilots:      make([]feed.Pilot, len(w.flights)),
		Controllers: make([]feed.Controller, len(w.ctrls)),
		ATIS:        make([]feed.Controller, len(w.atis)),
	}
	// unique_users counts members, which map one to one to CIDs: a generation stamp per member counts
	// them without hashing 30,000 CIDs a cycle.
	w.seenGen++
	users := 0
	count := func(member int) {
		if w.seen[member] != w.seenGen {
			w.seen[member] = w.seenGen
			users++
		}
	}
	plans := make([]encodedPlan, len(w.flights))
	for i, f := range w.flights {
		w.record(f, &s.Pilots[i])
		plans[i] = f.encodedPlan()
		count(f.member)
	}
	for i, c := range w.ctrls {
		s.Controllers[i] = c.c
		s.Controllers[i].LastUpdated = w.ctrlUpdated(c.c.LogonTime)
		count(c.member)
	}
	for i, a := range w.atis {
		s.ATIS[i] = a.c
		s.ATIS[i].LastUpdated = w.ctrlUpdated(a.c.LogonTime)
		count(a.owner.member)
	}
	s.General = feed.General{
		Version:          3,
		Update:           w.now.Format("20060102150405"),
		UpdateTimestamp:  w.now,
		ConnectedClients: len(s.Pilots) + len(s.Controllers) + len(s.ATIS),
		UniqueUsers:      users,
	}
	pre := make([]prefileEntry, len(w.queue))
	for i, f := range w.queue {
		pre[i] = prefileEntry{cid: f.cid, name: f.name, callsign: f.callsign, plan: f.encodedPlan(),
			updated: f.filed}
	}
	return s, snapshotExtra{prefiles: pre, plans: plans}
}

// snapshotExtra is what a snapshot's JSON needs beyond feed.Snapshot: the prefiles, and each pilot's
// flight plan already encoded.
type snapshotExtra struct {
	prefiles []prefileEntry
	plans    []encodedPlan // aligned with the pilots
}

// ctrlUpdated is a controller's last_updated: controller clients report less often than pilots.
func (w *world) ctrlUpdated(logon time.Time) time.Time {
	t := w.now.Add(-time.Duration(w.rng.Int64N(int64(25 * time.Second)))).Truncate(100)
	if t.Before(logon) {
		t = logon
	}
	return t
}

// prefileEntry is one entry of the feed's prefiles list.
type prefileEntry struct {
	cid      int64
	name     string
	callsign string
	plan     encodedPlan
	updated  time.Time
}
