package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// atc is one entry of the controllers list: a controller, a supervisor or an observer.
type atc struct {
	c       feed.Controller // LastUpdated is filled per snapshot
	member  int
	expire  int    // cycle at which it logs off
	airport int    // airport of a DEL/GND/TWR/APP position, else -1
	fir     string // FIR code of a CTR position, else ""
	online  bool
	radio   *stationRadio // its transceivers, placed on first use (radio.go); nil for observers
}

// atisStation is one entry of the atis list. On the network an ATIS is run by a controller's client, so it
// carries its owner's CID and leaves with it.
type atisStation struct {
	c        feed.Controller
	owner    *atc
	airport  int
	letter   byte         // 0 for a station that never sets a code (atis_code null)
	nextCode int          // cycle of the next information letter
	radios   []feed.Radio // its transceivers, placed on first use (radio.go)
}

// atisCapacity is how many ATIS callsigns the airport table allows at once.
func atisCapacity() int {
	n := 0
	for i := range airports {
		if airports[i].split {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// initATC staffs the initial controllers, each some way into a session, then their ATIS stations.
func (w *world) initATC() {
	for range w.targetCtrls {
		session := w.cycles(w.between(30*time.Minute, 4*time.Hour))
		elapsed := w.rng.IntN(session)
		logon := w.instant(w.now.Add(-time.Duration(elapsed+1)*w.cfg.Step), w.cfg.Step, true)
		w.ctrls = append(w.ctrls, w.newController(logon, session-elapsed))
	}
	for range 4 * w.targetATIS {
		if len(w.atis) >= w.targetATIS {
			break
		}
		w.spawnATIS(time.Time{})
	}
}

// advanceATC logs controllers off at the end of their session (with their ATIS), rotates ATIS letters and
// brings new controllers and stations on.
func (w *world) advanceATC(prev time.Time) {
	kept := w.ctrls[:0]
	for _, c := range w.ctrls {
		if w.cycle >= c.expire {
			c.online = false
			if c.c.Facility == feed.FacilityObserver {
				w.observers--
			}
			w.ctrlBusy[c.member-w.ctrlBase] = false
			delete(w.ctrlCallsigns, c.c.Callsign)
			continue
		}
		kept = append(kept, c)
	}
	clear(w.ctrls[len(kept):])
	w.ctrls = kept

	keptA := w.atis[:0]
	for _, a := range w.atis {
		if !a.owner.online {
			delete(w.atisCallsigns, a.c.Callsign)
			continue
		}
		if a.letter != 0 && w.cycle >= a.nextCode {
			a.letter = 'A' + (a.letter-'A'+1)%26
			w.setATISText(a, w.now)
		}
		keptA = append(keptA, a)
	}
	clear(w.atis[len(keptA):])
	w.atis = keptA

	for len(w.ctrls) < w.targetCtrls {
		session := w.cycles(w.between(30*time.Minute, 4*time.Hour))
		w.ctrls = append(w.ctrls, w.newController(w.instant(prev, w.cfg.Step, true), session))
	}
	for range 8 {
		if len(w.atis) >= w.targetATIS {
			break
		}
		w.spawnATIS(prev)
	}
}

// newController connects a controller or observer at logon for a session of the given number of steps.
// About 37% are observers, the share recorded snapshots show.
func (w *world) newController(logon time.Time, session int) *atc {
	rng := w.rng
	m := w.rng.IntN(w.ctrlMembers)
	for w.ctrlBusy[m] {
		m = w.rng.IntN(w.ctrlMembers)
	}
	w.ctrlBusy[m] = true
	member := w.ctrlBase + m
	cid := w.cid(member)
	c := &atc{member: member, expire: w.cycle + session, airport: -1, online: true}
	c.c = feed.Controller{CID: cid, Name: memberName(cid), LogonTime: logon}

	share := 0.33 + 0.08*rng.Float64()
	reg, staffed := regionEU, false
	if float64(w.observers) >= share*float64(len(w.ctrls)+1) {
		reg, staffed = w.staff(c)
	} else {
		reg = airports[w.pickAirport()].region
	}
	if !staffed {
		// Observers, and controllers who found every position they tried staffed (only at loads far
		// beyond the network's).
		w.observer(c)
		w.observers++
	}
	c.c.Server = w.serverFor(reg)
	w.ctrlCallsigns[c.c.Callsign] = struct{}{}
	return c
}

// observer fills an observer's callsign and fields: mostly XX_OBS, sometimes a facility-style or CID-based
// name, a pilot callsign (pilots watching before they fly) or a supervisor.
func (w *world) observer(c *atc) {
	rng := w.rng
	c.c.Facility = feed.FacilityObserver
	c.c.Frequency = feed.NoFrequency
	c.c.Rating = 1
	if rng.Float64() < 0.15 {
		c.c.Rating = 2 + rng.IntN(4)
	}
	c.c.VisualRange = pickWeighted([]weighted[int]{{40, 45}, {100, 15}, {300, 25}, {150, 8}, {50, 7}},
		rng.Float64())
	initials := func() string { return string([]byte{byte('A' + rng.IntN(26)), byte('A' + rng.IntN(26))}) }
	for {
		var cs string
		switch r := rng.Float64(); {
		case r < 0.55:
			cs = initials() + "_OBS"
		case r < 0.70:
			// A facility-style name, like ZID_DG_OBS: a short CTR prefix and initials.
			f := firs[rng.IntN(len(firs))].prefix
			if len(f) > 4 || strings.ContainsAny(f, "_-") {
				continue
			}
			cs = f + "_" + initials() + "_OBS"
		case r < 0.82:
			cs = strconv.FormatInt(c.c.CID, 10) + "_OBS"
		case r < 0.95:
			cs = w.airlineCallsign(region(rng.IntN(int(numRegions))))
		default:
			cs = initials() + "_SUP"
		}
		if _, taken := w.ctrlCallsigns[cs]; !taken {
			c.c.Callsign = cs
			break
		}
	}
	if strings.HasSuffix(c.c.Callsign, "_SUP") {
		c.c.Rating = 11
	}
	if rng.Float64() < 0.15 {
		c.c.TextATIS = []string{"Observing, not controlling"}
	}
}

// staff staffs a real position: a CTR from the FIR table or an airport's DEL/GND/TWR/APP, with a relief
// infix when the plain callsign is taken. It returns the region (for the server), or false when it found no
// free position.
func (w *world) staff(c *atc) (region, bool) {
	rng := w.rng
	fac := pickWeighted([]weighted[int]{
		{feed.FacilityCenter, 20}, {feed.FacilityApproach, 22}, {feed.FacilityTower, 26},
		{feed.FacilityGround, 19}, {feed.FacilityDelivery, 10}, {feed.FacilityFSS, 3},
	}, rng.Float64())
	c.c.Facility = fac
	var reg region
	for attempt := 0; ; attempt++ {
		if attempt == 64 {
			c.airport, c.fir = -1, ""
			return reg, false
		}
		var base, suffix string
		infixes := positionInfixes[:]
		switch fac {
		case feed.FacilityCenter, feed.FacilityFSS:
			ai := w.firAps[w.pickCum(w.cumFIRAps)]
			entries := w.firsOf[airports[ai].fir]
			e := &firs[entries[0]]
			if rng.Float64() < 0.45 {
				e = &firs[entries[rng.IntN(len(entries))]]
			}
			base, suffix = e.prefix, "CTR"
			if e == &firs[entries[0]] && e.prefix != e.fir && rng.Float64() < 0.4 {
				base = e.fir // EGTT_CTR as well as LON_CTR: resolvers accept both
			}
			if fac == feed.FacilityFSS {
				base, suffix = e.fir, "FSS"
			}
			if strings.HasPrefix(e.fir, "KZ") {
				infixes = usSectorInfixes[:]
			}
			c.fir, c.airport, reg = e.fir, -1, airports[ai].region
		default:
			ai := w.pickAirport()
			a := &airports[ai]
			base = a.local
			suffix = positionSuffix(fac)
			if fac == feed.FacilityApproach {
				if a.app != "" {
					base = a.app
				}
				if rng.Float64() < 0.15 {
					suffix = "DEP"
				}
			}
			c.airport, c.fir, reg = ai, "", a.region
		}
		cs := base + "_" + suffix
		if _, taken := w.ctrlCallsigns[cs]; taken || attempt > 0 && rng.Float64() < 0.5 {
			cs = base + "_" + infixes[rng.IntN(len(infixes))] + "_" + suffix
		}
		if _, taken := w.ctrlCallsigns[cs]; !taken {
			c.c.Callsign = cs
			break
		}
	}

	switch fac {
	case feed.FacilityCenter:
		c.c.Frequency = w.frequency(reg, 124000, 136000)
		c.c.Rating = 5 + rng.IntN(6)
		c.c.VisualRange = pickWeighted([]weighted[int]{{600, 5}, {300, 4}, {400, 1}, {150, 1}}, rng.Float64())
	case feed.FacilityFSS:
		c.c.Frequency = w.frequency(reg, 126000, 136000)
		c.c.Rating = 5 + rng.IntN(4)
		c.c.VisualRange = 1500
	case feed.FacilityApproach:
		c.c.Frequency = w.frequency(reg, 118000, 135000)
		c.c.Rating = 4 + rng.IntN(5)
		c.c.VisualRange = pickWeighted([]weighted[int]{{150, 8}, {100, 1}, {120, 1}, {200, 1}}, rng.Float64())
	case feed.FacilityTower:
		c.c.Frequency = w.frequency(reg, 118000, 124000)
		c.c.Rating = 3 + rng.IntN(5)
		c.c.VisualRange = pickWeighted([]weighted[int]{{50, 8}, {30, 2}, {100, 1}}, rng.Float64())
	case feed.FacilityGround:
		c.c.Frequency = w.frequency(reg, 121600, 122000)
		c.c.Rating = 2 + rng.IntN(5)
		c.c.VisualRange = pickWeighted([]weighted[int]{{20, 6}, {50, 2}, {100, 1}}, rng.Float64())
	default:
		c.c.Frequency = w.frequency(reg, 121000, 122000)
		c.c.Rating = 2 + rng.IntN(4)
		c.c.VisualRange = 20
	}
	if rng.Float64() < 0.55 {
		c.c.TextATIS = controllerInfo(c, rng.IntN(3))
	}
	return reg, true
}

func positionSuffix(facility int) string {
	switch facility {
	case feed.FacilityApproach:
		return "APP"
	case feed.FacilityTower:
		return "TWR"
	case feed.FacilityGround:
		return "GND"
	default:
		return "DEL"
	}
}

// controllerInfo is the controller information lines pilots see (text_atis of a controller).
func controllerInfo(c *atc, extra int) []string {
	name := c.c.Callsign[:strings.IndexByte(c.c.Callsign, '_')]
	var role string
	switch c.c.Facility {
	case feed.FacilityCenter:
		role = name + " Control, top-down where no local ATC is online"
	case feed.FacilityFSS:
		role = name + " Radio, flight information service"
	case feed.FacilityApproach:
		role = name + " Approach, expect vectors for ILS"
	case feed.FacilityTower:
		role = name + " Tower"
	case feed.FacilityGround:
		role = name + " Ground, call for pushback and taxi"
	default:
		role = name + " Delivery, call for IFR clearance"
	}
	lines := []string{role}
	more := []string{"Charts and procedures on the vACC website", "Feedback welcome at the end of your flight",
		"Please read the ATIS before first contact"}
	return append(lines, more[:extra]...)
}

// frequency returns a frequency in [lo, hi) kHz in the feed's "124.455" format: 25 kHz channels, or 8.33 kHz
// channel names in Europe.
func (w *world) frequency(r region, lo, hi int) string {
	khz := lo + 25*w.rng.IntN((hi-lo)/25)
	if r == regionEU && w.rng.Float64() < 0.3 {
		khz += []int{5, 10, 15}[w.rng.IntN(3)]
	}
	return strconv.Itoa(khz/1000) + "." + strconv.Itoa(1000 + khz%1000)[1:]
}

// spawnATIS connects an ATIS for a random non-observer controller: at its own airport, or at another of
// its FIR. prev is the previous snapshot time (zero while building the initial state).
func (w *world) spawnATIS(prev time.Time) {
	rng := w.rng
	if len(w.ctrls) == 0 {
		return
	}
	owner := w.ctrls[rng.IntN(len(w.ctrls))]
	if owner.c.Facility == feed.FacilityObserver || owner.c.Facility == feed.FacilityFSS {
		return
	}
	var cands []int
	ai := owner.airport
	if ai >= 0 {
		cands = w.apsOfFIR[airports[ai].fir]
	} else {
		cands = w.apsOfFIR[owner.fir]
	}
	if ai < 0 || rng.Float64() < 0.3 {
		if len(cands) == 0 {
			return
		}
		ai = cands[rng.IntN(len(cands))]
	}
	a := &airports[ai]
	names := []string{a.icao + "_ATIS"}
	if a.split {
		names = []string{a.icao + "_D_ATIS", a.icao + "_A_ATIS"}
		if rng.IntN(2) == 1 {
			names[0], names[1] = names[1], names[0]
		}
	}
	cs := ""
	for _, n := range names {
		if _, taken := w.atisCallsigns[n]; !taken {
			cs = n
			break
		}
	}
	if cs == "" {
		return
	}

	// The station connects after its owner, within the last step (or during its owner's session so far
	// for the initial state).
	from := owner.c.LogonTime
	if !prev.IsZero() && prev.After(from) {
		from = prev
	}
	span := w.now.Sub(from)
	logon := w.instant(from, max(span, 100), true)
	if logon.After(w.now) {
		logon = w.now
	}
	st := &atisStation{owner: owner, airport: ai}
	st.c = feed.Controller{
		CID:         owner.c.CID,
		Name:        owner.c.Name,
		Callsign:    cs,
		Frequency:   w.frequency(a.region, 126000, 136000),
		Facility:    feed.FacilityTower,
		Rating:      owner.c.Rating,
		Server:      owner.c.Server,
		VisualRange: []int{0, 50}[rng.IntN(2)],
		LogonTime:   logon,
	}
	if rng.Float64() >= 0.02 {
		st.letter = byte('A' + rng.IntN(26))
	}
	w.setATISText(st, logon)
	if rng.Float64() < 0.03 {
		st.c.TextATIS = nil
	}
	w.atisCallsigns[cs] = struct{}{}
	w.atis = append(w.atis, st)
}

// setATISText publishes a new information: letter, time and the airport's weather. The old slice and code
// are left untouched, since earlier snapshots still point at them.
func (w *world) setATISText(a *atisStation, at time.Time) {
	a.nextCode = w.cycle + w.cycles(w.between(20*time.Minute, time.Hour))
	if a.letter == 0 {
		a.c.ATISCode = nil
		return
	}
	code := string(a.letter)
	a.c.ATISCode = &code
	ap := &airports[a.airport]
	wx := &w.ap[a.airport]
	rwy := (wx.windDir + 5) / 10
	if rwy == 0 {
		rwy = 36
	}
	pressure := "Q" + strconv.Itoa(wx.qnh)
	if ap.region == regionNA {
		pressure = "A" + strconv.Itoa(int(round2(float64(wx.qnh)/33.8639)*100+0.5))
	}
	wind := strconv.Itoa(1000 + wx.windDir)[1:] + strconv.Itoa(100 + wx.windKt)[1:] + "KT"
	a.c.TextATIS = []string{
		ap.icao + " INFORMATION " + code + " TIME " + at.Format("1504") + "Z",
		"EXPECT ILS APPROACH RUNWAY " + twoDigits(rwy) + ". RUNWAY IN USE " + twoDigits(rwy) + ".",
		wind + " 9999 FEW035 " + twoDigits(wx.temp) + "/" + twoDigits(max(0, wx.dew)) + " " + pressure,
		"ACKNOWLEDGE RECEIPT OF INFORMATION " + code + " AND ADVISE AIRCRAFT TYPE ON FIRST CONTACT",
	}
}
