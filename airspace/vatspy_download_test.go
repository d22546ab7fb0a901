package airspace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMapData serves the map-data endpoint and the two files of the release it currently names.
type fakeMapData struct {
	mu          sync.Mutex
	hash        string
	endpointErr int               // when non-zero, the endpoint answers this status
	files       map[string]string // file name → content, for every hash
	endpointRaw string            // when set, the endpoint answers this body verbatim
	fileHits    int
	apiHits     int
	srv         *httptest.Server
}

func newFakeMapData(t *testing.T) *fakeMapData {
	t.Helper()
	b, err := json.Marshal(collection(vatspyFixtureFeatures()...))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeMapData{hash: "abc123", files: map[string]string{BoundariesFile: string(b), VATSpyDatFile: vatspyFixtureDat}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/map_data/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.apiHits++
		if f.endpointErr != 0 {
			http.Error(w, "unavailable", f.endpointErr)
			return
		}
		if f.endpointRaw != "" {
			fmt.Fprint(w, f.endpointRaw)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"current_commit_hash":        f.hash,
			"vatspy_dat_url":             f.srv.URL + "/files/" + f.hash + "/" + VATSpyDatFile,
			"fir_boundaries_geojson_url": f.srv.URL + "/files/" + f.hash + "/" + BoundariesFile,
			"fir_boundaries_dat_url":     f.srv.URL + "/files/" + f.hash + "/FIRBoundaries.dat", // ignored
			"uir_boundaries_geojson_url": "unused",
		})
	})
	mux.HandleFunc("GET /files/{hash}/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.fileHits++
		content, ok := f.files[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, content)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMapData) set(fn func(f *fakeMapData)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeMapData) hits() (api, files int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiHits, f.fileHits
}

func (f *fakeMapData) endpoint() string { return f.srv.URL + "/api/map_data/" }

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newMapData(t *testing.T, endpoint string) (*MapData, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	return &MapData{
		Endpoint: endpoint,
		CacheDir: t.TempDir(),
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
		Timeout:  10 * time.Second,
	}, logs
}

