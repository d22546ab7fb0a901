package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
)

// wireStation is the transceivers file's shape, decoded with encoding/json independently of the encoder.
type wireStation struct {
	Callsign     string `json:"callsign"`
	Transceivers []struct {
		ID         int     `json:"id"`
		Frequency  int64   `json:"frequency"`
		LatDeg     float64 `json:"latDeg"`
		LonDeg     float64 `json:"lonDeg"`
		HeightMslM float64 `json:"heightMslM"`
		HeightAglM float64 `json:"heightAglM"`
	} `json:"transceivers"`
}

func decodeWire(t testing.TB, data []byte) *feed.Transceivers {
	t.Helper()
	var list []wireStation
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("transceivers file: %v", err)
	}
	out := &feed.Transceivers{Stations: make([]feed.Station, len(list))}
	for i, ws := range list {
		st := feed.Station{Callsign: ws.Callsign, Radios: []feed.Radio{}}
		for _, r := range ws.Transceivers {
			st.Radios = append(st.Radios, feed.Radio{ID: r.ID, FrequencyHz: r.Frequency, Latitude: r.LatDeg,
				Longitude: r.LonDeg, HeightMSLm: r.HeightMslM, HeightAGLm: r.HeightAglM})
		}
		out.Stations[i] = st
	}
	return out
}

// normalized gives nil and empty radio lists the same form, for comparisons.
func normalized(t *feed.Transceivers) *feed.Transceivers {
	out := &feed.Transceivers{Stations: make([]feed.Station, len(t.Stations)), Rejected: t.Rejected}
	for i, st := range t.Stations {
		out.Stations[i] = feed.Station{Callsign: st.Callsign, Radios: append([]feed.Radio{}, st.Radios...)}
	}
	return out
}

// TestTransceiversDeterministic: the same seed gives the same transceivers bytes, whichever earlier snapshots'
// files were asked for; another seed gives others; and asking for them leaves the snapshots' bytes unchanged.
func TestTransceiversDeterministic(t *testing.T) {
	ctx := context.Background()
	const cycles = 30
	every, sparse, plain := New(Config{Seed: 5, Pilots: 750}), New(Config{Seed: 5, Pilots: 750}), New(Config{Seed: 5, Pilots: 750})
	other := New(Config{Seed: 6, Pilots: 750})
	for i := range cycles {
		a, err := every.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ta, err := every.FetchTransceivers(ctx, every.Snapshot().General.UpdateTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sparse.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := plain.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Fatalf("snapshot %d: asking for transceivers changed vatsim-data bytes", i)
		}
		if i%7 == 6 {
			tb := sparse.AppendTransceiversJSON(nil)
			if !bytes.Equal(ta, tb) {
				t.Fatalf("snapshot %d: transceivers depend on which earlier ones were asked for", i)
			}
		}
		if _, err := other.Next(); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(ta, other.AppendTransceiversJSON(nil)) {
			t.Fatalf("snapshot %d: seeds 5 and 6 give the same transceivers", i)
		}
		if !bytes.Equal(ta, every.AppendTransceiversJSON(nil)) {
			t.Fatalf("snapshot %d: a second encoding differs", i)
		}
	}
}

