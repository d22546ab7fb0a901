package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/testcert"
)

// webEnv is a server with its HTTP surface running on a real port.
type webEnv struct {
	*env
	base string // http://127.0.0.1:port
}

// startWeb starts env's server's HTTP surface; it is shut down with the server.
func startWeb(t *testing.T, e *env, cfg HTTPConfig) *webEnv {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.ServeWeb(lis, cfg) }()
	t.Cleanup(func() {
		e.stop(t)
		if err := <-done; err != nil {
			t.Errorf("ServeWeb: %v", err)
		}
	})
	scheme := "http"
	if e.srv.tls != nil {
		scheme = "https"
	}
	return &webEnv{env: e, base: scheme + "://" + lis.Addr().String()}
}

// clientProtocols are the ways a client reaches the HTTP surface, each by a connect-go client.
func clientProtocols() []struct {
	name string
	opts []connect.ClientOption
	h2c  bool // needs HTTP/2 without TLS
} {
	return []struct {
		name string
		opts []connect.ClientOption
		h2c  bool
	}{
		{"connect+json", []connect.ClientOption{connect.WithProtoJSON()}, false},
		{"connect+proto", nil, false},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}, false},
		{"grpc over h2c", []connect.ClientOption{connect.WithGRPC()}, true},
	}
}

