package main

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vatsector/vatsector/internal/hostinfo"
	"github.com/vatsector/vatsector/internal/mdsection"
	"github.com/vatsector/vatsector/migrations"
)

// machine describes where and how a run happened.
type machine struct {
	Command    string
	Started    time.Time
	Finished   time.Time
	NProc      int
	CPUModel   string
	MemTotal   string
	Kernel     string
	GoVersion  string
	Postgres   string
	LoadBefore string
	LoadAfter  string
}

func describeMachine(ctx context.Context, pgAdmin string, withPostgres bool) (*machine, error) {
	m := &machine{
		Started: time.Now().UTC(), NProc: runtime.NumCPU(), GoVersion: runtime.Version(),
		CPUModel: hostinfo.CPUModel(), MemTotal: hostinfo.MemTotal(), Kernel: hostinfo.Kernel(),
		LoadBefore: hostinfo.LoadAverage(),
	}
	if withPostgres {
		conn, err := pgx.Connect(ctx, pgAdmin)
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL version: %w", err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT version()").Scan(&m.Postgres); err != nil {
			return nil, fmt.Errorf("PostgreSQL version: %w", err)
		}
		var sc, fsync string
		if err := conn.QueryRow(ctx, "SELECT current_setting('synchronous_commit'), current_setting('fsync')").Scan(&sc, &fsync); err == nil {
			m.Postgres += fmt.Sprintf(" (synchronous_commit=%s, fsync=%s)", sc, fsync)
		}
	}
	return m, nil
}

// stats are the figures of one scenario, computed from its samples.
type stats struct {
	r      *result
	pilots int64
	// p50 and p99 of each phase and of the whole cycle, in µs.
	total, decode, classify, diff, write, commit, writeCommit [2]int64
	// checkpoint is SQLite's log checkpoint after the publish, outside the cycle; zero when none ran.
	checkpoint                              [2]int64
	rows                                    int64
	rowsPerSec                              float64
	stmtP50, stmtMax                        int64
	rtP50, rtMax                            int64 // -1: not measured
	perPilotUS                              float64
	copyP50, copyRTP50, copyOursP50         int64
	oldP50, oldStmtP50, oldOursP50          int64
	valuesP50, valuesStmtP50, valuesOursP50 int64
}

func computeStats(r *result) *stats {
	s := &stats{r: r, rtP50: -1, rtMax: -1}
	col := func(f func(cycleSample) int64) []int64 {
		out := make([]int64, len(r.Samples))
		for i, c := range r.Samples {
			out[i] = f(c)
		}
		return out
	}
	pair := func(xs []int64) [2]int64 { return [2]int64{percentile(xs, 50), percentile(xs, 99)} }
	s.pilots = percentile(col(func(c cycleSample) int64 { return int64(c.Pilots) }), 50)
	s.total = pair(col(func(c cycleSample) int64 { return c.TotalUS }))
	s.decode = pair(col(func(c cycleSample) int64 { return c.DecodeUS }))
	s.classify = pair(col(func(c cycleSample) int64 { return c.ClassifyUS }))
	s.diff = pair(col(func(c cycleSample) int64 { return c.DiffUS }))
	s.write = pair(col(func(c cycleSample) int64 { return c.WriteUS }))
	s.commit = pair(col(func(c cycleSample) int64 { return c.CommitUS }))
	s.writeCommit = pair(col(func(c cycleSample) int64 { return c.WriteUS + c.CommitUS }))
	if len(r.CheckpointUS) > 0 {
		s.checkpoint = pair(r.CheckpointUS)
	}
	rows := col(func(c cycleSample) int64 { return int64(c.Rows) })
	s.rows = percentile(rows, 50)
	var sumRows, sumUS int64
	for _, c := range r.Samples {
		sumRows += int64(c.Rows)
		sumUS += c.WriteUS + c.CommitUS
	}
	if sumUS > 0 {
		s.rowsPerSec = float64(sumRows) / (float64(sumUS) / 1e6)
	}
	stmts := col(func(c cycleSample) int64 { return int64(c.Statements) })
	s.stmtP50, s.stmtMax = percentile(stmts, 50), percentile(stmts, 100)
	if len(r.Samples) > 0 && r.Samples[0].RoundTrips >= 0 {
		rts := col(func(c cycleSample) int64 { return c.RoundTrips })
		s.rtP50, s.rtMax = percentile(rts, 50), percentile(rts, 100)
	}
	if s.pilots > 0 {
		s.perPilotUS = float64(s.total[0]) / float64(s.pilots)
	}
	if len(r.Copy) > 0 {
		var us, rt, ours []int64
		for _, c := range r.Copy {
			us, rt, ours = append(us, c.US), append(rt, c.RoundTrips), append(ours, c.OursUS)
		}
		s.copyP50, s.copyRTP50, s.copyOursP50 = percentile(us, 50), percentile(rt, 50), percentile(ours, 50)
	}
	if len(r.Old) > 0 {
		var us, st, ours []int64
		for _, c := range r.Old {
			us, st, ours = append(us, c.US), append(st, c.Statements), append(ours, c.OursUS)
		}
		s.oldP50, s.oldStmtP50, s.oldOursP50 = percentile(us, 50), percentile(st, 50), percentile(ours, 50)
	}
	if len(r.Values) > 0 {
		var us, st, ours []int64
		for _, c := range r.Values {
			us, st, ours = append(us, c.US), append(st, c.Statements), append(ours, c.OursUS)
		}
		s.valuesP50, s.valuesStmtP50, s.valuesOursP50 = percentile(us, 50), percentile(st, 50), percentile(ours, 50)
	}
	return s
}

