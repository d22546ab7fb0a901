package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/shareddata"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// generalLast writes a snapshot with its general object after the lists, to make the header reader search.
func generalLast(t testing.TB, ts time.Time) []byte {
	s := genSnapshot(ts, 2, 1, 1)
	return fmt.Appendf(nil, `{"pilots":%s,"controllers":%s,"atis":%s,"servers":[{"a":[1,{"b":"}"}]}],"general":%s}`,
		mustMarshal(t, s.Pilots), mustMarshal(t, s.Controllers), mustMarshal(t, s.ATIS), mustMarshal(t, s.General))
}

func TestReplayOrder(t *testing.T) {
	dir := t.TempDir()
	const n = 9
	at := func(i int) time.Time { return baseTime.Add(time.Duration(i) * 15 * time.Second) }
	// Names in an order unrelated to time, some misleading, some compressed, one with general last.
	perm := rand.New(rand.NewPCG(7, 11)).Perm(n)
	want := make([][]byte, n)
	for i := range n {
		data := genData(t, at(i))
		if i == 4 {
			data = generalLast(t, at(i))
		}
		want[i] = data
		name := fmt.Sprintf("snap-%02d.json", perm[i])
		switch i {
		case 2:
			name = FileName(at(n + 10)) // a name claiming a later time: the content wins
		case 3, 6:
			name += ".gz"
			data = gzipBytes(t, data)
		}
		writeFile(t, filepath.Join(dir, name), data)
	}
	// Not snapshots: ignored.
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("hello"))
	writeFile(t, filepath.Join(dir, ".vatsim-data-x.json.123.tmp"), []byte("{"))
	writeFile(t, filepath.Join(dir, ".hidden.json"), []byte("{"))
	if err := os.Mkdir(filepath.Join(dir, "folder.json"), 0o755); err != nil {
		t.Fatal(err)
	}

	r, err := ReplaySource(dir, ReplayOptions{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.Files()); got != n || r.Remaining() != n {
		t.Fatalf("%d files listed (%d remaining), want %d", got, r.Remaining(), n)
	}
	for i := range n {
		data, err := r.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch %d: %v", i, err)
		}
		if !bytes.Equal(data, want[i]) {
			t.Fatalf("Fetch %d returned %.80s, want the snapshot of %v", i, data, at(i))
		}
		s, err := Decode(data)
		if err != nil || !s.General.UpdateTimestamp.Equal(at(i)) {
			t.Fatalf("Fetch %d: decoded %v (%v), want update_timestamp %v", i, s.General.UpdateTimestamp, err, at(i))
		}
	}
	for range 2 {
		if _, err := r.Fetch(t.Context()); err != io.EOF {
			t.Fatalf("Fetch after the last file: %v, want io.EOF", err)
		}
	}
	if !strings.Contains(r.String(), fmt.Sprintf("(%d/%d)", n, n)) {
		t.Errorf("String() = %q, want the progress", r.String())
	}
}

