package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock drives status re-reads and records backoff waits without waiting.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: baseTime} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// syncBuffer collects log output from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// feedServer is a VATSIM-like network on one httptest server: routes by path, counting hits.
type feedServer struct {
	*httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
	enc    map[string]string // Accept-Encoding of the last request, by path
}

func newFeedServer(t *testing.T) *feedServer {
	fs := &feedServer{routes: map[string]http.HandlerFunc{}, hits: map[string]int{}, enc: map[string]string{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		fs.enc[r.URL.Path] = r.Header.Get("Accept-Encoding")
		h := fs.routes[r.URL.Path]
		fs.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) handle(path string, h http.HandlerFunc) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.routes[path] = h
}

func (fs *feedServer) Hits(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

// serve answers with body, as JSON.
func serve(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

// serveStatus answers with a status.json listing urls under data.v3.
func serveStatus(urls ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"data":  map[string]any{"v3": urls, "transceivers": []string{"https://example.invalid/t.json"}},
			"user":  []string{"https://example.invalid/user"},
			"metar": []string{"https://example.invalid/metar"},
		})
	}
}

func status500(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "boom", http.StatusInternalServerError)
}

// hang answers only when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// snapshotAt is a small generated snapshot whose update_timestamp identifies it.
func snapshotAt(t testing.TB, sec int) []byte {
	return genData(t, baseTime.Add(time.Duration(sec)*time.Second))
}

func httpOpts(t *testing.T, clk *fakeClock, logs *syncBuffer) HTTPOptions {
	return HTTPOptions{
		Timeout:     5 * time.Second,
		BackoffBase: 100 * time.Millisecond,
		BackoffMax:  time.Second,
		Logger:      testLogger(t, logs),
		Now:         clk.Now,
		Sleep:       clk.Sleep,
		Rand:        func() float64 { return 0 },
	}
}