func dialectName(d migrations.Dialect) string {
	if d == migrations.Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

func label(r *result) string {
	l := fmt.Sprintf("%s %s", dialectName(r.Spec.Dialect), thousands(int64(r.Spec.Pilots)))
	if r.Spec.Kind == kindLong {
		l += " long"
	}
	if r.Spec.Round > 0 { // --transceivers-ab; otherwise the run's header says whether transceivers were served
		if !r.Spec.Transceivers {
			l += " without transceivers"
		}
		l += fmt.Sprintf(" (round %d)", r.Spec.Round)
	}
	return l
}

func ms(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) }

func pairMS(p [2]int64) string { return ms(p[0]) + " / " + ms(p[1]) }

func mb(kb int64) string {
	if kb < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", float64(kb)/1024)
}

// thousands formats n with thin separators: 30,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// baselines are, per dialect, the stats of the smallest scale, against which cost per pilot is compared.
func baselines(all []*stats) map[migrations.Dialect]*stats {
	out := map[migrations.Dialect]*stats{}
	for _, s := range all {
		if s.r.Spec.Kind != kindIngest {
			continue
		}
		if b := out[s.r.Spec.Dialect]; b == nil || s.r.Spec.Pilots < b.r.Spec.Pilots {
			out[s.r.Spec.Dialect] = s
		}
	}
	return out
}

