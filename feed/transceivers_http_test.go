package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveStatusWith answers with a status.json listing v3 and, when not nil, transceivers.
func serveStatusWith(v3, transceivers []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data := map[string]any{"v3": v3}
		if transceivers != nil {
			data["transceivers"] = transceivers
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	}
}

// serveModified answers with body and a Last-Modified header of t (none when t is zero).
func serveModified(body []byte, t time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !t.IsZero() {
			w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

func TestHTTPTransceivers(t *testing.T) {
	snap := snapshotAt(t, 0) // update_timestamp baseTime, 3 KB
	at := baseTime
	t1 := transceiversJSON(t, genTransceivers(3))
	t2 := transceiversJSON(t, genTransceivers(4))
	tests := []struct {
		name     string
		rand     float64
		t1       http.HandlerFunc
		limit    int64 // MaxBodyBytes; 0: default
		want     []byte
		wantErr  string // substring; "" for success
		noTrans  bool   // the error wraps ErrNoTransceivers
		tooLarge bool
		stats    HTTPStats // after Fetch then FetchTransceivers
		nextHits [2]int    // hits of /t1 and /t2 after a second FetchTransceivers
	}{
		{name: "first mirror", rand: 0, t1: serve(t1), want: t1,
			stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1}, nextHits: [2]int{2, 0}},
		{name: "second mirror", rand: 0.5, t1: serve(t1), want: t2,
			stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1}, nextHits: [2]int{0, 2}},
		{name: "503 moves to the next mirror", t1: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}, want: t2, stats: HTTPStats{Fetches: 1, Requests: 4, StatusReads: 1, Retries: 1, MirrorSwitches: 1, FailHTTPStatus: 1}, nextHits: [2]int{1, 2}},
		{name: "HTML moves to the next mirror", t1: serve([]byte("<html>down</html>")), want: t2,
			stats: HTTPStats{Fetches: 1, Requests: 4, StatusReads: 1, Retries: 1, MirrorSwitches: 1, FailInvalid: 1}, nextHits: [2]int{1, 2}},
		{name: "an object is not a transceivers file", t1: serve([]byte(`{"callsign":"A"}`)), want: t2,
			stats: HTTPStats{Fetches: 1, Requests: 4, StatusReads: 1, Retries: 1, MirrorSwitches: 1, FailInvalid: 1}, nextHits: [2]int{1, 2}},
		{name: "Last-Modified within 30 s", t1: serveModified(t1, at.Add(-30*time.Second).Truncate(time.Second).Add(time.Second)), want: t1,
			stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1}, nextHits: [2]int{2, 0}},
		{name: "Last-Modified after the snapshot", t1: serveModified(t1, at.Add(time.Hour)), want: t1,
			stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1}, nextHits: [2]int{2, 0}},
		{name: "unreadable Last-Modified ignored", t1: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", "yesterday")
			w.Write(t1)
		}, want: t1, stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1}, nextHits: [2]int{2, 0}},
		{name: "stale Last-Modified", t1: serveModified(t1, at.Add(-2*time.Minute)), wantErr: "2m1s before the snapshot", noTrans: true,
			// The stale mirror is left for the next call.
			stats: HTTPStats{Fetches: 1, Requests: 3, StatusReads: 1, MirrorSwitches: 1}, nextHits: [2]int{1, 1}},
		{name: "too large", t1: serve(append(bytes.Clone(t1), bytes.Repeat([]byte(" "), 5000)...)), limit: 5000,
			want: t2, stats: HTTPStats{Fetches: 1, Requests: 4, StatusReads: 1, Retries: 1, MirrorSwitches: 1, FailTooLarge: 1}, nextHits: [2]int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/status.json", serveStatusWith([]string{fs.URL + "/m1/vatsim-data.json"}, []string{fs.URL + "/t1.json", "t2.json"}))
			fs.handle("/m1/vatsim-data.json", serve(snap))
			fs.handle("/t1.json", tt.t1)
			fs.handle("/t2.json", serve(t2))
			opts := httpOpts(t, newFakeClock(), nil)
			opts.Rand = func() float64 { return tt.rand }
			if tt.limit > 0 {
				opts.MaxBodyBytes = tt.limit
			}
			src := mustSource(t, fs.URL+"/status.json", opts)
			var _ TransceiverSource = src

			mustFetch(t, src)
			got, err := src.FetchTransceivers(t.Context(), at)
			switch {
			case tt.wantErr == "" && (err != nil || !bytes.Equal(got, tt.want)):
				t.Fatalf("FetchTransceivers: %.40q, %v; want %.40q", got, err, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrNoTransceivers) != tt.noTrans):
				t.Fatalf("FetchTransceivers: %v; want an error saying %q (ErrNoTransceivers: %v)", err, tt.wantErr, tt.noTrans)
			}
			if st := src.Stats(); st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
			src.FetchTransceivers(t.Context(), at)
			if h := [2]int{fs.Hits("/t1.json"), fs.Hits("/t2.json")}; h != tt.nextHits {
				t.Errorf("after a second FetchTransceivers, hits of t1, t2 = %v, want %v", h, tt.nextHits)
			}
		})
	}
}

