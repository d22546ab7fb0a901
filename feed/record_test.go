package feed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// listSource returns its items in turn, then io.EOF. An item with err set fails that Fetch; before, if set,
// runs first.
type listSource struct {
	mu    sync.Mutex
	items []listItem
}

type listItem struct {
	data   []byte
	err    error
	before func()
}

func (l *listSource) Fetch(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) == 0 {
		return nil, io.EOF
	}
	it := l.items[0]
	l.items = l.items[1:]
	if it.before != nil {
		it.before()
	}
	return it.data, it.err
}

func (l *listSource) String() string { return "list" }

// dirFiles lists a folder's names, hidden ones included (a leftover temporary file would show).
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFileName(t *testing.T) {
	tests := []struct {
		ts   time.Time
		want string
	}{
		{time.Date(2023, 8, 7, 23, 29, 29, 885643800, time.UTC), "vatsim-data-2023-08-07T232929Z.json"},
		{time.Date(2024, 2, 21, 1, 19, 51, 0, time.FixedZone("EET", 2*3600)), "vatsim-data-2024-02-20T231951Z.json"},
		{time.Date(2021, 6, 13, 13, 45, 23, 999999999, time.UTC), "vatsim-data-2021-06-13T134523Z.json"}, // truncated, not rounded
	}
	for _, tt := range tests {
		if got := FileName(tt.ts); got != tt.want {
			t.Errorf("FileName(%v) = %q, want %q", tt.ts, got, tt.want)
		}
		for _, name := range []string{tt.want, tt.want + ".gz", filepath.Join("some", "dir", tt.want)} {
			got, ok := ParseFileName(name)
			if !ok || !got.Equal(tt.ts.Truncate(time.Second)) {
				t.Errorf("ParseFileName(%q) = %v, %v; want %v", name, got, ok, tt.ts.Truncate(time.Second))
			}
		}
	}
	for _, bad := range []string{"vatsim-data.json", "vatsim-data-2023-08-07T232929Z.txt", "x-2023-08-07T232929Z.json", "vatsim-data-2023-13-07T232929Z.json"} {
		if _, ok := ParseFileName(bad); ok {
			t.Errorf("ParseFileName(%q) succeeded", bad)
		}
	}
}

// The acceptance scenario: an HTTP feed serving one snapshot twice, then a new one, is recorded as two files that
// replay as they were served.
func TestRecordRoundTrip(t *testing.T) {
	a, b := snapshotAt(t, 0), snapshotAt(t, 15)
	fs := newFeedServer(t)
	var mu sync.Mutex
	served := 0
	fs.handle("/vatsim-data.json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served++
		body := a
		if served > 2 {
			body = b
		}
		mu.Unlock()
		w.Header().Set("Content-Encoding", "gzip") // recorded decompressed all the same
		w.Write(gzipBytes(t, body))
	})
	src := mustSource(t, fs.URL+"/vatsim-data.json", httpOpts(t, newFakeClock(), nil))
	dir := filepath.Join(t.TempDir(), "rec") // created by Record
	logs := &syncBuffer{}

	if err := Record(t.Context(), src, dir, 0, 2, testLogger(t, logs)); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if fs.Hits("/vatsim-data.json") != 3 {
		t.Errorf("%d fetches, want 3 (a, a again, b)", fs.Hits("/vatsim-data.json"))
	}
	sa, sb := FileName(baseTime), FileName(baseTime.Add(15*time.Second))
	if got, want := dirFiles(t, dir), []string{sa, sb}; !slices.Equal(got, want) {
		t.Fatalf("folder holds %v, want %v", got, want)
	}
	for name, want := range map[string][]byte{sa: a, sb: b} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the snapshot served (%v)", name, err)
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want 0644", name, st.Mode(), err)
		}
	}
	if !strings.Contains(logs.String(), "already recorded") {
		t.Errorf("the repeated snapshot was not reported as already recorded:\n%s", logs)
	}

	r, err := ReplaySource(dir, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{a, b} {
		if got, err := r.Fetch(t.Context()); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("replay: %v, or not the recorded snapshot", err)
		}
	}
	if _, err := r.Fetch(t.Context()); err != io.EOF {
		t.Fatalf("replay after two files: %v, want io.EOF", err)
	}
}

func TestRecordGoesOn(t *testing.T) {
	a, b, c := snapshotAt(t, 0), snapshotAt(t, 15), snapshotAt(t, 30)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, FileName(baseTime)), []byte("recorded earlier")) // resumed into: kept as is
	src := &listSource{items: []listItem{
		{data: a},                              // already in the folder
		{err: errors.New("mirror down")},       // logged, recording goes on
		{data: []byte("<html>")},               // not a snapshot: logged, not recorded
		{data: b},                              //
		{data: gzipBytes(t, c)},                // recorded decompressed
		{data: c},                              // again
		{data: snapshotAt(t, 45), err: io.EOF}, // end of source
		{data: snapshotAt(t, 60)},              // never reached
	}}
	logs := &syncBuffer{}
	if err := Record(t.Context(), src, dir, 0, 0, testLogger(t, logs)); err != nil {
		t.Fatalf("Record: %v", err)
	}
	want := []string{FileName(baseTime), FileName(baseTime.Add(15 * time.Second)), FileName(baseTime.Add(30 * time.Second))}
	if got := dirFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("folder holds %v, want %v", got, want)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, want[0])); string(got) != "recorded earlier" {
		t.Errorf("an existing recording was overwritten")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, want[2])); !bytes.Equal(got, c) {
		t.Errorf("the gzip snapshot was not recorded decompressed")
	}
	for _, s := range []string{"mirror down", "snapshot not recorded", "source exhausted"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q", s)
		}
	}
}

