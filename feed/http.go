package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultStatusURL is VATSIM's live entry point: it lists the data feed mirrors.
const DefaultStatusURL = "https://status.vatsim.net/status.json"

// Defaults of HTTPOptions.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultRetries        = 3
	DefaultBackoffBase    = 500 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
	DefaultStatusInterval = time.Hour
	DefaultMaxRetryAfter  = time.Minute
)

// maxStatusBytes bounds status.json, which is well under 10 KB.
const maxStatusBytes = 1 << 20

// HTTPOptions configures an HTTPSource. Zero values select the defaults.
type HTTPOptions struct {
	Client         *http.Client  // nil: a client of its own (no overall timeout: Timeout bounds each request)
	Timeout        time.Duration // per request, body included; default 10 s
	MaxBodyBytes   int64         // per body once decompressed; default DefaultMaxBytes (64 MiB)
	Retries        int           // further attempts per Fetch after a failure; 0: default 3, negative: none
	BackoffBase    time.Duration // first retry waits about this long, doubling up to BackoffMax; default 500 ms
	BackoffMax     time.Duration // default 10 s
	StatusInterval time.Duration // how often status.json is read again; default 1 h
	// MaxRetryAfter caps how long a Fetch waits for a URL that answered 429 or 503 with Retry-After (seconds
	// or an HTTP date): it waits at least that long before asking that URL again, and gives up at once when
	// the server asks for longer; default 1 min.
	MaxRetryAfter time.Duration
	UserAgent     string       // default "vatsector"
	Logger        *slog.Logger // nil: discard

	// For tests: the clock that decides when status.json is due, the wait between retries (it must return
	// ctx's error if ctx ends first), and the random source in [0, 1) for mirror choice and jitter.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// FailureKind classifies a failed request, for logs and HTTPStats.
type FailureKind string

// Failure kinds.
const (
	FailNetwork    FailureKind = "network"     // connection refused, reset, DNS, ...
	FailTimeout    FailureKind = "timeout"     // the per-request timeout expired
	FailHTTPStatus FailureKind = "http_status" // a status other than 200
	FailTooLarge   FailureKind = "too_large"   // the body exceeded MaxBodyBytes (see ErrTooLarge)
	FailInvalid    FailureKind = "invalid"     // bad or truncated gzip, not JSON, not a v3 snapshot, no mirror in status.json
)

// FetchError is one failed request.
type FetchError struct {
	Kind       FailureKind
	URL        string // redacted of any password
	Err        error
	RetryAfter time.Duration // what a 429 or 503 asked for in Retry-After; 0 without one
}

func (e *FetchError) Error() string { return fmt.Sprintf("feed: GET %s: %s: %v", e.URL, e.Kind, e.Err) }
func (e *FetchError) Unwrap() error { return e.Err }

// HTTPStats is a snapshot of an HTTPSource's counters, for metrics.
type HTTPStats struct {
	Fetches        int64 // Fetch calls
	Requests       int64 // HTTP requests sent (status.json and data)
	Retries        int64 // attempts after the first within a Fetch
	MirrorSwitches int64 // moves to another data mirror after a failure
	StatusReads    int64 // successful status.json reads
	Stale          int64 // snapshots older than one already returned (a lagging mirror); returned all the same
	FailNetwork    int64
	FailTimeout    int64
	FailHTTPStatus int64
	FailTooLarge   int64
	FailInvalid    int64
}

// Failures is the total of the failure counters.
func (s HTTPStats) Failures() int64 {
	return s.FailNetwork + s.FailTimeout + s.FailHTTPStatus + s.FailTooLarge + s.FailInvalid
}

type httpCounters struct {
	fetches, requests, retries, switches, statusReads, stale atomic.Int64
	failures                                                 [5]atomic.Int64 // by kindIndex
}

func kindIndex(k FailureKind) int {
	switch k {
	case FailNetwork:
		return 0
	case FailTimeout:
		return 1
	case FailHTTPStatus:
		return 2
	case FailTooLarge:
		return 3
	}
	return 4
}

type httpMode int

const (
	modeStatus httpMode = iota // the URL is a status.json
	modeDirect                 // the URL is the data file
	modeBase                   // the URL is a folder: status.json there, else vatsim-data.json
)

// HTTPSource fetches snapshots over HTTP from the live network or any mirror. It is safe for concurrent use;
// Fetch calls are serialised.
type HTTPSource struct {
	url      string // as given, redacted, for String
	mode     httpMode
	status   string // status.json URL (modeStatus, modeBase)
	fallback string // vatsim-data.json URL (modeBase)

	client   *http.Client
	timeout  time.Duration
	maxBody  int64
	retries  int
	base     time.Duration
	max      time.Duration
	interval time.Duration
	maxHint  time.Duration // MaxRetryAfter
	ua       string
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	rand     func() float64

	stats httpCounters
	turn  chan struct{} // a one-slot semaphore: unlike a mutex, waiting for it honours ctx

	// Guarded by turn.
	mirrors    []string             // data URLs, tried in turn from cur
	cur        int                  // current mirror
	fromStatus bool                 // mirrors came from status.json (not the URL itself or the fallback)
	statusDue  time.Time            // when status.json is next read
	failStreak int                  // consecutive data failures since the last success
	newest     time.Time            // latest update_timestamp returned
	notBefore  map[string]time.Time // URLs that answered Retry-After: no request to them before then
}

// NewHTTPSource returns a source for rawURL:
//   - a URL whose path ends in status.json (DefaultStatusURL live) is read for its data.v3 mirror list, one
//     mirror is picked at random and used until it fails, then the next; status.json is read again every
//     StatusInterval, and early once every mirror has failed in a row;
//   - a URL ending in .json or .json.gz is the data file itself;
//   - any other URL is a folder (a mirror such as http://host:8080/mirror/): its status.json is tried and, if
//     that fails, its vatsim-data.json is used (status.json is tried again every StatusInterval).
func NewHTTPSource(rawURL string, opts HTTPOptions) (*HTTPSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("feed: source URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("feed: source URL %q: want an absolute http(s) URL", u.Redacted())
	}
	s := &HTTPSource{
		url:      u.Redacted(),
		client:   opts.Client,
		timeout:  cmpOr(opts.Timeout, DefaultTimeout),
		maxBody:  cmpOr(opts.MaxBodyBytes, DefaultMaxBytes),
		retries:  opts.Retries,
		base:     cmpOr(opts.BackoffBase, DefaultBackoffBase),
		max:      cmpOr(opts.BackoffMax, DefaultBackoffMax),
		interval: cmpOr(opts.StatusInterval, DefaultStatusInterval),
		maxHint:  cmpOr(opts.MaxRetryAfter, DefaultMaxRetryAfter),
		ua:       cmpOr(opts.UserAgent, "vatsector"),
		log:      opts.Logger,
		now:      opts.Now,
		sleep:    opts.Sleep,
		rand:     opts.Rand,
		turn:     make(chan struct{}, 1),

		notBefore: map[string]time.Time{},
	}
	switch {
	case s.retries == 0:
		s.retries = DefaultRetries
	case s.retries < 0:
		s.retries = 0
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	path := u.Path
	switch {
	case strings.HasSuffix(path, "status.json"):
		s.mode, s.status = modeStatus, u.String()
	case strings.HasSuffix(path, ".json"), strings.HasSuffix(path, ".json.gz"):
		s.mode, s.mirrors = modeDirect, []string{u.String()}
	default:
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			u.RawPath = ""
		}
		s.mode = modeBase
		s.status = u.JoinPath("status.json").String()
		s.fallback = u.JoinPath("vatsim-data.json").String()
	}
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func (s *HTTPSource) String() string { return "http " + s.url }

// Stats returns the counters so far.
func (s *HTTPSource) Stats() HTTPStats {
	c := &s.stats
	return HTTPStats{
		Fetches:        c.fetches.Load(),
		Requests:       c.requests.Load(),
		Retries:        c.retries.Load(),
		MirrorSwitches: c.switches.Load(),
		StatusReads:    c.statusReads.Load(),
		Stale:          c.stale.Load(),
		FailNetwork:    c.failures[kindIndex(FailNetwork)].Load(),
		FailTimeout:    c.failures[kindIndex(FailTimeout)].Load(),
		FailHTTPStatus: c.failures[kindIndex(FailHTTPStatus)].Load(),
		FailTooLarge:   c.failures[kindIndex(FailTooLarge)].Load(),
		FailInvalid:    c.failures[kindIndex(FailInvalid)].Load(),
	}
}

// Fetch returns one snapshot's JSON, uncompressed, checked to be a v3 snapshot that is well-formed JSON (field
// checks are Decode's). It makes up to 1+Retries attempts, waiting a jittered, doubling backoff between them and
// moving to the next mirror after a mirror fails. A URL that answered 429 or 503 with Retry-After is not asked
// again before that time: the next attempt waits for it, or the Fetch gives up at once if it is more than
// MaxRetryAfter away. It returns ctx's error as soon as ctx ends.
func (s *HTTPSource) Fetch(ctx context.Context) ([]byte, error) {
	if ctx.Err() != nil { // select below would pick at random between a free turn and a done ctx
		return nil, context.Cause(ctx)
	}
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	s.stats.fetches.Add(1)
	var last error
	for attempt := 0; attempt <= s.retries; attempt++ {
		var wait time.Duration
		if attempt > 0 {
			wait = s.backoff(attempt)
		}
		next := s.nextURL()
		if err := s.tooLate(next, last); err != nil {
			return nil, err
		}
		wait = max(wait, s.hintLeft(next))
		if attempt > 0 {
			s.stats.retries.Add(1)
		}
		if wait > 0 {
			if err := s.sleep(ctx, wait); err != nil {
				if last == nil {
					return nil, fmt.Errorf("feed: %s: %w", s, err)
				}
				return nil, fmt.Errorf("feed: %s: %w (after %v)", s, err, last)
			}
		}
		data, ts, err := s.attempt(ctx, next)
		if err == nil {
			if ts.Before(s.newest) {
				// After a failover, a lagging mirror can serve an older snapshot. Refusing it could wedge the
				// source if the network's clock ever went back, so it is returned, counted and logged: the
				// loop must not let an older update_timestamp overwrite newer state.
				s.stats.stale.Add(1)
				s.log.Warn("feed: snapshot older than one already fetched", "update_timestamp", ts, "newest", s.newest)
			} else {
				s.newest = ts
			}
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("feed: %s: %w", s, context.Cause(ctx))
		}
		last = err
	}
	var fe *FetchError
	if errors.As(last, &fe) && fe.RetryAfter > 0 {
		return nil, fmt.Errorf("feed: %s: %d attempts failed, and no retry is left to wait the %v the last asked for (Retry-After): %w",
			s, s.retries+1, fe.RetryAfter, last)
	}
	return nil, fmt.Errorf("feed: %s: %d attempts failed, last: %w", s, s.retries+1, last)
}

// statusDueNow reports whether the next attempt starts by reading status.json.
func (s *HTTPSource) statusDueNow() bool {
	switch {
	case s.mode == modeDirect:
		return false
	case len(s.mirrors) == 0:
		return true
	}
	// A status.json that asked to be left alone (Retry-After) waits while known mirrors serve.
	return !s.now().Before(s.statusDue) && s.hintLeft(s.status) == 0
}

// nextURL is the URL the next attempt requests first.
func (s *HTTPSource) nextURL() string {
	if s.statusDueNow() {
		return s.status
	}
	return s.mirrors[s.cur]
}

// hintLeft is how long u's Retry-After still holds.
func (s *HTTPSource) hintLeft(u string) time.Duration {
	t, ok := s.notBefore[u]
	if !ok {
		return 0
	}
	return max(t.Sub(s.now()), 0)
}

// tooLate is the error that ends a Fetch when u asked not to be requested for longer than MaxRetryAfter.
func (s *HTTPSource) tooLate(u string, last error) error {
	left := s.hintLeft(u)
	if left <= s.maxHint {
		return nil
	}
	err := fmt.Errorf("feed: %s: %s asked not to be requested again for %v (Retry-After), more than the %v allowed: giving up this fetch",
		s, redact(u), left.Round(time.Second), s.maxHint)
	if last != nil {
		err = fmt.Errorf("%w: %w", err, last)
	}
	return err
}

// backoff is the wait before retry n (n >= 1): base*2^(n-1), capped, with "equal jitter" (between half and all
// of it) so that many clients restarted together do not retry in step.
func (s *HTTPSource) backoff(n int) time.Duration {
	d := s.base
	for i := 1; i < n && d < s.max; i++ {
		d *= 2
	}
	d = min(d, s.max)
	return d/2 + time.Duration(s.rand()*float64(d/2))
}

// attempt is one try: status.json when due, then the current mirror. waited is the URL whose Retry-After
// Fetch already waited for; another one's is waited for here (status.json read first, or chose another mirror).
func (s *HTTPSource) attempt(ctx context.Context, waited string) ([]byte, time.Time, error) {
	if s.statusDueNow() {
		if err := s.readStatus(ctx); err != nil && len(s.mirrors) == 0 {
			return nil, time.Time{}, err
		}
	}
	u := s.mirrors[s.cur]
	if u != waited {
		if err := s.tooLate(u, nil); err != nil {
			return nil, time.Time{}, err
		}
		if left := s.hintLeft(u); left > 0 {
			if err := s.sleep(ctx, left); err != nil {
				return nil, time.Time{}, err
			}
		}
	}
	data, g, err := s.getSnapshot(ctx, u)
	if err == nil {
		s.failStreak = 0
		return data, g.UpdateTimestamp, nil
	}
	if ctx.Err() != nil {
		return nil, time.Time{}, err
	}
	s.failStreak++
	if len(s.mirrors) > 1 {
		s.cur = (s.cur + 1) % len(s.mirrors)
		s.stats.switches.Add(1)
		s.log.Info("feed: switching mirror", "from", redact(u), "to", redact(s.mirrors[s.cur]))
	}
	if s.fromStatus && s.failStreak >= len(s.mirrors) {
		// Every mirror failed in a row: the list itself may be stale.
		s.statusDue = time.Time{}
		s.failStreak = 0
	}
	return nil, time.Time{}, err
}

// readStatus reads status.json and adopts its data.v3 mirrors. When it fails, known mirrors are kept and
// status.json is retried a minute later (an hour would leave a dead list in use for long, every Fetch would
// double the requests to a failing host); a folder URL falls back to its vatsim-data.json.
func (s *HTTPSource) readStatus(ctx context.Context) error {
	body, err := s.get(ctx, s.status, maxStatusBytes)
	var mirrors []string
	if err == nil {
		if mirrors, err = parseStatus(body, s.status); err != nil {
			err = s.fail(&FetchError{Kind: FailInvalid, URL: redact(s.status), Err: err})
		}
	}
	now := s.now()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		switch {
		case len(s.mirrors) > 0:
			s.statusDue = now.Add(min(s.interval, time.Minute))
			s.log.Warn("feed: status.json unavailable, keeping the known mirrors", "err", err, "mirrors", len(s.mirrors))
		case s.mode == modeBase:
			s.mirrors, s.cur, s.fromStatus = []string{s.fallback}, 0, false
			s.statusDue = now.Add(s.interval)
			s.log.Info("feed: no usable status.json at the mirror, using its vatsim-data.json", "url", redact(s.fallback), "err", err)
		}
		return err
	}
	s.stats.statusReads.Add(1)
	s.statusDue = now.Add(s.interval)
	current := ""
	if s.fromStatus && len(s.mirrors) > 0 {
		current = s.mirrors[s.cur]
	}
	s.mirrors, s.fromStatus = mirrors, true
	s.cur = min(int(s.rand()*float64(len(mirrors))), len(mirrors)-1) // spread clients over the mirrors
	for i, m := range mirrors {
		if m == current { // keep a working mirror rather than switch for nothing
			s.cur = i
		}
	}
	s.log.Debug("feed: status.json read", "mirrors", len(mirrors), "using", redact(s.mirrors[s.cur]))
	return nil
}

// parseStatus returns the data.v3 URLs of a status.json, resolved against its own URL (so that a mirror may
// list relative paths), keeping only http(s) ones.
func parseStatus(body []byte, statusURL string) ([]string, error) {
	var st struct {
		Data struct {
			V3 []string `json:"v3"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("status.json: %w", err)
	}
	base, err := url.Parse(statusURL)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range st.Data.V3 {
		m = strings.TrimSpace(m)
		if m == "" { // would resolve to status.json itself
			continue
		}
		u, err := base.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return nil, errors.New("status.json lists no data.v3 mirror")
	}
	return out, nil
}

// getSnapshot GETs a data file, which must look like a v3 snapshot: an error page or a cut-off body is the
// mirror's failure, not the loop's problem.
func (s *HTTPSource) getSnapshot(ctx context.Context, u string) ([]byte, General, error) {
	start := time.Now()
	data, err := s.get(ctx, u, s.maxBody)
	if err != nil {
		return nil, General{}, err
	}
	g, err := looksLikeSnapshot(data)
	if err != nil {
		return nil, g, s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: err})
	}
	s.log.Debug("feed: fetched", "url", redact(u), "bytes", len(data), "update_timestamp", g.UpdateTimestamp, "took", time.Since(start))
	return data, g, nil
}

// get performs one GET with the per-request timeout and returns the body, decompressed and bounded. Every
// failure is counted and logged here, with its cause.
func (s *HTTPSource) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: err})
	}
	// Asking for gzip ourselves turns off the transport's transparent decompression, which would neither
	// bound the decompressed size nor handle a body that is gzip without saying so.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.ua)
	s.stats.requests.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.failed(ctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		fe := &FetchError{Kind: FailHTTPStatus, URL: redact(u), Err: fmt.Errorf("HTTP %s", resp.Status)}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if hint, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok && hint > 0 {
				fe.RetryAfter = hint
				fe.Err = fmt.Errorf("HTTP %s, Retry-After %v", resp.Status, hint)
				s.notBefore[u] = s.now().Add(hint)
			}
		}
		return nil, s.fail(fe)
	}
	delete(s.notBefore, u)
	var force bool
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		force = true
	default:
		return nil, s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: fmt.Errorf("unsupported Content-Encoding %q", enc)})
	}
	if !force && resp.ContentLength > limit { // fail before reading; a gzip length says nothing of the content
		return nil, s.fail(&FetchError{Kind: FailTooLarge, URL: redact(u), Err: fmt.Errorf("%w: Content-Length %d", ErrTooLarge, resp.ContentLength)})
	}
	body, zipped, err := maybeGunzip(resp.Body, force)
	if err != nil {
		return nil, s.failed(ctx, u, err)
	}
	hint := resp.ContentLength
	if zipped {
		hint *= 8
	}
	data, err := readAll(body, limit, hint)
	if err != nil {
		return nil, s.failed(ctx, u, err)
	}
	return data, nil
}

// failed classifies an error from the transport or from reading a body.
func (s *HTTPSource) failed(ctx context.Context, u string, err error) error {
	if ctx.Err() != nil { // the caller gave up: not the server's failure
		return err
	}
	kind := FailNetwork
	var ne net.Error
	switch {
	case errors.Is(err, ErrTooLarge):
		kind = FailTooLarge
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = FailTimeout
	case isCorruptGzip(err):
		kind = FailInvalid
	}
	return s.fail(&FetchError{Kind: kind, URL: redact(u), Err: err})
}

func (s *HTTPSource) fail(e *FetchError) error {
	s.stats.failures[kindIndex(e.Kind)].Add(1)
	s.log.Warn("feed: request failed", "url", e.URL, "kind", string(e.Kind), "err", e.Err)
	return e
}

// parseRetryAfter reads a Retry-After value (RFC 9110): delay-seconds or an HTTP date, relative to now. A date
// in the past is no wait; anything unreadable is ignored (ok false), leaving the usual backoff.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		const most = math.MaxInt64 / int64(time.Second) // beyond, it is forever all the same
		return time.Duration(min(int64(secs), most)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
