package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vatsector/vatsector/internal/atomicfile"
)

const (
	filePrefix             = "vatsim-data-"
	transceiversFilePrefix = "transceivers-data-"
	fileLayout             = "2006-01-02T150405Z"
)

// FileName is the name a snapshot is recorded under, vatsim-data-<update_timestamp as 2006-01-02T150405Z>.json
// (UTC, whole seconds), the naming of the shared snapshots: sorting names sorts snapshots in time.
func FileName(updateTimestamp time.Time) string {
	return filePrefix + updateTimestamp.UTC().Format(fileLayout) + ".json"
}

// TransceiversFileName is the name the transceivers file paired with a snapshot is recorded under, beside it:
// transceivers-data-<the snapshot's update_timestamp as in FileName>.json.
func TransceiversFileName(updateTimestamp time.Time) string {
	return transceiversFilePrefix + updateTimestamp.UTC().Format(fileLayout) + ".json"
}

// ParseFileName returns the update_timestamp (to the second) a FileName-style name carries, with or without a
// .gz suffix and a directory.
func ParseFileName(name string) (time.Time, bool) { return parseStamped(name, filePrefix) }

// ParseTransceiversFileName is ParseFileName for a TransceiversFileName-style name.
func ParseTransceiversFileName(name string) (time.Time, bool) {
	return parseStamped(name, transceiversFilePrefix)
}

func parseStamped(name, prefix string) (time.Time, bool) {
	base := strings.TrimSuffix(filepath.Base(name), ".gz")
	stamp, ok := strings.CutPrefix(strings.TrimSuffix(base, ".json"), prefix)
	if !ok || !strings.HasSuffix(base, ".json") {
		return time.Time{}, false
	}
	t, err := time.Parse(fileLayout, stamp)
	return t, err == nil
}

// Recorder saves snapshots into a folder, one file per update_timestamp, written atomically so that a reader
// (a Replay, another process) never sees half a file, even if the recorder dies mid-write. It is not safe for
// concurrent use.
type Recorder struct {
	dir      string
	log      *slog.Logger
	maxBytes int64
	saved    map[string]bool // file names present in dir
}

// NewRecorder records into dir, creating it if needed. Snapshots already in dir (by name) are not saved again,
// so recording can resume into the same folder.
func NewRecorder(dir string, log *slog.Logger) (*Recorder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("feed: recorder: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("feed: recorder: %w", err)
	}
	r := &Recorder{dir: dir, log: log, maxBytes: DefaultMaxBytes, saved: make(map[string]bool, len(entries))}
	for _, e := range entries {
		_, snap := ParseFileName(e.Name())
		_, trans := ParseTransceiversFileName(e.Name())
		if (snap || trans) && !e.IsDir() {
			r.saved[strings.TrimSuffix(e.Name(), ".gz")] = true
		}
	}
	return r, nil
}

// Save writes one snapshot (raw JSON as a Source returns it; gzip is decompressed) unless a snapshot with the
// same update_timestamp is already in the folder. It returns the file's path and whether it wrote it. Bytes that
// are not a v3 snapshot are refused with an error wrapping ErrMalformed (a file name needs update_timestamp,
// and a recording is only useful if it can be replayed); other errors are I/O errors.
func (r *Recorder) Save(data []byte) (path string, saved bool, err error) {
	path, saved, _, err = r.save(data)
	return path, saved, err
}

// save is Save, also returning the snapshot's header.
func (r *Recorder) save(data []byte) (path string, saved bool, g General, err error) {
	if isGzip(data) {
		if data, err = gunzipBytes(data, r.maxBytes); err != nil {
			return "", false, g, malformed("gzip", err)
		}
	}
	g, err = looksLikeSnapshot(data)
	if err != nil {
		return "", false, g, malformed("not recorded", err)
	}
	path, saved, err = r.write(FileName(g.UpdateTimestamp), data)
	return path, saved, g, err
}