// TestTransceiversEncoding: the bytes decode (encoding/json, and feed.DecodeTransceivers) to Transceivers().
func TestTransceiversEncoding(t *testing.T) {
	s := New(Config{Seed: 3, Pilots: 750})
	for range 5 {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		data, err := s.FetchTransceivers(context.Background(), s.Snapshot().General.UpdateTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		want := normalized(s.Transceivers())
		if got := decodeWire(t, data); !reflect.DeepEqual(normalized(got), want) {
			t.Fatal("encoding/json decodes the file to something else than Transceivers()")
		}
		dec, err := feed.DecodeTransceivers(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalized(dec), want) {
			t.Fatalf("feed.DecodeTransceivers decodes the file to something else than Transceivers() (rejected %d)", dec.Rejected)
		}
	}
}

func TestFetchTransceiversTime(t *testing.T) {
	ctx := context.Background()
	s := New(Config{Seed: 1, Pilots: 50})
	if _, err := s.FetchTransceivers(ctx, s.Config().Start); !errors.Is(err, feed.ErrNoTransceivers) {
		t.Errorf("before the first snapshot: %v, want ErrNoTransceivers", err)
	}
	if s.Transceivers() != nil || s.Intended() != nil || len(s.AppendTransceiversJSON(nil)) != 0 {
		t.Error("transceivers before the first snapshot")
	}
	if _, err := s.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	at := s.Snapshot().General.UpdateTimestamp
	if _, err := s.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FetchTransceivers(ctx, at); !errors.Is(err, feed.ErrNoTransceivers) {
		t.Errorf("the previous snapshot's time: %v, want ErrNoTransceivers", err)
	}
	now := s.Snapshot().General.UpdateTimestamp
	data, err := s.FetchTransceivers(ctx, now.In(time.FixedZone("X", 3600)))
	if err != nil || !bytes.Equal(data, s.AppendTransceiversJSON(nil)) {
		t.Errorf("the current snapshot's time: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.FetchTransceivers(cancelled, now); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// isController: the positions a pilot can work (not observers; ATIS stations are in another list).
func controllerCallsigns(snap *feed.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, c := range snap.Controllers {
		if c.Facility != feed.FacilityObserver {
			out[c.Callsign] = true
		}
	}
	return out
}

func testKHz(hz int64) int64 { return (hz + 500) / 1000 }

func testHaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(min(max(h, 0), 1)))
}

func testRangeKm(h1, h2 float64) float64 {
	f := func(h float64) float64 {
		if h <= 0 {
			return 0
		}
		return 4.12 * math.Sqrt(h)
	}
	return f(h1) + f(h2)
}

// bruteIntent applies the rule to every pilot radio x every antenna of every station of the file that the
// accept function admits as a controller; stations are taken in file order.
func bruteIntent(snap *feed.Snapshot, tx *feed.Transceivers, accept func(cs string) bool) map[string]string {
	byCallsign := map[string]*feed.Station{}
	for i := range tx.Stations {
		byCallsign[tx.Stations[i].Callsign] = &tx.Stations[i]
	}
	var ctrls []*feed.Station
	for i := range tx.Stations {
		if accept(tx.Stations[i].Callsign) {
			ctrls = append(ctrls, &tx.Stations[i])
		}
	}
	out := map[string]string{}
	for _, p := range snap.Pilots {
		out[p.Callsign] = ""
		st := byCallsign[p.Callsign]
		if st == nil {
			continue
		}
		best := math.Inf(1)
		for _, r := range st.Radios {
			k := testKHz(r.FrequencyHz)
			for _, c := range ctrls {
				for _, a := range c.Radios {
					ak := testKHz(a.FrequencyHz)
					if ak != k || ak == 122800 || ak == 199998 {
						continue
					}
					d := testHaversineKm(r.Latitude, r.Longitude, a.Latitude, a.Longitude)
					if d <= testRangeKm(r.HeightAGLm, a.HeightAGLm) && d < best {
						best, out[p.Callsign] = d, c.Callsign
					}
				}
			}
		}
	}
	return out
}

// TestIntendedBruteForce: Intended is what the rule gives over every pilot radio x every controller antenna
// of the file as written, for several seeds and loads over many snapshots; counting observers as controllers
// would change some answers (the simulator makes such cases), and pilots on controllers are common.
func TestIntendedBruteForce(t *testing.T) {
	type run struct {
		seed           int64
		pilots, checks int
	}
	runs := []run{{1, 750, 12}, {7, 750, 12}, {42, 750, 12}, {1, 3000, 4}, {9, 3000, 4}}
	if testing.Short() {
		runs = runs[:1]
	}
	fooled := 0
	for _, r := range runs {
		t.Run(fmt.Sprintf("seed=%d/pilots=%d", r.seed, r.pilots), func(t *testing.T) {
			s := New(Config{Seed: r.seed, Pilots: r.pilots})
			worked := 0
			for i := range r.checks {
				for range 1 + 10*i%23 { // snapshots at uneven intervals, over a couple of hours
					if _, err := s.Next(); err != nil {
						t.Fatal(err)
					}
				}
				snap := s.Snapshot()
				tx := decodeWire(t, s.AppendTransceiversJSON(nil))
				ctrl := controllerCallsigns(snap)
				want := bruteIntent(snap, tx, func(cs string) bool { return ctrl[cs] })
				got := s.Intended()
				if len(got) != len(snap.Pilots) {
					t.Fatalf("Intended has %d pilots, the snapshot %d", len(got), len(snap.Pilots))
				}
				for cs, w := range want {
					if g, ok := got[cs]; !ok || g != w {
						t.Fatalf("%s: intended %q (present %v), the rule gives %q", snap.General.UpdateTimestamp, g, ok, w)
					}
					if w != "" {
						worked++
					}
				}
				observers := map[string]bool{}
				for _, c := range snap.Controllers {
					if c.Facility == feed.FacilityObserver {
						observers[c.Callsign] = true
					}
				}
				naive := bruteIntent(snap, tx, func(cs string) bool { return ctrl[cs] || observers[cs] })
				for cs, w := range naive {
					if w != want[cs] {
						fooled++
					}
				}
			}
			if share := float64(worked) / float64(r.checks*r.pilots); share < 0.1 {
				t.Errorf("%.0f%% of pilots work a controller, want at least 10%%", 100*share)
			}
		})
	}
	if !testing.Short() && fooled == 0 {
		t.Error("no pilot would be taken for working an observer: the simulator makes no such case")
	}
}

// TestTransceiversContent checks the shares and quirks radio.go states.
func TestTransceiversContent(t *testing.T) {
	for _, pilots := range []int{750, 3000} {
		t.Run(fmt.Sprintf("pilots=%d", pilots), func(t *testing.T) {
			s := New(Config{Seed: 11, Pilots: pilots})
			var total, entries, empty, two, onCtrl, onCtrlSector, unicom, outOfRange, obsOnFreq, obsNoFreq, ghosts int
			var ctrlStations, ctrlAntennas, secondFreq, eightThree int
			bands := map[int]bool{}
			for range 20 {
				for range 9 {
					if _, err := s.Next(); err != nil {
						t.Fatal(err)
					}
				}
				snap := s.Snapshot()
				tx := s.Transceivers()
				intended := s.Intended()
				byCS := map[string]*feed.Station{}
				for i := range tx.Stations {
					st := &tx.Stations[i]
					if byCS[st.Callsign] != nil {
						t.Fatalf("%s twice in the file", st.Callsign)
					}
					byCS[st.Callsign] = st
				}
				ctrlKHz := map[int64][]*feed.Station{}
				for _, c := range snap.Controllers {
					st := byCS[c.Callsign]
					if c.Facility == feed.FacilityObserver {
						if st == nil {
							continue
						}
						if len(st.Radios) != 1 {
							t.Fatalf("observer %s has %d radios", c.Callsign, len(st.Radios))
						}
						continue
					}
					if st == nil || len(st.Radios) < 3 {
						t.Fatalf("controller %s has no antennas or fewer than 3: %v", c.Callsign, st)
					}
					ctrlStations++
					ctrlAntennas += len(st.Radios)
					want := parseKHz(c.Frequency) * 1000
					if st.Radios[0].FrequencyHz != want {
						t.Fatalf("%s on %s has its antenna 0 on %d Hz", c.Callsign, c.Frequency, st.Radios[0].FrequencyHz)
					}
					if parseKHz(c.Frequency)%25 != 0 {
						eightThree++ // an 8.33 kHz channel name such as 132.830: whole kHz all the same
					}
					seen := map[int64]bool{}
					for i, r := range st.Radios {
						if r.ID != i || r.FrequencyHz%1000 != 0 {
							t.Fatalf("%s antenna %d: %+v", c.Callsign, i, r)
						}
						if r.HeightAGLm < 8 || r.HeightAGLm > 60 || r.HeightMSLm < r.HeightAGLm-0.01 {
							t.Fatalf("%s antenna %d heights %+v", c.Callsign, i, r)
						}
						seen[r.FrequencyHz] = true
						if k := testKHz(r.FrequencyHz); k == 122800 || k == 199998 {
							continue // a tower on UNICOM (the simulator's frequencies allow it): no position to work
						}
						if len(ctrlKHz[testKHz(r.FrequencyHz)]) == 0 || ctrlKHz[testKHz(r.FrequencyHz)][len(ctrlKHz[testKHz(r.FrequencyHz)])-1] != st {
							ctrlKHz[testKHz(r.FrequencyHz)] = append(ctrlKHz[testKHz(r.FrequencyHz)], st)
						}
					}
					if len(seen) > 1 {
						secondFreq++
					}
				}
				for _, c := range snap.Controllers {
					if st := byCS[c.Callsign]; c.Facility == feed.FacilityObserver && st != nil {
						k := testKHz(st.Radios[0].FrequencyHz)
						switch {
						case k == 199998:
							obsNoFreq++
						case len(ctrlKHz[k]) > 0:
							obsOnFreq++
						default:
							t.Fatalf("observer %s on %d Hz, neither 199.998 nor a controller's", c.Callsign, st.Radios[0].FrequencyHz)
						}
					}
				}
				for _, a := range snap.ATIS {
					st := byCS[a.Callsign]
					if st == nil || len(st.Radios) == 0 || st.Radios[0].FrequencyHz != parseKHz(a.Frequency)*1000 {
						t.Fatalf("ATIS %s: %v", a.Callsign, st)
					}
				}
				for i, p := range snap.Pilots {
					total++
					st := byCS[p.Callsign]
					if s.w.flights[i].frozen != nil {
						ghosts++
						if st != nil {
							t.Fatalf("ghost %s has an entry", p.Callsign)
						}
					}
					if st == nil {
						continue
					}
					entries++
					switch len(st.Radios) {
					case 0:
						empty++
						continue
					case 2:
						two++
					case 1:
					default:
						t.Fatalf("%s has %d radios", p.Callsign, len(st.Radios))
					}
					for _, r := range st.Radios {
						if r.Latitude != p.Latitude || r.Longitude != p.Longitude ||
							math.Abs(r.HeightMSLm-float64(p.Altitude)*0.3048) > 0.01 || r.HeightAGLm > math.Max(r.HeightMSLm, 0)+5 || r.HeightAGLm <= 0 {
							t.Fatalf("%s radio %+v, pilot at %v %v %d ft", p.Callsign, r, p.Latitude, p.Longitude, p.Altitude)
						}
						if testKHz(r.FrequencyHz) == 122800 {
							unicom++
							off := r.FrequencyHz - 122800000
							band := int(math.Floor((r.Longitude + 180) / 30))
							band = max(0, min(11, band))
							if off < 1 || off > 12 || int(off) != 1+band {
								t.Fatalf("%s UNICOM %d Hz at longitude %v", p.Callsign, r.FrequencyHz, r.Longitude)
							}
							bands[band] = true
						}
					}
					r0 := st.Radios[0]
					cands := ctrlKHz[testKHz(r0.FrequencyHz)]
					if len(cands) == 0 {
						continue
					}
					onCtrl++
					if intended[p.Callsign] != "" {
						onCtrlSector++
						continue
					}
					// On a controller's frequency but working nobody: out of range of every antenna on it.
					nearest := math.Inf(1)
					for _, c := range cands {
						for _, a := range c.Radios {
							if testKHz(a.FrequencyHz) == testKHz(r0.FrequencyHz) {
								nearest = min(nearest, testHaversineKm(r0.Latitude, r0.Longitude, a.Latitude, a.Longitude))
							}
						}
					}
					if nearest >= 600 && r0.HeightAGLm < 3000 {
						outOfRange++
					}
				}
			}
			t.Logf("%d pilot records: %d entries (%d empty), %d on a controller's frequency (%d working one), %d two radios, "+
				"%d UNICOM radios in %d bands, %d out of range, %d ghosts; %d controllers with %.1f antennas each, %d on two "+
				"frequencies, %d on 8.33 kHz names; observers: %d on a controller's frequency, %d on 199.998",
				total, entries, empty, onCtrl, onCtrlSector, two, unicom, len(bands), outOfRange, ghosts, ctrlStations,
				float64(ctrlAntennas)/float64(ctrlStations), secondFreq, eightThree, obsOnFreq, obsNoFreq)
			check := func(name string, got, lo, hi float64) {
				if got < lo || got > hi {
					t.Errorf("%s: %.3f, want [%.3f, %.3f]", name, got, lo, hi)
				}
			}
			n := float64(total)
			check("share with no entry", 1-float64(entries)/n, 0.02, 0.06)
			check("share with an empty entry", float64(empty)/n, 0.003, 0.02)
			check("two-radio share", float64(two)/float64(entries-empty), 0.07, 0.13)
			// Fewer pilots work a controller at 750: the controllers are fewer, the sectors as large.
			check("share working a controller", float64(onCtrlSector)/n, map[int]float64{750: 0.1, 3000: 0.3}[pilots], 0.6)
			check("out-of-range cases", float64(outOfRange), 5, 0.03*n)
			check("UNICOM bands", float64(len(bands)), 6, 12)
			check("observers on a controller's frequency", float64(obsOnFreq), 3, math.Inf(1))
			check("observers on 199.998", float64(obsNoFreq), 3, math.Inf(1))
			check("controllers on two frequencies", float64(secondFreq), 1, math.Inf(1))
			check("8.33 kHz names", float64(eightThree), 1, math.Inf(1))
		})
	}
}

func TestUnicomHz(t *testing.T) {
	for _, tt := range []struct {
		lon  float64
		want int64
	}{{-180, 122800001}, {-150.0001, 122800001}, {-150, 122800002}, {-0.5, 122800006}, {0, 122800007},
		{149.99, 122800011}, {150, 122800012}, {180, 122800012}} {
		if got := UnicomHz(tt.lon); got != tt.want {
			t.Errorf("UnicomHz(%v) = %d, want %d", tt.lon, got, tt.want)
		}
	}
	if RadioRangeKm(10668, 30) < 440 || RadioRangeKm(10668, 30) > 450 || RadioRangeKm(-5, 0) != 0 {
		t.Errorf("RadioRangeKm(10668, 30) = %v", RadioRangeKm(10668, 30))
	}
}

// TestWriteDirTransceivers: each snapshot of WriteDir has its transceivers file beside it, the simulator's.
func TestWriteDirTransceivers(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Seed: 9, Pilots: 40, Cycles: 3}
	paths, err := WriteDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	for _, p := range paths {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		ts := s.Snapshot().General.UpdateTimestamp
		name := TransceiversFileName(ts)
		if want := "transceivers-data-" + strings.TrimPrefix(filepath.Base(p), "vatsim-data-"); name != want {
			t.Fatalf("transceivers file %s beside %s, want %s", name, p, want)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, s.AppendTransceiversJSON(nil)) {
			t.Errorf("%s differs from the simulator's", name)
		}
	}
}

// BenchmarkTransceivers measures making one snapshot's transceivers and intent ("struct") and that plus the
// JSON encoding ("json"), without the simulation step.
func BenchmarkTransceivers(b *testing.B) {
	for _, pilots := range []int{3000, 30000} {
		s := New(Config{Seed: 1, Pilots: pilots})
		if _, err := s.Next(); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("pilots=%d/struct", pilots), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.radio = nil
				s.Transceivers()
			}
		})
		b.Run(fmt.Sprintf("pilots=%d/json", pilots), func(b *testing.B) {
			buf := s.AppendTransceiversJSON(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				s.radio = nil
				buf = s.AppendTransceiversJSON(buf[:0])
			}
		})
	}
}
