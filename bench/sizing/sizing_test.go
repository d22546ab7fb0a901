package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"0/0": 0, "16/B374D848": 0x16_B374D848, " 1/0 ": 1 << 32} {
		got, err := parseLSN(in)
		if err != nil || got != want {
			t.Errorf("parseLSN(%q) = %x, %v; want %x", in, got, err, want)
		}
		if in == strings.TrimSpace(in) && lsnText(got) != in {
			t.Errorf("lsnText(%x) = %s, want %s", got, lsnText(got), in)
		}
	}
	for _, bad := range []string{"", "16", "x/1", "1/y"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q) accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []int64{5, 1, 4, 2, 3}
	for p, want := range map[float64]int64{50: 3, 99: 5, 100: 5, 1: 1, 0: 1} {
		if got := percentile(xs, p); got != want {
			t.Errorf("percentile(%v) = %d, want %d", p, got, want)
		}
	}
	if xs[0] != 5 {
		t.Error("percentile sorted its input")
	}
	if percentile(nil, 50) != 0 || mean(nil) != 0 || mean([]int64{1, 2}) != 1.5 {
		t.Error("empty or mean wrong")
	}
}

func TestRowsPerDay(t *testing.T) {
	if cyclesPerDay != 5760 {
		t.Fatalf("cyclesPerDay = %d", cyclesPerDay)
	}
	pos := tableStat{Name: "positions", Rows0: 15_000, Rows: 15_000 + 240*3000}
	if got := pos.perCycle(240); got != 3000 {
		t.Errorf("perCycle = %v", got)
	}
	if got := pos.rowsPerDay(240); got != 3000*5760 {
		t.Errorf("rowsPerDay = %v", got)
	}
	// Rollups: the fullest hour × 24, the fullest day as is, whatever the window added.
	if got := (tableStat{Name: "sector_hours", Rows0: 100, Rows: 900, GrainRows: 500}).rowsPerDay(240); got != 24*500 {
		t.Errorf("sector_hours rowsPerDay = %v", got)
	}
	if got := (tableStat{Name: "sector_days", Rows0: 400, Rows: 450, GrainRows: 450}).rowsPerDay(240); got != 450 {
		t.Errorf("sector_days rowsPerDay = %v", got)
	}
	if got := pos.perCycle(0); got != 0 {
		t.Errorf("perCycle(0) = %v", got)
	}
}

func TestProject(t *testing.T) {
	cycles := 240
	// positions: as grown, 48 h kept.
	pos := tableStat{Name: "positions", Rows0: 0, Rows: 240 * 3000, Total: 240 * 3000 * 150, CompactTotal: 240 * 3000 * 140}
	p := project(pos, cycles)
	if !near(p.BytesPerRow, 150) || !near(p.PerDay, 3000*5760*150) || !near(p.TwoDays, 2*p.PerDay) ||
		!near(p.Year, 365*p.PerDay) || !near(p.Steady, 2*p.PerDay) {
		t.Errorf("positions: %+v", p)
	}
	// flights: compacted, forever.
	fl := tableStat{Name: "flights", Rows0: 3000, Rows: 3240, Total: 3240 * 900, CompactTotal: 3240 * 600}
	p = project(fl, cycles)
	if !near(p.BytesPerRow, 600) || !near(p.RowsPerDay, 5760) || !near(p.Steady, p.Year) || !near(p.Year, 365*5760*600) {
		t.Errorf("flights: %+v", p)
	}
	// events: 30 days of the year.
	ev := tableStat{Name: "sector_events", Rows: 240, Total: 240 * 200}
	p = project(ev, cycles)
	if !near(p.Steady, 30*p.PerDay) {
		t.Errorf("events: %+v", p)
	}
	// Rollups are kept 400 days: the whole year.
	sh := tableStat{Name: "sector_hours", Rows: 1000, GrainRows: 500, Total: 1000 * 400, CompactTotal: 1000 * 300}
	p = project(sh, cycles)
	if !near(p.Steady, p.Year) || !near(p.PerDay, 24*500*300) {
		t.Errorf("sector_hours: %+v", p)
	}
	// Bounded tables stay as measured.
	p = project(tableStat{Name: "goose_db_version", Rows: 15, Total: 57_344}, cycles)
	if p.PerDay != 0 || p.Steady != 57_344 {
		t.Errorf("bounded: %+v", p)
	}
	// An unknown table is kept forever, compacted.
	if k := policy("something_new"); k.Days != 0 || k.Bounded || k.Basis != compacted {
		t.Errorf("unknown table policy %+v", k)
	}
	perDay, year, steady := totals([]projection{{PerDay: 1, Year: 365, Steady: 2}, {PerDay: 2, Year: 730, Steady: 730}})
	if perDay != 3 || year != 1095 || steady != 732 {
		t.Errorf("totals = %v %v %v", perDay, year, steady)
	}
	if keptDays(keep{Days: 400}, 365) != 365 || keptDays(keep{Days: 2}, 365) != 2 || keptDays(keep{}, 365) != 365 {
		t.Error("keptDays")
	}
}

func TestRetentionsMatchTheFlags(t *testing.T) {
	// config.go's defaults; a change there should change the projections.
	if positionsRetention != 48*time.Hour || eventsRetention != 720*time.Hour || sectorHoursRetention != 9600*time.Hour {
		t.Errorf("retentions %v %v %v", positionsRetention, eventsRetention, sectorHoursRetention)
	}
	if policy("positions").Days != 2 || policy("sector_events").Days != 30 || policy("sector_hours").Days != 400 {
		t.Error("policy days")
	}
}

