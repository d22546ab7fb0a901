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
	"slices"
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
	Status     int           // the HTTP status code of a FailHTTPStatus; 0 for the other kinds
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

	// The transceivers file (FetchTransceivers), also guarded by turn.
	tmirrors    []string             // status.json's data.transceivers, tried in turn from tcur
	tcur        int                  // current transceivers mirror
	tfailStreak int                  // consecutive transceivers failures since the last success
	absent      map[string]time.Time // guessed transceivers URLs that answered 404: not asked again before then
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
		absent:    map[string]time.Time{},
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
	if err := s.take(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	s.stats.fetches.Add(1)
	var ts time.Time
	data, err := s.retry(ctx, s.nextURL, func(ctx context.Context, waited string) ([]byte, error) {
		data, t, err := s.attempt(ctx, waited)
		ts = t
		return data, err
	})
	if err != nil {
		return nil, err
	}
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

// take waits for the source's turn, or for ctx to end.
func (s *HTTPSource) take(ctx context.Context) error {
	if ctx.Err() != nil { // select below would pick at random between a free turn and a done ctx
		return context.Cause(ctx)
	}
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *HTTPSource) release() { <-s.turn }

// retry runs the attempts of one Fetch or FetchTransceivers: up to 1+Retries calls of try, with the backoff and
// Retry-After rules between them. next is the URL the coming attempt requests first; try is one attempt, given
// the URL whose Retry-After was already waited for. An error of try that wraps errNoRetry ends the attempts
// at once, returned as it is.
func (s *HTTPSource) retry(ctx context.Context, next func() string, try func(ctx context.Context, waited string) ([]byte, error)) ([]byte, error) {
	var last error
	for attempt := 0; attempt <= s.retries; attempt++ {
		var wait time.Duration
		if attempt > 0 {
			wait = s.backoff(attempt)
		}
		u := next()
		if err := s.tooLate(u, last); err != nil {
			return nil, err
		}
		wait = max(wait, s.hintLeft(u))
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
		data, err := try(ctx, u)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("feed: %s: %w", s, context.Cause(ctx))
		}
		if errors.Is(err, errNoRetry) {
			return nil, err
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

// errNoRetry marks an attempt's error that retrying cannot mend (a transceivers file that is not there).
var errNoRetry = errors.New("not retried")

// FetchTransceivers returns the transceivers file to pair with the snapshot of feed time at that Fetch just
// returned, uncompressed and checked to be a well-formed JSON array (DecodeTransceivers decodes it). It is
// fetched as a snapshot is, with the same timeout, size limit (MaxBodyBytes), retries, backoff, Retry-After
// rules and counters (Requests, Retries, MirrorSwitches and the failures; Fetches counts Fetch calls only):
//   - when the mirrors came from status.json, from its data.transceivers mirrors: one picked at random, kept
//     until it fails, then the next; once they have all failed in a row, status.json is read again at the next
//     Fetch. A status.json without data.transceivers means no file (ErrNoTransceivers);
//   - otherwise (a data file URL, or a folder without a usable status.json), from transceivers-data.json in the
//     data file's folder. A 404 or 410 there means the mirror has none: ErrNoTransceivers at once, without a
//     retry, and that URL is not asked again for StatusInterval (until then, ErrNoTransceivers at once).
//
// A file whose Last-Modified is more than TransceiversMaxAge before at is not this snapshot's:
// ErrNoTransceivers, saying how old it is (and the next call tries the next mirror, when there are several).
// Last-Modified is whole seconds; a response without one (or with one that cannot be read) is taken as current.
// Before any successful Fetch there is no mirror to ask: ErrNoTransceivers.
func (s *HTTPSource) FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error) {
	if err := s.take(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	guessed, err := s.transceiversURL()
	if err != nil {
		return nil, err
	}
	next := func() string {
		if guessed != "" {
			return guessed
		}
		return s.tmirrors[s.tcur]
	}
	var modified time.Time
	data, err := s.retry(ctx, next, func(ctx context.Context, u string) ([]byte, error) {
		data, m, err := s.attemptTransceivers(ctx, u, guessed != "")
		modified = m
		return data, err
	})
	if err != nil {
		return nil, err
	}
	if !modified.IsZero() && modified.Before(at.Add(-TransceiversMaxAge)) {
		u := next()
		if len(s.tmirrors) > 1 && guessed == "" { // a mirror whose file stopped being regenerated
			s.tcur = (s.tcur + 1) % len(s.tmirrors)
			s.stats.switches.Add(1)
			s.log.Info("feed: switching transceivers mirror", "from", redact(u), "to", redact(s.tmirrors[s.tcur]), "reason", "stale")
		}
		return nil, fmt.Errorf("feed: %s: the transceivers file of %s was last modified at %s, %v before the snapshot's %s (more than %v): %w",
			s, redact(u), modified.UTC().Format(time.RFC3339), at.Sub(modified).Round(time.Second), at.UTC().Format(time.RFC3339Nano),
			TransceiversMaxAge, ErrNoTransceivers)
	}
	return data, nil
}

// transceiversURL returns the URL to guess the transceivers file at (beside the data file), or "" when the
// status.json mirrors are to be used; or an error wrapping ErrNoTransceivers when there is nothing to ask.
func (s *HTTPSource) transceiversURL() (string, error) {
	switch {
	case len(s.mirrors) == 0:
		return "", fmt.Errorf("feed: %s: no snapshot fetched yet, so no mirror is known: %w", s, ErrNoTransceivers)
	case s.fromStatus && len(s.tmirrors) == 0:
		return "", fmt.Errorf("feed: %s: status.json lists no data.transceivers mirror: %w", s, ErrNoTransceivers)
	case s.fromStatus:
		return "", nil
	}
	base, err := url.Parse(s.mirrors[s.cur])
	if err != nil {
		return "", fmt.Errorf("feed: %s: %w: %w", s, err, ErrNoTransceivers)
	}
	u := base.ResolveReference(&url.URL{Path: "transceivers-data.json"}).String()
	if until, ok := s.absent[u]; ok {
		if s.now().Before(until) {
			return "", fmt.Errorf("feed: %s: %s answered not found, asked again after %s: %w",
				s, redact(u), until.UTC().Format(time.RFC3339), ErrNoTransceivers)
		}
		delete(s.absent, u)
	}
	return u, nil
}

// attemptTransceivers is one try at u. guessed is whether u is a guess beside the data file, where not found
// means there is none.
func (s *HTTPSource) attemptTransceivers(ctx context.Context, u string, guessed bool) ([]byte, time.Time, error) {
	data, h, err := s.getResponse(ctx, u, s.maxBody)
	if err == nil && !looksLikeTransceivers(data) {
		err = s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: errors.New("not a JSON array (an error page? truncated?)")})
	}
	if err == nil {
		if !guessed {
			s.tfailStreak = 0
		}
		m, _ := http.ParseTime(h.Get("Last-Modified"))
		s.log.Debug("feed: fetched transceivers", "url", redact(u), "bytes", len(data), "last_modified", m)
		return data, m, nil
	}
	if ctx.Err() != nil {
		return nil, time.Time{}, err
	}
	if guessed {
		var fe *FetchError
		if errors.As(err, &fe) && (fe.Status == http.StatusNotFound || fe.Status == http.StatusGone) {
			s.absent[u] = s.now().Add(s.interval)
			return nil, time.Time{}, fmt.Errorf("feed: %s: no transceivers file beside the data file: %w: %w: %w", s, ErrNoTransceivers, errNoRetry, err)
		}
		return nil, time.Time{}, err
	}
	s.tfailStreak++
	if len(s.tmirrors) > 1 {
		s.tcur = (s.tcur + 1) % len(s.tmirrors)
		s.stats.switches.Add(1)
		s.log.Info("feed: switching transceivers mirror", "from", redact(u), "to", redact(s.tmirrors[s.tcur]))
	}
	if s.tfailStreak >= len(s.tmirrors) {
		// Every transceivers mirror failed in a row: the list itself may be stale.
		s.statusDue = time.Time{}
		s.tfailStreak = 0
	}
	return nil, time.Time{}, err
}

// looksLikeTransceivers is the HTTP source's plausibility check of a transceivers file, as looksLikeSnapshot
// is of a snapshot: a well-formed JSON array.
func looksLikeTransceivers(data []byte) bool {
	return startsWith(data, '[') && validJSON(data)
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
	var mirrors, tmirrors []string
	if err == nil {
		if mirrors, tmirrors, err = parseStatus(body, s.status); err != nil {
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
	s.cur = s.pick(mirrors, current)
	tcurrent := ""
	if len(s.tmirrors) > 0 {
		tcurrent = s.tmirrors[s.tcur]
	}
	s.tmirrors = tmirrors
	s.tcur = s.pick(tmirrors, tcurrent)
	s.log.Debug("feed: status.json read", "mirrors", len(mirrors), "using", redact(s.mirrors[s.cur]), "transceivers_mirrors", len(tmirrors))
	return nil
}

// pick chooses the mirror of list to use after a status.json read: current if it is still listed (keep a
// working mirror rather than switch for nothing), else one at random (spread clients over the mirrors).
func (s *HTTPSource) pick(list []string, current string) int {
	if len(list) == 0 {
		return 0
	}
	if i := slices.Index(list, current); i >= 0 && current != "" {
		return i
	}
	return min(int(s.rand()*float64(len(list))), len(list)-1)
}

// parseStatus returns the data.v3 and data.transceivers URLs of a status.json, resolved against its own URL
// (so that a mirror may list relative paths), keeping only http(s) ones. No data.v3 mirror is an error; no
// transceivers mirror is not (the snapshots are what matter).
func parseStatus(body []byte, statusURL string) (v3, transceivers []string, err error) {
	var st struct {
		Data struct {
			V3           []string `json:"v3"`
			Transceivers []string `json:"transceivers"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		// A data.transceivers that is not a list of strings must not cost the snapshots their mirrors.
		var v3only struct {
			Data struct {
				V3 []string `json:"v3"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &v3only) != nil {
			return nil, nil, fmt.Errorf("status.json: %w", err)
		}
		st.Data.V3, st.Data.Transceivers = v3only.Data.V3, nil
	}
	base, err := url.Parse(statusURL)
	if err != nil {
		return nil, nil, err
	}
	v3 = httpURLs(base, st.Data.V3)
	if len(v3) == 0 {
		return nil, nil, errors.New("status.json lists no data.v3 mirror")
	}
	return v3, httpURLs(base, st.Data.Transceivers), nil
}

// httpURLs resolves list against base, keeping the http(s) URLs.
func httpURLs(base *url.URL, list []string) []string {
	var out []string
	for _, m := range list {
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
	return out
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
	data, _, err := s.getResponse(ctx, u, limit)
	return data, err
}

// getResponse is get, also returning the headers of the response.
func (s *HTTPSource) getResponse(ctx context.Context, u string, limit int64) ([]byte, http.Header, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: err})
	}
	// Asking for gzip ourselves turns off the transport's transparent decompression, which would neither
	// bound the decompressed size nor handle a body that is gzip without saying so.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.ua)
	s.stats.requests.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, s.failed(ctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		fe := &FetchError{Kind: FailHTTPStatus, URL: redact(u), Err: fmt.Errorf("HTTP %s", resp.Status), Status: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if hint, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok && hint > 0 {
				fe.RetryAfter = hint
				fe.Err = fmt.Errorf("HTTP %s, Retry-After %v", resp.Status, hint)
				s.notBefore[u] = s.now().Add(hint)
			}
		}
		return nil, nil, s.fail(fe)
	}
	delete(s.notBefore, u)
	var force bool
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		force = true
	default:
		return nil, nil, s.fail(&FetchError{Kind: FailInvalid, URL: redact(u), Err: fmt.Errorf("unsupported Content-Encoding %q", enc)})
	}
	if !force && resp.ContentLength > limit { // fail before reading; a gzip length says nothing of the content
		return nil, nil, s.fail(&FetchError{Kind: FailTooLarge, URL: redact(u), Err: fmt.Errorf("%w: Content-Length %d", ErrTooLarge, resp.ContentLength)})
	}
	body, zipped, err := maybeGunzip(resp.Body, force)
	if err != nil {
		return nil, nil, s.failed(ctx, u, err)
	}
	hint := resp.ContentLength
	if zipped {
		hint *= 8
	}
	data, err := readAll(body, limit, hint)
	if err != nil {
		return nil, nil, s.failed(ctx, u, err)
	}
	return data, resp.Header, nil
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