// render is the generated section of BENCHMARKS.md.
func render(m *machine, results []*result) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var ingests, longs []*stats
	for _, r := range results {
		if r.Spec.Kind == kindLong {
			longs = append(longs, computeStats(r))
		} else {
			ingests = append(ingests, computeStats(r))
		}
	}
	base := baselines(ingests)

	p("## Ingest cycle: PostgreSQL and SQLite\n\n")
	p("Generated by `go run ./bench`; every figure below comes from this one run.\n\n")
	p("- Command: `%s`\n", m.Command)
	p("- Date: %s → %s (UTC)\n", m.Started.Format("2006-01-02 15:04"), m.Finished.Format("15:04"))
	p("- Machine: %d CPUs (`nproc`), %s, %s RAM, Linux %s\n", m.NProc, m.CPUModel, m.MemTotal, m.Kernel)
	p("- Load average (1/5/15 min) before: %s, after: %s — the machine is shared with other test runs\n", m.LoadBefore, m.LoadAfter)
	p("- Go: %s\n", m.GoVersion)
	if m.Postgres != "" {
		p("- PostgreSQL: %s, same machine, over loopback TCP\n", m.Postgres)
	}
	if len(results) > 0 && results[0].Spec.PGSchemaSQL != "" {
		p("- **Experiment: the PostgreSQL schema was changed after the migrations with** `%s` — these are not the figures of the migrated schema\n",
			results[0].Spec.PGSchemaSQL)
	}
	for _, s := range ingests {
		if s.r.Spec.Dialect == migrations.SQLite {
			p("- %s (modernc, pure Go; WAL, synchronous=NORMAL), file in the temp folder\n", s.r.DBVersion)
			break
		}
	}
	if len(ingests) > 0 {
		sp := ingests[0].r.Spec
		p("- Feed: `sim` seed %d, 15 s steps; %d warm-up cycles, then %d measured cycles per scenario; VATSpy sectors from `%s`\n",
			sp.Seed, sp.Warmup, sp.Cycles, sp.VATSpy)
		with, without := 0, 0
		for _, s := range ingests {
			if s.r.Spec.Transceivers {
				with++
			} else {
				without++
			}
		}
		switch {
		case without == 0:
			p("- Transceivers: the simulator's file served with each snapshot (`--transceivers`), decoded by the Runner; the diff matches every pilot's radios (radio coverage, contact events). Its decode is outside the cycle's phases\n")
		case with == 0:
			p("- Transceivers: none served (`--transceivers=false`): every position's coverage unknown, no radio matching\n")
		default:
			p("- Transceivers: served in the scenarios without a \"without transceivers\" label (`--transceivers-ab`), alternated with runs without\n")
		}
	}
	p("\n")

	if len(ingests) > 0 {
		n := len(ingests[0].r.Samples)
		note := ""
		if n < 100 {
			note = "; with fewer than 100 cycles p99 is the slowest one"
		}
		p("### Cycle time, ms — p50 / p99 of %d measured cycles (nearest rank%s)\n\n", n, note)
		p("| scenario | pilots | total | decode | classify | diff | write | commit | µs per pilot (p50 total) | vs smallest scale | snapshot MB | after the publish: SQLite log checkpoint |\n")
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range ingests {
			dev := "—"
			if bs := base[s.r.Spec.Dialect]; bs != nil && bs != s && bs.perPilotUS > 0 {
				dev = fmt.Sprintf("%+.0f%%", (s.perPilotUS/bs.perPilotUS-1)*100)
			}
			cp := "—"
			if s.checkpoint[0] > 0 {
				cp = pairMS(s.checkpoint)
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %.1f | %s |\n", label(s.r), thousands(s.pilots),
				pairMS(s.total), pairMS(s.decode), pairMS(s.classify), pairMS(s.diff), pairMS(s.write), pairMS(s.commit),
				s.perPilotUS, dev, float64(s.r.SnapshotBytes)/1e6, cp)
		}
		p("\n")

		p("### Writes\n\n")
		p("| scenario | rows per cycle (p50) | rows/s in write+commit | statements per cycle p50 / max (counted) | round trips per cycle p50 / max (wire) | write+commit p50 ms | raw COPY p50 ms (round trips) | write+commit ÷ COPY | one statement per row: ms (statements), cycles | speed-up vs one per row | CreateInBatches VALUES: ms (statements), cycles | speed-up vs VALUES |\n")
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range ingests {
			rt := "n/a (in-process)"
			if s.rtP50 >= 0 {
				rt = fmt.Sprintf("%d / %d", s.rtP50, s.rtMax)
			} else if s.r.Spec.Dialect == migrations.Postgres {
				rt = "not measured (--wire=false)"
			}
			cp, cpRatio := "n/a", "n/a"
			if len(s.r.Copy) > 0 {
				cp = fmt.Sprintf("%s (%d)", ms(s.copyP50), s.copyRTP50)
				cpRatio = fmt.Sprintf("%.2f×", ratio(s.copyOursP50, s.copyP50))
			}
			old, speed := "not run", "—"
			if len(s.r.Old) > 0 {
				old = fmt.Sprintf("%s (%s), %d", ms(s.oldP50), thousands(s.oldStmtP50), len(s.r.Old))
				speed = fmt.Sprintf("%.0f×", ratio(s.oldP50, s.oldOursP50))
			}
			values, valuesSpeed := "n/a", "—"
			if len(s.r.Values) > 0 {
				values = fmt.Sprintf("%s (%d), %d", ms(s.valuesP50), s.valuesStmtP50, len(s.r.Values))
				valuesSpeed = fmt.Sprintf("%.1f×", ratio(s.valuesP50, s.valuesOursP50))
			}
			p("| %s | %s | %s | %d / %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", label(s.r), thousands(s.rows),
				thousands(int64(s.rowsPerSec)), s.stmtP50, s.stmtMax, rt, ms(s.writeCommit[0]), cp, cpRatio, old, speed,
				values, valuesSpeed)
		}
		p("\n")

		p("### Connections and memory\n\n")
		p("| scenario | max in use during ingest (pool, sampled) | connections carrying ingest traffic (wire) | pool waits during ingest | in use between cycles (max at publish) | in use at idle after the run | allocations per cycle | MB allocated per cycle | peak RSS MB |\n")
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range append(append([]*stats{}, ingests...), longs...) {
			r := s.r
			wire := "n/a (in-process)"
			if r.WireConns >= 0 {
				wire = fmt.Sprintf("%d (opened %d)", r.WireConns, r.WireOpened)
			}
			p("| %s | %d (%s samples) | %s | %d | %d | %d (of %d open) | %s | %.1f | %s |\n", label(r), r.MaxInUse,
				thousands(int64(r.PoolSamples)), wire, r.Waits, r.MaxInUseBetween, r.InUseIdle, r.OpenIdle,
				thousands(int64(r.AllocObjectsPerCycle)), r.AllocBytesPerCycle/(1<<20), mb(r.PeakRSSKB))
		}
		p("\n")
	}

	renderWire(p, ingests)
	renderTransceiversAB(p, ingests)

	for _, s := range longs {
		p("### Long run: %s cycles at %s pilots on PostgreSQL\n\n", thousands(int64(s.r.Spec.Warmup+s.r.Spec.Cycles)),
			thousands(int64(s.r.Spec.Pilots)))
		p("| after cycle | RSS MB | Go heap objects MB | RSS MB after a forced GC | p50 cycle ms since previous row |\n|--:|--:|--:|--:|--:|\n")
		for _, c := range s.r.Checkpoints {
			p("| %s | %s | %s | %s | %s |\n", thousands(int64(c.Cycle)), mb(c.RSSKB), mb(c.HeapLiveKB), mb(c.RSSAfterGCKB),
				ms(c.P50TotalUS))
		}
		p("\nWhole run (the first cycle excepted): p50 / p99 cycle %s ms, statements per cycle max %d, round trips per cycle max %d, peak RSS %s MB.\n\n",
			pairMS(s.total), s.stmtMax, s.rtMax, mb(s.r.PeakRSSKB))
	}

	p("### Targets\n\n| target | figures | met |\n|---|---|---|\n")
	for _, t := range evaluate(ingests, longs) {
		verdict := "**missed**"
		if t.met {
			verdict = "met"
		}
		if t.na {
			verdict = "not measured"
		}
		if t.info {
			verdict = "not a target"
		}
		p("| %s | %s | %s |\n", t.name, t.figures, verdict)
	}
	p("\n")
	p(methodology)
	return b.String()
}

