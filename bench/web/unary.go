package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

var debugMismatch = os.Getenv("BENCH_WEB_DEBUG") != ""

// The protocols, in the order of the report's columns.
var protocolNames = []string{"native gRPC (HTTP/2)", "Connect JSON", "Connect binary", "gRPC-Web", "REST GET"}

// The calls, in the order of the report's rows.
var callNames = []string{"GetIngestionStatus", "GetSectorOccupancy", "ListFlights"}

// unaryResults are the unary calls' figures, by call then protocol.
type unaryResults struct {
	busySector    string
	busyOccupants int
	calls         int
	cells         [][]unaryCell // [call][protocol]
	responseBytes []int         // proto.Size of the native answer, by call
	jsonBytes     []int         // protojson size of the native answer, by call
}

type unaryCell struct {
	p50, p99   time.Duration
	calls      int
	wireBytes  float64 // bytes read from the connection per call (headers, framing, body)
	encoding   string  // the response's content coding, "identity" when none
	mismatches int     // answers that differ from native gRPC's
}

// protocolClient calls each RPC one way.
type protocolClient struct {
	name     string
	calls    []func(context.Context) (proto.Message, error) // by callNames
	wire     *atomic.Int64
	encoding *encodingSeen
	close    func()
}

// encodingSeen records the content codings of a protocol's responses.
type encodingSeen struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (e *encodingSeen) add(v string) {
	e.mu.Lock()
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[v] = true
	e.mu.Unlock()
}

func (e *encodingSeen) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var s []string
	for k := range e.seen {
		s = append(s, k)
	}
	sort.Strings(s)
	if len(s) == 0 {
		return "identity"
	}
	return strings.Join(s, ", ")
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func countingDialer(n *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, n: n}, nil
	}
}

// http1Transport speaks HTTP/1.1 only, like a browser's fetch to a plain-text origin and curl.
func http1Transport(n *atomic.Int64) *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols), DialContext: countingDialer(n), MaxIdleConnsPerHost: 4}
	tr.Protocols.SetHTTP1(true)
	return tr
}

// recordingTransport records the content coding of every response.
type recordingTransport struct {
	next http.RoundTripper
	seen *encodingSeen
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Uncompressed:
		t.seen.add("gzip (Go's transport)")
	case resp.Header.Get("Content-Encoding") != "":
		t.seen.add(resp.Header.Get("Content-Encoding"))
	case resp.Header.Get("Grpc-Encoding") != "" && resp.Header.Get("Grpc-Encoding") != "identity":
		t.seen.add("grpc-encoding " + resp.Header.Get("Grpc-Encoding"))
	}
	return resp, nil
}

// request messages of the calls.
type unaryRequests struct {
	status    *vatsectorv1.GetIngestionStatusRequest
	occupancy *vatsectorv1.GetSectorOccupancyRequest
	flights   *vatsectorv1.ListFlightsRequest
	restPaths []string
}

func connectCall[Req, Res any](hc *http.Client, url string, req *Req, opts ...connect.ClientOption) func(context.Context) (proto.Message, error) {
	c := connect.NewClient[Req, Res](hc, url, opts...)
	return func(ctx context.Context) (proto.Message, error) {
		resp, err := c.CallUnary(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return any(resp.Msg).(proto.Message), nil
	}
}

func restCall(hc *http.Client, url string, newMsg func() proto.Message) func(context.Context) (proto.Message, error) {
	return func(ctx context.Context) (proto.Message, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
		}
		m := newMsg()
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, m); err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		return m, nil
	}
}