func mustSource(t *testing.T, url string, opts HTTPOptions) *HTTPSource {
	t.Helper()
	s, err := NewHTTPSource(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustFetch(t *testing.T, s Source) []byte {
	t.Helper()
	data, err := s.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return data
}

func TestHTTPStatusPicksMirror(t *testing.T) {
	tests := []struct {
		name    string
		rand    float64
		listed  func(base string) []string
		want    string // path of the mirror used
		unknown []string
	}{
		{name: "first of two", rand: 0, listed: func(b string) []string { return []string{b + "/m1/data.json", b + "/m2/data.json"} }, want: "/m1/data.json"},
		{name: "second of two", rand: 0.5, listed: func(b string) []string { return []string{b + "/m1/data.json", b + "/m2/data.json"} }, want: "/m2/data.json"},
		{name: "last of three", rand: 0.999, listed: func(b string) []string {
			return []string{b + "/m1/data.json", b + "/m2/data.json", b + "/m3/data.json"}
		}, want: "/m3/data.json"},
		{name: "relative URL", rand: 0, listed: func(b string) []string { return []string{"m2/data.json"} }, want: "/m2/data.json"},
		{name: "unusable entries skipped", rand: 0, listed: func(b string) []string { return []string{"", "ftp://x/data.json", "mailto:x@y", b + "/m3/data.json"} }, want: "/m3/data.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			bodies := map[string][]byte{}
			for i, m := range []string{"/m1/data.json", "/m2/data.json", "/m3/data.json"} {
				bodies[m] = snapshotAt(t, i)
				fs.handle(m, serve(bodies[m]))
			}
			fs.handle("/status.json", serveStatus(tt.listed(fs.URL)...))
			opts := httpOpts(t, newFakeClock(), nil)
			opts.Rand = func() float64 { return tt.rand }
			src := mustSource(t, fs.URL+"/status.json", opts)

			for range 2 {
				if got := mustFetch(t, src); !bytes.Equal(got, bodies[tt.want]) {
					t.Fatalf("got %.80s, want the snapshot of %s", got, tt.want)
				}
			}
			for m := range bodies {
				want := 0
				if m == tt.want {
					want = 2
				}
				if got := fs.Hits(m); got != want {
					t.Errorf("%s hit %d times, want %d", m, got, want)
				}
			}
			st := src.Stats()
			if fs.Hits("/status.json") != 1 || st.StatusReads != 1 || st.Requests != 3 || st.Fetches != 2 || st.Failures() != 0 {
				t.Errorf("status hits %d, stats %+v; want one status read, 3 requests, 2 fetches, no failure", fs.Hits("/status.json"), st)
			}
		})
	}
}

func TestHTTPFailover(t *testing.T) {
	good := snapshotAt(t, 0)
	tests := []struct {
		name    string
		first   http.HandlerFunc
		kind    FailureKind
		timeout time.Duration
	}{
		{name: "HTTP 500", first: status500, kind: FailHTTPStatus},
		{name: "HTTP 404", first: http.NotFound, kind: FailHTTPStatus},
		{name: "times out", first: hang, kind: FailTimeout, timeout: 200 * time.Millisecond},
		{name: "hangs up", first: hangUp, kind: FailNetwork},
		{name: "HTML instead of JSON", first: serve([]byte("<html><body>maintenance</body></html>")), kind: FailInvalid},
		{name: "truncated JSON", first: serve(good[:len(good)-40]), kind: FailInvalid},
		{name: "JSON but not a snapshot", first: serve([]byte(`{"general":{"version":2}}`)), kind: FailInvalid},
		{name: "empty body", first: serve(nil), kind: FailInvalid},
		{name: "Content-Encoding gzip but plain body", first: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(good)
		}, kind: FailInvalid},
		{name: "corrupt gzip", first: func(w http.ResponseWriter, r *http.Request) {
			z := gzipBytes(t, good)
			z[len(z)/2] ^= 0xff
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(z)
		}, kind: FailInvalid},
		{name: "unsupported Content-Encoding", first: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "br")
			w.Write(good)
		}, kind: FailInvalid},
		{name: "too large", first: serve(append(bytes.Clone(good), bytes.Repeat([]byte(" "), 1<<20)...)), kind: FailTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/status.json", serveStatus(fs.URL+"/m1/data.json", fs.URL+"/m2/data.json"))
			fs.handle("/m1/data.json", tt.first)
			fs.handle("/m2/data.json", serve(good))
			clk, logs := newFakeClock(), &syncBuffer{}
			opts := httpOpts(t, clk, logs)
			opts.MaxBodyBytes = int64(len(good)) + 1000
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			src := mustSource(t, fs.URL+"/status.json", opts)

			if got := mustFetch(t, src); !bytes.Equal(got, good) {
				t.Fatalf("got %.80q, want the second mirror's snapshot", got)
			}
			st := src.Stats()
			want := HTTPStats{Fetches: 1, Requests: 3, Retries: 1, MirrorSwitches: 1, StatusReads: 1}
			switch tt.kind {
			case FailNetwork:
				want.FailNetwork = 1
			case FailTimeout:
				want.FailTimeout = 1
			case FailHTTPStatus:
				want.FailHTTPStatus = 1
			case FailTooLarge:
				want.FailTooLarge = 1
			case FailInvalid:
				want.FailInvalid = 1
			}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			if n := len(clk.Sleeps()); n != 1 {
				t.Errorf("%d backoff waits, want 1", n)
			}
			log := logs.String()
			for _, s := range []string{"request failed", "kind=" + string(tt.kind), "/m1/data.json", "switching mirror"} {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %q:\n%s", s, log)
				}
			}

			// The working mirror is kept: the failed one is not asked again. (Its hit count can be 2 already: the
			// transport itself retries a GET once when the server hangs up on a reused connection.)
			m1 := fs.Hits("/m1/data.json")
			mustFetch(t, src)
			if fs.Hits("/m1/data.json") != m1 || fs.Hits("/m2/data.json") != 2 {
				t.Errorf("mirror hits m1=%d (was %d) m2=%d, want m1 unchanged and m2=2", fs.Hits("/m1/data.json"), m1, fs.Hits("/m2/data.json"))
			}
		})
	}
}

