package ingest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/feed"
)

// nowhere locates nothing: the coverage does not depend on sectors.
type nowhere struct{}

func (nowhere) Locate(_, _ float64, _ int, dst []domain.SectorRef) []domain.SectorRef { return dst }
func (nowhere) Staff(stations []Station) [][]domain.SectorRef {
	return make([][]domain.SectorRef, len(stations))
}
func (nowhere) Has(domain.SectorRef) bool   { return false }
func (nowhere) Empty() bool                 { return true }
func (nowhere) SetOf(string) (string, bool) { return "", false }

// The coverage of each position: working the controller whose antenna its radio reaches on the controller's
// frequency; none otherwise (UNICOM, an observer's or an ATIS's frequency, out of range, no radio); and
// unknown for the whole cycle without a transceivers file.
func TestCoverageOfEachPosition(t *testing.T) {
	at := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	logon := at.Add(-time.Hour)
	pilot := func(cid int64, callsign string, lat, lon float64) feed.Pilot {
		return feed.Pilot{CID: cid, Callsign: callsign, Latitude: lat, Longitude: lon, Altitude: 30000, LogonTime: logon, LastUpdated: at}
	}
	ctl := func(cid int64, callsign, freq string, facility int) feed.Controller {
		return feed.Controller{CID: cid, Callsign: callsign, Frequency: freq, Facility: facility, LogonTime: logon, LastUpdated: at}
	}
	radio := func(hz int64, lat, lon, h float64) feed.Radio {
		return feed.Radio{FrequencyHz: hz, Latitude: lat, Longitude: lon, HeightAGLm: h, HeightMSLm: h}
	}
	snap := &feed.Snapshot{
		General: feed.General{UpdateTimestamp: at},
		Pilots: []feed.Pilot{
			pilot(1, "WORKS", 51.5, -0.5), pilot(2, "UNICOM", 51.5, -0.5), pilot(3, "SILENT", 51.5, -0.5),
			pilot(4, "OBSERVED", 51.5, -0.5), pilot(5, "FARAWAY", 38, -0.5), pilot(6, "ATISONLY", 51.5, -0.5),
			pilot(7, "TWORADIOS", 49.0, 2.4),
		},
		Controllers: []feed.Controller{
			ctl(100, "EGTT_CTR", "132.830", 6), ctl(101, "LFFF_CTR", "128.100", 6), ctl(102, "LON_OBS", "132.830", 0),
		},
		ATIS: []feed.Controller{ctl(103, "EGLL_ATIS", "128.075", 4)},
	}
	snap.Transceivers = &feed.Transceivers{Stations: []feed.Station{
		{Callsign: "EGTT_CTR", Radios: []feed.Radio{radio(132830000, 51.5, -0.1, 30), radio(132830000, 53.5, -2.2, 300)}},
		{Callsign: "LFFF_CTR", Radios: []feed.Radio{radio(128100000, 49.0, 2.5, 30)}},
		{Callsign: "LON_OBS", Radios: []feed.Radio{radio(132830000, 51.6, -0.4, 30)}},
		{Callsign: "EGLL_ATIS", Radios: []feed.Radio{radio(128075000, 51.47, -0.45, 20)}},
		{Callsign: "WORKS", Radios: []feed.Radio{radio(132830004, 51.5, -0.5, 9000)}},
		{Callsign: "UNICOM", Radios: []feed.Radio{radio(122800007, 51.5, -0.5, 9000)}},
		{Callsign: "OBSERVED", Radios: []feed.Radio{radio(199998000, 51.5, -0.5, 9000)}},
		{Callsign: "FARAWAY", Radios: []feed.Radio{radio(132830000, 38, -0.5, 300)}},
		{Callsign: "ATISONLY", Radios: []feed.Radio{radio(128075000, 51.5, -0.5, 9000)}},
		{Callsign: "TWORADIOS", Radios: []feed.Radio{radio(122800001, 49.0, 2.4, 9000), radio(128100000, 49.0, 2.4, 9000)}},
	}}
	tr := NewTracker(nil, time.Minute)
	plan := tr.Diff(snap, Classify(snap, nowhere{}), nowhere{})
	ids := map[string]int64{}
	for _, c := range plan.Write.Controllers {
		ids[c.Callsign] = c.ID
	}
	callsignOf := map[int64]string{}
	for _, f := range plan.Write.Flights {
		callsignOf[f.ID] = f.Callsign
	}
	want := map[string]struct {
		coverage domain.Coverage
		ctl      string
	}{
		"WORKS": {domain.CoverageWorking, "EGTT_CTR"}, "UNICOM": {domain.CoverageNone, ""}, "SILENT": {domain.CoverageNone, ""},
		"OBSERVED": {domain.CoverageNone, ""}, "FARAWAY": {domain.CoverageNone, ""}, "ATISONLY": {domain.CoverageNone, ""},
		"TWORADIOS": {domain.CoverageWorking, "LFFF_CTR"},
	}
	if len(plan.Write.Positions) != len(want) {
		t.Fatalf("%d positions", len(plan.Write.Positions))
	}
	for _, p := range plan.Write.Positions {
		cs := callsignOf[p.FlightID]
		w := want[cs]
		if p.Coverage != w.coverage || (w.ctl != "") != (p.ControllerID != 0) || w.ctl != "" && p.ControllerID != ids[w.ctl] {
			t.Errorf("%s: coverage %d controller %d, want %d %s (%d)", cs, p.Coverage, p.ControllerID, w.coverage, w.ctl, ids[w.ctl])
		}
	}

	// The next cycle has no transceivers file: unknown, not none.
	tr.Apply(plan)
	next := *snap
	next.General.UpdateTimestamp = at.Add(15 * time.Second)
	next.Transceivers = nil
	plan = tr.Diff(&next, Classify(&next, nowhere{}), nowhere{})
	for _, p := range plan.Write.Positions {
		if p.Coverage != domain.CoverageUnknown || p.ControllerID != 0 {
			t.Errorf("without transceivers, flight %d: coverage %d controller %d", p.FlightID, p.Coverage, p.ControllerID)
		}
	}
}

