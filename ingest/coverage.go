package ingest

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/radio"
)

// positionPilot is who a position of the cycle belongs to, for the radio match: the pilot's callsign (its
// transceivers' key), its flight's next state, and where the cycle writes its row (-1: not written, yet).
type positionPilot struct {
	callsign string
	flight   *flightState
	written  int
}

// endedContact is a contact a disconnection ends.
type endedContact struct {
	flight     domain.Flight
	controller int64
	at         time.Time
}

// matchRadios sets each position's coverage from the snapshot's transceivers file (package radio): which
// controller position the pilot was working, if any; and, where that changes the flight's contact, records
// the contact events. Without a file every position's coverage stays unknown and every contact goes on: a
// missing or stale file says nothing about who was on frequency. A disconnection ends a contact either way.
//
// The controllers that can be worked are those the snapshot shows (not merely missing within the grace
// period: a controller gone from the feed has no transceivers either) that are positions: not observers, not
// ATIS stations. Their antennas are their callsigns' transceivers; two connections on one callsign (a ghost)
// share its station, which goes to the earlier one (the lower id).
func (p *Plan) matchRadios(t *Tracker, snap *feed.Snapshot, pilots []positionPilot) {
	// Built only for a cycle that records a contact event: most cycles change no contact.
	names := sync.OnceValue(func() map[int64]*domain.Controller { return p.controllerNames(t) })
	p.coverageKnown = snap.Transceivers != nil
	if tr := snap.Transceivers; tr != nil {
		ix, byCallsign := p.radioIndex(tr)
		var buf []radio.Antenna
		for i := range p.Write.Positions {
			pos, pp := &p.Write.Positions[i], &pilots[i]
			pos.Coverage = domain.CoverageNone
			buf = antennas(byCallsign[pp.callsign], buf[:0])
			id, _, ok := ix.Match(buf)
			if ok {
				pos.Coverage, pos.ControllerID = domain.CoverageWorking, id
			}
			f := &pp.flight.row
			if f.WorkingControllerID == id {
				continue
			}
			if f.WorkingControllerID != 0 {
				p.contactEvent(domain.EventContactEnded, f, f.WorkingControllerID, p.timestamp, names)
			}
			if id != 0 {
				p.contactEvent(domain.EventContactStarted, f, id, p.timestamp, names)
			}
			f.WorkingControllerID = id
			if pp.written >= 0 {
				p.Write.Flights[pp.written].WorkingControllerID = id
			} else {
				pp.written = len(p.Write.Flights)
				p.Write.Flights = append(p.Write.Flights, *f)
			}
		}
	}
	for _, c := range p.endedContacts {
		p.contactEvent(domain.EventContactEnded, &c.flight, c.controller, c.at, names)
	}
}

// radioIndex indexes the antennas of the controller positions the snapshot shows, and returns every station's
// radios by callsign.
func (p *Plan) radioIndex(tr *feed.Transceivers) (*radio.Index, map[string][]feed.Radio) {
	byCallsign := make(map[string][]feed.Radio, len(tr.Stations))
	for i := range tr.Stations {
		byCallsign[tr.Stations[i].Callsign] = tr.Stations[i].Radios
	}
	positions := make([]*controllerState, 0, len(p.controllers))
	for _, cs := range p.controllers {
		if cs.lastSeen.Equal(p.timestamp) && cs.row.Kind != domain.KindObserver && cs.row.Kind != domain.KindATIS {
			positions = append(positions, cs)
		}
	}
	slices.SortFunc(positions, func(a, b *controllerState) int { return cmp.Compare(a.row.ID, b.row.ID) })
	ctls := make([]radio.Controller, 0, len(positions))
	taken := make(map[string]bool, len(positions))
	for _, cs := range positions {
		if taken[cs.row.Callsign] {
			continue
		}
		taken[cs.row.Callsign] = true
		if radios := byCallsign[cs.row.Callsign]; len(radios) > 0 {
			ctls = append(ctls, radio.Controller{ID: cs.row.ID, Antennas: antennas(radios, nil)})
		}
	}
	return radio.NewIndex(ctls), byCallsign
}

// controllerNames are the controllers a contact event may name, by id: those of this cycle (online, missing
// or departing) and of the last (one that departed since).
func (p *Plan) controllerNames(t *Tracker) map[int64]*domain.Controller {
	out := make(map[int64]*domain.Controller, len(p.controllers)+len(p.departedControllers))
	for _, m := range []map[connKey]*controllerState{t.departedControllers, t.controllers, p.departedControllers, p.controllers} {
		for _, cs := range m {
			out[cs.row.ID] = &cs.row
		}
	}
	return out
}

// contactEvent records a flight starting or ending its contact with a controller, in the first sector the
// controller staffs (by set, then id). A controller staffing no loaded sector records none; nor does one no
// longer known (gone longer than the grace period while the flight's coverage stayed unknown).
func (p *Plan) contactEvent(kind domain.EventKind, f *domain.Flight, controller int64, at time.Time, names func() map[int64]*domain.Controller) {
	c := names()[controller]
	if c == nil || len(c.Sectors) == 0 {
		return
	}
	pos := pointOf(f)
	p.event(domain.Event{
		Kind: kind, Sector: slices.MinFunc(c.Sectors, domain.SectorRef.Compare), OccurredAt: at, Flight: flightRef(f, 0),
		Controller: &domain.ControllerRef{ID: c.ID, CID: c.CID, Callsign: c.Callsign}, Position: &pos,
	})
}

// antennas appends the radios as the radio package takes them.
func antennas(radios []feed.Radio, dst []radio.Antenna) []radio.Antenna {
	for _, r := range radios {
		dst = append(dst, radio.Antenna{FrequencyHz: r.FrequencyHz, Latitude: r.Latitude, Longitude: r.Longitude, HeightAGLm: r.HeightAGLm})
	}
	return dst
}