func TestHTTPStatusReread(t *testing.T) {
	fs := newFeedServer(t)
	s1, s2 := snapshotAt(t, 0), snapshotAt(t, 15)
	fs.handle("/m1/data.json", serve(s1))
	fs.handle("/m2/data.json", serve(s2))
	fs.handle("/status.json", serveStatus(fs.URL+"/m1/data.json"))
	clk := newFakeClock()
	opts := httpOpts(t, clk, nil)
	opts.StatusInterval = time.Hour
	src := mustSource(t, fs.URL+"/status.json", opts)

	steps := []struct {
		advance     time.Duration
		newStatus   http.HandlerFunc // status.json from now on
		want        []byte
		statusHits  int
		statusReads int64
	}{
		{want: s1, statusHits: 1, statusReads: 1},
		{advance: 59 * time.Minute, newStatus: serveStatus(fs.URL + "/m2/data.json"), want: s1, statusHits: 1, statusReads: 1},
		{advance: time.Minute, want: s2, statusHits: 2, statusReads: 2},
		{advance: 30 * time.Minute, want: s2, statusHits: 2, statusReads: 2},
		// status.json fails: the known mirror stays in use, and status.json is tried again a minute later.
		{advance: 30 * time.Minute, newStatus: status500, want: s2, statusHits: 3, statusReads: 2},
		{advance: 59 * time.Second, want: s2, statusHits: 3, statusReads: 2},
		{advance: time.Second, newStatus: serveStatus(fs.URL + "/m1/data.json"), want: s1, statusHits: 4, statusReads: 3},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if st.newStatus != nil {
			fs.handle("/status.json", st.newStatus)
		}
		if got := mustFetch(t, src); !bytes.Equal(got, st.want) {
			t.Errorf("step %d: got the wrong snapshot", i)
		}
		if got := fs.Hits("/status.json"); got != st.statusHits {
			t.Errorf("step %d: status.json read %d times, want %d", i, got, st.statusHits)
		}
		if got := src.Stats().StatusReads; got != st.statusReads {
			t.Errorf("step %d: StatusReads = %d, want %d", i, got, st.statusReads)
		}
	}
}

// When every mirror has failed in a row the list may be stale: status.json is read again at once.
func TestHTTPAllMirrorsFailedRereadsStatus(t *testing.T) {
	fs := newFeedServer(t)
	good := snapshotAt(t, 0)
	fs.handle("/m1/data.json", status500)
	fs.handle("/m2/data.json", status500)
	fs.handle("/m3/data.json", serve(good))
	first := serveStatus(fs.URL+"/m1/data.json", fs.URL+"/m2/data.json")
	fs.handle("/status.json", func(w http.ResponseWriter, r *http.Request) {
		first(w, r)
		fs.handle("/status.json", serveStatus(fs.URL+"/m3/data.json")) // the next read lists the new mirror
	})
	src := mustSource(t, fs.URL+"/status.json", httpOpts(t, newFakeClock(), nil))

	if got := mustFetch(t, src); !bytes.Equal(got, good) {
		t.Fatalf("got the wrong snapshot")
	}
	st := src.Stats()
	if fs.Hits("/status.json") != 2 || st.StatusReads != 2 || st.FailHTTPStatus != 2 || st.Retries != 2 {
		t.Errorf("status hits %d, stats %+v; want 2 status reads, 2 HTTP failures, 2 retries", fs.Hits("/status.json"), st)
	}
}

func TestHTTPStatusUnusable(t *testing.T) {
	tests := []struct {
		name   string
		status http.HandlerFunc
		kind   FailureKind
	}{
		{"HTTP 503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "x", 503) }, FailHTTPStatus},
		{"not JSON", serve([]byte("<html>")), FailInvalid},
		{"no mirror", serveStatus(), FailInvalid},
		{"only unusable mirrors", serveStatus("ftp://x/y.json", "::"), FailInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/status.json", tt.status)
			opts := httpOpts(t, newFakeClock(), nil)
			opts.Retries = 2
			src := mustSource(t, fs.URL+"/status.json", opts)
			_, err := src.Fetch(t.Context())
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Kind != tt.kind || !strings.Contains(err.Error(), "3 attempts failed") {
				t.Fatalf("Fetch error %v, want a %s FetchError after 3 attempts", err, tt.kind)
			}
			if st := src.Stats(); st.Failures() != 3 || st.Requests != 3 || st.Retries != 2 {
				t.Errorf("stats %+v, want 3 requests, 3 failures, 2 retries", st)
			}
		})
	}
}

