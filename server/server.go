package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
)

// Config wires a Server. Store, Status, Sectors and Hub are required; zero limits take the defaults below.
type Config struct {
	Store   Storage
	Status  StatusSource
	Sectors SectorsProvider
	// Hub must be the Publisher given to ingest; New installs the server's hooks in it.
	Hub    *hub.Hub
	Logger *slog.Logger
	// Registerer receives the RPC and stream metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// PollInterval is ingest's, reported by GetIngestionStatus and used to judge staleness.
	PollInterval time.Duration

	// HeartbeatInterval is how long a sector event stream may send nothing before it sends a heartbeat.
	HeartbeatInterval time.Duration
	// ReplayPageSize is how many stored events a stream reads per query while it replays.
	ReplayPageSize int
	// MaxRecvMsgSize and MaxSendMsgSize bound one message, in bytes.
	MaxRecvMsgSize int
	MaxSendMsgSize int
	// MaxConcurrentStreams bounds the RPCs in flight on one client connection (HTTP/2 streams).
	MaxConcurrentStreams uint32
	// KeepaliveTime is how long a connection may be silent before the server pings it, and KeepaliveTimeout
	// how long it then waits for the answer before closing it: a subscriber that vanished without closing its
	// connection is noticed within their sum, and its stream ends.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// KeepaliveMinTime is the shortest interval between a client's pings that the server tolerates; a client
	// pinging more often is disconnected.
	KeepaliveMinTime time.Duration

	// MaxOpenStreams bounds the streaming RPCs open at once, of every method, from admission until their
	// handler returns (DefaultMaxOpenStreams, or the hub's MaxSubscribers when that is larger); more are
	// RESOURCE_EXHAUSTED with a retry hint.
	MaxOpenStreams int
	// MaxStreamsPerClient bounds the streams one client (peer IP address) holds open at once.
	MaxStreamsPerClient int
	// ClientRequestRate (calls a second) and ClientRequestBurst are each client's token bucket, shared by
	// unary calls and stream openings; a call over it is RESOURCE_EXHAUSTED with the delay to retry after.
	ClientRequestRate  float64
	ClientRequestBurst int
	// MaxConcurrentCatchUpReads bounds the stored-event reads that resuming or lagging streams run at once;
	// the others wait their turn (still counted as open streams), so unary calls always find a connection.
	MaxConcurrentCatchUpReads int

	// TLS, when set, makes both the gRPC port and the HTTP surface (ServeWeb) serve TLS only.
	TLS *tls.Config

	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time
}

// Defaults of Config.
const (
	// DefaultHeartbeatInterval is two feed cycles, as the API promises: a stream that gets events every cycle
	// never needs one, and with one cycle a stream's heartbeat fell due just as the next cycle's events did,
	// a burst of one message per stream on top of each cycle.
	DefaultHeartbeatInterval    = 30 * time.Second
	DefaultReplayPageSize       = 500
	DefaultMaxRecvMsgSize       = 1 << 20  // requests are filters: a thousand sector ids fit easily
	DefaultMaxSendMsgSize       = 32 << 20 // a page of 1000 flights, or a day-long track
	DefaultMaxConcurrentStreams = 100
	DefaultKeepaliveTime        = 30 * time.Second
	DefaultKeepaliveTimeout     = 10 * time.Second
	DefaultKeepaliveMinTime     = 10 * time.Second
	DefaultMaxOpenStreams       = hub.DefaultMaxSubscribers
	// DefaultMaxStreamsPerClient lets a dashboard host run a stream per panel, and keeps one host from taking
	// the whole cap: 32 hosts are needed to fill the 1,024.
	DefaultMaxStreamsPerClient = 32
	// DefaultClientRequestRate and DefaultClientRequestBurst are generous: a dashboard polling a dozen panels
	// every few seconds stays far below; only a runaway loop or a flood is refused.
	DefaultClientRequestRate  = 50
	DefaultClientRequestBurst = 100
	// DefaultMaxConcurrentCatchUpReads keeps the API's pool (8 connections by default on PostgreSQL) mostly
	// free for unary calls: two pages of 500 events read at a time still catch a stream up far faster than a
	// client takes them in, while 1,000 streams resuming at once had taken every connection (see catchUpGate).
	DefaultMaxConcurrentCatchUpReads = 2
)

