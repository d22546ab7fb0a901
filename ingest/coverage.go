package ingest

import (
	"cmp"
	"slices"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/radio"
)

// matchRadios sets each position's coverage from the snapshot's transceivers file (package radio): which
// controller position the pilot was working, if any. Without a file every position's coverage stays unknown:
// a missing or stale file says nothing about who was on frequency. callsigns are the positions' pilots'
// callsigns, in Write.Positions order.
//
// The controllers that can be worked are those the snapshot shows (not merely missing within the grace
// period: a controller gone from the feed has no transceivers either) that are positions: not observers, not
// ATIS stations. Their antennas are their callsigns' transceivers; two connections on one callsign (a ghost)
// share its station, which goes to the earlier one (the lower id).
func (p *Plan) matchRadios(snap *feed.Snapshot, callsigns []string) {
	tr := snap.Transceivers
	if tr == nil {
		return
	}
	byCallsign := make(map[string][]feed.Radio, len(tr.Stations))
	for i := range tr.Stations {
		byCallsign[tr.Stations[i].Callsign] = tr.Stations[i].Radios
	}
	positions := make([]*controllerState, 0, len(snap.Controllers))
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
	ix := radio.NewIndex(ctls)
	var buf []radio.Antenna
	for i := range p.Write.Positions {
		pos := &p.Write.Positions[i]
		pos.Coverage = domain.CoverageNone
		buf = antennas(byCallsign[callsigns[i]], buf[:0])
		if id, _, ok := ix.Match(buf); ok {
			pos.Coverage, pos.ControllerID = domain.CoverageWorking, id
		}
	}
}

// antennas appends the radios as the radio package takes them.
func antennas(radios []feed.Radio, dst []radio.Antenna) []radio.Antenna {
	for _, r := range radios {
		dst = append(dst, radio.Antenna{FrequencyHz: r.FrequencyHz, Latitude: r.Latitude, Longitude: r.Longitude, HeightAGLm: r.HeightAGLm})
	}
	return dst
}
