package airspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vatsector/vatsector/internal/atomicfile"
)

// DefaultMapDataEndpoint is VATSIM's map-data endpoint, which names the current VATSpy Data Project release.
const DefaultMapDataEndpoint = "https://api.vatsim.net/api/map_data/"

// SectorsFlagHint is what to tell a user when sector data can be neither downloaded nor found in the cache.
const SectorsFlagHint = "--sectors PATH (a folder holding Boundaries.geojson and VATSpy.dat, or a .geojson file)"

const (
	defaultMaxFileBytes = 64 << 20 // Boundaries.geojson is ~2 MB; leave room for growth, not for a runaway body
	defaultTimeout      = 2 * time.Minute
	maxEndpointBytes    = 1 << 20
	currentFile         = "current" // in CacheDir: the commit hash whose folder is complete and in use
)

// validHash keeps a commit hash from the network safe to use as a folder name in CacheDir: letters, digits and
// ".-_", not starting with a dot (no "..", no hidden or temporary names), and not the name of the record file.
func validHash(h string) bool {
	if h == "" || len(h) > 128 || h[0] == '.' || h == currentFile {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// MapData keeps a local copy of the current VATSpy data, for running without a configured sector source.
type MapData struct {
	Endpoint string        // default DefaultMapDataEndpoint
	CacheDir string        // required; holds <hash>/Boundaries.geojson, <hash>/VATSpy.dat and "current"
	HTTP     *http.Client  // default: a new client; every request is bounded by Timeout through its context
	Logger   *slog.Logger  // default slog.Default()
	Timeout  time.Duration // per request (endpoint and each file); default 2 minutes
	MaxBytes int64         // per downloaded file; default 64 MiB
}

// mapDataResponse is the part of the endpoint's answer vatsector uses; other fields are ignored.
type mapDataResponse struct {
	CommitHash    string `json:"current_commit_hash"`
	VATSpyDatURL  string `json:"vatspy_dat_url"`
	BoundariesURL string `json:"fir_boundaries_geojson_url"`
}

// Ensure makes sure CacheDir holds the VATSpy release the endpoint currently names and returns its folder (ready
// for LoadVATSpy or Load). changed is true when it downloaded a release different from the one cached before.
//
// When the endpoint or a download fails but a complete earlier release is cached, Ensure logs a warning and
// returns the cached folder with no error: the service keeps running on slightly old sectors. With nothing cached
// it returns an error that tells the user to pass --sectors.
func (m *MapData) Ensure(ctx context.Context) (dir string, changed bool, err error) {
	if m.CacheDir == "" {
		return "", false, errors.New("airspace: MapData.CacheDir is not set")
	}
	log := m.logger()
	cachedHash, cachedDir, cached := m.cached()

	fallback := func(cause error) (string, bool, error) {
		if cached {
			log.WarnContext(ctx, "VATSpy data update failed, using the cached copy",
				"error", cause, "commit", cachedHash, "dir", cachedDir)
			return cachedDir, false, nil
		}
		return "", false, fmt.Errorf("airspace: cannot get VATSpy sector data (%w) and none is cached in %s; run with %s",
			cause, m.CacheDir, SectorsFlagHint)
	}

	resp, err := m.ask(ctx)
	if err != nil {
		return fallback(err)
	}
	if cached && resp.CommitHash == cachedHash {
		return cachedDir, false, nil
	}
	newDir := filepath.Join(m.CacheDir, resp.CommitHash)
	_, statErr := os.Stat(newDir)
	if err := m.download(ctx, resp, newDir); err != nil {
		if errors.Is(statErr, fs.ErrNotExist) {
			os.RemoveAll(newDir) // a half-downloaded release must not look like a cache
		}
		return fallback(err)
	}
	if err := writeFileAtomic(filepath.Join(m.CacheDir, currentFile), []byte(resp.CommitHash+"\n")); err != nil {
		return fallback(fmt.Errorf("recording commit %s: %w", resp.CommitHash, err))
	}
	if cached && cachedDir != newDir {
		// Only the previously recorded release is removed: CacheDir may be shared with other files.
		if err := os.RemoveAll(cachedDir); err != nil {
			log.WarnContext(ctx, "could not remove the previous VATSpy data", "dir", cachedDir, "error", err)
		}
	}
	log.InfoContext(ctx, "VATSpy data updated", "commit", resp.CommitHash, "dir", newDir)
	return newDir, true, nil
}

// cached returns the recorded release, if its folder is complete.
func (m *MapData) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.Default()
	}
	return m.Logger
}

func (m *MapData) cached() (hash, dir string, ok bool) {
	b, err := os.ReadFile(filepath.Join(m.CacheDir, currentFile))
	if err != nil {
		return "", "", false
	}
	hash = strings.TrimSpace(string(b))
	if !validHash(hash) {
		return "", "", false
	}
	dir = filepath.Join(m.CacheDir, hash)
	for _, name := range []string{BoundariesFile, VATSpyDatFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() {
			return "", "", false
		}
	}
	return hash, dir, true
}

func (m *MapData) client() *http.Client {
	if m.HTTP != nil {
		return m.HTTP
	}
	return &http.Client{}
}

func (m *MapData) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return defaultTimeout
}

// get performs one bounded GET and hands the body to read.
func (m *MapData) get(ctx context.Context, rawURL string, read func(io.Reader) error) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("bad URL %q", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "vatsector (+https://github.com/vatsector/vatsector)")
	res, err := m.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", rawURL, res.Status)
	}
	if err := read(res.Body); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}

func (m *MapData) ask(ctx context.Context) (*mapDataResponse, error) {
	endpoint := m.Endpoint
	if endpoint == "" {
		endpoint = DefaultMapDataEndpoint
	}
	var resp mapDataResponse
	err := m.get(ctx, endpoint, func(r io.Reader) error {
		body, err := readBounded(r, maxEndpointBytes)
		if err != nil {
			return err
		}
		return json.Unmarshal(body, &resp)
	})
	if err != nil {
		return nil, fmt.Errorf("map data endpoint: %w", err)
	}
	switch {
	case !validHash(resp.CommitHash):
		return nil, fmt.Errorf("map data endpoint: current_commit_hash %q is not a commit hash", resp.CommitHash)
	case resp.VATSpyDatURL == "" || resp.BoundariesURL == "":
		return nil, errors.New("map data endpoint: vatspy_dat_url or fir_boundaries_geojson_url is missing")
	}
	return &resp, nil
}

// download fetches both files into dir and checks that they load, so that a broken release never becomes current.
func (m *MapData) download(ctx context.Context, resp *mapDataResponse, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	limit := m.MaxBytes
	if limit <= 0 {
		limit = defaultMaxFileBytes
	}
	for _, f := range []struct{ url, name string }{
		{resp.BoundariesURL, BoundariesFile},
		{resp.VATSpyDatURL, VATSpyDatFile},
	} {
		err := m.get(ctx, f.url, func(r io.Reader) error {
			return atomicfile.Write(filepath.Join(dir, f.name), r, limit)
		})
		if err != nil {
			return fmt.Errorf("downloading %s: %w", f.name, err)
		}
	}
	if _, err := LoadVATSpy(dir); err != nil {
		return fmt.Errorf("downloaded VATSpy data does not load: %w", err)
	}
	return nil
}

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return b, nil
}

func writeFileAtomic(path string, data []byte) error { return atomicfile.WriteBytes(path, data) }