func readCurrent(t *testing.T, m *MapData) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.CacheDir, currentFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func TestMapDataEnsureLifecycle(t *testing.T) {
	fake := newFakeMapData(t)
	m, logs := newMapData(t, fake.endpoint())
	ctx := t.Context()

	// First run: downloads, records the hash.
	dir, changed, err := m.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(m.CacheDir, "abc123"); dir != want || !changed {
		t.Fatalf("Ensure = %s, %v; want %s, true", dir, changed, want)
	}
	if got := readCurrent(t, m); got != "abc123" {
		t.Errorf("recorded hash %q, want abc123", got)
	}
	set, _, err := Load(dir)
	if err != nil || set.Name != SetVATSpy {
		t.Fatalf("Load(%s) = %v, %v", dir, set, err)
	}
	if _, files := fake.hits(); files != 2 {
		t.Errorf("%d file downloads, want 2", files)
	}

	// Same release: nothing downloaded.
	dir2, changed, err := m.Ensure(ctx)
	if err != nil || dir2 != dir || changed {
		t.Fatalf("second Ensure = %s, %v, %v; want %s, false, nil", dir2, changed, err, dir)
	}
	if api, files := fake.hits(); api != 2 || files != 2 {
		t.Errorf("after the second Ensure: %d endpoint calls, %d file downloads; want 2 and 2", api, files)
	}

	// New release: downloaded into its own folder, the previous one removed.
	fake.set(func(f *fakeMapData) {
		f.hash = "def456"
		f.files[VATSpyDatFile] = strings.Replace(vatspyFixtureDat, "Test Center North|", "Test Centre North|", 1)
	})
	dir3, changed, err := m.Ensure(ctx)
	if err != nil || dir3 != filepath.Join(m.CacheDir, "def456") || !changed {
		t.Fatalf("Ensure after a new release = %s, %v, %v", dir3, changed, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("previous release %s still there (err %v)", dir, err)
	}
	if got := readCurrent(t, m); got != "def456" {
		t.Errorf("recorded hash %q, want def456", got)
	}
	if set, err := LoadVATSpy(dir3); err != nil {
		t.Fatal(err)
	} else if s, _ := mustNew(t, set).Sector(SetVATSpy, "TTTT-N"); s.Name != "Test Centre North" {
		t.Errorf("TTTT-N name %q: the new release's file was not used", s.Name)
	}

	// Endpoint failing: the cache is used, with a warning.
	fake.set(func(f *fakeMapData) { f.endpointErr = http.StatusServiceUnavailable })
	dir4, changed, err := m.Ensure(ctx)
	if err != nil || dir4 != dir3 || changed {
		t.Fatalf("Ensure with the endpoint down = %s, %v, %v; want the cached %s", dir4, changed, err, dir3)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "using the cached copy") || !strings.Contains(l, "503") {
		t.Errorf("no warning naming the failure logged: %s", l)
	}

	// Endpoint unreachable: same.
	fake.srv.Close()
	dir5, changed, err := m.Ensure(ctx)
	if err != nil || dir5 != dir3 || changed {
		t.Fatalf("Ensure with the endpoint unreachable = %s, %v, %v; want the cached %s", dir5, changed, err, dir3)
	}
}

func TestMapDataOfflineWithoutCache(t *testing.T) {
	fake := newFakeMapData(t)
	fake.srv.Close()
	m, _ := newMapData(t, fake.endpoint())
	_, _, err := m.Ensure(t.Context())
	if err == nil {
		t.Fatal("Ensure succeeded offline with no cache")
	}
	if !strings.Contains(err.Error(), "--sectors PATH (a folder holding Boundaries.geojson and VATSpy.dat, or a .geojson file)") {
		t.Errorf("error %q does not tell which flag to use", err)
	}
	entries, _ := os.ReadDir(m.CacheDir)
	if len(entries) != 0 {
		t.Errorf("cache dir not empty after a failure: %v", entries)
	}
}

// Bad answers never become the current release: without a cache they are errors, with one the cache is kept.
func TestMapDataRejectsBadReleases(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fakeMapData, m *MapData)
		errHas string
	}{
		{"file too large", func(f *fakeMapData, m *MapData) { m.MaxBytes = 100 }, "larger than 100 bytes"},
		{"path traversal in hash", func(f *fakeMapData, m *MapData) { f.hash = "../evil" }, "is not a commit hash"},
		{"hash naming the record file", func(f *fakeMapData, m *MapData) { f.hash = currentFile }, "is not a commit hash"},
		{"file missing", func(f *fakeMapData, m *MapData) { delete(f.files, VATSpyDatFile) }, "404"},
		{"broken boundaries", func(f *fakeMapData, m *MapData) { f.files[BoundariesFile] = "<html>" }, "does not load"},
		{"endpoint not JSON", func(f *fakeMapData, m *MapData) { f.endpointRaw = "<html>" }, "map data endpoint"},
		{"endpoint without URLs", func(f *fakeMapData, m *MapData) { f.endpointRaw = `{"current_commit_hash":"x1"}` }, "vatspy_dat_url"},
		{"endpoint with a bad URL", func(f *fakeMapData, m *MapData) {
			f.endpointRaw = `{"current_commit_hash":"x1","vatspy_dat_url":"file:///etc/passwd","fir_boundaries_geojson_url":"file:///etc/passwd"}`
		}, "bad URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/no cache", func(t *testing.T) {
			fake := newFakeMapData(t)
			m, _ := newMapData(t, fake.endpoint())
			fake.set(func(f *fakeMapData) { tt.setup(f, m) })
			_, _, err := m.Ensure(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), SectorsFlagHint) {
				t.Fatalf("Ensure error = %v, want it to contain %q and the --sectors hint", err, tt.errHas)
			}
			entries, _ := os.ReadDir(m.CacheDir)
			if len(entries) != 0 {
				t.Errorf("cache dir keeps %v after a failed download", entries)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(m.CacheDir), "evil")); !os.IsNotExist(err) {
				t.Errorf("something was written outside the cache dir")
			}
		})
		t.Run(tt.name+"/cache", func(t *testing.T) {
			fake := newFakeMapData(t)
			m, logs := newMapData(t, fake.endpoint())
			good, _, err := m.Ensure(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			fake.set(func(f *fakeMapData) {
				f.hash = "newer1"
				tt.setup(f, m)
			})
			dir, changed, err := m.Ensure(t.Context())
			if err != nil || dir != good || changed {
				t.Fatalf("Ensure = %s, %v, %v; want the cached %s", dir, changed, err, good)
			}
			if got := readCurrent(t, m); got != "abc123" {
				t.Errorf("recorded hash changed to %q", got)
			}
			if !strings.Contains(logs.String(), tt.errHas) {
				t.Errorf("the warning does not give the cause %q: %s", tt.errHas, logs.String())
			}
			if _, err := LoadVATSpy(good); err != nil {
				t.Errorf("cached release damaged: %v", err)
			}
		})
	}
}

func TestMapDataTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	m, _ := newMapData(t, srv.URL+"/api/map_data/")
	m.Timeout = 50 * time.Millisecond
	_, _, err := m.Ensure(t.Context())
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Ensure against a hanging endpoint: error = %v, want a deadline error", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m.Timeout = time.Minute
	if _, _, err := m.Ensure(ctx); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Ensure with a cancelled context: error = %v", err)
	}
}

func TestMapDataNeedsCacheDir(t *testing.T) {
	if _, _, err := (&MapData{}).Ensure(t.Context()); err == nil || !strings.Contains(err.Error(), "CacheDir") {
		t.Errorf("error = %v, want it to name CacheDir", err)
	}
}