// target is one claim checked against the figures.
type target struct {
	name, figures string
	met, na       bool
	// info marks figures shown beside the targets that no target applies to.
	info bool
}

func evaluate(ingests, longs []*stats) []target {
	var out []target
	at := func(pilots int) []*stats {
		var xs []*stats
		for _, s := range ingests {
			if s.r.Spec.Pilots == pilots {
				xs = append(xs, s)
			}
		}
		return xs
	}
	add := func(name string, xs []*stats, fig func(*stats) (string, bool)) {
		if len(xs) == 0 {
			out = append(out, target{name: name, figures: "scale not run", na: true})
			return
		}
		var figs []string
		met := true
		for _, s := range xs {
			f, ok := fig(s)
			figs = append(figs, label(s.r)+": "+f)
			met = met && ok
		}
		out = append(out, target{name: name, figures: strings.Join(figs, "; "), met: met})
	}
	add("3,000 pilots: full cycle p50 ≤ 100 ms", at(3000), func(s *stats) (string, bool) {
		return ms(s.total[0]) + " ms", s.total[0] <= 100_000
	})
	add("3,000 pilots: ≤ 15 statements per cycle", at(3000), func(s *stats) (string, bool) {
		return fmt.Sprintf("max %d", s.stmtMax), s.stmtMax <= 15
	})
	add("3,000 pilots: one connection", at(3000), func(s *stats) (string, bool) {
		f := fmt.Sprintf("max in use %d", s.r.MaxInUse)
		ok := s.r.MaxInUse == 1
		if s.r.WireConns >= 0 {
			f += fmt.Sprintf(", %d carrying traffic", s.r.WireConns)
			ok = ok && s.r.WireConns == 1
		}
		return f, ok
	})
	var pgs []*stats
	for _, s := range ingests {
		if s.r.Spec.Dialect == migrations.Postgres && len(s.r.Copy) > 0 {
			pgs = append(pgs, s)
		}
	}
	if len(pgs) == 0 {
		out = append(out, target{name: "write+commit ≤ 3× raw COPY", figures: "COPY not run", na: true})
	} else {
		var figs []string
		met := true
		for _, s := range pgs {
			r := ratio(s.copyOursP50, s.copyP50)
			figs = append(figs, fmt.Sprintf("%s: %.2f× (%s vs %s ms)", thousands(int64(s.r.Spec.Pilots)), r, ms(s.copyOursP50), ms(s.copyP50)))
			met = met && r <= 3
		}
		out = append(out, target{name: "PostgreSQL write+commit ≤ 3× raw COPY", figures: strings.Join(figs, "; "), met: met})
	}
	var pgOlds, liteOlds []*stats
	for _, s := range ingests {
		switch {
		case len(s.r.Old) == 0:
		case s.r.Spec.Dialect == migrations.Postgres:
			pgOlds = append(pgOlds, s)
		default:
			liteOlds = append(liteOlds, s)
		}
	}
	perStatement := func(s *stats) float64 { return float64(s.oldP50) / float64(max(s.oldStmtP50, 1)) }
	add("PostgreSQL: ≥ 20× faster than one statement per row", pgOlds, func(s *stats) (string, bool) {
		r := ratio(s.oldP50, s.oldOursP50)
		return fmt.Sprintf("%.0f× (%.0f µs a statement the old way)", r, perStatement(s)), r >= 20
	})
	if len(liteOlds) > 0 {
		// The old way's cost is a round trip and a commit per row; SQLite in process has neither to save.
		var figs []string
		for _, s := range liteOlds {
			figs = append(figs, fmt.Sprintf("%s: %.0f× (%.0f µs a statement the old way)", label(s.r), ratio(s.oldP50, s.oldOursP50), perStatement(s)))
		}
		out = append(out, target{info: true, name: "SQLite: speed-up vs one statement per row",
			figures: strings.Join(figs, "; ") + ". In process, a statement costs no network round trip, which is what the old way pays per row on PostgreSQL"})
	}
	add("30,000 pilots: full cycle p50 ≤ 1 s", at(30000), func(s *stats) (string, bool) {
		return ms(s.total[0]) + " ms", s.total[0] <= 1_000_000
	})
	base := baselines(ingests)
	var scaled []*stats
	for _, s := range ingests {
		if b := base[s.r.Spec.Dialect]; b != nil && b != s {
			scaled = append(scaled, s)
		}
	}
	add("cost per pilot within ±30% of the smallest scale", scaled, func(s *stats) (string, bool) {
		b := base[s.r.Spec.Dialect]
		d := (s.perPilotUS/b.perPilotUS - 1) * 100
		return fmt.Sprintf("%.1f vs %.1f µs at %s (%+.0f%%)", s.perPilotUS, b.perPilotUS,
			thousands(int64(b.r.Spec.Pilots)), d), d >= -30 && d <= 30
	})
	all := append(append([]*stats{}, ingests...), longs...)
	add("zero connections in use between cycles and at idle", all, func(s *stats) (string, bool) {
		return fmt.Sprintf("%d / %d", s.r.MaxInUseBetween, s.r.InUseIdle),
			s.r.MaxInUseBetween == 0 && s.r.InUseIdle == 0
	})
	add("zero pool waits", all, func(s *stats) (string, bool) {
		return fmt.Sprint(s.r.Waits), s.r.Waits == 0
	})
	var rss []*stats
	for _, s := range all {
		if s.r.Spec.Pilots == 3000 {
			rss = append(rss, s)
		}
	}
	add("3,000 pilots: peak RSS ≤ 150 MB", rss, func(s *stats) (string, bool) {
		return mb(s.r.PeakRSSKB) + " MB", s.r.PeakRSSKB >= 0 && s.r.PeakRSSKB <= 150*1024
	})
	for _, s := range longs {
		var c100, cLast *checkpoint
		for i := range s.r.Checkpoints {
			c := &s.r.Checkpoints[i]
			if c.Cycle == 100 {
				c100 = c
			}
			cLast = c
		}
		name := "RSS flat from cycle 100 to the last (growth ≤ 10%)"
		if c100 == nil || cLast == nil || cLast == c100 {
			out = append(out, target{name: name, figures: "run shorter than 200 cycles", na: true})
			continue
		}
		growth := func(a, b int64) float64 { return float64(b-a) / float64(a) * 100 }
		g := growth(c100.RSSAfterGCKB, cLast.RSSAfterGCKB)
		out = append(out, target{name: name, met: g <= 10, figures: fmt.Sprintf(
			"after a forced GC: %s MB after 100, %s MB after %s (%+.1f%%); raw readings: %s → %s MB (%+.1f%%)",
			mb(c100.RSSAfterGCKB), mb(cLast.RSSAfterGCKB), thousands(int64(cLast.Cycle)), g,
			mb(c100.RSSKB), mb(cLast.RSSKB), growth(c100.RSSKB, cLast.RSSKB))})
	}
	return out
}

