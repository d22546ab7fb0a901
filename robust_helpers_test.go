package main

// The robustness harness: the real service binary run as a child process, a simulated feed written to disk,
// databases of both dialects, and a table-by-table comparison of what two runs stored. The restart and fault
// tests (restart_test.go, faults_test.go) are built from these.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of the tests' own admin connections

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/sim"
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// serviceBinary builds the service once per test binary. Without -race: the child processes are what the
// tests kill and restart dozens of times, and a race build would triple CI time for no coverage of this
// package's own code.
func serviceBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the service binary; skipped with -short")
	}
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "vatsector-robust-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "vatsector")
		cmd := exec.Command("go", "build", "-o", binary.path, ".")
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// robustLong selects the long variant (VATSECTOR_ROBUST_LONG=1): more snapshots, more pilots, more kills.
func robustLong() bool { return os.Getenv("VATSECTOR_ROBUST_LONG") == "1" }

// robustSeed is the seed of everything random in these tests; VATSECTOR_ROBUST_SEED replays a failure.
func robustSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(20240301)
	if v := os.Getenv("VATSECTOR_ROBUST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("VATSECTOR_ROBUST_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (VATSECTOR_ROBUST_SEED=%d replays it)", seed, seed)
	return seed
}

// logLine is one line of the service's JSON log.
type logLine struct {
	Msg             string    `json:"msg"`
	Level           string    `json:"level"`
	UpdateTimestamp time.Time `json:"update_timestamp"`
	Err             string    `json:"err"`
	raw             string
	seen            time.Time // when the test read it
}

// service is one run of the service binary.
type service struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd

	mu      sync.Mutex
	lines   []logLine
	changed chan struct{} // closed and replaced whenever a line arrives or the process exits
	exited  bool
	waitErr error
	onLine  func(logLine)
}

// serviceFlags are the flags every run shares: JSON logs for the test to read, loopback only, no metrics
// port, and one writer identity, so a restarted instance takes the writer claim over at once.
func serviceFlags(sectors string) []string {
	return []string{"--sectors", sectors, "--grace", "1m", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", "",
		"--log-format", "json", "--instance", "robust", "--shutdown-grace", "5s", "--shutdown-wait", "0"}
}

// startService starts the binary; onLine (may be nil) sees every log line as it is read. The process is killed
// at the end of the test if it still runs.
func startService(t *testing.T, name string, args []string, onLine func(logLine)) *service {
	t.Helper()
	s := &service{t: t, name: name, changed: make(chan struct{}), onLine: onLine}
	s.cmd = exec.Command(serviceBinary(t), args...)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")} // no VATSECTOR_* or DATABASE_URL from the caller
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	s.cmd.SysProcAttr = childAttr()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			l := logLine{raw: sc.Text(), seen: time.Now()}
			_ = json.Unmarshal(sc.Bytes(), &l) // a non-JSON line (a panic, the last error) keeps only raw
			if s.onLine != nil {
				s.onLine(l)
			}
			s.mu.Lock()
			s.lines = append(s.lines, l)
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	go func() {
		<-read // Wait closes the pipe: read it to the end first
		err := s.cmd.Wait()
		s.mu.Lock()
		s.exited, s.waitErr = true, err
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	t.Cleanup(func() {
		if !s.isExited() {
			_ = s.cmd.Process.Kill()
			s.waitExit(30 * time.Second)
		}
	})
	return s
}

func (s *service) isExited() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// waitFor returns the index of the first line at or after from that matches, or -1 when the process exited
// without one or the deadline passed (err says which).
func (s *service) waitFor(from int, timeout time.Duration, match func(logLine) bool) (int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i := from; ; {
		s.mu.Lock()
		for ; i < len(s.lines); i++ {
			if match(s.lines[i]) {
				s.mu.Unlock()
				return i, nil
			}
		}
		exited, changed := s.exited, s.changed
		s.mu.Unlock()
		if exited {
			return -1, fmt.Errorf("%s exited (%v) without the expected log line\n%s", s.name, s.exitErr(), s.tail(15))
		}
		select {
		case <-changed:
		case <-deadline.C:
			return -1, fmt.Errorf("%s: no expected log line within %v\n%s", s.name, timeout, s.tail(15))
		}
	}
}

// addr is the address the process logged it serves on, in its first line whose message starts with prefix
// ("serving gRPC", "serving HTTP").
func (s *service) addr(prefix string) string {
	s.t.Helper()
	i, err := s.waitFor(0, time.Minute, func(l logLine) bool { return strings.HasPrefix(l.Msg, prefix) })
	if err != nil {
		s.t.Fatal(err)
	}
	var fields struct{ Addr string }
	if err := json.Unmarshal([]byte(s.line(i).raw), &fields); err != nil || fields.Addr == "" {
		s.t.Fatalf("no addr in %q", s.line(i).raw)
	}
	return fields.Addr
}

func (s *service) line(i int) logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[i]
}

