package sim

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/vatsector/vatsector/feed"
)

// TestQuirks checks that the simulated feed has the oddities of the real one (see the shared data README),
// so that decoders and ingest tests meet them without recorded files.
func TestQuirks(t *testing.T) {
	s := New(Config{Seed: 8, Pilots: 3000})
	var raw [][]byte
	var snaps []*feed.Snapshot
	for range 60 {
		data, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, data)
		snaps = append(snaps, s.Snapshot())
	}
	anyRaw := func(re string) func() bool {
		r := regexp.MustCompile(re)
		return func() bool {
			for _, d := range raw {
				if r.Match(d) {
					return true
				}
			}
			return false
		}
	}
	anyPilot := func(pred func(p *feed.Pilot) bool) func() bool {
		return func() bool {
			for _, snap := range snaps {
				for i := range snap.Pilots {
					if pred(&snap.Pilots[i]) {
						return true
					}
				}
			}
			return false
		}
	}
	anyStation := func(atis bool, pred func(c *feed.Controller) bool) func() bool {
		return func() bool {
			for _, snap := range snaps {
				list := snap.Controllers
				if atis {
					list = snap.ATIS
				}
				for i := range list {
					if pred(&list[i]) {
						return true
					}
				}
			}
			return false
		}
	}

	tests := []struct {
		quirk string
		found func() bool
	}{
		{"integer qnh_i_hg", anyRaw(`"qnh_i_hg":\d+,`)},
		{"negative altitude", anyPilot(func(p *feed.Pilot) bool { return p.Altitude < 0 })},
		{"heading 360", anyPilot(func(p *feed.Pilot) bool { return p.Heading == 360 })},
		{"heading 0", anyPilot(func(p *feed.Pilot) bool { return p.Heading == 0 })},
		{"time without fraction", anyRaw(`"last_updated":"[0-9-]{10}T[0-9:]{8}Z"`)},
		{"time with 1-6 fractional digits", anyRaw(`"last_updated":"[0-9-]{10}T[0-9:]{8}\.\d{1,6}Z"`)},
		{"null flight_plan", anyRaw(`"flight_plan":null`)},
		{"VFR flight plan", anyPilot(func(p *feed.Pilot) bool {
			return p.FlightPlan != nil && p.FlightPlan.FlightRules == "V"
		})},
		{"controller-amended route", anyPilot(func(p *feed.Pilot) bool {
			return p.FlightPlan != nil && strings.HasPrefix(p.FlightPlan.Route, "+")
		})},
		{"cruise_tas 0", anyPilot(func(p *feed.Pilot) bool { return p.FlightPlan != nil && p.FlightPlan.CruiseTAS == "0" })},
		{"non-ASCII escaped", anyRaw(`\\u00c4`)},
		{"ghost connection (one CID, two callsigns)", func() bool {
			for _, snap := range snaps {
				seen := map[int64]string{}
				for _, p := range snap.Pilots {
					if cs, ok := seen[p.CID]; ok && cs != p.Callsign {
						return true
					}
					seen[p.CID] = p.Callsign
				}
			}
			return false
		}},
		{"flight plan amended (revision_id grows)", func() bool {
			rev := map[key]int{}
			for _, snap := range snaps {
				for i := range snap.Pilots {
					p := &snap.Pilots[i]
					if p.FlightPlan == nil || p.FlightPlan.RevisionID == nil {
						continue
					}
					k := pilotKey(p)
					if r, ok := rev[k]; ok && *p.FlightPlan.RevisionID > r {
						return true
					}
					rev[k] = *p.FlightPlan.RevisionID
				}
			}
			return false
		}},
		{"null text_atis in controllers", anyStation(false, func(c *feed.Controller) bool { return c.TextATIS == nil })},
		{"null atis_code", anyRaw(`"atis_code":null`)},
		{"null text_atis in atis", anyStation(true, func(c *feed.Controller) bool { return c.TextATIS == nil })},
		{"ATIS sharing its controller's CID", func() bool {
			snap := snaps[len(snaps)-1]
			ctrl := map[int64]bool{}
			for _, c := range snap.Controllers {
				ctrl[c.CID] = true
			}
			for _, a := range snap.ATIS {
				if !ctrl[a.CID] {
					return false
				}
			}
			return len(snap.ATIS) > 0
		}},
		{"split ATIS", anyStation(true, func(c *feed.Controller) bool {
			return strings.HasSuffix(c.Callsign, "_D_ATIS")
		})},
		{"relief position", anyStation(false, func(c *feed.Controller) bool {
			return strings.Count(c.Callsign, "_") == 2 && c.Facility > 0
		})},
		{"supervisor", anyStation(false, func(c *feed.Controller) bool {
			return strings.HasSuffix(c.Callsign, "_SUP") && c.Rating == 11
		})},
		{"observer with a pilot callsign", anyStation(false, func(c *feed.Controller) bool {
			return c.Facility == feed.FacilityObserver && !strings.Contains(c.Callsign, "_")
		})},
	}
	for _, tt := range tests {
		if !tt.found() {
			t.Errorf("no %s in 60 snapshots of 3,000 pilots", tt.quirk)
		}
	}
}
