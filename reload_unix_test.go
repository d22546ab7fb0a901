//go:build unix

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vatsector/vatsector/sim"
)

// worldSector is a custom sector file of one sector covering the globe.
func worldSector(t *testing.T, path, id string) {
	t.Helper()
	fc := map[string]any{"type": "FeatureCollection", "features": []any{map[string]any{
		"type": "Feature", "id": id, "properties": map[string]any{},
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{
			{{-180, -90}, {180, -90}, {180, 90}, {-180, 90}, {-180, -90}}}},
	}}}
	b, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A running service reloads its sector files on SIGHUP: the next cycle closes the visits of the sector that went
// away with the reason sector_removed and opens visits in the one that came, and a file with problems is refused
// with the service going on as it was.
func TestSIGHUPReloadsSectors(t *testing.T) {
	s := sim.New(sim.Config{Seed: 7, Pilots: 20})
	var bodies [][]byte
	for range 3 {
		snap, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, encodeSnapshot(t, snap))
	}
	var step atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bodies[step.Load()])
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	sectors := filepath.Join(dir, "world.geojson")
	worldSector(t, sectors, "ONE")
	db := newSQLite(t)
	svc := startService(t, "reload", append(append(serviceFlags(sectors), db.flags...),
		"--feed", srv.URL+"/vatsim-data.json", "--interval", "50ms"), nil)
	committed := func(from int) int {
		t.Helper()
		i, err := svc.waitFor(from, time.Minute, msgIs("cycle committed"))
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	at := committed(0)

	// A broken file first: refused, every problem logged, the sectors kept.
	if err := os.WriteFile(sectors, []byte(`{"type": "FeatureCollection", "features": [{"type": "Feature"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := svc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	refused, err := svc.waitFor(at, time.Minute, func(l logLine) bool {
		return l.Msg == "sectors not reloaded; keeping the current ones" && strings.Contains(l.raw, `"reason":"reload requested"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := svc.line(refused); !strings.Contains(l.raw, "world.geojson") || !strings.Contains(l.raw, "missing id") {
		t.Errorf("the refusal does not name the file and its problem: %s", l.raw)
	}

	worldSector(t, sectors, "TWO")
	if err := svc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The file watch (every 10 s) may see the new file first; the signal's reload is the one waited for.
	reloaded, err := svc.waitFor(refused, time.Minute, func(l logLine) bool {
		return l.Msg == "sectors reloaded" && strings.Contains(l.raw, `"reason":"reload requested"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	step.Store(1)
	committed(reloaded)
	svc.stop()

	rows, err := db.open(t).Query(`SELECT sector_set, sector_id, COALESCE(exit_reason, 'open'), COUNT(*)
		FROM sector_visits GROUP BY sector_set, sector_id, exit_reason ORDER BY sector_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var set, id, reason string
		var n int
		if err := rows.Scan(&set, &id, &reason, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, set+"/"+id+" "+reason)
	}
	want := []string{"world/ONE sector_removed", "world/TWO open"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("visits %v, want %v", got, want)
	}
}