func (s *service) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// tail is the last n log lines, for failure messages.
func (s *service) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, l := range s.lines[max(0, len(s.lines)-n):] {
		b.WriteString("    " + l.raw + "\n")
	}
	return b.String()
}

// committed is every update_timestamp this run logged as committed, in log order.
func (s *service) committed() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for _, l := range s.lines {
		if l.Msg == "cycle committed" {
			out = append(out, l.UpdateTimestamp)
		}
	}
	return out
}

// waitExit waits for the process to end, up to timeout, and reports whether it did.
func (s *service) waitExit(timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		exited, changed := s.exited, s.changed
		s.mu.Unlock()
		if exited {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// stop ends the process gracefully and fails the test unless it exits cleanly.
func (s *service) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if !s.waitExit(30 * time.Second) {
		s.t.Fatalf("%s did not stop within 30s of SIGTERM\n%s", s.name, s.tail(15))
	}
	if err := s.exitErr(); err != nil {
		s.t.Fatalf("%s: graceful stop exited with %v\n%s", s.name, err, s.tail(15))
	}
}

// kill ends the process with SIGKILL: nothing of it runs after the signal, not even deferred code.
func (s *service) kill() {
	s.t.Helper()
	_ = s.cmd.Process.Kill()
	if !s.waitExit(30 * time.Second) {
		s.t.Fatalf("%s survived SIGKILL for 30s", s.name)
	}
}

func msgIs(msg string) func(logLine) bool { return func(l logLine) bool { return l.Msg == msg } }

func msgIn(msgs ...string) func(logLine) bool {
	return func(l logLine) bool { return slices.Contains(msgs, l.Msg) }
}

// database is one database the service writes into: its flags and a way to read it back.
type database struct {
	dialect string
	flags   []string
	open    func(t *testing.T) *sql.DB
	url     string // PostgreSQL only
}

// newSQLite is a fresh embedded database in a folder of its own.
func newSQLite(t *testing.T) *database {
	dir := t.TempDir()
	return &database{
		dialect: "sqlite", flags: []string{"--data-dir", dir},
		open: func(t *testing.T) *sql.DB {
			return openStore(t, repository.Config{SQLitePath: filepath.Join(dir, "vatsector.db")})
		},
	}
}

// newPostgres is a fresh database on the shared server, migrated by the service itself at its first start and
// dropped at the end of the test, passed or failed: these tests fail on purpose until the defects they expose
// are fixed, and must not leave a database per run behind (dbtest's keep failed ones for inspection). The
// service reaches it at via (a proxy's address) when set.
func newPostgres(t *testing.T, via string) *database {
	t.Helper()
	dbtest.RequirePostgres(t)
	host, port, _ := strings.Cut(dbtest.PostgresAddr(), ":")
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@%s:%s/test?sslmode=disable", host, port))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("robust_%d_%d", os.Getpid(), rand.Uint64())
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		_ = admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		// FORCE: a killed service's backends may not have noticed yet.
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := fmt.Sprintf("postgres://postgres@%s:%s/%s?sslmode=disable", host, port, name)
	svcURL := u
	if via != "" {
		svcURL = fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", via, name)
	}
	return &database{
		dialect: "postgres", flags: []string{"--database-url", svcURL, "--data-dir", t.TempDir()}, url: u,
		open: func(t *testing.T) *sql.DB { return openStore(t, repository.Config{DatabaseURL: u}) },
	}
}

func openStore(t *testing.T, cfg repository.Config) *sql.DB {
	t.Helper()
	s, err := repository.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.SQL()
}

// databases are the dialects every test runs on; PostgreSQL skips (or fails under CI=true) without a server.
var databases = []struct {
	name string
	new  func(t *testing.T) *database
}{
	{"sqlite", newSQLite},
	{"postgres", func(t *testing.T) *database { return newPostgres(t, "") }},
}

// table is a table compared between runs, by primary key; volatile columns (wall-clock times and durations of
// a run, which no two runs share) are left out.
type table struct {
	name, key, where string
	volatile         func(col string) bool
}

var tables = []table{
	{name: "flights", key: "id"},
	{name: "flight_plans", key: "flight_id"},
	{name: "positions", key: "flight_id, observed_at"},
	{name: "sector_visits", key: "id"},
	{name: "sector_events", key: "sequence"},
	{name: "controllers", key: "id"},
	// The rollups: a restart rebuilds them from the visits and continues them, so they end as a clean run's.
	{name: "sector_hours", key: "sector_set, sector_id, hour"},
	{name: "observed_hours", key: "hour"},
	{name: "sector_days", key: "sector_set, sector_id, day"},
	{name: "ingest_cycles", key: "id", where: "error IS NULL", volatile: func(col string) bool {
		return col == "fetched_at" || col == "committed_at" || col == "statements" || strings.HasSuffix(col, "_us")
	}},
}

// tableDump is a table's rows by rendered primary key.
type tableDump struct {
	cols []string // compared columns, in table order
	keys []string // in key order
	rows map[string][]string
}

func dumpTables(t *testing.T, db *sql.DB) map[string]*tableDump {
	t.Helper()
	out := map[string]*tableDump{}
	for _, tb := range tables {
		q := "SELECT * FROM " + tb.name
		if tb.where != "" {
			q += " WHERE " + tb.where
		}
		rows, err := db.Query(q + " ORDER BY " + tb.key)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		keyCols := strings.Split(strings.ReplaceAll(tb.key, " ", ""), ",")
		d := &tableDump{rows: map[string][]string{}}
		var keep []int
		var keyIdx []int
		for i, c := range cols {
			if slices.Contains(keyCols, c) {
				keyIdx = append(keyIdx, i)
			}
			if tb.volatile == nil || !tb.volatile(c) {
				keep = append(keep, i)
				d.cols = append(d.cols, c)
			}
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var key []string
			for _, i := range keyIdx {
				key = append(key, cols[i]+"="+render(vals[i]))
			}
			row := make([]string, 0, len(keep))
			for _, i := range keep {
				row = append(row, render(vals[i]))
			}
			k := strings.Join(key, ",")
			d.keys = append(d.keys, k)
			d.rows[k] = row
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[tb.name] = d
	}
	return out
}

// render prints a value the same way whichever driver returned it.
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return strconv.Quote(string(x))
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// diffTables lists how got differs from want, table and column named, at most limit lines per table.
func diffTables(want, got map[string]*tableDump, limit int) []string {
	var out []string
	for _, tb := range tables {
		w, g := want[tb.name], got[tb.name]
		var diffs []string
		n := 0
		note := func(s string) {
			n++
			if len(diffs) < limit {
				diffs = append(diffs, s)
			}
		}
		for _, k := range w.keys {
			gr, ok := g.rows[k]
			if !ok {
				note(fmt.Sprintf("%s %s: missing (want %s)", tb.name, k, rowString(w.cols, w.rows[k])))
				continue
			}
			var cols []string
			for i, c := range w.cols {
				if i < len(gr) && gr[i] != w.rows[k][i] {
					cols = append(cols, fmt.Sprintf("%s = %s, want %s", c, gr[i], w.rows[k][i]))
				}
			}
			if len(cols) > 0 {
				note(fmt.Sprintf("%s %s: %s", tb.name, k, strings.Join(cols, "; ")))
			}
		}
		for _, k := range g.keys {
			if _, ok := w.rows[k]; !ok {
				note(fmt.Sprintf("%s %s: extra row %s", tb.name, k, rowString(g.cols, g.rows[k])))
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s: %d rows differ (reference %d rows, run %d rows)", tb.name, n, len(w.keys), len(g.keys)))
			out = append(out, diffs...)
		}
	}
	return out
}

func rowString(cols, row []string) string {
	parts := make([]string, len(cols))
	for i := range cols {
		parts[i] = cols[i] + "=" + row[i]
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// scenario is a generated feed: the snapshots in order, and the sector file that goes with them.
type scenario struct {
	snaps   []*feed.Snapshot
	sectors string
	// What the post-processing did, so a test can check its feed still exercises it.
	controllersGone, pilotsBack, pilotsReturnAfterGrace int
}

// newScenario simulates n snapshots of pilots pilots and post-processes them, deterministically from seed, so
// the feed holds what restarts get wrong when state is reloaded: controllers that log off for good (their
// disconnect time and UNSTAFFED events must not depend on a restart), controllers and flights missing for
// less than the grace period (they must not be disconnected), and flights missing for longer that come back
// with the same connection (a departed flight's row and plan must be taken up again, not rewritten).
func newScenario(t *testing.T, seed uint64, n, pilots int) *scenario {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x0b0b))
	s := sim.New(sim.Config{Seed: int64(seed), Pilots: pilots})
	sc := &scenario{}
	for range n {
		snap, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		sc.snaps = append(sc.snaps, snap)
	}

	type key struct {
		cid      int64
		callsign string
		logon    int64
	}
	// Connections present in every snapshot: the only ones whose absence the post-processing controls.
	always := func(list func(*feed.Snapshot) []key) []key {
		count := map[key]int{}
		for _, snap := range sc.snaps {
			for _, k := range list(snap) {
				count[k]++
			}
		}
		var out []key
		for k, c := range count {
			if c == n {
				out = append(out, k)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].cid < out[j].cid || out[i].cid == out[j].cid && out[i].callsign < out[j].callsign
		})
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out
	}
	pilotKeys := always(func(s *feed.Snapshot) []key {
		ks := make([]key, len(s.Pilots))
		for i, p := range s.Pilots {
			ks[i] = key{p.CID, p.Callsign, p.LogonTime.UnixMicro()}
		}
		return ks
	})
	ctrlKeys := always(func(s *feed.Snapshot) []key {
		var ks []key
		for _, c := range s.Controllers {
			if c.Facility != feed.FacilityObserver {
				ks = append(ks, key{c.CID, c.Callsign, c.LogonTime.UnixMicro()})
			}
		}
		return ks
	})

	// absent[k] is the half-open range of snapshot indexes k is taken out of.
	absent := map[key][2]int{}
	take := func(keys *[]key, from, to int) bool {
		if len(*keys) == 0 || from < 1 || from >= n {
			return false
		}
		k := (*keys)[0]
		*keys = (*keys)[1:]
		absent[k] = [2]int{from, min(to, n)}
		return true
	}
	// Spread over the feed so restarts fall before, inside and after each absence. 15 s steps and a 1 m grace:
	// two missing snapshots are within it, six are beyond it.
	for i := 1; i*8 < n; i++ {
		if take(&ctrlKeys, i*8, n) {
			sc.controllersGone++
		}
		take(&ctrlKeys, i*8+3, i*8+5)
		if take(&pilotKeys, i*8-3, i*8-3+6) && i*8+3 < n {
			sc.pilotsReturnAfterGrace++
		}
		if take(&pilotKeys, i*8+1, i*8+3) {
			sc.pilotsBack++
		}
	}
	for i, snap := range sc.snaps {
		out := *snap
		out.Pilots = slices.DeleteFunc(slices.Clone(snap.Pilots), func(p feed.Pilot) bool {
			r, ok := absent[key{p.CID, p.Callsign, p.LogonTime.UnixMicro()}]
			return ok && i >= r[0] && i < r[1]
		})
		out.Controllers = slices.DeleteFunc(slices.Clone(snap.Controllers), func(c feed.Controller) bool {
			r, ok := absent[key{c.CID, c.Callsign, c.LogonTime.UnixMicro()}]
			return ok && i >= r[0] && i < r[1]
		})
		sc.snaps[i] = &out
	}
	sc.sectors = writeSectors(t, sc.snaps)
	return sc
}

// writeSectors writes a world-wide grid of custom sectors, a low and a high band per cell, and hands every
// controller callsign prefix of the feed to one cell, so that logons and logoffs staff and unstaff sectors.
func writeSectors(t *testing.T, snaps []*feed.Snapshot) string {
	t.Helper()
	prefixes := map[string]bool{}
	for _, s := range snaps {
		for _, c := range s.Controllers {
			if p, _, ok := strings.Cut(c.Callsign, "_"); ok && c.Facility != feed.FacilityObserver {
				prefixes[strings.ToUpper(p)] = true
			}
		}
	}
	sorted := slices.Sorted(func(yield func(string) bool) {
		for p := range prefixes {
			if !yield(p) {
				return
			}
		}
	})
	type feature struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Properties map[string]any `json:"properties"`
		Geometry   map[string]any `json:"geometry"`
	}
	const lonStep, latStep = 45, 30
	var features []feature
	cell := 0
	for lat := -90; lat < 90; lat += latStep {
		for lon := -180; lon < 180; lon += lonStep {
			var mine []string
			for i, p := range sorted {
				if i%((360/lonStep)*(180/latStep)) == cell {
					mine = append(mine, p)
				}
			}
			ring := [][]float64{{float64(lon), float64(lat)}, {float64(lon + lonStep), float64(lat)},
				{float64(lon + lonStep), float64(lat + latStep)}, {float64(lon), float64(lat + latStep)}, {float64(lon), float64(lat)}}
			for _, band := range []struct {
				suffix         string
				floor, ceiling any
			}{{"L", nil, 24500}, {"H", 24500, nil}} {
				features = append(features, feature{
					Type: "Feature", ID: fmt.Sprintf("G%02d%s", cell, band.suffix),
					Properties: map[string]any{"name": fmt.Sprintf("grid %d %s", cell, band.suffix),
						"floor_ft": band.floor, "ceiling_ft": band.ceiling,
						"callsign_prefixes": mine, "facilities": []int{1, 2, 3, 4, 5, 6}},
					Geometry: map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}},
				})
			}
			cell++
		}
	}
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "grid.geojson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// encodeSnapshot is the feed JSON of a snapshot. encoding/json rather than the simulator's encoder: the
// snapshots are post-processed, and the decoder reads any v3 layout.
func encodeSnapshot(t *testing.T, s *feed.Snapshot) []byte {
	t.Helper()
	for _, p := range s.Pilots {
		if math.IsNaN(p.Latitude) || math.IsNaN(p.Longitude) {
			t.Fatalf("pilot %s has no position", p.Callsign)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeReplayDir writes snapshots under the names feed.ReplaySource and the recorder use.
func writeReplayDir(t *testing.T, snaps []*feed.Snapshot) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range snaps {
		if err := os.WriteFile(filepath.Join(dir, feed.FileName(s.General.UpdateTimestamp)), encodeSnapshot(t, s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// errExhausted ends a run loop when the service has ingested the whole feed.
var errExhausted = errors.New("feed exhausted")