// httpClient speaks HTTP/1.1 only, like a browser's fetch to a plain-text origin and like curl, or, with h2c,
// HTTP/2 without TLS (gRPC needs HTTP/2).
func httpClient(t *testing.T, h2c bool) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	if h2c {
		tr.Protocols.SetUnencryptedHTTP2(true)
	} else {
		tr.Protocols.SetHTTP1(true)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// restCode is the status code of a REST error body (google.rpc.Status in JSON), or OK for a success.
func restGet(t *testing.T, c *http.Client, url string) (codes.Code, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return codes.OK, body
	}
	var st struct {
		Code codes.Code `json:"code"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("GET %s: %s, body %q is not a status: %v", url, resp.Status, body, err)
	}
	return st.Code, body
}

// Every protocol reaches the same handlers through the same interceptors: a call that fails on native gRPC
// fails with the same code over Connect, gRPC-Web, gRPC on the HTTP port and REST, and one that succeeds
// returns the same message.
func TestHTTPProtocolsAnswerAsGRPCDoes(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	w := startWeb(t, e, HTTPConfig{})
	ctx := context.Background()
	calls := []struct {
		name string
		req  *vatsectorv1.GetFlightRequest
		rest string // the same call over REST
	}{
		{"found", &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: baw123}}, "/v1/flights/1"},
		{"by callsign", &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Callsign{Callsign: "dlh4"}}, "/v1/callsigns/dlh4/flight"},
		{"not found", &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: 999999}}, "/v1/flights/999999"},
		{"invalid (validation interceptor)", &vatsectorv1.GetFlightRequest{Selector: &vatsectorv1.GetFlightRequest_Id{Id: baw123}, MaxVisits: -1},
			"/v1/flights/1?max_visits=-1"},
		{"invalid (no selector)", &vatsectorv1.GetFlightRequest{}, ""},
	}
	if baw123 != 1 {
		t.Fatalf("the REST paths above assume BAW123 is flight 1, it is %d", baw123)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := e.flightClient.GetFlight(ctx, c.req)
			wantCode := status.Code(wantErr)
			if c.name != "found" && c.name != "by callsign" && wantCode == codes.OK {
				t.Fatalf("native gRPC: %s succeeded; the test needs it to fail", c.name)
			}
			for _, p := range clientProtocols() {
				client := connect.NewClient[vatsectorv1.GetFlightRequest, vatsectorv1.GetFlightResponse](
					httpClient(t, p.h2c), w.base+vatsectorv1.FlightService_GetFlight_FullMethodName, p.opts...)
				got, err := client.CallUnary(ctx, connect.NewRequest(c.req))
				if code := codes.Code(connect.CodeOf(err)); err == nil && wantCode != codes.OK || err != nil && code != wantCode {
					t.Errorf("%s: %v (%v), native gRPC: %v", p.name, code, err, wantErr)
					continue
				}
				if err == nil && !proto.Equal(got.Msg, want) {
					t.Errorf("%s: %v\nnative gRPC: %v", p.name, got.Msg, want)
				}
			}
			if c.rest == "" {
				return
			}
			code, body := restGet(t, httpClient(t, false), w.base+c.rest)
			if code != wantCode {
				t.Errorf("REST GET %s: %v (%s), native gRPC: %v", c.rest, code, body, wantErr)
			}
		})
	}
}

// A JSON POST with no Connect header (curl as the Connect protocol documents it) is a Connect call, not a
// REST call to a route that does not exist.
func TestHTTPPlainJSONPostIsAConnectCall(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	w := startWeb(t, e, HTTPConfig{})
	resp, err := httpClient(t, false).Post(w.base+vatsectorv1.SectorService_ListSectors_FullMethodName, "application/json",
		strings.NewReader(`{"set": "test"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"resourceName":"sets/test/sectors/EGTT"`) {
		t.Fatalf("%s: %s", resp.Status, body)
	}
}

// Server streams work over HTTP/1.1 (a browser's fetch) with Connect and gRPC-Web, resuming as over gRPC: the
// stored events after the checkpoint, in order, then live.
func TestHTTPServerStreamsOverHTTP1(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	w := startWeb(t, e, HTTPConfig{})
	for _, p := range clientProtocols()[:3] {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client := connect.NewClient[vatsectorv1.WatchSectorEventsRequest, vatsectorv1.WatchSectorEventsResponse](
				httpClient(t, false), w.base+vatsectorv1.SectorService_WatchSectorEvents_FullMethodName, p.opts...)
			after := int64(2)
			stream, err := client.CallServerStream(ctx, connect.NewRequest(&vatsectorv1.WatchSectorEventsRequest{AfterSequence: &after}))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var seqs []int64
			for len(seqs) < 3 && stream.Receive() {
				if ev := stream.Msg().GetEvent(); ev != nil {
					seqs = append(seqs, ev.GetSequence())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if want := []int64{3, 4, 5}; !slices.Equal(seqs, want) {
				t.Fatalf("sequences %v, want %v", seqs, want)
			}
		})
	}
}

// CORS: a page of an allowed origin may call the API (preflight and call), other origins get no permission.
func TestHTTPCORS(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	w := startWeb(t, e, HTTPConfig{AllowedOrigins: []string{"https://map.example.org"}})
	c := httpClient(t, false)
	for _, tc := range []struct {
		origin  string
		allowed bool
	}{{"https://map.example.org", true}, {"https://elsewhere.example.org", false}} {
		req, _ := http.NewRequest(http.MethodOptions, w.base+vatsectorv1.IngestService_WatchIngestion_FullMethodName, nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "connect-protocol-version,connect-timeout-ms,content-type") // sorted and lower-case, as browsers send it
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); (got == tc.origin) != tc.allowed {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin %q, allowed %v", tc.origin, got, tc.allowed)
		}
		req, _ = http.NewRequest(http.MethodGet, w.base+"/v1/sectors", nil)
		req.Header.Set("Origin", tc.origin)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); (got == tc.origin) != tc.allowed || resp.StatusCode != http.StatusOK {
			t.Errorf("GET from %s: %s, Access-Control-Allow-Origin %q, allowed %v", tc.origin, resp.Status, got, tc.allowed)
		}
	}
}

// The page's files are served where the API has no route; the API's routes win.
func TestHTTPServesThePage(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	assets := fstest.MapFS{
		"index.html":       {Data: []byte("<!doctype html><title>map</title>")},
		"assets/app-1.js":  {Data: []byte("console.log(1)")},
		"assets/big.js":    {Data: []byte(strings.Repeat("console.log(1);\n", 1000))},
		"v1/sectors/index": {Data: []byte("not the API")},
	}
	w := startWeb(t, e, HTTPConfig{Assets: assets})
	c := httpClient(t, false)
	for _, tc := range []struct{ path, want, cache string }{
		{"/", "<title>map</title>", "no-cache"},
		{"/assets/app-1.js", "console.log(1)", "immutable"},
		{"/v1/sectors", `"resourceName":"sets/test/sectors/EGTT"`, ""},
	} {
		resp, err := c.Get(w.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) || !strings.Contains(resp.Header.Get("Cache-Control"), tc.cache) {
			t.Errorf("GET %s: %s, Cache-Control %q, body %.200q; want %q", tc.path, resp.Status, resp.Header.Get("Cache-Control"), body, tc.want)
		}
	}
	// GETs are gzipped for a client that accepts it (Go's client asks, and says it decompressed); POSTs, which
	// Connect compresses per message, are not.
	for _, tc := range []struct {
		method, path string
		gzipped      bool
	}{
		{http.MethodGet, "/assets/big.js", true},
		{http.MethodGet, "/v1/sectors?page_size=1000", false}, // under gzipMinSize
		{http.MethodPost, vatsectorv1.SectorService_ListSectors_FullMethodName, false},
	} {
		var body io.Reader
		if tc.method == http.MethodPost {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(tc.method, w.base+tc.path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped || resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %s, gzipped %v, want %v", tc.method, tc.path, resp.Status, got, tc.gzipped)
		}
	}
	resp, err := c.Get(w.base + "/missing.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /missing.js: %s, want 404", resp.Status)
	}
}

// With TLS both ports serve TLS only: gRPC with TLS credentials and HTTPS answer, plain text does not.
func TestTLSOnBothPorts(t *testing.T) {
	c := testcert.New(t)
	cert, pool := c.TLS, c.Pool
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{
		config: func(c *Config) { c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} },
	})
	w := startWeb(t, e, HTTPConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := grpc.NewClient(e.target, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := vatsectorv1.NewIngestServiceClient(conn).GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{}); err != nil {
		t.Errorf("gRPC over TLS: %v", err)
	}
	if _, err := e.ingestClient.GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC in plain text to a TLS port: %v, want UNAVAILABLE", err)
	}

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	for _, p := range clientProtocols()[:3] {
		client := connect.NewClient[vatsectorv1.GetIngestionStatusRequest, vatsectorv1.GetIngestionStatusResponse](
			&http.Client{Transport: tr}, w.base+vatsectorv1.IngestService_GetIngestionStatus_FullMethodName, p.opts...)
		if _, err := client.CallUnary(ctx, connect.NewRequest(&vatsectorv1.GetIngestionStatusRequest{})); err != nil {
			t.Errorf("%s over HTTPS: %v", p.name, err)
		}
	}
	plain := "http" + strings.TrimPrefix(w.base, "https")
	// Go's TLS server answers a plain-text request with 400 and closes the connection.
	if resp, err := httpClient(t, false).Get(plain + "/v1/sectors"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %s, want 400", resp.Status)
		}
	}
}

// The per-client limits are the same over HTTP: one client (IP address) has one request budget whichever
// protocol it uses, and a call over it is RESOURCE_EXHAUSTED with the retry hint on every protocol.
func TestHTTPClientsShareTheirLimitsAcrossProtocols(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{config: func(c *Config) {
		c.ClientRequestRate, c.ClientRequestBurst = 0.001, 1
	}})
	w := startWeb(t, e, HTTPConfig{})
	ctx := context.Background()
	if _, err := e.ingestClient.GetIngestionStatus(ctx, &vatsectorv1.GetIngestionStatusRequest{}); err != nil {
		t.Fatal(err) // the budget's one call, over native gRPC
	}
	for _, p := range clientProtocols() {
		client := connect.NewClient[vatsectorv1.GetIngestionStatusRequest, vatsectorv1.GetIngestionStatusResponse](
			httpClient(t, p.h2c), w.base+vatsectorv1.IngestService_GetIngestionStatus_FullMethodName, p.opts...)
		_, err := client.CallUnary(ctx, connect.NewRequest(&vatsectorv1.GetIngestionStatusRequest{}))
		var ce *connect.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v, want an error", p.name, err)
		}
		// The same status, details included, as native gRPC gives.
		st := status.New(codes.Code(ce.Code()), ce.Message())
		for _, d := range ce.Details() {
			v, derr := d.Value()
			if derr != nil {
				t.Fatal(derr)
			}
			if st, derr = st.WithDetails(v.(protoadapt.MessageV1)); derr != nil {
				t.Fatal(derr)
			}
		}
		wantRetryHint(t, st.Err(), "too many requests from 127.0.0.1")
	}
	code, body := restGet(t, httpClient(t, false), w.base+"/v1/ingestion/status")
	if code != codes.ResourceExhausted || !strings.Contains(string(body), "RetryInfo") {
		t.Errorf("REST: %v %s, want RESOURCE_EXHAUSTED with RetryInfo", code, body)
	}
}

// At shutdown a stream over HTTP ends as one over gRPC does, with UNAVAILABLE, and ServeWeb returns.
func TestHTTPStreamsEndWithUnavailableAtShutdown(t *testing.T) {
	e := startEnv(t, openFixtureStore(t), transports()[1], envOptions{})
	w := startWeb(t, e, HTTPConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := connect.NewClient[vatsectorv1.WatchIngestionRequest, vatsectorv1.WatchIngestionResponse](
		httpClient(t, false), w.base+vatsectorv1.IngestService_WatchIngestion_FullMethodName, connect.WithProtoJSON())
	// vanguard sends a Connect stream's response headers with its first message, and connect-go returns the
	// stream once it has them: a stream with nothing to send yet is opened on a goroutine of its own.
	ended := make(chan error, 1)
	go func() {
		stream, err := client.CallServerStream(ctx, connect.NewRequest(&vatsectorv1.WatchIngestionRequest{}))
		if err != nil {
			ended <- err
			return
		}
		defer stream.Close()
		for stream.Receive() {
		}
		ended <- stream.Err()
	}()
	waitSubscribers(t, e.hub, 1)
	e.stop(t)
	if err := <-ended; connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("stream ended with %v (%v), want UNAVAILABLE", connect.CodeOf(err), err)
	}
}
