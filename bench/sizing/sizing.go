package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vatsector/vatsector/ingest"
)

// The feed regenerates every 15 s: a day is 5,760 cycles.
const (
	cyclePeriod  = ingest.FeedCadence
	cyclesPerDay = int(24 * time.Hour / cyclePeriod)
	// horizonDays is the "after a year" of the projections.
	horizonDays = 365.0
	// pageSize is PostgreSQL's block size, the most a full-page image can take.
	pageSize = 8192
)

// Basis says which of a table's measured sizes its growth is projected with.
type basis int

const (
	// asGrown is the size after VACUUM ANALYZE: what an insert-only table with random index inserts really
	// occupies (page splits leave B-tree pages part empty), and what retention's deletes leave to be reused.
	asGrown basis = iota
	// compacted is the size after VACUUM FULL: the marginal cost of a row once it is no longer updated. The
	// tables whose newest rows are rewritten every cycle (online flights, accruing rollups) carry that churn as
	// free space in a bounded number of pages, which a one-hour run would otherwise spread over few rows.
	compacted
)

// keep is how a table's rows are kept.
type keep struct {
	// Days of history kept; 0 keeps them forever.
	Days float64
	// Flag sets the retention ("" when none does).
	Flag string
	// Bounded tables do not grow with traffic (one row, or one per migration).
	Bounded bool
	Basis   basis
	// Grain is "hour" or "day" for rollups with a row per sector and period: their rows per day come from the
	// fullest period, not from the rows a one-hour window happened to add.
	Grain string
}

// The service's default retentions (config.go: --positions-retention 48h, --events-retention 720h,
// --sector-hours-retention, which defaults to ingest.DefaultSectorHoursRetention).
var (
	positionsRetention   = 48 * time.Hour
	eventsRetention      = 30 * 24 * time.Hour
	sectorHoursRetention = ingest.DefaultSectorHoursRetention
)

// policy is how the service keeps a table. A table not listed (a later migration's) is assumed kept forever,
// so a projection errs on the large side.
func policy(table string) keep {
	days := func(d time.Duration) float64 { return d.Hours() / 24 }
	switch table {
	case "positions":
		return keep{Days: days(positionsRetention), Flag: "--positions-retention 48h", Basis: asGrown}
	case "sector_events":
		return keep{Days: days(eventsRetention), Flag: "--events-retention 720h", Basis: asGrown}
	case "sector_hours", "observed_hours": // PruneSectorHours deletes the observed hours with them
		return keep{Days: days(sectorHoursRetention), Flag: "--sector-hours-retention 9600h", Basis: compacted, Grain: "hour"}
	case "sector_days": // and a day with its last hour
		return keep{Days: days(sectorHoursRetention) + 1, Flag: "--sector-hours-retention 9600h", Basis: compacted, Grain: "day"}
	case "goose_db_version", "ingest_writer":
		return keep{Bounded: true, Basis: asGrown}
	}
	return keep{Basis: compacted}
}

// tableStat is one table as measured at the end of a run.
type tableStat struct {
	Name string `json:"name"`
	// Rows0 is the row count after the warm-up, Rows at the end.
	Rows0 int64 `json:"rows0"`
	Rows  int64 `json:"rows"`
	// GrainRows is, for a rollup (policy Grain), the rows of its fullest hour or day.
	GrainRows int64 `json:"grain_rows"`
	// After VACUUM ANALYZE: the main fork (Heap), heap + TOAST + free space and visibility maps (Table), all
	// indexes (Indexes) and everything (Total).
	Heap    int64 `json:"heap"`
	Table   int64 `json:"table"`
	Indexes int64 `json:"indexes"`
	Total   int64 `json:"total"`
	// After VACUUM FULL (table rewritten, indexes rebuilt).
	CompactTable   int64 `json:"compact_table"`
	CompactIndexes int64 `json:"compact_indexes"`
	CompactTotal   int64 `json:"compact_total"`
	// Width is the mean pg_column_size of a whole row (the tuple without its line pointer and page overhead).
	Width float64 `json:"width"`
}

// perRow divides bytes by rows (0 without rows).
func perRow(bytes, rows int64) float64 {
	if rows <= 0 {
		return 0
	}
	return float64(bytes) / float64(rows)
}

// perCycle is the rows the measured cycles added, per cycle.
func (t tableStat) perCycle(cycles int) float64 {
	if cycles <= 0 {
		return 0
	}
	return float64(t.Rows-t.Rows0) / float64(cycles)
}

// rowsPerDay is the rows a day of the feed adds: the measured rate scaled to 5,760 cycles, or, for rollups,
// the fullest hour times 24 (the fullest day as seen so far: a lower bound for a one-hour run).
func (t tableStat) rowsPerDay(cycles int) float64 {
	switch policy(t.Name).Grain {
	case "hour":
		return 24 * float64(t.GrainRows)
	case "day":
		return float64(t.GrainRows)
	}
	return t.perCycle(cycles) * float64(cyclesPerDay)
}

// bytesPerRow is the bytes a row costs, heap and indexes, on the table's projection basis.
func (t tableStat) bytesPerRow() float64 {
	if policy(t.Name).Basis == compacted && t.CompactTotal > 0 {
		return perRow(t.CompactTotal, t.Rows)
	}
	return perRow(t.Total, t.Rows)
}