// SaveTransceivers writes the transceivers file (raw JSON as TransceiverSource returns it; gzip is
// decompressed) paired with the snapshot of updateTimestamp, under TransceiversFileName, unless one is already
// there. It returns the file's path and whether it wrote it. Bytes that are not a well-formed JSON array are
// refused with an error wrapping ErrMalformedTransceivers; other errors are I/O errors.
func (r *Recorder) SaveTransceivers(updateTimestamp time.Time, data []byte) (path string, saved bool, err error) {
	if isGzip(data) {
		if data, err = gunzipBytes(data, r.maxBytes); err != nil {
			return "", false, fmt.Errorf("feed: recorder: gzip: %w: %w", ErrMalformedTransceivers, err)
		}
	}
	if !looksLikeTransceivers(data) {
		return "", false, fmt.Errorf("feed: recorder: transceivers file not recorded: not a well-formed JSON array: %w", ErrMalformedTransceivers)
	}
	return r.write(TransceiversFileName(updateTimestamp), data)
}

// has reports whether a file of that name is known to be in the folder.
func (r *Recorder) has(name string) bool { return r.saved[name] }

// write writes data atomically under name unless a file of that name is there already.
func (r *Recorder) write(name string, data []byte) (path string, saved bool, err error) {
	path = filepath.Join(r.dir, name)
	if r.saved[name] {
		return path, false, nil
	}
	if _, err := os.Stat(path); err == nil { // written by someone else since NewRecorder
		r.saved[name] = true
		return path, false, nil
	}
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return "", false, fmt.Errorf("feed: recorder: %w", err)
	}
	r.saved[name] = true
	return path, true, nil
}

// Record fetches from src every `every` (back to back when every <= 0) and saves each new snapshot into dir
// until limit new snapshots are saved (no limit when limit <= 0), src is exhausted (io.EOF: nil), or ctx ends
// (ctx's error). A failed fetch or a snapshot that cannot be recorded is logged and recording goes on; a file
// that cannot be written stops it, since every later one would fail too.
//
// When src is a TransceiverSource, each snapshot fetched whose transceivers file is not in dir yet is
// followed by FetchTransceivers, and the file is saved beside the snapshot (SaveTransceivers). A snapshot
// without one (ErrNoTransceivers), a failed transceivers fetch or a file that is not a JSON array is logged,
// and recording goes on; a snapshot fetched again gets another try.
func Record(ctx context.Context, src Source, dir string, every time.Duration, limit int, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rec, err := NewRecorder(dir, log)
	if err != nil {
		return err
	}
	log = log.With("source", src.String(), "dir", dir)
	saved := 0
	var tick *time.Ticker
	if every > 0 {
		tick = time.NewTicker(every)
		defer tick.Stop()
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := src.Fetch(ctx)
		switch {
		case errors.Is(err, io.EOF):
			log.Info("source exhausted", "saved", saved)
			return nil
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Warn("fetch failed", "err", err)
		default:
			path, ok, g, err := rec.save(data)
			switch {
			case errors.Is(err, ErrMalformed):
				log.Warn("snapshot not recorded", "err", err)
			case err != nil:
				return err
			case ok:
				saved++
				log.Info("snapshot recorded", "file", filepath.Base(path), "bytes", len(data), "saved", saved)
			default:
				log.Debug("snapshot already recorded", "file", filepath.Base(path))
			}
			if err == nil {
				if err := recordTransceivers(ctx, src, rec, g.UpdateTimestamp, log); err != nil {
					return err
				}
			}
			if limit > 0 && saved >= limit {
				return nil
			}
		}
		if tick != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
}

// recordTransceivers saves the transceivers file of the snapshot of updateTimestamp just fetched from src,
// when src has one and dir does not yet. Only an I/O error writing the file is returned.
func recordTransceivers(ctx context.Context, src Source, rec *Recorder, updateTimestamp time.Time, log *slog.Logger) error {
	ts, ok := src.(TransceiverSource)
	if !ok || rec.has(TransceiversFileName(updateTimestamp)) {
		return nil
	}
	data, err := ts.FetchTransceivers(ctx, updateTimestamp)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrNoTransceivers):
		log.Info("no transceivers file for the snapshot", "update_timestamp", updateTimestamp, "err", err)
		return nil
	case err != nil:
		log.Warn("transceivers fetch failed", "update_timestamp", updateTimestamp, "err", err)
		return nil
	}
	path, saved, err := rec.SaveTransceivers(updateTimestamp, data)
	switch {
	case errors.Is(err, ErrMalformedTransceivers):
		log.Warn("transceivers file not recorded", "update_timestamp", updateTimestamp, "err", err)
	case err != nil:
		return err
	case saved:
		log.Info("transceivers recorded", "file", filepath.Base(path), "bytes", len(data))
	}
	return nil
}