const methodology = `### How each figure is measured

- **Cycle phases** are the Runner's own cycle records (` + "`ingest_cycles`" + `: decode, classify, diff, write, commit, total
  in µs): the real ` + "`ingest.Runner`" + ` ingests the simulator's JSON (` + "`sim.Simulator`" + ` as its feed source, no pause between
  cycles) into a fresh database with the service's default pool. Total is decode + classify + diff + write + commit;
  generating the JSON (the stand-in for the HTTP fetch) is outside it. Write runs from BEGIN to the last statement,
  commit is COMMIT. On SQLite the write-ahead log is checkpointed after each cycle's publish (the Runner's
  ` + "`Status.LastCheckpoint`" + `, read at the next publish), not inside COMMIT; it is shown in its own column and is
  not part of the total.
- **Statements per cycle** are counted by the repository's GORM callback (the renewal of the ingest writer's claim,
  every INSERT and the cycle record; BEGIN and COMMIT are not statements).
- **Round trips per cycle** (PostgreSQL) are measured on the wire: the store connects through a loopback TCP relay in
  the bench that counts every request a client sends after the server last answered on that connection — one
  exchange paying the network latency, however many TCP segments a large INSERT spans. They are read at each publish,
  so they include BEGIN, COMMIT and any pool liveness ping. Expected: statements + 2. The relay adds two loopback
  hops per round trip to the PostgreSQL timings (tens of µs each), so they are slight over-estimates.
- **Connections**: the pool's InUse is sampled every ` + "`--sample-every`" + ` during the whole Run; on PostgreSQL the relay also
  records which physical connections sent anything during the Run (1 means every cycle ran on the same connection).
  "Between cycles" is InUse read when each cycle is published, right after its commit; "idle" is read after Run
  returns. Waits are the pool's WaitCount delta over the Run.
- **Long run memory**: every ` + "`--long-every`" + ` cycles, VmRSS is read as it is (the raw reading), then again right after
  ` + "`debug.FreeOSMemory`" + ` (a forced collection that returns free pages to the OS). A raw reading lands anywhere in the
  collector's cycle, so it swings with the garbage of the last few cycles; what a leak makes grow is what survives a
  collection, so the flatness target is judged on the second reading, and both are shown.
- **Allocations per cycle** are the runtime/metrics heap counters (the same as MemStats Mallocs and TotalAlloc) over the
  measured cycles, minus what the simulator allocated inside Fetch, divided by the cycles: decode to publish.
- **Peak RSS** is VmHWM of the scenario's own process, reset (clear_refs) after the airspace is loaded and before
  ingest starts, read when Run returns: simulator, airspace, tracker and pool included.
- **One statement per row** ("old way", the Python service's pattern): the same cycles, re-derived deterministically
  and checked row for row against the Runner's records, written into a second fresh database brought to the same
  state, as a loop of GORM ` + "`Save`" + ` (flights, flight plans, closed visits, controllers: UPDATE by key, then INSERT when
  new) and ` + "`Create`" + ` (positions, opened visits, events, cycle record), each statement autocommitted, on a direct
  connection (no relay). Only ` + "`--old-cycles`" + ` measured cycles are written this way; the speed-up divides its p50 by
  the Runner's write+commit p50 of those same cycles.
- **CreateInBatches VALUES** (PostgreSQL): the repository's write before it sent column arrays, on the same cycles
  re-derived the same way, into a third fresh database: one transaction, each table with GORM ` + "`CreateInBatches`" + `
  (as many rows per ` + "`INSERT … VALUES`" + ` as 65,535 bind parameters allow) and ` + "`ON CONFLICT DO UPDATE`" + ` of the
  columns the repository updates, on a direct connection in pgx's exec mode (text parameters, one round trip per
  statement). Only ` + "`--values-cycles`" + ` measured cycles are written this way; the speed-up divides its p50 by the Runner's
  write+commit p50 of those same cycles.
- **Raw COPY** (PostgreSQL): the same rows of every measured cycle, converted to column values beforehand, written by
  pgx ` + "`CopyFrom`" + ` (binary COPY) into staging tables ` + "`LIKE <table> INCLUDING ALL`" + ` (same columns and indexes, no
  foreign keys), emptied before each cycle, in one transaction on one connection through the same relay. It is the
  physical floor of moving those rows, not an alternative: it does no upsert. The ratio is the Runner's write+commit
  p50 over COPY's, both over all measured cycles.
`

