package sim

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
)

func TestTables(t *testing.T) {
	seen := map[string]bool{}
	var weight [numRegions]float64
	total := 0.0
	for _, a := range airports {
		if seen[a.icao] || len(a.icao) != 4 {
			t.Errorf("airport %q duplicated or malformed", a.icao)
		}
		seen[a.icao] = true
		if math.Abs(a.lat) > 90 || math.Abs(a.lon) > 180 || a.weight <= 0 || a.elev < -100 || a.elev > 10000 {
			t.Errorf("airport %+v out of range", a)
		}
		weight[a.region] += a.weight
		total += a.weight
	}
	if n := len(airports); n < 150 || n > 300 {
		t.Errorf("%d airports, want 150-300", n)
	}
	for r := range numRegions {
		if weight[r] == 0 || len(airlines[r]) == 0 || len(registrationPrefixes[r]) == 0 {
			t.Errorf("region %d has no airports, airlines or registrations", r)
		}
	}
	if share := (weight[regionEU] + weight[regionNA]) / total; share < 0.7 {
		t.Errorf("Europe and North America have %.0f%% of the traffic, want most of it", share*100)
	}
	for _, typ := range acTypes {
		if typ.minAlt > typ.maxAlt || typ.minDist > typ.maxDist || typ.vLow >= typ.tas {
			t.Errorf("type %+v inconsistent", typ)
		}
	}
}

// TestTablesMatchSectorData checks the built-in tables against the sector files vatsector loads: airports
// at their VATSpy coordinates and FIR, CTR prefixes and boundaries that exist, approach prefixes SimAware
// knows, and every simulated CTR callsign resolving to a boundary the way sector resolvers do it.
func TestTablesMatchSectorData(t *testing.T) {
	dir := shareddata.VATSpyDir(t)
	dat := readVATSpy(t, filepath.Join(dir, "VATSpy.dat"))

	for _, a := range airports {
		v, ok := dat.airports[a.icao]
		if !ok {
			t.Errorf("%s is not in VATSpy.dat", a.icao)
			continue
		}
		if math.Abs(v.lat-a.lat) > 1e-3 || math.Abs(v.lon-a.lon) > 1e-3 || v.fir != a.fir {
			t.Errorf("%s at %.4f,%.4f in %s; VATSpy has %.4f,%.4f in %s", a.icao, a.lat, a.lon, a.fir, v.lat,
				v.lon, v.fir)
		}
	}

	var geo struct {
		Features []struct {
			Properties struct {
				ID string `json:"id"`
			} `json:"properties"`
		} `json:"features"`
	}
	readJSON(t, filepath.Join(dir, "Boundaries.geojson"), &geo)
	boundaries := map[string]bool{}
	for _, f := range geo.Features {
		boundaries[f.Properties.ID] = true
	}
	for _, f := range firs {
		if b, ok := dat.prefixes[f.prefix]; !ok || b != f.boundary {
			t.Errorf("CTR prefix %s: VATSpy maps it to %q, table says %q", f.prefix, b, f.boundary)
		}
		if !boundaries[f.boundary] {
			t.Errorf("boundary %s of %s is not in Boundaries.geojson", f.boundary, f.prefix)
		}
	}

	var tracons struct {
		Features []struct {
			Properties struct {
				Prefix []string `json:"prefix"`
			} `json:"properties"`
		} `json:"features"`
	}
	readJSON(t, shareddata.Path(t, "airspace", "simaware", "TRACONBoundaries.geojson"), &tracons)
	traconPrefixes := map[string]bool{}
	for _, f := range tracons.Features {
		for _, p := range f.Properties.Prefix {
			traconPrefixes[p] = true
		}
	}
	for _, a := range airports {
		if a.app != "" && !traconPrefixes[a.app] {
			t.Errorf("%s: approach prefix %s is not a SimAware prefix", a.icao, a.app)
		}
	}

	snap := New(Config{Seed: 1, Pilots: 3000}).w
	s, _ := snap.snapshot()
	ctr := 0
	for _, c := range s.Controllers {
		if c.Facility != feed.FacilityCenter {
			continue
		}
		ctr++
		if _, ok := dat.resolve(c.Callsign); !ok {
			t.Errorf("CTR callsign %s resolves to no VATSpy boundary", c.Callsign)
		}
	}
	if ctr == 0 {
		t.Error("no CTR controllers to check")
	}
}

type vatspy struct {
	airports map[string]struct {
		lat, lon float64
		fir      string
	}
	prefixes map[string]string // callsign prefix (or FIR code) -> boundary id
}

// resolve finds a CTR callsign's boundary the usual way: the whole prefix, then without the relief infix.
func (v *vatspy) resolve(callsign string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(callsign, "_CTR"), "_")
	for n := len(parts); n >= 1; n-- {
		if b, ok := v.prefixes[strings.Join(parts[:n], "_")]; ok {
			return b, true
		}
	}
	return "", false
}

func readVATSpy(t *testing.T, path string) *vatspy {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := &vatspy{airports: map[string]struct {
		lat, lon float64
		fir      string
	}{}, prefixes: map[string]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			section = line
			continue
		case line == "" || strings.HasPrefix(line, ";"):
			continue
		}
		p := strings.Split(line, "|")
		switch {
		case section == "[Airports]" && len(p) >= 7:
			lat, _ := strconv.ParseFloat(p[2], 64)
			lon, _ := strconv.ParseFloat(p[3], 64)
			if _, dup := v.airports[p[0]]; !dup || p[6] == "0" {
				v.airports[p[0]] = struct {
					lat, lon float64
					fir      string
				}{lat, lon, p[5]}
			}
		case section == "[FIRs]" && len(p) >= 4:
			prefix := p[2]
			if prefix == "" {
				prefix = p[0]
			}
			if _, dup := v.prefixes[prefix]; !dup {
				v.prefixes[prefix] = p[3]
			}
			if _, dup := v.prefixes[p[0]]; !dup {
				v.prefixes[p[0]] = p[3] // the FIR code itself, as in EGTT_CTR
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
