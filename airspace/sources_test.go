package airspace

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/shareddata"
)

func TestParseSource(t *testing.T) {
	for _, tt := range []struct {
		spec string
		want Source
		err  string
	}{
		{spec: "vatspy", want: Source{Path: Download}},
		{spec: " ./data/vatspy ", want: Source{Path: "./data/vatspy"}},
		{spec: "aus=/srv/vatsys", want: Source{Name: "aus", Path: "/srv/vatsys"}},
		{spec: "/srv/a=b/sectors", want: Source{Path: "/srv/a=b/sectors"}}, // "=" inside a path is the path's
		{spec: "", err: "empty"},
		{spec: "aus=", err: "no path"},
		{spec: "a b=/x", err: "cannot hold"},
	} {
		got, err := ParseSource(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSource(%q) error = %v, want it to say %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

// Every source is checked before anything loads: two broken files give one error listing both files'
// problems, and no Airspace.
func TestSourcesReportEverySourcesProblems(t *testing.T) {
	dir := t.TempDir()
	good := writeJSON(t, dir, "good.geojson", collection(feature("A", nil, polygonGeom(rect(0, 0, 1, 1)))))
	bad1 := writeJSON(t, dir, "bad1.geojson", collection(
		feature("X", nil, polygonGeom(rect(0, 0, 1, 1))), feature("X", nil, polygonGeom(rect(2, 2, 3, 3)))))
	bad2 := writeJSON(t, dir, "bad2.geojson", collection(feature("Y", obj{"floor_ft": "FL100"}, polygonGeom(rect(0, 0, 1, 1)))))
	s := &Sources{List: []Source{{Path: good}, {Path: bad1}, {Path: bad2}}}
	a, err := s.Load(context.Background())
	if a != nil || err == nil {
		t.Fatalf("Load = %v, %v; want no airspace and an error", a, err)
	}
	for _, want := range []string{"bad1.geojson", `duplicate id "X"`, "bad2.geojson", "floor_ft"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Errorf("error %v holds no *LoadError", err)
	}
}

// A set named on the command line keeps that name, and two sets reusing each other's ids load together.
func TestSourcesRenameSets(t *testing.T) {
	dir := t.TempDir()
	f := writeJSON(t, dir, "sectors.geojson", collection(feature("EGTT", nil, polygonGeom(rect(0, 0, 1, 1)))))
	s := &Sources{List: []Source{{Name: "north", Path: f}, {Name: "south", Path: f}}}
	a, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := SetSummary(a); got != "north:1 south:1" {
		t.Errorf("sets %s, want north:1 south:1", got)
	}
	if n, ok := a.Sector("south", "EGTT"); !ok || n.Set != "south" {
		t.Errorf("Sector(south, EGTT) = %v, %v", n, ok)
	}
}

// holder records each airspace Follow swaps in.
type holder struct {
	mu    sync.Mutex
	cur   *Airspace
	swaps chan *Airspace
}

func (h *holder) Airspace() *Airspace {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

func (h *holder) Swap(a *Airspace) {
	h.mu.Lock()
	h.cur = a
	h.mu.Unlock()
	h.swaps <- a
}

func (h *holder) next(t *testing.T, what string) *Airspace {
	t.Helper()
	select {
	case a := <-h.swaps:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("no reload after %s", what)
		return nil
	}
}

// Follow reloads on request and when a file changes; a broken file keeps the sectors as they were, and fixing
// it reloads.
func TestFollowReloads(t *testing.T) {
	dir := t.TempDir()
	path := writeJSON(t, dir, "div.geojson", collection(feature("A", nil, polygonGeom(rect(0, 0, 1, 1)))))
	s := &Sources{List: []Source{{Path: path}}}
	first, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := &holder{cur: first, swaps: make(chan *Airspace, 4)}
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Follow(ctx, h, FollowOptions{Reload: reload, Poll: 5 * time.Millisecond}) }()
	defer func() { cancel(); <-done }()

	reload <- struct{}{}
	if a := h.next(t, "a reload request"); a == first || a.Len() != 1 {
		t.Errorf("reload gave %v", a)
	}

	// A new file: sector A removed, B added. The modification time is set so that the change is seen whatever
	// the file system's timestamp granularity.
	rewrite := func(v any) {
		writeJSON(t, dir, "div.geojson", v)
		future := time.Now().Add(time.Duration(len(h.swaps)+1) * time.Hour)
		if err := os.Chtimes(path, future, future); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(collection(feature("B", nil, polygonGeom(rect(0, 0, 1, 1)))))
	a := h.next(t, "the file changed")
	if _, ok := a.Sector("div", "A"); ok {
		t.Error("A is still loaded after the file dropped it")
	}
	if _, ok := a.Sector("div", "B"); !ok {
		t.Error("B is not loaded after the file added it")
	}

	rewrite(collection(feature("B", nil, polygonGeom(rect(0, 0, 1, 1))), feature("B", nil, polygonGeom(rect(2, 2, 3, 3)))))
	reload <- struct{}{} // a reload of a broken file: nothing is swapped in, and the next fix is
	rewrite(collection(feature("C", nil, polygonGeom(rect(0, 0, 1, 1)))))
	a = h.next(t, "the file was fixed")
	if _, ok := a.Sector("div", "C"); !ok || a.Len() != 1 {
		t.Errorf("after the fix: %s, want only C", SetSummary(a))
	}
	if cur := h.Airspace(); cur != a {
		t.Error("the holder does not hold the last airspace swapped in")
	}
}

// The sets the issue names, together: VATSpy and the SimAware TRACONs as published, and a division's vatSys
// folder reusing a VATSpy FIR id. Each set keeps all its sectors, ids repeat across sets only, and the
// approach controllers of a recorded snapshot staff TRACON areas beside the FIRs the centre controllers staff.
func TestVATSpySimAwareAndVatSysLoadTogether(t *testing.T) {
	vatspyDir := shareddata.VATSpyDir(t)
	simawareDir := shareddata.Path(t, "airspace", "simaware")
	vatsysDir := writeVatSys(t, "aus",
		[]vsBoundary{{name: "AYPM_B", points: boxPoints(-12, 140, -5, 150)}},
		[]vsVolume{{name: "AYPM_V", lower: "0", upper: "60000", boundaries: []string{"AYPM_B"}}},
		[]vsSector{{name: "AYPM", fullName: "Port Moresby", callsign: "AYPM_CTR", volumes: []string{"AYPM_V"}}})
	s := &Sources{List: []Source{{Path: vatspyDir}, {Path: simawareDir}, {Path: vatsysDir}}}
	a, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	alone := map[string]int{}
	for _, dir := range []string{vatspyDir, simawareDir, vatsysDir} {
		set, _, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		alone[set.Name] = len(set.Sectors)
	}
	perSet := map[string]int{}
	for _, sec := range a.Sectors() {
		perSet[sec.Set]++
	}
	for set, n := range alone {
		if perSet[set] != n || n == 0 {
			t.Errorf("set %s: %d sectors together, %d alone", set, perSet[set], n)
		}
	}
	if got := a.Lookup("AYPM"); len(got) != 2 || got[0].Set != "aus" || got[1].Set != SetVATSpy {
		t.Errorf("Lookup(AYPM) = %v, want aus's and vatspy's", got)
	}
	if got := a.Lookup("A80-ATL"); len(got) != 1 || got[0].Set != SetSimAware || got[0].Kind != KindTRACON {
		t.Errorf("Lookup(A80-ATL) = %v, want SimAware's Atlanta area", got)
	}
	staff := a.StaffAll([]Station{{"ATL_APP", 5}, {"NY_APP", 5}, {"EGTT_CTR", 6}, {"AYPM_CTR", 6}})
	for i, want := range [][]string{{"simaware/A80-ATL"}, {"simaware/N90-NY"}, {"vatspy/EGTT"}, {"aus/AYPM", "vatspy/AYPM"}} {
		var got []string
		for _, sec := range staff[i] {
			got = append(got, sec.Set+"/"+sec.ID)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("station %d staffs %v, want %v", i, got, want)
		}
	}
}
