package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/migrations"
)

func TestPercentile(t *testing.T) {
	xs := []int64{5, 1, 4, 2, 3}
	for _, c := range []struct {
		p    float64
		want int64
	}{{50, 3}, {99, 5}, {100, 5}, {0, 1}, {20, 1}, {21, 2}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty input")
	}
	if xs[0] != 5 {
		t.Error("percentile sorted its input in place")
	}
}

// message frames a protocol message the way PostgreSQL's client does: type byte, int32 length, body.
func message(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
	return append(b, body...)
}

// echoServer answers each message with one byte once it has read all of it, like a server answering a Sync.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				hdr := make([]byte, 5)
				for {
					if _, err := io.ReadFull(c, hdr); err != nil {
						return
					}
					body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
					if _, err := io.ReadFull(c, body); err != nil {
						return
					}
					if _, err := c.Write([]byte{'Z'}); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestWireCounterCountsRoundTrips(t *testing.T) {
	w, err := startWireCounter(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.mark()

	exchange := func(c net.Conn, msg []byte, pieces int) {
		t.Helper()
		// A large request arrives in several TCP reads; it is still one round trip.
		step := (len(msg) + pieces - 1) / pieces
		for i := 0; i < len(msg); i += step {
			if _, err := c.Write(msg[i:min(i+step, len(msg))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	c1, err := net.Dial("tcp", w.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	insert := message('P', append([]byte("\x00INSERT INTO \"flights\" (\"id\") VALUES ($1)\x00"), bytes.Repeat([]byte{1}, 300_000)...))
	exchange(c1, message('Q', []byte("begin\x00")), 1)
	exchange(c1, insert, 5)
	exchange(c1, message('Q', []byte("commit\x00")), 1)
	if got := w.RoundTrips(); got != 3 {
		t.Errorf("round trips %d, want 3", got)
	}
	if got := w.usedSinceMark(); got != 1 {
		t.Errorf("connections used %d, want 1", got)
	}

	c2, err := net.Dial("tcp", w.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	exchange(c2, message('Q', []byte("begin\x00")), 1)
	if got, used := w.RoundTrips(), w.usedSinceMark(); got != 4 || used != 2 {
		t.Errorf("after a second connection: round trips %d, used %d; want 4 and 2", got, used)
	}

	labels := map[string]int64{}
	for _, l := range w.latencies() {
		labels[l.Label] = l.Count
	}
	want := map[string]int64{"begin": 2, "commit": 1, `INSERT INTO "flights"`: 1}
	for k, n := range want {
		if labels[k] != n {
			t.Errorf("label %q counted %d times, want %d (all: %v)", k, labels[k], n, labels)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "BENCHMARKS.md")
	if err := writeSection(path, "first run\n"); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(path)
	if !strings.Contains(string(doc), "first run") || !strings.Contains(string(doc), "## Streams: 1,000 WatchSectorEvents subscribers") {
		t.Fatalf("new file lacks the section or the streams placeholder:\n%s", doc)
	}
	// Another benchmark fills its own section; a re-run must keep it and replace only ours.
	edited := strings.Replace(string(doc), "_Not measured yet._", "streams figures", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSection(path, "second run\n"); err != nil {
		t.Fatal(err)
	}
	doc, _ = os.ReadFile(path)
	s := string(doc)
	if strings.Contains(s, "first run") || !strings.Contains(s, "second run") || !strings.Contains(s, "streams figures") {
		t.Fatalf("section not replaced in place:\n%s", s)
	}

	// A file without markers gets them appended, its content kept.
	other := filepath.Join(dir, "other.md")
	if err := os.WriteFile(other, []byte("# Notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSection(other, "figures\n"); err != nil {
		t.Fatal(err)
	}
	doc, _ = os.ReadFile(other)
	if !strings.HasPrefix(string(doc), "# Notes\n") || !strings.Contains(string(doc), "figures") {
		t.Fatalf("markers not appended:\n%s", doc)
	}
}

func TestRenderTargets(t *testing.T) {
	sample := func(totalUS int64, stmts int) []cycleSample {
		return []cycleSample{{ID: 6, Pilots: 3000, Rows: 7000, Statements: stmts, RoundTrips: int64(stmts) + 2,
			WriteUS: totalUS / 2, CommitUS: 1000, TotalUS: totalUS}}
	}
	ok := &result{Spec: spec{Kind: kindIngest, Dialect: migrations.Postgres, Pilots: 3000}, Samples: sample(80_000, 9),
		MaxInUse: 1, WireConns: 1, PeakRSSKB: 100 << 10,
		Copy: []copySample{{CycleID: 6, US: 20_000, OursUS: 41_000}},
		Old:  []oldSample{{CycleID: 6, US: 2_000_000, Statements: 8000, OursUS: 41_000}}}
	slow := &result{Spec: spec{Kind: kindIngest, Dialect: migrations.SQLite, Pilots: 3000}, Samples: sample(150_000, 20),
		MaxInUse: 1, WireConns: -1, Waits: 2, PeakRSSKB: 200 << 10,
		Old: []oldSample{{CycleID: 6, US: 400_000, Statements: 8000, OursUS: 76_000}}}
	out := render(&machine{}, []*result{ok, slow})
	for _, want := range []string{
		"| 3,000 pilots: full cycle p50 ≤ 100 ms | PostgreSQL 3,000: 80.0 ms; SQLite 3,000: 150.0 ms | **missed** |",
		"| PostgreSQL write+commit ≤ 3× raw COPY | 3,000: 2.05× (41.0 vs 20.0 ms) | met |",
		"| PostgreSQL: ≥ 20× faster than one statement per row | PostgreSQL 3,000: 49× (250 µs a statement the old way) | met |",
		"| SQLite: speed-up vs one statement per row | SQLite 3,000: 5× (50 µs a statement the old way).",
		"| not a target |",
		"| zero pool waits | PostgreSQL 3,000: 0; SQLite 3,000: 2 | **missed** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q\n%s", want, out)
		}
	}
}