func TestRecordStops(t *testing.T) {
	t.Run("context cancelled during a fetch", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		src := &listSource{items: []listItem{{data: snapshotAt(t, 0)}, {before: cancel, err: context.Canceled}, {data: snapshotAt(t, 15)}}}
		dir := t.TempDir()
		if err := Record(ctx, src, dir, 0, 0, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Record: %v, want context.Canceled", err)
		}
		if got := dirFiles(t, dir); len(got) != 1 {
			t.Errorf("folder holds %v, want the one snapshot before the cancellation", got)
		}
	})
	t.Run("context cancelled while waiting for the next tick", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		src := &listSource{items: []listItem{{data: snapshotAt(t, 0), before: cancel}, {data: snapshotAt(t, 15)}}}
		if err := Record(ctx, src, t.TempDir(), time.Hour, 0, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Record: %v, want context.Canceled", err)
		}
	})
	t.Run("ticker paces the fetches", func(t *testing.T) {
		src := &listSource{items: []listItem{{data: snapshotAt(t, 0)}, {data: snapshotAt(t, 15)}}}
		dir := t.TempDir()
		if err := Record(t.Context(), src, dir, time.Millisecond, 0, nil); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if got := dirFiles(t, dir); len(got) != 2 {
			t.Errorf("folder holds %v, want 2 snapshots", got)
		}
	})
	t.Run("folder that cannot be written", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "rec")
		breakDir := func() { // the folder turns into a file under the recorder's feet
			if err := os.RemoveAll(dir); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(dir, nil, 0o644); err != nil {
				t.Error(err)
			}
		}
		src := &listSource{items: []listItem{{data: snapshotAt(t, 0), before: breakDir}, {data: snapshotAt(t, 15)}}}
		err := Record(t.Context(), src, dir, 0, 0, nil)
		if err == nil || errors.Is(err, ErrMalformed) {
			t.Fatalf("Record: %v, want an I/O error", err)
		}
		if len(src.items) != 1 {
			t.Errorf("Record went on after a write error")
		}
	})
	t.Run("folder that cannot be created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		writeFile(t, file, nil)
		if err := Record(t.Context(), &listSource{}, filepath.Join(file, "rec"), 0, 0, nil); err == nil {
			t.Fatal("Record succeeded without a folder")
		}
	})
}

func TestRecorderSave(t *testing.T) {
	valid := snapshotAt(t, 0)
	tests := []struct {
		name      string
		data      []byte
		wantSaved bool
		wantErr   error
	}{
		{name: "snapshot", data: valid, wantSaved: true},
		{name: "gzip snapshot", data: gzipBytes(t, valid), wantSaved: true},
		{name: "HTML", data: []byte("<html>"), wantErr: ErrMalformed},
		{name: "version 2", data: []byte(`{"general":{"version":2,"update_timestamp":"2024-02-20T23:19:51Z"}}`), wantErr: ErrMalformed},
		{name: "no update_timestamp", data: []byte(`{"general":{"version":3}}`), wantErr: ErrMalformed},
		{name: "truncated", data: valid[:len(valid)-10], wantErr: ErrMalformed},
		{name: "corrupt gzip", data: gzipBytes(t, valid)[:30], wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rec, err := NewRecorder(dir, testLogger(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			path, saved, err := rec.Save(tt.data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
				t.Fatalf("Save error %v, want %v", err, tt.wantErr)
			}
			if saved != tt.wantSaved {
				t.Errorf("saved = %v, want %v", saved, tt.wantSaved)
			}
			files := dirFiles(t, dir)
			if !tt.wantSaved {
				if len(files) != 0 {
					t.Errorf("folder holds %v after a refused snapshot", files)
				}
				return
			}
			if len(files) != 1 || filepath.Join(dir, files[0]) != path || files[0] != FileName(baseTime) {
				t.Errorf("folder holds %v, Save said %s", files, path)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, valid) {
				t.Errorf("the file is not the plain snapshot")
			}
			if _, saved, err := rec.Save(tt.data); saved || err != nil {
				t.Errorf("second Save: saved %v, error %v; want skipped", saved, err)
			}
		})
	}
	t.Run("file appearing after NewRecorder is not overwritten", func(t *testing.T) {
		dir := t.TempDir()
		rec, err := NewRecorder(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, FileName(baseTime)), []byte("other"))
		if _, saved, err := rec.Save(valid); saved || err != nil {
			t.Errorf("Save: saved %v, error %v; want skipped", saved, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, FileName(baseTime))); string(got) != "other" {
			t.Errorf("overwritten")
		}
	})
}