const (
	beginMarker = "<!-- bench:begin — generated by `go run ./bench`; replaced on each run -->"
	endMarker   = "<!-- bench:end -->"
)

// fileTemplate is BENCHMARKS.md when it does not exist yet.
const fileTemplate = `# Benchmarks

Figures of the ingest path. The section between the bench markers is generated by ` + "`go run ./bench`" + ` (see
` + "`bench/`" + `) and replaced each time it runs; the other sections belong to other benchmarks and are left alone.

` + beginMarker + "\n" + endMarker + `

## Streams: 1,000 WatchSectorEvents subscribers

<!-- streams:begin — to be filled by the streams benchmark -->
_Not measured yet._ Reserved for the streaming benchmark: 1,000 concurrent WatchSectorEvents subscribers fed by
the ingest loop (delivery latency from commit to subscriber, publisher cost per cycle, memory per subscriber, slow
subscriber handling). In ` + "`bench/`" + ` it is meant to be one more scenario kind (a function beside
` + "`runIngestScenario`" + ` in ` + "`scenarioFuncs`" + `) with its own section here.
<!-- streams:end -->
`

// writeSection puts section between the bench markers of path, creating the file from the template when it
// does not exist and appending the markers when it has none, so other sections survive a re-run.
func writeSection(path, section string) error {
	return mdsection.Write(path, fileTemplate, beginMarker, endMarker, section)
}