func TestHTTPTransceiversTooLarge(t *testing.T) {
	fs := newFeedServer(t)
	snap := snapshotAt(t, 0)
	fs.handle("/status.json", serveStatusWith([]string{"/d.json"}, []string{"/t.json"}))
	fs.handle("/d.json", serve(snap))
	fs.handle("/t.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip") // small on the wire, over the limit once decompressed
		w.Write(gzipBytes(t, append([]byte("["), append(bytes.Repeat([]byte(" "), len(snap)*2), ']')...)))
	})
	opts := httpOpts(t, newFakeClock(), nil)
	opts.MaxBodyBytes = int64(len(snap))
	src := mustSource(t, fs.URL+"/status.json", opts)
	mustFetch(t, src)
	data, err := src.FetchTransceivers(t.Context(), baseTime)
	var fe *FetchError
	if data != nil || !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Kind != FailTooLarge || errors.Is(err, ErrNoTransceivers) {
		t.Fatalf("got %d bytes, %v; want a too_large failure", len(data), err)
	}
	// One mirror: every attempt asks it again (1 + 3 retries), and the status.json is read again next Fetch.
	if st := src.Stats(); st.FailTooLarge != 4 || st.Retries != 3 || fs.Hits("/t.json") != 4 {
		t.Errorf("stats %+v, %d hits; want 4 too_large attempts", st, fs.Hits("/t.json"))
	}
	mustFetch(t, src)
	if fs.Hits("/status.json") != 2 {
		t.Errorf("status.json read %d times, want again after every transceivers mirror failed", fs.Hits("/status.json"))
	}
}

