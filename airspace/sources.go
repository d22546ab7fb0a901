package airspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Load loads one sector source and names its set as its loader does: a folder holding Boundaries.geojson and
// VATSpy.dat (LoadVATSpy, set "vatspy"), TRACONBoundaries.geojson (LoadSimAware, set "simaware") or
// Volumes.xml and Sectors.xml (LoadVatSys, set = the folder's name); or a .geojson file (LoadGeoJSON, set =
// the file's base name; a file named TRACONBoundaries.geojson loads as SimAware). Warnings are what loaded but
// deserves a look (a vatSys responsible sector outside the folder).
func Load(path string) (set *Set, warnings []string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("airspace: sector source: %w", err)
	}
	if !fi.IsDir() {
		switch {
		case filepath.Base(path) == SimAwareFile:
			set, err = LoadSimAware(filepath.Dir(path))
		case strings.EqualFold(filepath.Ext(path), ".geojson"):
			set, err = LoadGeoJSON(path)
		default:
			err = fmt.Errorf("airspace: unsupported sector source %s: want %s, or a .geojson file", path, folderKinds)
		}
		return set, nil, err
	}
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(path, name))
		return err == nil
	}
	switch {
	case has(BoundariesFile) && has(VATSpyDatFile):
		set, err = LoadVATSpy(path)
	case has(SimAwareFile):
		set, err = LoadSimAware(path)
	case has(VatSysVolumesFile) && has(VatSysSectorsFile):
		return LoadVatSysWithWarnings(path)
	case has(BoundariesFile):
		err = fmt.Errorf("airspace: sector folder %s lacks %s: a VATSpy folder holds both %s and %s", path, VATSpyDatFile, BoundariesFile, VATSpyDatFile)
	case has(VatSysVolumesFile) || has(VatSysSectorsFile):
		err = fmt.Errorf("airspace: sector folder %s lacks %s or %s: a vatSys folder holds both", path, VatSysVolumesFile, VatSysSectorsFile)
	default:
		err = fmt.Errorf("airspace: sector folder %s holds no sector files: want %s", path, folderKinds)
	}
	return set, nil, err
}

const folderKinds = "a folder holding Boundaries.geojson and VATSpy.dat (VATSpy), TRACONBoundaries.geojson (SimAware) " +
	"or Volumes.xml and Sectors.xml (vatSys)"

// Download is the Source.Path of the current VATSpy data, downloaded and kept up to date (MapData).
const Download = "vatspy"

// Source is one configured sector source: a path Load reads, or Download; Name, when set, renames its set.
type Source struct {
	Name string
	Path string
}