func TestHTTPGzip(t *testing.T) {
	plain := snapshotAt(t, 0)
	zipped := gzipBytes(t, plain)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Content-Encoding gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped)
		}},
		{"Content-Encoding x-gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "x-gzip")
			w.Write(zipped)
		}},
		{"gzip body without Content-Encoding", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(zipped)
		}},
		{"plain", serve(plain)},
		{"plain, chunked", func(w http.ResponseWriter, r *http.Request) {
			for c := range slices.Chunk(plain, 100) {
				w.Write(c)
				http.NewResponseController(w).Flush()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/vatsim-data.json", tt.handler)
			src := mustSource(t, fs.URL+"/vatsim-data.json", httpOpts(t, newFakeClock(), nil))
			if got := mustFetch(t, src); !bytes.Equal(got, plain) {
				t.Fatalf("got %.60q, want the plain snapshot", got)
			}
			fs.mu.Lock()
			enc := fs.enc["/vatsim-data.json"]
			fs.mu.Unlock()
			if enc != "gzip" {
				t.Errorf("Accept-Encoding = %q, want gzip", enc)
			}
		})
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	body := snapshotAt(t, 0)
	n := int64(len(body))
	big := mustMarshal(t, genSnapshot(baseTime, 2000, 0, 0)) // compresses far below its size
	tests := []struct {
		name    string
		limit   int64
		handler http.HandlerFunc
		wantErr bool
	}{
		{"exactly the limit", n, serve(body), false},
		{"one byte over, Content-Length", n - 1, serve(body), true},
		{"one byte over, chunked", n - 1, func(w http.ResponseWriter, r *http.Request) {
			for c := range slices.Chunk(body, 100) {
				w.Write(c)
				http.NewResponseController(w).Flush()
			}
		}, true},
		{"gzip small, content over", int64(len(big)) - 1, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBytes(t, big))
		}, true},
		{"gzip at the limit", int64(len(big)), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBytes(t, big))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/d.json", tt.handler)
			opts := httpOpts(t, newFakeClock(), nil)
			opts.MaxBodyBytes = tt.limit
			opts.Retries = -1
			src := mustSource(t, fs.URL+"/d.json", opts)
			data, err := src.Fetch(t.Context())
			if !tt.wantErr {
				if err != nil || int64(len(data)) != tt.limit {
					t.Fatalf("Fetch: %d bytes, error %v; want %d bytes", len(data), err, tt.limit)
				}
				return
			}
			var fe *FetchError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Kind != FailTooLarge || data != nil {
				t.Fatalf("Fetch: %d bytes, error %v; want a too_large error and no data", len(data), err)
			}
			if st := src.Stats(); st.FailTooLarge != 1 || st.Requests != 1 || st.Retries != 0 {
				t.Errorf("stats %+v, want one request failing too_large and no retry (Retries: -1)", st)
			}
		})
	}
}

func TestHTTPRetries(t *testing.T) {
	tests := []struct {
		name       string
		retries    int // option
		failFirst  int // requests answered 500 before the snapshot
		rand       float64
		wantErr    bool
		wantSleeps []time.Duration // base 100 ms, max 1 s
	}{
		{name: "no failure", failFirst: 0, wantSleeps: nil},
		{name: "two failures, default retries", failFirst: 2, wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "three failures, default retries", failFirst: 3, wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "four failures, default retries", failFirst: 4, wantErr: true, wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "retries disabled", retries: -1, failFirst: 1, wantErr: true},
		{name: "backoff capped", retries: 6, failFirst: 6, wantSleeps: []time.Duration{50, 100, 200, 400, 500, 500}},
		{name: "jitter", retries: 2, failFirst: 2, rand: 0.5, wantSleeps: []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "backoff capped" {
				for i := range tt.wantSleeps {
					tt.wantSleeps[i] *= time.Millisecond
				}
			}
			fs := newFeedServer(t)
			good := snapshotAt(t, 0)
			var mu sync.Mutex
			calls := 0
			fs.handle("/d.json", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				fail := calls <= tt.failFirst
				mu.Unlock()
				if fail {
					status500(w, r)
					return
				}
				w.Write(good)
			})
			clk := newFakeClock()
			opts := httpOpts(t, clk, nil)
			opts.Retries = tt.retries
			opts.Rand = func() float64 { return tt.rand }
			src := mustSource(t, fs.URL+"/d.json", opts)
			data, err := src.Fetch(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Fetch error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !bytes.Equal(data, good) {
				t.Errorf("got the wrong body")
			}
			attempts := min(tt.failFirst+1, max(cmpOr(tt.retries, DefaultRetries), 0)+1)
			st := src.Stats()
			if st.Requests != int64(attempts) || st.Retries != int64(attempts-1) || st.FailHTTPStatus != int64(min(tt.failFirst, attempts)) || st.MirrorSwitches != 0 {
				t.Errorf("stats %+v, want %d requests, %d retries, no mirror switch (one mirror)", st, attempts, attempts-1)
			}
			if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("backoff waits %v, want %v", got, tt.wantSleeps)
			}
		})
	}
}

