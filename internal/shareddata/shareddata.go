// Package shareddata locates the real feed snapshots and sector boundaries that tests read from the workplace's
// shared folder (../shared/data next to the repository). They are never copied into the repository.
package shareddata

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Dir returns the shared data folder. When it is absent the test is skipped with a clear message, unless CI=true,
// where the data is required and the test fails instead.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := find()
	if err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("shared test data is required in CI: %v", err)
	}
	t.Skipf("shared test data not available (%v); these tests need ../shared/data next to the repository", err)
	return ""
}

// Path returns a path inside the shared data folder, skipping or failing like Dir.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data is required in CI: %v", err)
		}
		t.Skipf("shared test data not available: %v", err)
	}
	return p
}

// Feeds returns the recorded vatsim-data.json snapshots, sorted by name (which carries update_timestamp).
func Feeds(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Path(t, "feeds"), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no snapshots in shared feeds folder: %v", err)
	}
	sort.Strings(files)
	return files
}

// VATSpyDir returns the folder holding Boundaries.geojson and VATSpy.dat.
func VATSpyDir(t testing.TB) string {
	t.Helper()
	return Path(t, "airspace", "vatspy")
}

// find walks up from the working directory (a package folder during go test) to the module root and looks for
// ../shared/data beside it.
func find() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(filepath.Dir(dir), "shared", "data")
			if _, err := os.Stat(data); err != nil {
				return "", err
			}
			return data, nil
		}
		if filepath.Dir(dir) == dir {
			return "", os.ErrNotExist
		}
	}
}