// Server is the gRPC server of the API, with gRPC health and reflection.
type Server struct {
	grpc   *grpc.Server
	health *healthService
	hub    *hub.Hub
	store  Storage
	log    *slog.Logger
	// admit and catchUp are the stream and catch-up bounds, held here for their figures.
	admit   *admission
	catchUp *catchUpGate
	ingest  *ingestHealth
	// stopBackground ends the ingest health ticker that Ready starts; background is closed when it returned.
	stopBackground context.CancelFunc
	background     chan struct{}

	// mu guards http, the HTTP surface once ServeHTTP started it, and stopped, set by Shutdown.
	mu      sync.Mutex
	http    *http.Server
	stopped bool
	tls     *tls.Config
}

// New builds the server; it serves nothing until Serve, and reports NOT_SERVING until Ready.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("server: no store")
	case cfg.Status == nil:
		return nil, errors.New("server: no ingestion status source")
	case cfg.Sectors == nil:
		return nil, errors.New("server: no sectors")
	case cfg.Hub == nil:
		return nil, errors.New("server: no hub")
	case cfg.PollInterval < 0 || cfg.HeartbeatInterval < 0 || cfg.ReplayPageSize < 0 || cfg.MaxRecvMsgSize < 0 ||
		cfg.MaxSendMsgSize < 0 || cfg.KeepaliveTime < 0 || cfg.KeepaliveTimeout < 0 || cfg.KeepaliveMinTime < 0:
		return nil, errors.New("server: negative limit in configuration")
	}
	if cfg.MaxOpenStreams < 0 || cfg.MaxStreamsPerClient < 0 || cfg.ClientRequestRate < 0 || cfg.ClientRequestBurst < 0 ||
		cfg.MaxConcurrentCatchUpReads < 0 {
		return nil, errors.New("server: negative limit in configuration")
	}
	cfg.setDefaults()
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	admit := newAdmission(cfg)
	catchUp := newCatchUpGate(cfg.MaxConcurrentCatchUpReads)
	if cfg.Registerer != nil {
		collectors := append([]prometheus.Collector{metrics}, hubCollectors(cfg.Hub)...)
		collectors = append(collectors, admit.collectors()...)
		for _, c := range append(collectors, catchUp.collectors()...) {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("server: register metrics: %w", err)
			}
		}
	}
	errs := errorMapper{log: cfg.Logger}
	unary, stream := interceptorChain(cfg.Logger, errs, metrics, admit)
	codec, err := newStreamCodec()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	opts := []grpc.ServerOption{
		// Sector event streams send messages encoded once for many streams; every other message is
		// marshalled by the proto codec as usual.
		grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(cfg.MaxSendMsgSize),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: cfg.KeepaliveTime, Timeout: cfg.KeepaliveTimeout}),
		// Clients may keep idle connections alive with pings (a stream waiting for the next cycle is idle in
		// HTTP/2 terms), as long as they do not ping more often than MinTime.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: cfg.KeepaliveMinTime, PermitWithoutStream: true}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	g := grpc.NewServer(opts...)
	q := &queryService{
		store: cfg.Store, sectors: cfg.Sectors, status: cfg.Status, hub: cfg.Hub, now: cfg.Now,
		pollInterval: cfg.PollInterval, heartbeat: cfg.HeartbeatInterval, replayPage: cfg.ReplayPageSize,
		catchUp: catchUp,
	}
	vatsectorv1.RegisterIngestServiceServer(g, &ingestHandler{q: q})
	vatsectorv1.RegisterFlightServiceServer(g, &flightHandler{q: q})
	vatsectorv1.RegisterSectorServiceServer(g, &sectorHandler{q: q})
	vatsectorv1.RegisterControllerServiceServer(g, &controllerHandler{q: q})
	vatsectorv1.RegisterStatsServiceServer(g, &statsHandler{q: q})
	h := newHealthService()
	for _, name := range healthNames() {
		h.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	healthpb.RegisterHealthServer(g, h)
	reflection.Register(g)
	metrics.InitializeMetrics(g)
	s := &Server{
		grpc: g, health: h, hub: cfg.Hub, store: cfg.Store, log: cfg.Logger, admit: admit, catchUp: catchUp, tls: cfg.TLS,
		ingest: &ingestHealth{health: h, status: cfg.Status, interval: cfg.PollInterval, now: cfg.Now},
	}
	prepareWith(cfg.Hub)
	cfg.Hub.SetAfterPublish(s.ingest.refresh)
	return s, nil
}

