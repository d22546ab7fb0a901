package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/shareddata"
	"github.com/vatsector/vatsector/repository"
)

func TestInvalidConfigurationNamesTheFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown feed", []string{"--feed", "ftp://x"}, nil, "--feed"},
		{"sim without a count", []string{"--feed", "sim:lots"}, nil, "--feed"},
		{"replay of a missing folder", []string{"--feed", "replay:/does/not/exist"}, nil, "--feed"},
		{"missing sector file", []string{"--sectors", "/does/not/exist.geojson"}, nil, "--sectors"},
		{"bad listen address", []string{"--listen", "50051"}, nil, "--listen"},
		{"negative interval", []string{"--interval", "-1s"}, nil, "--interval"},
		{"feed timeout too short", []string{"--feed-timeout", "1ms"}, nil, "--feed-timeout"},
		{"feed timeout from the environment", nil, map[string]string{"VATSECTOR_FEED_TIMEOUT": "soon"}, "--feed-timeout (from VATSECTOR_FEED_TIMEOUT)"},
		{"negative feed retries", []string{"--feed-retries", "-1"}, nil, "--feed-retries"},
		{"too many feed retries", nil, map[string]string{"VATSECTOR_FEED_RETRIES": "1000"}, "--feed-retries"},
		{"feed retries not a number", []string{"--feed-retries", "many"}, nil, "feed-retries"},
		{"writer lease too short", []string{"--writer-lease", "10ms"}, nil, "--writer-lease"},
		{"unparsable duration from the environment", nil, map[string]string{"VATSECTOR_GRACE": "soon"}, "--grace (from VATSECTOR_GRACE)"},
		{"pool bigger idle than open", []string{"--db-max-open", "2", "--db-max-idle", "3"}, nil, "--db-max-idle"},
		{"not a PostgreSQL URL", nil, map[string]string{"DATABASE_URL": "mysql://x"}, "--database-url"},
		{"read standby without a primary", []string{"--read-database-url", "postgres://u@standby/db"}, nil, "--read-database-url"},
		{"read standby not PostgreSQL", []string{"--database-url", "postgres://u@h/db", "--read-database-url", "mysql://x"}, nil, "--read-database-url"},
		{"read lag too short", []string{"--max-read-lag", "10ms"}, nil, "--max-read-lag"},
		{"no follow interval", nil, map[string]string{"VATSECTOR_FOLLOW_INTERVAL": "0s"}, "--follow-interval"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"stray argument", []string{"extra"}, nil, "unexpected arguments"},
		{"backlog under one snapshot", []string{"--backlog", "5s"}, nil, "--backlog"},
		{"no future tolerance", []string{"--future-tolerance", "0s"}, nil, "--future-tolerance"},
		{"no stream per client", []string{"--max-streams-per-client", "0"}, nil, "--max-streams-per-client"},
		{"no request rate", []string{"--client-rate", "0"}, nil, "--client-rate"},
		{"no catch-up read", nil, map[string]string{"VATSECTOR_CATCHUP_READS": "0"}, "--catchup-reads"},
		{"bad HTTP listen address", []string{"--http-listen", "8080"}, nil, "--http-listen"},
		{"CORS origin with a path", []string{"--cors-origins", "https://map.example.org/page"}, nil, "--cors-origins"},
		{"CORS origin without a scheme", nil, map[string]string{"VATSECTOR_CORS_ORIGINS": "map.example.org"}, "--cors-origins"},
		{"certificate without its key", []string{"--tls-cert", "cert.pem"}, nil, "--tls-cert"},
		{"unreadable certificate", []string{"--tls-cert", "/does/not/exist.pem", "--tls-key", "/does/not/exist.key"}, nil, "/does/not/exist.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServeConfig(tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestConfigurationFromEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{"VATSECTOR_INTERVAL": "30s", "VATSECTOR_LISTEN": ":6000", "DATABASE_URL": "postgres://u@h/db"}
	cfg, err := parseServeConfig([]string{"--listen", "127.0.0.1:7000", "--sectors", ".", "--sectors", "."},
		func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != 30*time.Second || cfg.Listen != "127.0.0.1:7000" || cfg.DatabaseURL != "postgres://u@h/db" || len(cfg.Sectors) != 2 {
		t.Errorf("config %+v: want the interval from the environment, the flag's listen address over the variable's", cfg)
	}
	cfg, err = parseServeConfig([]string{"--feed", "replay:."}, func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != 0 {
		t.Errorf("replay interval %v, want 0 (as fast as possible) when --interval is not given", cfg.Interval)
	}
}

// TestOfflineStartFailsPolitely starts with no configuration and no network: the database is created and
// migrated, the service keeps running and polling, and the log says which flag to use for sectors.
func TestOfflineStartFailsPolitely(t *testing.T) {
	dir := t.TempDir()
	polled := make(chan struct{})
	var once sync.Once
	feedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(polled) })
		http.Error(w, "offline", http.StatusServiceUnavailable)
	}))
	defer feedSrv.Close()
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--data-dir", dir, "--map-data-url", "http://127.0.0.1:1/map_data/", "--feed", feedSrv.URL + "/status.json",
			"--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", ""}, func(string) string { return "" }, &bytes.Buffer{}, stderr)
	}()
	select {
	case <-polled:
	case err := <-done:
		t.Fatalf("service stopped instead of polling: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("service: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vatsector.db")); err != nil {
		t.Errorf("embedded database not created: %v", err)
	}
	if log := stderr.String(); !strings.Contains(log, "--sectors") {
		t.Errorf("log does not tell which flag to use:\n%s", log)
	}
}

// syncBuffer is a bytes.Buffer safe for the service's logger and the test together.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServesAnHTTPMirror runs the service against a local mirror (status.json → data.v3 → the shared snapshots,
// one per request) and checks every snapshot became a cycle in the embedded database.
func TestServesAnHTTPMirror(t *testing.T) {
	files := shareddata.Feeds(t)
	var (
		mu     sync.Mutex
		served int
	)
	drained := make(chan struct{})
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/status.json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":{"v3":["%s/vatsim-data.json"]}}`, srv.URL)
	})
	mux.HandleFunc("/vatsim-data.json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := min(served, len(files)-1)
		served++
		// The loop is sequential (fetch, cycle, wait, fetch): a request after the last file means the cycle of
		// the last file is over.
		if served == len(files)+1 {
			close(drained)
		}
		mu.Unlock()
		http.ServeFile(w, r, files[i])
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--feed", srv.URL + "/status.json", "--interval", "1ms", "--data-dir", dataDir,
			"--sectors", shareddata.VATSpyDir(t), "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", ""},
			func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	select {
	case <-drained:
	case err := <-done:
		t.Fatalf("service stopped early: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the service did not ingest every snapshot within 2 minutes")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("service: %v", err)
	}
	store, err := repository.Open(context.Background(), repository.Config{SQLitePath: filepath.Join(dataDir, "vatsector.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var cycles int
	if err := store.SQL().QueryRow("SELECT COUNT(*) FROM ingest_cycles WHERE error IS NULL").Scan(&cycles); err != nil {
		t.Fatal(err)
	}
	if cycles != len(files) {
		t.Errorf("%d cycles committed, want one per snapshot (%d)", cycles, len(files))
	}
}