func TestWALSummary(t *testing.T) {
	s := walSummary{Window: 20, Windows: []walWindow{
		{Cycles: 20, Bytes: 2_000_000, FPIBytes: 60_000, Images: 10, Blocks: 1000},
		{Cycles: 20, Bytes: 2_000_000, FPIBytes: 0, Images: 0, Blocks: 1200},
		{Cycles: 5, Bytes: 500_000, Blocks: 900}, // partial: not in the estimate
	}}
	if got := s.avgImage(); got != 6000 {
		t.Errorf("avgImage = %v", got)
	}
	fpi, ok := s.estimatedFPIPerCycle()
	if !ok || !near(fpi, 2200*6000/40.0) {
		t.Errorf("estimatedFPIPerCycle = %v, %v", fpi, ok)
	}
	if got := s.recordBytesPerCycle(); !near(got, (4_500_000-60_000)/45.0) {
		t.Errorf("recordBytesPerCycle = %v", got)
	}
	if got := (walSummary{Window: 20, Windows: []walWindow{{Cycles: 5}}}); got.avgImage() != pageSize {
		t.Error("avgImage without images")
	} else if _, ok := got.estimatedFPIPerCycle(); ok {
		t.Error("estimate without a full window")
	}
	s.Windows[0].ByRel = map[uint32]int64{1: 10, 2: 5}
	s.Windows[1].ByRel = map[uint32]int64{1: 1}
	if r := s.byRel(); r[1] != 11 || r[2] != 5 {
		t.Errorf("byRel = %v", r)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{0: "0 B", 999: "999 B", 1000: "1.00 kB", 15_300: "15.3 kB", 152_000_000: "152 MB",
		2.5e9: "2.50 GB", 1.2e13: "12.0 TB"} {
		if got := bytesHuman(in); got != want {
			t.Errorf("bytesHuman(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 17_280_000: "17,280,000", -1234: "-1,234"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
	if count(2.5) != "2.5" || count(3000) != "3,000" || count(1234.6) != "1,235" {
		t.Errorf("count: %s %s %s", count(2.5), count(3000), count(1234.6))
	}
}

func TestReplaceSection(t *testing.T) {
	doc := []byte("# Sizing\n\nprose before\n")
	out := string(replaceSection(doc, "figures 1\n"))
	if !strings.HasPrefix(out, "# Sizing\n\nprose before\n\n"+beginMarker) || !strings.Contains(out, "figures 1\n\n"+endMarker) {
		t.Fatalf("first write:\n%s", out)
	}
	out += "\nprose after\n"
	out2 := string(replaceSection([]byte(out), "figures 2"))
	if strings.Contains(out2, "figures 1") || !strings.Contains(out2, "figures 2") ||
		!strings.Contains(out2, "prose before") || !strings.HasSuffix(out2, endMarker+"\n\nprose after\n") {
		t.Fatalf("second write:\n%s", out2)
	}
}

// TestRender renders a synthetic report: every section, no database.
func TestRender(t *testing.T) {
	o := &outcome{Spec: scenario{Pilots: 3000, Seed: 1, Warmup: 5, Cycles: 2, Window: 2}}
	for i := 0; i < 2; i++ {
		o.Samples = append(o.Samples, cycleSample{Pilots: 3000, Positions: 3000, Events: 100, TotalUS: 60_000, WriteUS: 40_000,
			CommitUS: 1000, WAL: 1_000_000})
	}
	o.Tables = []tableStat{
		{Name: "positions", Rows0: 15_000, Rows: 21_000, Heap: 21_000 * 100, Table: 21_000 * 101, Indexes: 21_000 * 50,
			Total: 21_000 * 151, CompactTable: 21_000 * 100, CompactTotal: 21_000 * 140, Width: 90},
		{Name: "sector_days", Rows: 500, GrainRows: 500, Total: 100_000, CompactTotal: 90_000},
		{Name: "goose_db_version", Rows: 15, Total: 57_344},
	}
	o.Indexes = []indexStat{{Table: "positions", Name: "positions_pkey", Bytes: 21_000 * 35, Compact: 21_000 * 30}}
	o.WAL = walSummary{Window: 2, Windows: []walWindow{{Cycles: 2, Records: 10, Bytes: 2_000_000, Blocks: 50}}}
	o.WALByTable = map[string]int64{"positions": 1_500_000, "flights": 500_000}
	r := &report{Machine: &machine{Command: "go run ./bench/sizing", NProc: 2}, Main: o, Big: o,
		Real: &comparison{Sim: shape{Pilots: 3000, Cycles: 2, Events: 0.03}, Real: shape{Pilots: 757, Cycles: 1, Events: 0.04,
			Gap: 34 * time.Minute}}}
	out := r.render()
	for _, want := range []string{"## Measured: 3,000 pilots, 2 cycles", "| `positions` | 48 h | 21,000 | 3,000 | 17,280,000 |",
		"| `sector_days` | 401 days |", "≥ 500", " ‡ |", "‡ Fewer than 1,000 rows", "index `positions_pkey`", "### WAL", "**all**", "### 3,000 pilots, short run",
		"| sector events | 0.0300 | 0.0400 | 1.33 |", "| total | 60.0 | 60.0 | 60.0 | 250× |"} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
