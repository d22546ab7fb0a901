package feed

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Recording an HTTP feed whose status.json lists transceivers mirrors saves each snapshot's file beside it, and
// the folder replays the same bytes; a snapshot without a file is logged and recorded all the same.
func TestRecordTransceiversRoundTrip(t *testing.T) {
	a, b, c := snapshotAt(t, 0), snapshotAt(t, 15), snapshotAt(t, 30)
	ta, tb := transceiversJSON(t, genTransceivers(2)), transceiversJSON(t, genTransceivers(3))
	fs := newFeedServer(t)
	fs.handle("/status.json", serveStatusWith([]string{"/vatsim-data.json"}, []string{"/transceivers-data.json"}))
	var mu sync.Mutex
	served := 0
	snaps := [][]byte{a, a, b, c}
	trans := []http.HandlerFunc{
		serve(ta),
		serve(tb), // a again: its file is there, not asked for
		func(w http.ResponseWriter, r *http.Request) { // c's is 90 s older than c
			w.Header().Set("Last-Modified", baseTime.Add(-time.Minute).Format(http.TimeFormat))
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBytes(t, ta))
		},
	}
	tserved := 0
	fs.handle("/vatsim-data.json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body := snaps[min(served, len(snaps)-1)]
		served++
		mu.Unlock()
		w.Write(body)
	})
	fs.handle("/transceivers-data.json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := trans[min(tserved, len(trans)-1)]
		tserved++
		mu.Unlock()
		h(w, r)
	})
	src := mustSource(t, fs.URL+"/status.json", httpOpts(t, newFakeClock(), nil))
	dir := t.TempDir()
	logs := &syncBuffer{}
	if err := Record(t.Context(), src, dir, 0, 3, testLogger(t, logs)); err != nil {
		t.Fatal(err)
	}
	at := func(sec int) time.Time { return baseTime.Add(time.Duration(sec) * time.Second) }
	want := []string{TransceiversFileName(at(0)), TransceiversFileName(at(15)), FileName(at(0)), FileName(at(15)), FileName(at(30))}
	if got := dirFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("folder holds %v, want %v", got, want)
	}
	if fs.Hits("/transceivers-data.json") != 3 {
		t.Errorf("transceivers asked %d times, want 3 (a, b, c; not a again)", fs.Hits("/transceivers-data.json"))
	}
	if !strings.Contains(logs.String(), "no transceivers file for the snapshot") {
		t.Errorf("the stale file of c was not logged:\n%s", logs)
	}

	r, err := ReplaySource(dir, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		snap, trans []byte
		at          time.Time
	}{{a, ta, at(0)}, {b, tb, at(15)}, {c, tb, at(30)}} { // c's own was not recorded: b's, 15 s older, pairs
		got, err := r.Fetch(t.Context())
		if err != nil || !bytes.Equal(got, tt.snap) {
			t.Fatalf("replay Fetch: %v, or not the recorded snapshot", err)
		}
		g, err := ReadGeneral(bytes.NewReader(got))
		if err != nil || !g.UpdateTimestamp.Equal(tt.at) {
			t.Fatalf("replayed snapshot of %v, want %v (%v)", g.UpdateTimestamp, tt.at, err)
		}
		gotT, err := r.FetchTransceivers(t.Context(), g.UpdateTimestamp)
		if err != nil || !bytes.Equal(gotT, tt.trans) {
			t.Errorf("replay FetchTransceivers(%v): %v, or not the recorded file", tt.at, err)
		}
	}
}

func TestRecorderSaveTransceivers(t *testing.T) {
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rec.SaveTransceivers(baseTime, []byte("<html>")); err == nil {
		t.Fatal("an HTML page was recorded")
	}
	body := []byte(`[{"callsign":"A"}]`)
	path, saved, err := rec.SaveTransceivers(baseTime, gzipBytes(t, body))
	if err != nil || !saved || filepath.Base(path) != TransceiversFileName(baseTime) {
		t.Fatalf("SaveTransceivers: %s, %v, %v", path, saved, err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("recorded %q (%v), want the decompressed file", got, err)
	}
	// Resumed into the same folder, the file is known.
	rec2, err := NewRecorder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, saved, err := rec2.SaveTransceivers(baseTime, []byte("[]")); err != nil || saved {
		t.Fatalf("saved again: %v, %v", saved, err)
	}
	if got := dirFiles(t, dir); len(got) != 1 {
		t.Errorf("folder holds %v (a temporary file left?)", got)
	}
}
