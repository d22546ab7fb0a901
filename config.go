package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vatsector/vatsector/airspace"
	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/ingest"
	"github.com/vatsector/vatsector/repository"
	"github.com/vatsector/vatsector/server"
)

// config is the service's configuration: flags, each with an environment equivalent (flags win).
type config struct {
	DatabaseURL string
	// ReadDatabaseURL is a hot standby of DatabaseURL that serves the API's reads; MaxReadLag how far behind
	// the primary it may be before its queries are refused.
	ReadDatabaseURL string
	MaxReadLag      time.Duration
	DataDir         string
	Feed            feedSpec
	FeedTimeout     time.Duration // per HTTP request of the feed
	FeedRetries     int           // further attempts per poll after a failed request; 0: none
	Sectors         []airspace.Source
	MapDataURL      string
	SectorsRefresh  time.Duration
	Listen          string
	MetricsListen   string
	// HTTPListen serves the API as Connect, gRPC-Web and REST, and the map page; empty disables it.
	HTTPListen string
	// CORSOrigins may call the HTTP API from their pages.
	CORSOrigins []string
	// TLS, from --tls-cert and --tls-key, serves both ports over TLS; nil serves them in plain text.
	TLS          *tls.Config
	Interval     time.Duration
	Grace        time.Duration
	WriteTimeout time.Duration
	// Backlog is how much of the feed is kept while the database cannot be written; FutureTolerance how far past
	// the clock a snapshot's feed time may be.
	Backlog         time.Duration
	FutureTolerance time.Duration
	Instance        string
	WriterLease     time.Duration
	// FollowInterval is how often an instance that does not write reads the writer's committed cycles.
	FollowInterval time.Duration
	QueryTimeout   time.Duration
	ShutdownGrace  time.Duration
	ShutdownWait   time.Duration
	// Per-client bounds of the API (client = peer IP address), and the catch-up reads streams may run at once.
	StreamsPerClient int
	ClientRate       float64
	ClientBurst      int
	CatchUpReads     int
	// Retention of positions, events and hourly sector rollups; zero keeps them forever.
	PositionsRetention   time.Duration
	EventsRetention      time.Duration
	SectorHoursRetention time.Duration
	Pool                 repository.Pool
	LogLevel             slog.Level
	LogFormat            string
}

// feedSpec is the parsed --feed value.
type feedSpec struct {
	Kind string // live, http, replay, sim
	URL  string // live and http
	Dir  string // replay
	N    int    // sim: pilots
}

const defaultLiveFeed = "https://status.vatsim.net/status.json"

func parseFeed(v string) (feedSpec, error) {
	switch {
	case v == "" || v == "live":
		return feedSpec{Kind: "live", URL: defaultLiveFeed}, nil
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return feedSpec{}, fmt.Errorf("%q is not a valid URL", v)
		}
		return feedSpec{Kind: "http", URL: v}, nil
	case strings.HasPrefix(v, "replay:"):
		dir := strings.TrimPrefix(v, "replay:")
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return feedSpec{}, fmt.Errorf("replay folder %q is not a readable folder", dir)
		}
		return feedSpec{Kind: "replay", Dir: dir}, nil
	case strings.HasPrefix(v, "sim:"):
		n, err := strconv.Atoi(strings.TrimPrefix(v, "sim:"))
		if err != nil || n < 1 || n > 1_000_000 {
			return feedSpec{}, fmt.Errorf("%q: want sim:N with N pilots between 1 and 1000000", v)
		}
		return feedSpec{Kind: "sim", N: n}, nil
	}
	return feedSpec{}, fmt.Errorf("%q: want live, an http(s):// URL, replay:DIR or sim:N", v)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// envName is the environment variable of a flag: DATABASE_URL for --database-url, VATSECTOR_<NAME> otherwise.
