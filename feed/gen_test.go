package feed

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// Fixtures are generated here from the package's own types, never copied from real data.

var baseTime = time.Date(2024, 2, 20, 23, 19, 51, 947440100, time.UTC)

func ptr[T any](v T) *T { return &v }

// genPilot builds a plausible pilot; i varies every key field so that generated lists have no duplicates.
func genPilot(i int, ts time.Time) Pilot {
	p := Pilot{
		CID:            int64(1_000_000 + i),
		Name:           fmt.Sprintf("Member %d", 1_000_000+i),
		Callsign:       fmt.Sprintf("TST%05d", i),
		Server:         "GERMANY",
		PilotRating:    i % 4,
		MilitaryRating: ptr(0),
		Latitude:       float64(i%170) - 85 + 0.12345,
		Longitude:      float64(i%350) - 175 + 0.54321,
		Altitude:       (i * 137) % 41000,
		Groundspeed:    (i * 7) % 520,
		Transponder:    fmt.Sprintf("%04d", i%7777),
		Heading:        i % 361,
		QNHInHg:        29.92,
		QNHMb:          1013,
		LogonTime:      ts.Add(-time.Duration(i+60) * time.Minute).Truncate(time.Second),
		LastUpdated:    ts.Add(-time.Duration(i%15) * time.Second),
	}
	if i%10 != 0 { // about one pilot in ten has not filed
		p.FlightPlan = &FlightPlan{
			FlightRules: "I", Aircraft: "A320/M-SDE3FGHIRWY/LB1", AircraftFAA: "A320/L", AircraftShort: "A320",
			Departure: "EDDL", Arrival: "LTAI", Alternate: "LTBJ", CruiseTAS: "453", Altitude: "35000",
			DepTime: "0045", EnrouteTime: "0308", FuelTime: "0450",
			Remarks:             "PBN/A1B1C1D1O1S1 DOF/240220 REG/DTEST EET/EDUU0013 LOVV0041 OPR/TST PER/C RMK/TCAS /V/",
			Route:               "DODEN9T DODEN Y853 BOMBI DCT DETEV DCT DINKU DCT BESNI DCT GOMIG DCT GOLVA UN131 KOZLU",
			RevisionID:          ptr(i % 5),
			AssignedTransponder: "0000",
		}
	}
	return p
}

func genController(i int, ts time.Time, atis bool) Controller {
	c := Controller{
		CID:         int64(2_000_000 + i),
		Name:        fmt.Sprintf("Member %d", 2_000_000+i),
		Callsign:    fmt.Sprintf("TST%d_CTR", i),
		Frequency:   "128.555",
		Facility:    FacilityCenter,
		Rating:      5,
		Server:      "AMSTERDAM",
		VisualRange: 400,
		TextATIS:    []string{"Test radar", "Line two"},
		LogonTime:   ts.Add(-2 * time.Hour).Truncate(time.Second),
		LastUpdated: ts.Add(-10 * time.Second),
	}
	switch {
	case atis:
		c.Callsign = fmt.Sprintf("TS%02d_ATIS", i)
		c.Facility = FacilityTower
		c.ATISCode = ptr("N")
	case i%3 == 0: // observers are a third of controllers
		c.Callsign = fmt.Sprintf("TST%d_OBS", i)
		c.Facility = FacilityObserver
		c.Frequency = NoFrequency
		c.TextATIS = nil
	}
	return c
}

func genSnapshot(ts time.Time, pilots, controllers, atis int) *Snapshot {
	s := &Snapshot{General: General{
		Version:          3,
		Update:           ts.Format("20060102150405"),
		UpdateTimestamp:  ts,
		ConnectedClients: pilots + controllers + atis,
		UniqueUsers:      pilots + controllers + atis,
	}}
	for i := range pilots {
		s.Pilots = append(s.Pilots, genPilot(i, ts))
	}
	for i := range controllers {
		s.Controllers = append(s.Controllers, genController(i, ts, false))
	}
	for i := range atis {
		s.ATIS = append(s.ATIS, genController(controllers+i, ts, true))
	}
	return s
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// genData is a small generated snapshot's JSON.
func genData(t testing.TB, ts time.Time) []byte {
	t.Helper()
	return mustMarshal(t, genSnapshot(ts, 3, 2, 1))
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testLogger writes to the test's output (shown on failure or with -v) and, when buf is given, to buf too so a
// test can assert what was logged.
func testLogger(t testing.TB, buf *syncBuffer) *slog.Logger {
	var w io.Writer = t.Output()
	if buf != nil {
		w = io.MultiWriter(w, buf)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