// staffedBy staffs one sector per controller callsign: "AAA_CTR" staffs x/AAA.
type staffedBy struct{ nowhere }

func (staffedBy) Staff(stations []Station) [][]domain.SectorRef {
	out := make([][]domain.SectorRef, len(stations))
	for i, s := range stations {
		out[i] = []domain.SectorRef{{Set: "x", ID: s.Callsign[:3]}}
	}
	return out
}

// A contact starts when a cycle of known coverage first shows the flight working a controller and ends when one
// shows it working another, or none, or when the flight disconnects; a cycle without transceivers changes no
// contact. Each start and end is one event in the first sector the controller staffs, naming both.
func TestContactEvents(t *testing.T) {
	at := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	logon := at.Add(-time.Hour)
	pilot := feed.Pilot{CID: 1, Callsign: "BAW1", Latitude: 51.5, Longitude: -0.5, Altitude: 30000, LogonTime: logon, LastUpdated: at}
	ctls := []feed.Controller{
		{CID: 100, Callsign: "AAA_CTR", Frequency: "132.830", Facility: 6, LogonTime: logon, LastUpdated: at},
		{CID: 101, Callsign: "BBB_CTR", Frequency: "128.100", Facility: 6, LogonTime: logon, LastUpdated: at},
	}
	antennas := []feed.Station{
		{Callsign: "AAA_CTR", Radios: []feed.Radio{{FrequencyHz: 132830000, Latitude: 51.5, Longitude: -0.1, HeightAGLm: 30}}},
		{Callsign: "BBB_CTR", Radios: []feed.Radio{{FrequencyHz: 128100000, Latitude: 51.4, Longitude: -0.6, HeightAGLm: 30}}},
	}
	tuned := func(hz int64) *feed.Transceivers {
		st := append([]feed.Station(nil), antennas...)
		return &feed.Transceivers{Stations: append(st, feed.Station{Callsign: "BAW1",
			Radios: []feed.Radio{{FrequencyHz: hz, Latitude: 51.5, Longitude: -0.5, HeightAGLm: 9000}}})}
	}
	cycles := []struct {
		tr     *feed.Transceivers
		gone   bool // the flight is no longer in the feed (and past the grace period)
		events []string
	}{
		{tuned(132830000), false, []string{"contact_started x/AAA BAW1 AAA_CTR"}},
		{nil, false, nil}, // unknown: the contact goes on
		{tuned(132830000), false, nil},
		{tuned(128100000), false, []string{"contact_ended x/AAA BAW1 AAA_CTR", "contact_started x/BBB BAW1 BBB_CTR"}},
		{tuned(122800005), false, []string{"contact_ended x/BBB BAW1 BBB_CTR"}},
		{tuned(132830000), false, []string{"contact_started x/AAA BAW1 AAA_CTR"}},
		{nil, true, []string{"contact_ended x/AAA BAW1 AAA_CTR"}},
	}
	tr := NewTracker(nil, time.Second)
	var working []int64
	for k, c := range cycles {
		ts := at.Add(time.Duration(k) * 15 * time.Second)
		pl := pilot
		pl.LastUpdated = ts
		snap := &feed.Snapshot{General: feed.General{UpdateTimestamp: ts}, Pilots: []feed.Pilot{pl}, Controllers: ctls, Transceivers: c.tr}
		if c.gone {
			snap.Pilots = nil
		}
		plan := tr.Diff(snap, Classify(snap, staffedBy{}), staffedBy{})
		var got []string
		for _, e := range plan.Write.Events {
			if e.Kind != domain.EventContactStarted && e.Kind != domain.EventContactEnded {
				continue
			}
			if e.Flight == nil || e.Controller == nil || e.Position == nil {
				t.Fatalf("cycle %d: %+v lacks its flight, controller or position", k, e)
			}
			got = append(got, string(e.Kind)+" "+e.Sector.Set+"/"+e.Sector.ID+" "+e.Flight.Callsign+" "+e.Controller.Callsign)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.events) {
			t.Errorf("cycle %d: events %v, want %v", k, got, c.events)
		}
		for _, f := range plan.Write.Flights {
			working = append(working, f.WorkingControllerID)
		}
		tr.Apply(plan)
	}
	// The flight's row is written when its contact changes (and when it is new or disconnects), not every cycle,
	// and holds the contact: AAA_CTR is controller 1, BBB_CTR 2.
	if want := []int64{1, 2, 0, 1, 0}; fmt.Sprint(working) != fmt.Sprint(want) {
		t.Errorf("flight rows written with working controllers %v, want %v (new, three changes, disconnected)", working, want)
	}
}
