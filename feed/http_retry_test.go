package feed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// answers replies to the requests of one path in turn with the given handlers, the last one for any further
// request.
func answers(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// advancing is clk's Sleep that also moves clk on, as real time would.
func advancing(clk *fakeClock) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		clk.Advance(d)
		return clk.Sleep(ctx, d)
	}
}

func busy(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "busy", code)
	}
}

// TestHTTPRetryAfter: a 429 or 503 with Retry-After (seconds or an HTTP date) is not asked again before that
// time, capped by MaxRetryAfter; beyond the cap, or with no retry left, the Fetch gives up saying why.
func TestHTTPRetryAfter(t *testing.T) {
	now := baseTime.Truncate(time.Second) // HTTP dates have whole seconds
	good := snapshotAt(t, 0)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		retries    int
		maxHint    time.Duration
		wantErr    string // substring; empty: success
		wantSleeps []time.Duration
		wantHits   int
	}{
		{name: "503, seconds", handler: answers(busy(503, "30"), serve(good)), wantSleeps: []time.Duration{30 * time.Second}, wantHits: 2},
		{name: "429, seconds", handler: answers(busy(429, "7"), serve(good)), wantSleeps: []time.Duration{7 * time.Second}, wantHits: 2},
		{name: "503, HTTP date", handler: answers(busy(503, now.Add(45*time.Second).Format(http.TimeFormat)), serve(good)), wantSleeps: []time.Duration{45 * time.Second}, wantHits: 2},
		{name: "date in the past: the backoff", handler: answers(busy(503, now.Add(-time.Hour).Format(http.TimeFormat)), serve(good)), wantSleeps: []time.Duration{50 * time.Millisecond}, wantHits: 2},
		{name: "shorter than the backoff", handler: answers(busy(503, "0"), serve(good)), wantSleeps: []time.Duration{50 * time.Millisecond}, wantHits: 2},
		{name: "unreadable: the backoff", handler: answers(busy(503, "soon"), serve(good)), wantSleeps: []time.Duration{50 * time.Millisecond}, wantHits: 2},
		{name: "500 ignores it", handler: answers(busy(500, "30"), serve(good)), wantSleeps: []time.Duration{50 * time.Millisecond}, wantHits: 2},
		{name: "several in a row", handler: answers(busy(503, "10"), busy(429, "20"), serve(good)), wantSleeps: []time.Duration{10 * time.Second, 20 * time.Second}, wantHits: 3},
		{name: "exactly the cap", handler: answers(busy(503, "60"), serve(good)), wantSleeps: []time.Duration{time.Minute}, wantHits: 2},
		{name: "above the cap", handler: answers(busy(503, "61"), serve(good)), wantErr: "asked not to be requested again for 1m1s (Retry-After), more than the 1m0s allowed", wantHits: 1},
		{name: "far above the cap", handler: answers(busy(503, "99999999999999999999"), serve(good)), wantErr: "more than the 1m0s allowed", wantHits: 1},
		{name: "a larger cap", maxHint: 5 * time.Minute, handler: answers(busy(503, "120"), serve(good)), wantSleeps: []time.Duration{2 * time.Minute}, wantHits: 2},
		{name: "no retry left", retries: -1, handler: answers(busy(503, "30"), serve(good)), wantErr: "no retry is left to wait the 30s the last asked for (Retry-After)", wantHits: 1},
		{name: "retries used up", retries: 1, handler: answers(busy(503, "5"), busy(503, "5"), serve(good)), wantErr: "2 attempts failed, and no retry is left", wantSleeps: []time.Duration{5 * time.Second}, wantHits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/d.json", tt.handler)
			clk := &fakeClock{now: now}
			opts := httpOpts(t, clk, nil)
			opts.Retries = tt.retries
			opts.MaxRetryAfter = tt.maxHint
			src := mustSource(t, fs.URL+"/d.json", opts)
			data, err := src.Fetch(t.Context())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Fetch: %v", err)
			case tt.wantErr == "" && string(data) != string(good):
				t.Fatalf("Fetch returned the wrong body")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Fetch error %v, want one saying %q", err, tt.wantErr)
			}
			if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("waits %v, want %v", got, tt.wantSleeps)
			}
			if got := fs.Hits("/d.json"); got != tt.wantHits {
				t.Errorf("%d requests, want %d", got, tt.wantHits)
			}
		})
	}
}