func envName(flagName string) string {
	if flagName == "database-url" {
		return "DATABASE_URL"
	}
	return "VATSECTOR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseServeConfig parses the serve command's flags over the environment. Every invalid value is an error
// naming its flag (and variable).
// rawFlags are the flags that are checked or converted before they become configuration.
type rawFlags struct {
	feed, logLevel           string
	sectors                  stringList
	corsOrigins              stringList
	tlsCert, tlsKey          string
	maxOpen, maxIdle         int
	maxLifetime, maxIdleTime time.Duration
}

// parseServeConfig reads the configuration from the environment, then the flags (a flag wins over its
// variable), and checks all of it, reporting every invalid value at once, each naming its flag.
func parseServeConfig(args []string, getenv func(string) string, usageOut io.Writer) (*config, error) {
	fs := flag.NewFlagSet("vatsector", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	var (
		c   config
		raw rawFlags
	)
	c.define(fs, &raw)
	if err := setFromEnvironment(fs, getenv); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags start with --)", fs.Args())
	}
	intervalSet := getenv(envName("interval")) != ""
	fs.Visit(func(f *flag.Flag) { intervalSet = intervalSet || f.Name == "interval" })
	if err := c.check(raw, intervalSet); err != nil {
		return nil, err
	}
	return &c, nil
}