// renderWire shows where PostgreSQL's share of the write phase goes: each kind of request's wire latency (first
// request byte to first answer byte, at the relay), per measured cycle.
func renderWire(p func(string, ...any), ingests []*stats) {
	var pg []*stats
	for _, s := range ingests {
		if len(s.r.WireLatency) > 0 && len(s.r.Samples) > 0 {
			pg = append(pg, s)
		}
	}
	if len(pg) == 0 {
		return
	}
	// Rows in the order of the largest scenario's cost, so the dominant statement comes first.
	largest := pg[len(pg)-1]
	byLabel := func(s *stats) map[string]wireLatency {
		m := map[string]wireLatency{}
		for _, l := range s.r.WireLatency {
			m[l.Label] = l
		}
		return m
	}
	order := slices.Clone(largest.r.WireLatency)
	slices.SortFunc(order, func(a, b wireLatency) int { return cmp.Compare(b.TotalUS, a.TotalUS) })
	p("### PostgreSQL: where the write and commit time goes, on the wire\n\n")
	p("Mean ms per cycle from a request's first byte to its answer's first byte at the relay (server time plus the request's transfer), with requests per cycle; measured cycles only.\n\n")
	p("| request |")
	for _, s := range pg {
		p(" %s |", label(s.r))
	}
	p("\n|---|")
	for range pg {
		p("--:|")
	}
	p("\n")
	maps := make([]map[string]wireLatency, len(pg))
	for i, s := range pg {
		maps[i] = byLabel(s)
	}
	for _, o := range order {
		name := strings.ReplaceAll(strings.Replace(o.Label, "INSERT INTO ", "INSERT ", 1), `"`, "")
		p("| `%s` |", name)
		for i, s := range pg {
			l, ok := maps[i][o.Label]
			if !ok {
				p(" — |")
				continue
			}
			n := float64(len(s.r.Samples))
			p(" %.1f (%.0f) |", float64(l.TotalUS)/1000/n, float64(l.Count)/n)
		}
		p("\n")
	}
	p("\n")
}