func TestHTTPContext(t *testing.T) {
	t.Run("cancelled before Fetch", func(t *testing.T) {
		fs := newFeedServer(t)
		fs.handle("/d.json", serve(snapshotAt(t, 0)))
		src := mustSource(t, fs.URL+"/d.json", httpOpts(t, newFakeClock(), nil))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := src.Fetch(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch error %v, want context.Canceled", err)
		}
		if st := src.Stats(); st.Requests != 0 {
			t.Errorf("%d requests sent with a cancelled context", st.Requests)
		}
	})
	t.Run("cancelled during a request", func(t *testing.T) {
		fs := newFeedServer(t)
		ctx, cancel := context.WithCancel(t.Context())
		fs.handle("/d.json", func(w http.ResponseWriter, r *http.Request) {
			cancel()
			hang(w, r)
		})
		src := mustSource(t, fs.URL+"/d.json", httpOpts(t, newFakeClock(), nil))
		if _, err := src.Fetch(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch error %v, want context.Canceled", err)
		}
		if st := src.Stats(); st.Failures() != 0 || st.Retries != 0 {
			t.Errorf("stats %+v: a cancelled request is neither a failure nor retried", st)
		}
	})
	t.Run("cancelled during backoff (real timer)", func(t *testing.T) {
		fs := newFeedServer(t)
		ctx, cancel := context.WithCancel(t.Context())
		fs.handle("/d.json", func(w http.ResponseWriter, r *http.Request) {
			status500(w, r)
			cancel() // the backoff below is an hour: only the cancellation can end it
		})
		opts := httpOpts(t, newFakeClock(), nil)
		opts.Sleep = nil
		opts.BackoffBase, opts.BackoffMax = time.Hour, time.Hour
		src := mustSource(t, fs.URL+"/d.json", opts)
		if _, err := src.Fetch(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch error %v, want context.Canceled", err)
		}
	})
}

func TestHTTPBaseURL(t *testing.T) {
	data := snapshotAt(t, 0)
	other := snapshotAt(t, 15)
	tests := []struct {
		name       string
		path       string // source URL path
		status     http.HandlerFunc
		want       []byte
		wantHits   map[string]int
		wantStatus int64 // StatusReads
	}{
		{
			name: "status.json in the folder", path: "/mirror/",
			status:   serveStatus("/feeds/other.json"),
			want:     other,
			wantHits: map[string]int{"/mirror/status.json": 1, "/mirror/vatsim-data.json": 0, "/feeds/other.json": 1}, wantStatus: 1,
		},
		{
			name: "no status.json: vatsim-data.json", path: "/mirror/",
			want:     data,
			wantHits: map[string]int{"/mirror/status.json": 1, "/mirror/vatsim-data.json": 1},
		},
		{
			name: "folder without a trailing slash", path: "/mirror",
			want:     data,
			wantHits: map[string]int{"/mirror/status.json": 1, "/mirror/vatsim-data.json": 1},
		},
		{
			name: "status.json unusable: vatsim-data.json", path: "/mirror/",
			status:   serve([]byte(`{"data":{}}`)),
			want:     data,
			wantHits: map[string]int{"/mirror/status.json": 1, "/mirror/vatsim-data.json": 1},
		},
		{
			name: "server root", path: "",
			want:     data,
			wantHits: map[string]int{"/status.json": 1, "/vatsim-data.json": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t)
			fs.handle("/mirror/vatsim-data.json", serve(data))
			fs.handle("/vatsim-data.json", serve(data))
			fs.handle("/feeds/other.json", serve(other))
			if tt.status != nil {
				fs.handle("/mirror/status.json", tt.status)
			}
			clk := newFakeClock()
			src := mustSource(t, fs.URL+tt.path, httpOpts(t, clk, nil))
			if got := mustFetch(t, src); !bytes.Equal(got, tt.want) {
				t.Fatalf("got the wrong snapshot")
			}
			for p, n := range tt.wantHits {
				if got := fs.Hits(p); got != n {
					t.Errorf("%s hit %d times, want %d", p, got, n)
				}
			}
			if got := src.Stats().StatusReads; got != tt.wantStatus {
				t.Errorf("StatusReads = %d, want %d", got, tt.wantStatus)
			}
			if st := src.Stats(); st.Retries != 0 {
				t.Errorf("falling back cost %d retries, want none", st.Retries)
			}
		})
	}

	t.Run("status.json is looked for again after the interval", func(t *testing.T) {
		fs := newFeedServer(t)
		fs.handle("/mirror/vatsim-data.json", serve(data))
		fs.handle("/feeds/other.json", serve(other))
		clk := newFakeClock()
		src := mustSource(t, fs.URL+"/mirror/", httpOpts(t, clk, nil))
		mustFetch(t, src)
		clk.Advance(59 * time.Minute)
		mustFetch(t, src)
		if got := fs.Hits("/mirror/status.json"); got != 1 {
			t.Errorf("status.json asked %d times within the interval, want 1", got)
		}
		fs.handle("/mirror/status.json", serveStatus("/feeds/other.json"))
		clk.Advance(time.Minute)
		if got := mustFetch(t, src); !bytes.Equal(got, other) {
			t.Errorf("the status.json that appeared is not used")
		}
	})
}