// define declares every flag of the service, bound to c and raw, and the usage text.
func (c *config) define(fs *flag.FlagSet, raw *rawFlags) {
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL, e.g. postgres://user:pass@host:5432/db; empty uses the embedded SQLite file in --data-dir")
	fs.StringVar(&c.ReadDatabaseURL, "read-database-url", "", "PostgreSQL URL of a hot standby of --database-url: the API's queries, statistics and stream tails read it, the cycles write to --database-url; empty reads --database-url")
	fs.DurationVar(&c.MaxReadLag, "max-read-lag", repository.DefaultMaxReadLag, "how far behind the primary the --read-database-url standby may be (or how long its lag may go unmeasured) before queries are refused with UNAVAILABLE instead of answered stale")
	fs.StringVar(&c.DataDir, "data-dir", "vatsector-data", "folder for the embedded SQLite database and the downloaded VATSpy cache")
	fs.StringVar(&raw.feed, "feed", "live", "feed source: live (VATSIM's status.json), an http(s):// URL serving status.json or vatsim-data.json, replay:DIR (recorded snapshots, in update_timestamp order), or sim:N (simulated traffic with N pilots)")
	fs.DurationVar(&c.FeedTimeout, "feed-timeout", defaultFeedTimeout, "deadline of one request to the feed (status.json or a snapshot, body included); live and http(s) feeds")
	fs.IntVar(&c.FeedRetries, "feed-retries", defaultFeedRetries, "further requests per poll after one failed, with a doubling backoff, trying the next mirror; 0: none")
	fs.Var(&raw.sectors, "sectors", "sector sets, repeatable or comma-separated, loaded together and reloaded on SIGHUP or when a file changes: \"vatspy\" (current VATSpy data, downloaded), "+
		"a folder holding Boundaries.geojson and VATSpy.dat (VATSpy), TRACONBoundaries.geojson (SimAware TRACONs) or Volumes.xml and Sectors.xml (vatSys), or a .geojson file of custom sectors; "+
		"name=path names the set; none is \"vatspy\"")
	fs.StringVar(&c.MapDataURL, "map-data-url", airspace.DefaultMapDataEndpoint, "VATSIM map-data endpoint used to download the VATSpy data of --sectors vatspy")
	fs.DurationVar(&c.SectorsRefresh, "sectors-refresh", 6*time.Hour, "how often to check the map-data endpoint for new VATSpy data (--sectors vatspy only)")
	fs.StringVar(&c.Listen, "listen", ":50051", "gRPC listen address")
	fs.StringVar(&c.MetricsListen, "metrics-listen", ":9090", "Prometheus /metrics listen address; empty disables it")
	fs.StringVar(&c.HTTPListen, "http-listen", ":8080", "HTTP listen address of the same API as Connect (JSON and binary), gRPC-Web and REST, and of the live map page at /; empty disables it")
	fs.Var(&raw.corsOrigins, "cors-origins", "origins whose web pages may call the HTTP API (CORS), repeatable or comma-separated, e.g. https://map.example.org; * allows any; none: only the page this service serves")
	fs.StringVar(&raw.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve gRPC and HTTP over TLS only; needs --tls-key")
	fs.StringVar(&raw.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.DurationVar(&c.Interval, "interval", 15*time.Second, "poll interval (the feed regenerates every 15s); replay defaults to 0: as fast as possible")
	fs.DurationVar(&c.Grace, "grace", ingest.DefaultGrace, "how long a connection may be missing from the feed before it counts as disconnected")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", ingest.DefaultWriteTimeout, "deadline of one cycle's transaction")
	fs.DurationVar(&c.Backlog, "backlog", time.Duration(ingest.DefaultBacklog)*ingest.FeedCadence, "how much of the feed (at its 15s cadence) to keep, in order, while the database cannot be written; an outage shorter than this loses nothing, past it the oldest snapshots are dropped and logged")
	fs.DurationVar(&c.FutureTolerance, "future-tolerance", ingest.DefaultFutureTolerance, "how far past this machine's clock a snapshot's update_timestamp may be; a snapshot dated further ahead is refused")
	fs.StringVar(&c.Instance, "instance", "", "this instance's identity as the database's single ingest writer (empty: the host name); another instance waits as a standby, serving the API, until this one stops or its claim is older than --writer-lease")
	fs.DurationVar(&c.WriterLease, "writer-lease", ingest.DefaultLease, "how long the ingest writer's claim holds after its last committed cycle before a standby may take over")
	fs.DurationVar(&c.FollowInterval, "follow-interval", ingest.DefaultFollowInterval, "how often an instance that is not the writer reads the writer's committed cycles for its streams; on the primary a commit's notification wakes it sooner, on a --read-database-url standby it polls at this interval")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", repository.DefaultQueryTimeout, "deadline of any other query")
	fs.IntVar(&c.StreamsPerClient, "max-streams-per-client", server.DefaultMaxStreamsPerClient, "streams one client (peer IP address) may hold open at once; more are RESOURCE_EXHAUSTED with a retry hint")
	fs.Float64Var(&c.ClientRate, "client-rate", server.DefaultClientRequestRate, "calls a second each client (peer IP address) may make, on average")
	fs.IntVar(&c.ClientBurst, "client-burst", server.DefaultClientRequestBurst, "calls a client may make at once above --client-rate")
	fs.IntVar(&c.CatchUpReads, "catchup-reads", server.DefaultMaxConcurrentCatchUpReads, "stored-event reads that resuming or lagging streams may run at once; the rest wait their turn, so the pool stays free for queries")
	fs.DurationVar(&c.ShutdownWait, "shutdown-wait", 5*time.Second, "how long a stopping service reports NOT_SERVING while it still serves everything, so a load balancer sees it before streams are cut")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 15*time.Second, "how long shutdown waits for RPCs to finish before cutting them")
	fs.DurationVar(&c.PositionsRetention, "positions-retention", 48*time.Hour, "delete positions older than this (0 keeps them forever); a position a flight a cycle adds up fast. On PostgreSQL whole UTC days are dropped, each once its end is past the cutoff: up to a day more is kept")
	fs.DurationVar(&c.EventsRetention, "events-retention", 30*24*time.Hour, "delete sector events older than this (0 keeps them forever); streams cannot resume from before it")
	fs.DurationVar(&c.SectorHoursRetention, "sector-hours-retention", ingest.DefaultSectorHoursRetention, "delete hourly sector traffic rollups older than this (0 keeps them forever); traffic statistics and staffing profiles cannot reach before it")
	fs.IntVar(&raw.maxOpen, "db-max-open", 0, "pool: most open connections (0: 8 for PostgreSQL, 4 for SQLite)")
	fs.IntVar(&raw.maxIdle, "db-max-idle", 0, "pool: most idle connections kept (0: 4)")
	fs.DurationVar(&raw.maxLifetime, "db-conn-max-lifetime", 0, "pool: recycle a connection after this long (0: 30m for PostgreSQL, never for SQLite)")
	fs.DurationVar(&raw.maxIdleTime, "db-conn-max-idle-time", 0, "pool: close a connection idle this long (0: 5m for PostgreSQL, never for SQLite)")
	fs.StringVar(&raw.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `vatsector ingests the VATSIM network feed, tracks sector occupancy and serves it over gRPC.

Usage:
  vatsector [serve] [flags]        run the service (the default)
  vatsector migrate [up|status]    apply or list database migrations (--database-url, --data-dir)
  vatsector record [flags]         save live or simulated snapshots into a folder for replay (see 'vatsector record -h')
  vatsector healthcheck [--addr]   ask a running service for its gRPC health (for container probes)

Flags (each can also be set by the environment variable shown; a flag wins over its variable):
`)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
}

// setFromEnvironment sets each flag that has its environment variable set.
func setFromEnvironment(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %q for --%s (from %s): %v", v, f.Name, envName(f.Name), err))
			}
		}
	})
	return errors.Join(errs...)
}