// TestHTTPRetryAfterPerURL: the wait is the answering URL's: another mirror is tried at once, and the hint
// still holds for the next Fetch.
func TestHTTPRetryAfterPerURL(t *testing.T) {
	t.Run("another mirror is tried at once, the busy one only after its wait", func(t *testing.T) {
		fs := newFeedServer(t)
		fs.handle("/status.json", serveStatus(fs.URL+"/m1.json", fs.URL+"/m2.json"))
		fs.handle("/m1.json", answers(busy(503, "30"), serve(snapshotAt(t, 0))))
		fs.handle("/m2.json", status500)
		clk := newFakeClock()
		opts := httpOpts(t, clk, nil) // Rand 0: m1 first
		opts.Sleep = advancing(clk)
		src := mustSource(t, fs.URL+"/status.json", opts)
		mustFetch(t, src)
		// m1 503 → m2 after the 50 ms backoff → 500, every mirror failed: backoff 100 ms, status.json read again
		// → m1 again, once the rest of its 30 s are over.
		if got, want := fmt.Sprint(clk.Sleeps()), fmt.Sprint([]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 29*time.Second + 850*time.Millisecond}); got != want {
			t.Errorf("waits %v, want %v", got, want)
		}
		if fs.Hits("/m1.json") != 2 || fs.Hits("/m2.json") != 1 {
			t.Errorf("m1 asked %d times, m2 %d; want 2 and 1", fs.Hits("/m1.json"), fs.Hits("/m2.json"))
		}
	})
	t.Run("the next Fetch waits too", func(t *testing.T) {
		fs := newFeedServer(t)
		fs.handle("/d.json", answers(busy(429, "40"), serve(snapshotAt(t, 0))))
		clk := newFakeClock()
		opts := httpOpts(t, clk, nil)
		opts.Retries = -1
		src := mustSource(t, fs.URL+"/d.json", opts)
		if _, err := src.Fetch(t.Context()); err == nil {
			t.Fatal("the first Fetch succeeded")
		}
		clk.Advance(15 * time.Second) // the next poll
		mustFetch(t, src)
		if got, want := fmt.Sprint(clk.Sleeps()), fmt.Sprint([]time.Duration{25 * time.Second}); got != want {
			t.Errorf("waits %v, want %v", got, want)
		}
	})
	t.Run("a busy status.json does not hold up known mirrors", func(t *testing.T) {
		fs := newFeedServer(t)
		fs.handle("/status.json", answers(serveStatus(fs.URL+"/m1.json"), busy(503, "7200")))
		fs.handle("/m1.json", serve(snapshotAt(t, 0)))
		clk := newFakeClock()
		src := mustSource(t, fs.URL+"/status.json", httpOpts(t, clk, nil))
		mustFetch(t, src)
		for range 6 { // due at 1 h: read, 503 for 2 h; then due every 20 min, but left alone
			clk.Advance(20 * time.Minute) // status.json due again (a failed read is retried a minute later)
			mustFetch(t, src)
		}
		if fs.Hits("/status.json") != 2 || fs.Hits("/m1.json") != 7 {
			t.Errorf("status.json read %d times, mirror %d; want 2 (then it asked for 2 h) and 7", fs.Hits("/status.json"), fs.Hits("/m1.json"))
		}
		if got := clk.Sleeps(); len(got) != 0 {
			t.Errorf("waits %v, want none", got)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"30", 30 * time.Second, true},
		{" 0 ", 0, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"Fri, 02 Jan 2026 03:05:35 GMT", 90 * time.Second, true},
		{"Friday, 02-Jan-26 03:05:35 GMT", 90 * time.Second, true}, // RFC 850, which RFC 9110 still accepts
		{strconv.FormatUint(1<<63, 10), time.Duration(1<<63-1) / time.Second * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestHTTPTruncatedGzip: a gzip body the server cut short is the mirror's invalid answer (retrying the file
// will not mend it), not a network failure; a connection dropped mid-body still is one.
func TestHTTPTruncatedGzip(t *testing.T) {
	zipped := gzipBytes(t, snapshotAt(t, 0))
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantKind FailureKind
		wantIn   string
	}{
		{"cut in the deflate data", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped[:len(zipped)/2])
		}, FailInvalid, "body truncated"},
		{"trailer missing", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped[:len(zipped)-8])
		}, FailInvalid, "body truncated"},
		{"half a trailer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped[:len(zipped)-3])
		}, FailInvalid, "body truncated"},
		{"header cut", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped[:6])
		}, FailInvalid, "body truncated"},
		{"cut, without Content-Encoding", func(w http.ResponseWriter, r *http.Request) {
			w.Write(zipped[:len(zipped)/2])
		}, FailInvalid, "body truncated"},
		{"cut, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped[:len(zipped)/3])
			http.NewResponseController(w).Flush()
			w.Write(zipped[len(zipped)/3 : len(zipped)/2])
		}, FailInvalid, "body truncated"},
		{"connection dropped mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(zipped)))
			w.Write(zipped[:len(zipped)/2]) // the server closes the connection short of Content-Length
		}, FailNetwork, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/d.json", tt.handler)
			opts := httpOpts(t, newFakeClock(), nil)
			opts.Retries = -1
			src := mustSource(t, fs.URL+"/d.json", opts)
			_, err := src.Fetch(t.Context())
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Kind != tt.wantKind || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("Fetch error %v, want a %s error saying %q", err, tt.wantKind, tt.wantIn)
			}
			st := src.Stats()
			if got := map[FailureKind]int64{FailInvalid: st.FailInvalid, FailNetwork: st.FailNetwork}[tt.wantKind]; got != 1 || st.Failures() != 1 {
				t.Errorf("stats %+v, want one %s failure", st, tt.wantKind)
			}
		})
	}
}