func TestHTTPDirectURL(t *testing.T) {
	for _, path := range []string{"/v3/vatsim-data.json", "/recorded/x.json.gz"} {
		t.Run(path, func(t *testing.T) {
			fs := newFeedServer(t)
			data := snapshotAt(t, 0)
			fs.handle(path, serve(data))
			fs.handle("/v3/status.json", serveStatus("/elsewhere.json"))
			src := mustSource(t, fs.URL+path, httpOpts(t, newFakeClock(), nil))
			if got := mustFetch(t, src); !bytes.Equal(got, data) {
				t.Fatalf("got the wrong snapshot")
			}
			if fs.Hits("/v3/status.json")+fs.Hits("/recorded/status.json") != 0 || src.Stats().Requests != 1 {
				t.Errorf("a direct URL made %d requests, want only the data file", src.Stats().Requests)
			}
		})
	}
}

// The ingest loop never fetches concurrently, but a second caller (a health check) must not break the source.
func TestHTTPConcurrentFetch(t *testing.T) {
	fs := newFeedServer(t)
	data := snapshotAt(t, 0)
	fs.handle("/m1/data.json", serve(data))
	fs.handle("/status.json", serveStatus(fs.URL+"/m1/data.json"))
	src := mustSource(t, fs.URL+"/status.json", httpOpts(t, newFakeClock(), nil))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := src.Fetch(t.Context())
			if err == nil && !bytes.Equal(got, data) {
				err = errors.New("wrong snapshot")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if st := src.Stats(); st.StatusReads != 1 || st.Requests != 9 || st.Fetches != 8 {
		t.Errorf("stats %+v, want status read once and 9 requests", st)
	}
}

func TestHTTPStaleSnapshotCounted(t *testing.T) {
	fs := newFeedServer(t)
	newer, older := snapshotAt(t, 15), snapshotAt(t, 0)
	fs.handle("/d.json", serve(newer))
	src := mustSource(t, fs.URL+"/d.json", httpOpts(t, newFakeClock(), nil))
	mustFetch(t, src)
	fs.handle("/d.json", serve(older))
	if got := mustFetch(t, src); !bytes.Equal(got, older) {
		t.Errorf("the older snapshot was not returned")
	}
	if st := src.Stats(); st.Stale != 1 {
		t.Errorf("Stale = %d, want 1", st.Stale)
	}
}

func TestNewHTTPSource(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
		want    string // String()
	}{
		{url: DefaultStatusURL, want: "http https://status.vatsim.net/status.json"},
		{url: "http://user:secret@host/x.json", want: "http http://user:xxxxx@host/x.json"},
		{url: "", wantErr: true},
		{url: "ftp://host/status.json", wantErr: true},
		{url: "/relative/status.json", wantErr: true},
		{url: "http:///x.json", wantErr: true},
		{url: "http://host/%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := NewHTTPSource(tt.url, HTTPOptions{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if s.String() != tt.want {
				t.Errorf("String() = %q, want %q", s.String(), tt.want)
			}
		})
	}
}

func TestHTTPErrorsHidePassword(t *testing.T) {
	fs := newFeedServer(t)
	fs.handle("/d.json", status500)
	logs := &syncBuffer{}
	opts := httpOpts(t, newFakeClock(), logs)
	opts.Retries = -1
	u := strings.Replace(fs.URL, "http://", "http://user:secret@", 1) + "/d.json"
	src := mustSource(t, u, opts)
	_, err := src.Fetch(t.Context())
	if err == nil {
		t.Fatal("Fetch succeeded against a 500")
	}
	if strings.Contains(err.Error(), "secret") || strings.Contains(logs.String(), "secret") {
		t.Errorf("the password leaks: %v\n%s", err, logs)
	}
}