func (cfg *Config) setDefaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	orDefault(&cfg.HeartbeatInterval, DefaultHeartbeatInterval)
	orDefault(&cfg.KeepaliveTime, DefaultKeepaliveTime)
	orDefault(&cfg.KeepaliveTimeout, DefaultKeepaliveTimeout)
	orDefault(&cfg.KeepaliveMinTime, DefaultKeepaliveMinTime)
	orDefault(&cfg.ReplayPageSize, DefaultReplayPageSize)
	orDefault(&cfg.MaxRecvMsgSize, DefaultMaxRecvMsgSize)
	orDefault(&cfg.MaxSendMsgSize, DefaultMaxSendMsgSize)
	orDefault(&cfg.MaxConcurrentStreams, DefaultMaxConcurrentStreams)
	// A hub sized for more subscribers (a load test) is not undercut by the default.
	orDefault(&cfg.MaxOpenStreams, max(DefaultMaxOpenStreams, cfg.Hub.MaxSubscribers()))
	orDefault(&cfg.MaxStreamsPerClient, DefaultMaxStreamsPerClient)
	orDefault(&cfg.ClientRequestRate, DefaultClientRequestRate)
	orDefault(&cfg.ClientRequestBurst, DefaultClientRequestBurst)
	orDefault(&cfg.MaxConcurrentCatchUpReads, DefaultMaxConcurrentCatchUpReads)
}

// orDefault sets a zero configuration value to its default.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// healthNames are the gRPC health service names: the whole server ("") and each API service.
func healthNames() []string {
	return []string{
		"",
		vatsectorv1.IngestService_ServiceDesc.ServiceName,
		vatsectorv1.FlightService_ServiceDesc.ServiceName,
		vatsectorv1.SectorService_ServiceDesc.ServiceName,
		vatsectorv1.ControllerService_ServiceDesc.ServiceName,
		vatsectorv1.StatsService_ServiceDesc.ServiceName,
	}
}

// hubCollectors expose the hub's figures.
func hubCollectors(h *hub.Hub) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vatsector_api_streams", Help: "Streams subscribed to committed cycles (sector events and ingestion).",
		}, func() float64 { return float64(h.Subscribers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vatsector_api_stream_lagged_total",
			Help: "Times a stream fell too far behind to be fed live and was switched to catching up (or ended).",
		}, func() float64 { return float64(h.Lagged()) }),
	}
}

// Ready is called once the database is migrated: it checks the database answers, seeds the hub with the
// latest committed cycle and sequence (streams are refused until then), and reports SERVING.
func (s *Server) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	last, err := s.store.LastCommittedCycle(ctx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	_, latest, err := s.store.SequenceBounds(ctx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.hub.Seed(last, latest)
	for _, name := range healthNames() {
		if name != vatsectorv1.IngestService_ServiceDesc.ServiceName {
			s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
	}
	s.ingest.ready.Store(true)
	s.ingest.refresh()
	if s.stopBackground == nil {
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopBackground, s.background = cancel, make(chan struct{})
		go func() {
			defer close(s.background)
			// A third of the STALE limit: a wedge shows within 4/3 of the limit.
			s.ingest.run(ctx, staleLimit(s.ingest.interval)/3)
		}()
	}
	return nil
}

// Serve accepts connections on lis until Shutdown; it returns nil after a shutdown.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.grpc.Serve(lis); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Drain reports NOT_SERVING for good, so load balancers and health probes send no new work while the
// process stops. RPCs keep being served until Shutdown.
func (s *Server) Drain() { s.health.Shutdown() }

// Shutdown stops the server: NOT_SERVING (if Drain was not called), every stream ended with UNAVAILABLE (the
// hub closes its subscribers; health watches end after NOT_SERVING), then a graceful stop of the HTTP surface
// and of gRPC that lets unary RPCs finish until ctx's deadline, after which the remaining RPCs are cut. It does not stop ingest or close the store: see the package documentation
// for the order.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	if s.stopBackground != nil {
		s.stopBackground()
		<-s.background
	}
	s.hub.Close()
	s.health.stopWatches()
	// The HTTP surface first: grpc-go's GracefulStop closes the calls it serves through ServeHTTP at once
	// (a handler transport cannot be drained), so those calls get their grace from the HTTP server's own
	// shutdown, which waits for them, while native gRPC connections go on being served.
	httpErr := s.shutdownHTTP(ctx)
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		if httpErr != nil {
			s.log.Warn("HTTP requests still running at the shutdown deadline were cut")
			return fmt.Errorf("server: shutdown: %w", httpErr)
		}
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		s.log.Warn("RPCs still running at the shutdown deadline were cut")
		return fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
}