func TestHTTPTransceiversNone(t *testing.T) {
	snap := snapshotAt(t, 0)
	t1 := transceiversJSON(t, genTransceivers(2))
	tests := []struct {
		name     string
		url      string // path of the source URL
		routes   map[string]http.HandlerFunc
		fetch    bool   // Fetch first
		want     []byte // nil: ErrNoTransceivers
		wantErr  string // what the error says
		requests int64  // made by FetchTransceivers
	}{
		{name: "status.json without data.transceivers", url: "/status.json", fetch: true,
			routes:  map[string]http.HandlerFunc{"/status.json": serveStatusWith([]string{"/d.json"}, nil), "/transceivers-data.json": serve(t1)},
			wantErr: "lists no data.transceivers mirror"},
		{name: "status.json with only unusable entries", url: "/status.json", fetch: true,
			routes:  map[string]http.HandlerFunc{"/status.json": serveStatusWith([]string{"/d.json"}, []string{"", "ftp://x/t.json"})},
			wantErr: "lists no data.transceivers mirror"},
		{name: "before any Fetch", url: "/status.json",
			routes:  map[string]http.HandlerFunc{"/status.json": serveStatusWith([]string{"/d.json"}, []string{"/t.json"}), "/t.json": serve(t1)},
			wantErr: "no snapshot fetched yet"},
		{name: "404 beside a direct data URL", url: "/v3/vatsim-data.json", fetch: true,
			wantErr: "no transceivers file beside the data file", requests: 1},
		{name: "410 beside a direct data URL", url: "/v3/vatsim-data.json", fetch: true,
			routes:  map[string]http.HandlerFunc{"/v3/transceivers-data.json": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) }},
			wantErr: "no transceivers file beside the data file", requests: 1},
		{name: "beside a direct data URL", url: "/v3/vatsim-data.json", fetch: true,
			routes: map[string]http.HandlerFunc{"/v3/transceivers-data.json": serve(t1)}, want: t1, requests: 1},
		{name: "beside a folder's vatsim-data.json", url: "/mirror/", fetch: true,
			routes: map[string]http.HandlerFunc{"/mirror/vatsim-data.json": serve(snap), "/mirror/transceivers-data.json": serve(t1)}, want: t1, requests: 1},
		{name: "a folder's status.json", url: "/mirror/", fetch: true,
			routes: map[string]http.HandlerFunc{"/mirror/status.json": serveStatusWith([]string{"/d.json"}, []string{"t/x.json"}), "/mirror/t/x.json": serve(t1)}, want: t1, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/d.json", serve(snap))
			fs.handle("/v3/vatsim-data.json", serve(snap))
			for p, h := range tt.routes {
				fs.handle(p, h)
			}
			clk := newFakeClock()
			src := mustSource(t, fs.URL+tt.url, httpOpts(t, clk, nil))
			if tt.fetch {
				mustFetch(t, src)
			}
			before := src.Stats()
			got, err := src.FetchTransceivers(t.Context(), baseTime)
			if tt.want != nil {
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("FetchTransceivers: %.40q, %v; want the file", got, err)
				}
			} else if got != nil || !errors.Is(err, ErrNoTransceivers) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FetchTransceivers: %d bytes, %v; want ErrNoTransceivers saying %q", len(got), err, tt.wantErr)
			}
			after := src.Stats()
			if n := after.Requests - before.Requests; n != tt.requests || after.Retries != before.Retries {
				t.Errorf("FetchTransceivers made %d requests and %d retries, want %d and none", n, after.Retries-before.Retries, tt.requests)
			}
		})
	}
}

// A transceivers file missing beside a data file is not asked for again until StatusInterval has passed.
func TestHTTPTransceiversAbsentRemembered(t *testing.T) {
	fs := newFeedServer(t)
	fs.handle("/vatsim-data.json", serve(snapshotAt(t, 0)))
	clk := newFakeClock()
	opts := httpOpts(t, clk, nil)
	opts.StatusInterval = 10 * time.Minute
	src := mustSource(t, fs.URL+"/vatsim-data.json", opts)
	mustFetch(t, src)
	for range 3 {
		if _, err := src.FetchTransceivers(t.Context(), baseTime); !errors.Is(err, ErrNoTransceivers) {
			t.Fatalf("FetchTransceivers: %v, want ErrNoTransceivers", err)
		}
	}
	if n := fs.Hits("/transceivers-data.json"); n != 1 {
		t.Fatalf("asked %d times, want once", n)
	}
	if st := src.Stats(); st.FailHTTPStatus != 1 {
		t.Errorf("stats %+v, want the 404 counted once", st)
	}
	t1 := transceiversJSON(t, genTransceivers(1))
	fs.handle("/transceivers-data.json", serve(t1))
	clk.Advance(10 * time.Minute)
	if got, err := src.FetchTransceivers(t.Context(), baseTime); err != nil || !bytes.Equal(got, t1) {
		t.Fatalf("after StatusInterval: %.40q, %v; want the file that appeared", got, err)
	}
}
