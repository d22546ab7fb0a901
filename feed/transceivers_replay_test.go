package feed

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestReplayTransceivers(t *testing.T) {
	dir := t.TempDir()
	at := baseTime // 23:19:51.947
	sec := at.Truncate(time.Second)
	file := func(d time.Duration) []byte { return []byte(`[{"callsign":"` + d.String() + `"}]`) }
	// Recorded beside two snapshots: the files of at, at-20 s, at-45 s and one 5 s after at.
	writeFile(t, filepath.Join(dir, FileName(at)), snapshotAt(t, 0))
	writeFile(t, filepath.Join(dir, FileName(at.Add(-60*time.Second))), snapshotAt(t, -60))
	for _, d := range []time.Duration{0, -20 * time.Second, -45 * time.Second, 5 * time.Second} {
		writeFile(t, filepath.Join(dir, TransceiversFileName(sec.Add(d))), file(d))
	}
	writeFile(t, filepath.Join(dir, TransceiversFileName(sec.Add(-45*time.Second))+".gz"), gzipBytes(t, []byte("[]"))) // the plain one wins
	writeFile(t, filepath.Join(dir, TransceiversFileName(sec.Add(-100*time.Second))+".gz"), gzipBytes(t, file(-100*time.Second)))
	writeFile(t, filepath.Join(dir, "transceivers-data.json"), []byte("[]")) // no time: ignored

	r, err := ReplaySource(dir, ReplayOptions{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	var _ TransceiverSource = r
	if got, want := r.Files(), []string{filepath.Join(dir, FileName(at.Add(-60*time.Second))), filepath.Join(dir, FileName(at))}; !slices.Equal(got, want) {
		t.Fatalf("snapshots %v, want only the two vatsim-data files", got)
	}
	tests := []struct {
		name string
		at   time.Time
		want []byte // nil: ErrNoTransceivers
	}{
		{"exact", at, file(0)},
		{"exact, whole second", sec, file(0)},
		{"within 30 s", at.Add(-5 * time.Second), file(-20 * time.Second)},
		{"5 s after the newest", sec.Add(10 * time.Second), file(5 * time.Second)},
		{"30 s to the second", sec.Add(-70*time.Second + 999*time.Millisecond), file(-100 * time.Second)},
		{"31 s: too old", sec.Add(-69 * time.Second), nil},
		{"gzip decompressed", sec.Add(-90 * time.Second), file(-100 * time.Second)},
		{"plain before gzip", sec.Add(-45 * time.Second), file(-45 * time.Second)},
		{"none before", sec.Add(-101 * time.Second), nil},
		{"long after", sec.Add(time.Hour), nil},
	}
	for _, tt := range tests {
		got, err := r.FetchTransceivers(t.Context(), tt.at)
		switch {
		case tt.want == nil && (got != nil || !errors.Is(err, ErrNoTransceivers)):
			t.Errorf("%s: %q, %v; want ErrNoTransceivers", tt.name, got, err)
		case tt.want != nil && (err != nil || !bytes.Equal(got, tt.want)):
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}

	// The snapshots replay as before.
	for range 2 {
		if _, err := r.Fetch(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Fetch(t.Context()); err != io.EOF {
		t.Fatalf("Fetch after the snapshots: %v, want io.EOF", err)
	}
}

func TestReplayTransceiversUnreadable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, TransceiversFileName(baseTime))
	writeFile(t, p, gzipBytes(t, []byte("[]"))[:10]) // gzip cut off, named .json: found by its magic bytes
	r, err := ReplaySource(dir, ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.FetchTransceivers(t.Context(), baseTime); err == nil || errors.Is(err, ErrNoTransceivers) {
		t.Fatalf("got %v, want a read error", err)
	}
}

func TestTransceiversFileName(t *testing.T) {
	ts := time.Date(2024, 2, 21, 1, 19, 51, 999, time.FixedZone("EET", 2*3600))
	name := TransceiversFileName(ts)
	if name != "transceivers-data-2024-02-20T231951Z.json" {
		t.Fatalf("TransceiversFileName = %q", name)
	}
	for _, n := range []string{name, name + ".gz", filepath.Join("a", name)} {
		if got, ok := ParseTransceiversFileName(n); !ok || !got.Equal(ts.Truncate(time.Second)) {
			t.Errorf("ParseTransceiversFileName(%q) = %v, %v", n, got, ok)
		}
	}
	if _, ok := ParseFileName(name); ok {
		t.Errorf("ParseFileName accepts a transceivers name")
	}
	if _, ok := ParseTransceiversFileName(FileName(ts)); ok {
		t.Errorf("ParseTransceiversFileName accepts a snapshot name")
	}
}