// projection is one table's size over time at the measured rate.
type projection struct {
	Table string
	Keep  keep
	// Rows is the table's rows at the end of the run: below fewRows its bytes per row are mostly fixed pages.
	Rows        int64
	RowsPerDay  float64
	BytesPerRow float64
	// PerDay is the bytes a day adds; TwoDays what the default positions retention holds of it; Year a year
	// kept forever; Steady the table after a year at the default retention (a bounded table: as measured).
	PerDay, TwoDays, Year, Steady float64
}

func project(t tableStat, cycles int) projection {
	p := projection{Table: t.Name, Keep: policy(t.Name), Rows: t.Rows, RowsPerDay: t.rowsPerDay(cycles), BytesPerRow: t.bytesPerRow()}
	if p.Keep.Bounded {
		p.Steady = float64(t.Total)
		p.Year = p.Steady
		return p
	}
	p.PerDay = p.RowsPerDay * p.BytesPerRow
	p.TwoDays = 2 * p.PerDay
	p.Year = horizonDays * p.PerDay
	p.Steady = keptDays(p.Keep, horizonDays) * p.PerDay
	return p
}

// fewRows: a table with fewer rows than this at the end is measured mostly by its first pages (a heap page, each
// index's metapage and root), so its bytes per row are an upper bound.
const fewRows = 1000

// keptDays is how many days of a table are in the database after horizon days of ingest.
func keptDays(k keep, horizon float64) float64 {
	if k.Days > 0 {
		return math.Min(k.Days, horizon)
	}
	return horizon
}

// totals sums projections.
func totals(ps []projection) (perDay, year, steady float64) {
	for _, p := range ps {
		perDay += p.PerDay
		year += p.Year
		steady += p.Steady
	}
	return perDay, year, steady
}

// walWindow is what pg_walinspect found in one window of cycles, in records that touch the scenario's
// database (the cluster's other databases, and records without a block such as commits, are not in it).
type walWindow struct {
	Cycles  int   `json:"cycles"`
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// FPIBytes is the full-page images among Bytes, Images their number.
	FPIBytes int64 `json:"fpi_bytes"`
	Images   int64 `json:"images"`
	// Blocks is the distinct blocks the window modified, not counting those it initialised (new heap pages,
	// the new half of a B-tree split): after a checkpoint at the window's start each of them would have
	// cost one full-page image.
	Blocks int64 `json:"blocks"`
	// ByRel is bytes per relfilenode, a record counted for the first of its blocks in the database.
	ByRel map[uint32]int64 `json:"by_rel"`
}

// walSummary adds up a run's windows.
type walSummary struct {
	Windows []walWindow `json:"windows"`
	// Window is the cycles a full window spans: the checkpoint interval in feed cycles.
	Window int `json:"window"`
}

func (s walSummary) sum() (w walWindow) {
	for _, x := range s.Windows {
		w.Cycles += x.Cycles
		w.Records += x.Records
		w.Bytes += x.Bytes
		w.FPIBytes += x.FPIBytes
		w.Images += x.Images
		w.Blocks += x.Blocks
	}
	return w
}

// avgImage is the mean full-page image measured (a page less its hole), a whole page when none was.
func (s walSummary) avgImage() float64 {
	w := s.sum()
	if w.Images == 0 {
		return pageSize
	}
	return float64(w.FPIBytes) / float64(w.Images)
}

// estimatedFPIPerCycle is the full-page image bytes per cycle with a checkpoint every Window cycles: every
// block a full window touches once, at the measured mean image size. ok is false without a full window.
func (s walSummary) estimatedFPIPerCycle() (bytes float64, ok bool) {
	var blocks int64
	cycles := 0
	for _, w := range s.Windows {
		if w.Cycles == s.Window && s.Window > 0 {
			blocks += w.Blocks
			cycles += w.Cycles
		}
	}
	if cycles == 0 {
		return 0, false
	}
	return float64(blocks) * s.avgImage() / float64(cycles), true
}

// recordBytesPerCycle is the WAL per cycle without full-page images.
func (s walSummary) recordBytesPerCycle() float64 {
	w := s.sum()
	if w.Cycles == 0 {
		return 0
	}
	return float64(w.Bytes-w.FPIBytes) / float64(w.Cycles)
}

// byRel adds up the windows' bytes per relfilenode.
func (s walSummary) byRel() map[uint32]int64 {
	out := map[uint32]int64{}
	for _, w := range s.Windows {
		for rel, b := range w.ByRel {
			out[rel] += b
		}
	}
	return out
}

// parseLSN reads a PostgreSQL LSN ("16/B374D848").
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	return h<<32 | l, nil
}

// percentile is the nearest-rank percentile of xs (0 when empty).
func percentile(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func mean(xs []int64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var t int64
	for _, x := range xs {
		t += x
	}
	return float64(t) / float64(len(xs))
}

// bytesHuman is a byte count in B, kB, MB, GB or TB (powers of 1,000; "MB" is 10^6 bytes).
func bytesHuman(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for math.Abs(b) >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%.0f B", b)
	case math.Abs(b) >= 100:
		return fmt.Sprintf("%.0f %s", b, units[i])
	case math.Abs(b) >= 10:
		return fmt.Sprintf("%.1f %s", b, units[i])
	}
	return fmt.Sprintf("%.2f %s", b, units[i])
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// count formats a possibly fractional count: thousands separators, one decimal below 100.
func count(x float64) string {
	if math.Abs(x) < 100 && x != math.Trunc(x) {
		return fmt.Sprintf("%.1f", x)
	}
	return thousands(int64(math.Round(x)))
}