// check validates the configuration and completes it from raw; it reports every problem at once.
func (c *config) check(raw rawFlags, intervalSet bool) error {
	var errs []error
	bad := func(name string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("invalid --%s: %s", name, fmt.Sprintf(format, a...)))
	}
	var err error
	if c.Feed, err = parseFeed(raw.feed); err != nil {
		bad("feed", "%v", err)
	}
	if c.Feed.Kind == "replay" && !intervalSet {
		c.Interval = 0
	}
	for _, spec := range raw.sectors {
		src, err := airspace.ParseSource(spec)
		switch {
		case err != nil:
			bad("sectors", "%q: %v", spec, err)
			continue
		case src.Path != airspace.Download:
			if _, err := os.Stat(src.Path); err != nil {
				bad("sectors", "%q: %v", spec, err)
				continue
			}
		}
		c.Sectors = append(c.Sectors, src)
	}
	if len(c.Sectors) == 0 {
		c.Sectors = []airspace.Source{{Path: airspace.Download}}
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err == nil && u.Scheme != "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
			bad("database-url", "scheme %q: want postgres:// (or leave it empty for the embedded SQLite file)", u.Scheme)
		}
	} else if c.DataDir == "" {
		bad("data-dir", "empty, and no --database-url: the embedded database needs a folder")
	}
	if c.ReadDatabaseURL != "" {
		if c.DatabaseURL == "" {
			bad("read-database-url", "needs --database-url: a read standby replicates a PostgreSQL primary, and the embedded SQLite file has none")
		} else if u, err := url.Parse(c.ReadDatabaseURL); err == nil && u.Scheme != "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
			bad("read-database-url", "scheme %q: want postgres://", u.Scheme)
		}
	}
	if c.MapDataURL != "" {
		if u, err := url.Parse(c.MapDataURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("map-data-url", "%q is not an http(s) URL", c.MapDataURL)
		}
	}
	for _, a := range []struct{ name, addr string }{{"listen", c.Listen}, {"metrics-listen", c.MetricsListen}, {"http-listen", c.HTTPListen}} {
		if a.addr == "" && a.name != "listen" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			bad(a.name, "%q is not host:port: %v", a.addr, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"interval", c.Interval, 0}, {"feed-timeout", c.FeedTimeout, 100 * time.Millisecond}, {"grace", c.Grace, time.Second}, {"write-timeout", c.WriteTimeout, time.Millisecond},
		{"query-timeout", c.QueryTimeout, time.Millisecond}, {"shutdown-grace", c.ShutdownGrace, 0}, {"shutdown-wait", c.ShutdownWait, 0},
		{"sectors-refresh", c.SectorsRefresh, time.Minute}, {"writer-lease", c.WriterLease, time.Second},
		{"max-read-lag", c.MaxReadLag, 100 * time.Millisecond}, {"follow-interval", c.FollowInterval, time.Millisecond},
		{"positions-retention", c.PositionsRetention, 0}, {"events-retention", c.EventsRetention, 0},
		{"sector-hours-retention", c.SectorHoursRetention, 0},
		{"backlog", c.Backlog, ingest.FeedCadence}, {"future-tolerance", c.FutureTolerance, time.Second},
		{"db-conn-max-lifetime", raw.maxLifetime, 0}, {"db-conn-max-idle-time", raw.maxIdleTime, 0},
	} {
		if d.v < d.min {
			bad(d.name, "%v is below the minimum %v", d.v, d.min)
		}
	}
	for _, o := range raw.corsOrigins {
		// A browser's Origin header has no trailing slash; one copied from the address bar does.
		o = strings.TrimSuffix(o, "/")
		c.CORSOrigins = append(c.CORSOrigins, o)
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("cors-origins", "%q is not an origin: want scheme://host[:port], e.g. https://map.example.org, or *", o)
		}
	}
	switch {
	case (raw.tlsCert == "") != (raw.tlsKey == ""):
		bad("tls-cert", "--tls-cert and --tls-key go together: give both or neither")
	case raw.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(raw.tlsCert, raw.tlsKey)
		if err != nil {
			bad("tls-cert", "%s and --tls-key %s: %v", raw.tlsCert, raw.tlsKey, err)
			break
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if c.FeedRetries < 0 || c.FeedRetries > maxFeedRetries {
		bad("feed-retries", "%d: want 0..%d", c.FeedRetries, maxFeedRetries)
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max-streams-per-client", c.StreamsPerClient}, {"client-burst", c.ClientBurst}, {"catchup-reads", c.CatchUpReads}} {
		if n.v < 1 {
			bad(n.name, "%d: want at least 1", n.v)
		}
	}
	if c.ClientRate <= 0 {
		bad("client-rate", "%v: want more than 0", c.ClientRate)
	}
	if raw.maxOpen < 0 || raw.maxOpen > 1000 {
		bad("db-max-open", "%d: want 1..1000 (or 0 for the default)", raw.maxOpen)
	}
	if raw.maxIdle < 0 || (raw.maxOpen > 0 && raw.maxIdle > raw.maxOpen) {
		bad("db-max-idle", "%d: want 0..--db-max-open", raw.maxIdle)
	}
	c.Pool = repository.Pool{MaxOpen: raw.maxOpen, MaxIdle: raw.maxIdle, MaxLifetime: raw.maxLifetime, MaxIdleTime: raw.maxIdleTime}
	if err := c.LogLevel.UnmarshalText([]byte(raw.logLevel)); err != nil {
		bad("log-level", "%q: want debug, info, warn or error", raw.logLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q: want text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}

// Feed request defaults are the HTTP source's (named here: parseServeConfig's feed variable hides the package).
// maxFeedRetries bounds --feed-retries: with the backoff capped at 10 s, more would hold one poll for minutes.
const (
	defaultFeedTimeout = feed.DefaultTimeout
	defaultFeedRetries = feed.DefaultRetries
	maxFeedRetries     = 20
)

// httpOptions is the HTTP feed source's configuration.
func (c *config) httpOptions(log *slog.Logger) feed.HTTPOptions {
	retries := c.FeedRetries
	if retries == 0 {
		retries = -1 // HTTPOptions reads 0 as its default
	}
	return feed.HTTPOptions{Timeout: c.FeedTimeout, Retries: retries, Logger: log}
}

// sqlitePath is the embedded database file.
func (c *config) sqlitePath() string { return filepath.Join(c.DataDir, "vatsector.db") }

// storeConfig is the repository configuration.
func (c *config) storeConfig(log *slog.Logger) repository.Config {
	return repository.Config{
		DatabaseURL: c.DatabaseURL, ReadDatabaseURL: c.ReadDatabaseURL, MaxReadLag: c.MaxReadLag,
		SQLitePath: c.sqlitePath(), Pool: c.Pool, QueryTimeout: c.QueryTimeout, Logger: log,
	}
}