func newClients(e *env, rq unaryRequests) ([]*protocolClient, error) {
	var clients []*protocolClient
	// Native gRPC on the gRPC port.
	{
		wire, seen := &atomic.Int64{}, &encodingSeen{}
		conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return countingDialer(wire)(ctx, "tcp", addr)
			}))
		if err != nil {
			return nil, err
		}
		ing, sec, fl := vatsectorv1.NewIngestServiceClient(conn), vatsectorv1.NewSectorServiceClient(conn), vatsectorv1.NewFlightServiceClient(conn)
		clients = append(clients, &protocolClient{name: protocolNames[0], wire: wire, encoding: seen, close: func() { _ = conn.Close() },
			calls: []func(context.Context) (proto.Message, error){
				func(ctx context.Context) (proto.Message, error) { return ing.GetIngestionStatus(ctx, rq.status) },
				func(ctx context.Context) (proto.Message, error) { return sec.GetSectorOccupancy(ctx, rq.occupancy) },
				func(ctx context.Context) (proto.Message, error) { return fl.ListFlights(ctx, rq.flights) },
			}})
	}
	// Connect JSON, Connect binary and gRPC-Web over HTTP/1.1, each with a transport of its own.
	for i, opts := range [][]connect.ClientOption{{connect.WithProtoJSON()}, nil, {connect.WithGRPCWeb()}} {
		wire, seen := &atomic.Int64{}, &encodingSeen{}
		tr := http1Transport(wire)
		hc := &http.Client{Transport: recordingTransport{next: tr, seen: seen}}
		clients = append(clients, &protocolClient{name: protocolNames[1+i], wire: wire, encoding: seen, close: tr.CloseIdleConnections,
			calls: []func(context.Context) (proto.Message, error){
				connectCall[vatsectorv1.GetIngestionStatusRequest, vatsectorv1.GetIngestionStatusResponse](hc,
					e.base+vatsectorv1.IngestService_GetIngestionStatus_FullMethodName, rq.status, opts...),
				connectCall[vatsectorv1.GetSectorOccupancyRequest, vatsectorv1.GetSectorOccupancyResponse](hc,
					e.base+vatsectorv1.SectorService_GetSectorOccupancy_FullMethodName, rq.occupancy, opts...),
				connectCall[vatsectorv1.ListFlightsRequest, vatsectorv1.ListFlightsResponse](hc,
					e.base+vatsectorv1.FlightService_ListFlights_FullMethodName, rq.flights, opts...),
			}})
	}
	// REST GET over HTTP/1.1; Go's transport asks for gzip and decompresses, as a browser does.
	{
		wire, seen := &atomic.Int64{}, &encodingSeen{}
		tr := http1Transport(wire)
		hc := &http.Client{Transport: recordingTransport{next: tr, seen: seen}}
		clients = append(clients, &protocolClient{name: protocolNames[4], wire: wire, encoding: seen, close: tr.CloseIdleConnections,
			calls: []func(context.Context) (proto.Message, error){
				restCall(hc, e.base+rq.restPaths[0], func() proto.Message { return &vatsectorv1.GetIngestionStatusResponse{} }),
				restCall(hc, e.base+rq.restPaths[1], func() proto.Message { return &vatsectorv1.GetSectorOccupancyResponse{} }),
				restCall(hc, e.base+rq.restPaths[2], func() proto.Message { return &vatsectorv1.ListFlightsResponse{} }),
			}})
	}
	return clients, nil
}

// normalized is the answer without what changes from one call to the next: the server's clock and the pool's
// figures in the ingestion status.
func normalized(m proto.Message) proto.Message {
	st, ok := m.(*vatsectorv1.GetIngestionStatusResponse)
	if !ok {
		return m
	}
	st = proto.Clone(st).(*vatsectorv1.GetIngestionStatusResponse)
	st.ServerTime, st.DatabasePool, st.IngestPool = nil, nil, nil
	return st
}