// renderTransceiversAB compares, per round, database and scale, the scenarios run with the simulator's
// transceivers and without them (--transceivers-ab); nothing when the run has no such pairs.
func renderTransceiversAB(p func(string, ...any), ingests []*stats) {
	type key struct {
		round   int
		dialect migrations.Dialect
		pilots  int
	}
	type pair struct{ with, without *stats }
	pairs := map[key]*pair{}
	var keys []key
	for _, s := range ingests {
		if s.r.Spec.Round == 0 {
			continue
		}
		k := key{s.r.Spec.Round, s.r.Spec.Dialect, s.r.Spec.Pilots}
		pr := pairs[k]
		if pr == nil {
			pr = &pair{}
			pairs[k] = pr
			keys = append(keys, k)
		}
		if s.r.Spec.Transceivers {
			pr.with = s
		} else {
			pr.without = s
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.pilots, b.pilots), cmp.Compare(a.dialect, b.dialect), cmp.Compare(a.round, b.round))
	})
	p("### Transceivers: the cycle with radio matching and without, alternated\n\n")
	p("p50 / p99 ms of each scenario's measured cycles; ratio = with ÷ without.\n\n")
	p("| database | pilots | round | total with | total without | ratio p50 / p99 | diff p50 with / without | rows per cycle p50 with / without | allocated MB per cycle with / without |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	type group struct {
		dialect migrations.Dialect
		pilots  int
	}
	pooled := map[group]*[2][]int64{}
	var groups []group
	for _, k := range keys {
		pr := pairs[k]
		if pr.with == nil || pr.without == nil {
			continue
		}
		w, wo := pr.with, pr.without
		p("| %s | %s | %d | %s | %s | %.2f / %.2f | %s / %s | %s / %s | %.1f / %.1f |\n", dialectName(k.dialect),
			thousands(w.pilots), k.round, pairMS(w.total), pairMS(wo.total), ratio(w.total[0], wo.total[0]),
			ratio(w.total[1], wo.total[1]), ms(w.diff[0]), ms(wo.diff[0]), thousands(w.rows), thousands(wo.rows),
			w.r.AllocBytesPerCycle/(1<<20), wo.r.AllocBytesPerCycle/(1<<20))
		g := group{k.dialect, k.pilots}
		if pooled[g] == nil {
			pooled[g] = &[2][]int64{}
			groups = append(groups, g)
		}
		for i, s := range []*stats{w, wo} {
			for _, c := range s.r.Samples {
				pooled[g][i] = append(pooled[g][i], c.TotalUS)
			}
		}
	}
	p("\n")
	for _, g := range groups {
		pl := pooled[g]
		wp := [2]int64{percentile(pl[0], 50), percentile(pl[0], 99)}
		wop := [2]int64{percentile(pl[1], 50), percentile(pl[1], 99)}
		p("- %s %s, every round's cycles pooled (%d and %d): total with %s ms, without %s ms; ratio p50 %.2f, p99 %.2f\n",
			dialectName(g.dialect), thousands(int64(g.pilots)), len(pl[0]), len(pl[1]), pairMS(wp), pairMS(wop),
			ratio(wp[0], wop[0]), ratio(wp[1], wop[1]))
	}
	p("\n")
}