func TestReplayBadFiles(t *testing.T) {
	dir := t.TempDir()
	at := func(i int) time.Time { return baseTime.Add(time.Duration(i) * 15 * time.Second) }
	path := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, path("a.json"), genData(t, at(0)))
	writeFile(t, path(FileName(at(1))), []byte(`{"general":{"version":3,"upd`)) // header unreadable: placed by its name
	writeFile(t, path("b.json"), genData(t, at(2)))
	writeFile(t, path("c.json"), genData(t, at(3))) // removed after listing
	writeFile(t, path("d.json"), genData(t, at(4)))
	limit := int64(len(genData(t, at(5))) + 100)
	writeFile(t, path("big.json"), append(genData(t, at(5)), bytes.Repeat([]byte(" "), 101)...))
	writeFile(t, path("html.json"), []byte("<html>")) // no time at all: last
	writeFile(t, path("fake.json.gz"), genData(t, at(6)))
	writeFile(t, path("v2.json"), []byte(`{"general":{"version":2,"update_timestamp":"2024-02-20T23:19:51Z"}}`))

	r, err := ReplaySource(dir, ReplayOptions{Logger: testLogger(t, nil), MaxBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path("c.json")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		want    time.Time // the snapshot expected, when no error
		errFile string    // the file the error must name
		errIs   error
	}{
		{want: at(0)},
		{errFile: FileName(at(1))},
		{want: at(2)},
		{errFile: "c.json", errIs: os.ErrNotExist},
		{want: at(4)},
		{errFile: "big.json", errIs: ErrTooLarge},
		{errFile: "fake.json.gz"},
		{errFile: "html.json"},
		{errFile: "v2.json"},
	}
	for i, st := range steps {
		data, err := r.Fetch(t.Context())
		if st.errFile != "" {
			if err == nil || !strings.Contains(err.Error(), path(st.errFile)) {
				t.Fatalf("step %d: Fetch error %v, want one naming %s", i, err, st.errFile)
			}
			if st.errIs != nil && !errors.Is(err, st.errIs) {
				t.Errorf("step %d: error %v does not match %v", i, err, st.errIs)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: Fetch: %v (a bad file must not stop the replay)", i, err)
		}
		if s, err := Decode(data); err != nil || !s.General.UpdateTimestamp.Equal(st.want) {
			t.Fatalf("step %d: got update_timestamp %v (%v), want %v", i, s.General.UpdateTimestamp, err, st.want)
		}
	}
	if _, err := r.Fetch(t.Context()); err != io.EOF {
		t.Fatalf("Fetch after the last file: %v, want io.EOF", err)
	}
}

func TestReplayEdges(t *testing.T) {
	t.Run("missing folder", func(t *testing.T) {
		if _, err := ReplaySource(filepath.Join(t.TempDir(), "nope"), ReplayOptions{}); err == nil {
			t.Error("ReplaySource accepted a missing folder")
		}
	})
	t.Run("empty folder", func(t *testing.T) {
		r, err := ReplaySource(t.TempDir(), ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Fetch(t.Context()); err != io.EOF {
			t.Errorf("Fetch: %v, want io.EOF", err)
		}
	})
	t.Run("cancelled context does not consume a file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.json"), genData(t, baseTime))
		r, err := ReplaySource(dir, ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := r.Fetch(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch: %v, want context.Canceled", err)
		}
		if _, err := r.Fetch(t.Context()); err != nil {
			t.Errorf("the file was skipped by the cancelled Fetch: %v", err)
		}
	})
	t.Run("equal timestamps in name order", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"b.json", "a.json", "c.json"} {
			writeFile(t, filepath.Join(dir, name), genData(t, baseTime))
		}
		r, err := ReplaySource(dir, ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range r.Files() {
			got = append(got, filepath.Base(f))
		}
		if want := []string{"a.json", "b.json", "c.json"}; !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
	})
}

func TestReplaySharedFeeds(t *testing.T) {
	files := shareddata.Feeds(t)
	r, err := ReplaySource(filepath.Dir(files[0]), ReplayOptions{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Files(), files) { // the shared files' names carry update_timestamp, so name order is time order
		t.Errorf("replay order %v, want %v", r.Files(), files)
	}
	var last time.Time
	for _, f := range files {
		data, err := r.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("Fetch returned something else than %s", f)
		}
		s, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if !s.General.UpdateTimestamp.After(last) {
			t.Errorf("%s: update_timestamp %v not after %v", f, s.General.UpdateTimestamp, last)
		}
		last = s.General.UpdateTimestamp
	}
	if _, err := r.Fetch(t.Context()); err != io.EOF {
		t.Errorf("Fetch after the last file: %v, want io.EOF", err)
	}
}

func TestReadGeneral(t *testing.T) {
	g := genSnapshot(baseTime, 0, 0, 0).General
	gen := string(mustMarshal(t, g))
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "general first", in: `{"general":` + gen + `,"pilots":[`}, // the rest is never read
		{name: "general last", in: string(generalLast(t, baseTime))},
		{name: "case-folded key", in: `{"General":` + gen + `}`},
		{name: "no general", in: `{"pilots":[]}`, wantErr: "no general object"},
		{name: "not JSON", in: `<html>`, wantErr: "not JSON"},
		{name: "array", in: `[1]`, wantErr: "not a JSON object"},
		{name: "empty", in: ``, wantErr: "not JSON"},
		{name: "general not an object", in: `{"general":3}`, wantErr: "general:"},
		{name: "broken before general", in: `{"pilots":[}`, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadGeneral(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.UpdateTimestamp.Equal(g.UpdateTimestamp) || got.Version != 3 {
				t.Errorf("got %+v, want %+v", got, g)
			}
		})
	}
}