// busiestSector is the VATSpy sector with the most flights inside it now, by ListSectors over native gRPC.
func busiestSector(ctx context.Context, sec vatsectorv1.SectorServiceClient) (string, int, error) {
	var name string
	best, token := -1, ""
	for {
		resp, err := sec.ListSectors(ctx, &vatsectorv1.ListSectorsRequest{Set: "vatspy", PageSize: 1000, PageToken: token})
		if err != nil {
			return "", 0, err
		}
		for _, s := range resp.GetSectors() {
			if int(s.GetFlightCount()) > best {
				best, name = int(s.GetFlightCount()), s.GetResourceName()
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if best <= 0 {
		return "", 0, fmt.Errorf("no VATSpy sector holds a flight")
	}
	return name, best, nil
}

// measureUnary calls each RPC over each protocol, one call at a time: o.warmup calls first, then o.calls rounds,
// each round calling every RPC over every protocol, the protocols' order rotated from round to round, so that
// the machine's noise falls on all of them alike. Every answer is compared with native gRPC's first one (the
// service stands still meanwhile).
func measureUnary(ctx context.Context, e *env, o options) (*unaryResults, error) {
	conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	name, occupants, err := busiestSector(ctx, vatsectorv1.NewSectorServiceClient(conn))
	if err != nil {
		return nil, err
	}
	rq := unaryRequests{
		status:    &vatsectorv1.GetIngestionStatusRequest{},
		occupancy: &vatsectorv1.GetSectorOccupancyRequest{Name: name},
		flights:   &vatsectorv1.ListFlightsRequest{PageSize: 100},
		restPaths: []string{"/v1/ingestion/status", "/v1/" + name + "/occupancy", "/v1/flights?page_size=100"},
	}
	clients, err := newClients(e, rq)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	res := &unaryResults{busySector: name, busyOccupants: occupants, calls: o.calls}
	refs := make([]proto.Message, len(callNames))
	for ci := range callNames {
		m, err := clients[0].calls[ci](ctx)
		if err != nil {
			return nil, fmt.Errorf("%s over %s: %w", callNames[ci], clients[0].name, err)
		}
		refs[ci] = normalized(m)
		res.responseBytes = append(res.responseBytes, proto.Size(m))
		j, _ := protojson.Marshal(m)
		res.jsonBytes = append(res.jsonBytes, len(j))
	}
	times := make([][][]time.Duration, len(callNames))
	mismatches := make([][]int, len(callNames))
	wire := make([][]int64, len(callNames))
	for ci := range callNames {
		times[ci] = make([][]time.Duration, len(clients))
		mismatches[ci] = make([]int, len(clients))
		wire[ci] = make([]int64, len(clients))
	}
	for round := range o.warmup + o.calls {
		measured := round >= o.warmup
		for ci := range callNames {
			for k := range clients {
				pi := (k + round) % len(clients)
				c := clients[pi]
				before := c.wire.Load()
				start := time.Now()
				m, err := c.calls[ci](ctx)
				took := time.Since(start)
				if err != nil {
					return nil, fmt.Errorf("%s over %s: %w", callNames[ci], c.name, err)
				}
				if !measured {
					continue
				}
				wire[ci][pi] += c.wire.Load() - before
				times[ci][pi] = append(times[ci][pi], took)
				if !proto.Equal(normalized(m), refs[ci]) {
					if mismatches[ci][pi] == 0 && debugMismatch {
						fmt.Fprintf(os.Stderr, "%s over %s differs:\n%v\nnative:\n%v\n", callNames[ci], c.name, normalized(m), refs[ci])
					}
					mismatches[ci][pi]++
				}
			}
		}
	}
	for ci := range callNames {
		var row []unaryCell
		for pi, c := range clients {
			ts := times[ci][pi]
			row = append(row, unaryCell{p50: percentile(ts, 50), p99: percentile(ts, 99), calls: len(ts),
				wireBytes: float64(wire[ci][pi]) / float64(len(ts)), encoding: c.encoding.String(), mismatches: mismatches[ci][pi]})
		}
		res.cells = append(res.cells, row)
	}
	return res, nil
}

// percentile is the nearest-rank percentile of ds (sorted in place).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	return ds[max(0, min(len(ds), i)-1)]
}