// ParseSource reads a --sectors value: "vatspy" (the current VATSpy data, downloaded), a path, or name=path to
// give the path's set a name of one's own (two divisions' folders both called "sectors", say).
func ParseSource(spec string) (Source, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Source{}, errors.New("empty sector source")
	}
	if name, path, ok := strings.Cut(spec, "="); ok && !strings.ContainsAny(name, `/\`) {
		if err := checkSetName(name); err != nil {
			return Source{}, err
		}
		if path == "" {
			return Source{}, fmt.Errorf("sector source %q names set %q but no path", spec, name)
		}
		return Source{Name: name, Path: path}, nil
	}
	return Source{Path: spec}, nil
}

func (s Source) String() string {
	if s.Name == "" {
		return s.Path
	}
	return s.Name + "=" + s.Path
}

// Sources are the configured sector sources, loaded together into one Airspace.
type Sources struct {
	List []Source
	// MapData downloads the VATSpy data of a Download source; required with one.
	MapData *MapData
	Logger  *slog.Logger

	// loaded is the fingerprint (stamp) of the files as they were when the last Load began to read them: a
	// file written while it was read, or since, differs from it, so the next poll loads it again.
	loaded string
}

// ErrNoDownload means the downloaded VATSpy data is not available yet (no network and nothing cached): the
// other sources loaded without it.
var ErrNoDownload = errors.New("airspace: the VATSpy data is not downloaded yet")

// Load reads and checks every source before it builds anything, so that one broken file never leaves a half
// loaded set: any problem in any source is an error listing every source's problems, and no Airspace. When the
// download alone is missing, it returns the Airspace of the other sources and an error wrapping ErrNoDownload.
func (s *Sources) Load(ctx context.Context) (*Airspace, error) {
	log := s.logger()
	// Taken before reading: a file saved while it is read (an editor writes in place) is seen as changed.
	s.loaded = s.stamp()
	var (
		sets     []*Set
		problems []error
		missing  error
	)
	for _, src := range s.List {
		var (
			set      *Set
			warnings []string
			err      error
		)
		if src.Path == Download {
			var dir string
			if s.MapData == nil {
				err = errors.New("airspace: no map-data endpoint to download VATSpy data from")
			} else if dir, _, err = s.MapData.Ensure(ctx); err == nil {
				set, err = LoadVATSpy(dir)
			} else {
				missing = fmt.Errorf("%w: %v", ErrNoDownload, err)
				continue
			}
		} else {
			set, warnings, err = Load(src.Path)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("--sectors %s: %w", src, err))
			continue
		}
		for _, w := range warnings {
			log.Warn("sector source", "source", src.String(), "warning", w)
		}
		if src.Name != "" {
			set.rename(src.Name)
		}
		sets = append(sets, set)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	a, err := New(sets...)
	if err != nil {
		return nil, fmt.Errorf("--sectors: %w", err)
	}
	return a, missing
}

// rename gives a freshly loaded set, and its sectors, another name.
func (set *Set) rename(name string) {
	set.Name = name
	for _, s := range set.Sectors {
		s.Set = name
	}
}

// stamp fingerprints the files the sources read: their names, sizes and modification times, and the VATSpy
// release folder. Stat calls only, so it can run every few seconds.
func (s *Sources) stamp() string {
	var b strings.Builder
	for _, src := range s.List {
		if src.Path == Download {
			if s.MapData != nil {
				if _, dir, ok := s.MapData.cached(); ok {
					b.WriteString(dir)
				}
			}
			continue
		}
		files := []string{src.Path}
		if fi, err := os.Stat(src.Path); err == nil && fi.IsDir() {
			files = files[:0]
			for _, name := range []string{BoundariesFile, VATSpyDatFile, SimAwareFile, VatSysVolumesFile, VatSysSectorsFile} {
				files = append(files, filepath.Join(src.Path, name))
			}
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				fmt.Fprintf(&b, "%s\x00%d\x00%d\x00", f, fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

// Holder is where the current airspace lives while it is used: ingest reads it once a cycle, the API on every
// request, and Follow swaps in a new one.
type Holder interface {
	Airspace() *Airspace
	Swap(*Airspace)
}

// FollowOptions say when Follow reloads.
type FollowOptions struct {
	// Reload asks for a reload now (SIGHUP).
	Reload <-chan struct{}
	// Poll is how often the sources' files are checked for a change (default 10 s); a change reloads.
	Poll time.Duration
	// Refresh is how often the map-data endpoint is asked for a new VATSpy release (Download sources; every
	// minute while none is downloaded yet).
	Refresh time.Duration
}

// Follow keeps h on the sources until ctx ends: it reloads when asked, when a file changes and when a new
// VATSpy release is out. A reload that fails leaves h as it is and logs every problem, so fixing a file and
// saving it again (or another SIGHUP) is enough.
func (s *Sources) Follow(ctx context.Context, h Holder, opt FollowOptions) {
	if opt.Poll <= 0 {
		opt.Poll = 10 * time.Second
	}
	download := false
	for _, src := range s.List {
		download = download || src.Path == Download
	}
	poll := time.NewTicker(opt.Poll)
	defer poll.Stop()
	lastRefresh := time.Now()
	for {
		reason := ""
		select {
		case <-ctx.Done():
			return
		case <-opt.Reload:
			reason = "reload requested"
		case <-poll.C:
			wait := opt.Refresh
			if a := h.Airspace(); a == nil || a.Len() == 0 {
				wait = time.Minute
			}
			switch {
			case download && opt.Refresh > 0 && time.Since(lastRefresh) >= wait:
				lastRefresh = time.Now()
				if _, changed, err := s.MapData.Ensure(ctx); err == nil && changed {
					reason = "new VATSpy release"
				} else if err == nil && s.stamp() != s.loaded {
					reason = "VATSpy data available"
				}
			case s.stamp() != s.loaded:
				reason = "sector files changed"
			}
		}
		if reason != "" {
			s.reload(ctx, h, reason)
		}
	}
}

func (s *Sources) reload(ctx context.Context, h Holder, reason string) {
	log := s.logger()
	a, err := s.Load(ctx)
	if a == nil {
		// Polling does not retry the failed files until they change again (Load kept their fingerprint).
		log.Error("sectors not reloaded; keeping the current ones", "reason", reason, "err", err)
		return
	}
	if err != nil {
		log.Warn("sectors reloaded without the VATSpy data", "reason", reason, "err", err)
	}
	h.Swap(a)
	log.Info("sectors reloaded", "reason", reason, "sectors", a.Len(), "sets", SetSummary(a))
}

// SetSummary is "name:count" per set, for the logs.
func SetSummary(a *Airspace) string {
	parts := make([]string, 0, len(a.sets))
	for _, set := range a.sets {
		parts = append(parts, fmt.Sprintf("%s:%d", set.Name, len(set.Sectors)))
	}
	return strings.Join(parts, " ")
}

func (s *Sources) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
