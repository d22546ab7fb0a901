package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/vanguard"
	"connectrpc.com/vanguard/vanguardgrpc"
	"github.com/klauspost/compress/gzhttp"
	"github.com/rs/cors"
)

// The HTTP surface serves the gRPC server's services to clients that cannot speak gRPC over HTTP/2: browsers
// and curl. vanguard transcodes Connect (JSON and binary, unary and server streams over HTTP/1.1), gRPC-Web and
// REST (the google.api.http rules of the protos) into gRPC and hands each call to the same grpc.Server through
// its ServeHTTP: the same handlers, validation, admission limits, error mapping and metrics as native gRPC,
// none of them written twice. Beside the API it serves the map page's static assets at /.

// HTTPConfig is the HTTP surface's configuration.
type HTTPConfig struct {
	// AllowedOrigins are the origins whose pages may call the API from a browser (CORS), e.g.
	// "https://map.example.org"; "*" allows every origin. Empty: only pages served by this port itself.
	AllowedOrigins []string
	// Assets are served at / (index.html for /); nil serves no page.
	Assets fs.FS
}

// httpReadHeaderTimeout bounds how long a client may take to send its request headers, so that connections
// opened and left silent do not pile up; bodies and responses have no deadline, since streams run for hours.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
)

// newHTTPHandler is the HTTP surface's handler: CORS, then the API (by path, the transcoder recognises its
// routes) or, for a GET the API has no route for, the page's assets.
func newHTTPHandler(s *Server, cfg HTTPConfig) (http.Handler, error) {
	transcoder, err := vanguardgrpc.NewTranscoder(s.grpc,
		// A REST or Connect request that names a method the server lacks falls through to the assets.
		vanguard.WithUnknownHandler(assetsHandler(cfg.Assets)),
	)
	if err != nil {
		return nil, fmt.Errorf("server: HTTP transcoder: %w", err)
	}
	gzipped, err := gzhttp.NewWrapper(gzhttp.MinSize(gzipMinSize))
	if err != nil {
		return nil, fmt.Errorf("server: gzip: %w", err)
	}
	return corsHandler(cfg.AllowedOrigins).Handler(compressGETs(gzipped, connectByDefault(transcoder))), nil
}

// gzipMinSize: smaller responses are sent as they are, gzip's framing costing more than it saves.
const gzipMinSize = 1024

// compressGETs gzips the answers to GETs (REST reads, the page's files) for clients that accept it: the
// sectors' GeoJSON is 1.24 MB at 0.02 degrees and a twentieth of that gzipped, and the page's script a third.
// Connect and gRPC-Web calls are POSTs and negotiate their own per-message compression, which suits streams.
func compressGETs(gzipped func(http.Handler) http.HandlerFunc, next http.Handler) http.Handler {
	compressed := gzipped(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			compressed.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// connectByDefault marks a POST of JSON or binary protobuf to a method's path (/package.Service/Method) as a
// Connect unary call when it lacks the Connect-Protocol-Version header, as connect-go's own servers accept it
// by default: without the header vanguard takes it for a REST call and, finding no REST route there, answers
// 404. So `curl -d '{}' -H 'Content-Type: application/json' http://host:8080/vatsector.v1.IngestService/...`
// works as the Connect protocol documents it. REST routes (/v1/...) have no dot in their first segment.
func connectByDefault(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Connect-Protocol-Version") == "" && isMethodPath(r.URL.Path) {
			switch ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(strings.ToLower(ct)) {
			case "application/json", "application/proto":
				r.Header.Set("Connect-Protocol-Version", "1")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isMethodPath reports whether path has the form /package.Service/Method.
func isMethodPath(path string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ok && strings.Contains(service, ".") && method != "" && !strings.Contains(method, "/")
}

// assetsHandler serves the page; without assets, everything the API does not route is NOT FOUND.
func assetsHandler(assets fs.FS) http.Handler {
	if assets == nil {
		return http.NotFoundHandler()
	}
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Built assets carry a content hash in their names (assets/…): they may be cached for good. The page
		// itself must be fetched again to pick up a new build.
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// corsHandler lets the pages of the allowed origins call every protocol: the methods, request headers and
// response headers Connect, gRPC-Web and REST use (connectrpc.com/cors's lists, which are small enough to
// keep here rather than take a module for).
func corsHandler(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{
			"Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms", "Connect-Accept-Encoding",
			"Connect-Content-Encoding", "Grpc-Timeout", "X-Grpc-Web", "X-User-Agent", "Accept-Encoding",
			"Content-Encoding",
		},
		ExposedHeaders: []string{
			"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "Content-Encoding",
			"Connect-Content-Encoding",
		},
		// Preflight results are cached by the browser for two hours (Chromium's cap).
		MaxAge: 7200,
	})
}

// ServeWeb serves the HTTP surface on lis until Shutdown; it returns nil after a shutdown. It may be called
// once, beside Serve. With Config.TLS it serves HTTPS (HTTP/1.1 and HTTP/2); without, HTTP/1.1 and HTTP/2
// without TLS (h2c), so gRPC-Web and Connect clients may use either.
func (s *Server) ServeWeb(lis net.Listener, cfg HTTPConfig) error {
	h, err := newHTTPHandler(s, cfg)
	if err != nil {
		_ = lis.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		TLSConfig:         s.tls,
		// A client's failed handshake or malformed request is its own problem: logged at debug level only.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	if s.tls != nil {
		srv.Protocols.SetHTTP2(true)
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = lis.Close()
		return nil
	}
	s.http = srv
	s.mu.Unlock()
	if s.tls != nil {
		err = srv.ServeTLS(lis, "", "")
	} else {
		err = srv.Serve(lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("server: HTTP: %w", err)
}

// shutdownHTTP stops the HTTP surface: no new connection or request, and the requests in flight (streams
// were ended by the hub's closing) get until ctx's deadline before their connections are closed.
func (s *Server) shutdownHTTP(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	srv := s.http
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return err
	}
	return nil
}
