package feed

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ReplayOptions configures a Replay. The zero value is usable.
type ReplayOptions struct {
	Logger   *slog.Logger // nil: discard
	MaxBytes int64        // bound on one file once decompressed; 0: DefaultMaxBytes
}

// Replay is a finite Source over recorded snapshots: every *.json and *.json.gz file of a folder, in
// general.update_timestamp order, each returned once, then io.EOF. It is a TransceiverSource too: the
// transceivers-data-*.json(.gz) files of the folder (TransceiversFileName) are not snapshots, but the radios
// of the snapshots they are named after.
type Replay struct {
	dir      string
	log      *slog.Logger
	maxBytes int64

	mu    sync.Mutex
	files []replayFile
	next  int

	transceivers []stampedFile // set by ReplaySource, read-only after
}

// stampedFile is a transceivers file and the time its name carries.
type stampedFile struct {
	path string
	ts   time.Time
}

type replayFile struct {
	path string
	ts   time.Time // update_timestamp; from the name, or zero, when the header could not be read
	err  error     // why the header could not be read: Fetch reports it when the file's turn comes
}

// ReplaySource lists dir and orders its snapshots by reading only each file's general object (the feed
// writes it first), so that opening a folder of thousands of recordings costs a few KB per file. A file whose
// header cannot be read does not fail the listing: it takes its place by the timestamp in its name (or comes
// last), and Fetch returns its error when its turn comes. Files with the same update_timestamp are ordered by
// name. Errors are only for a folder that cannot be listed.
func ReplaySource(dir string, opts ReplayOptions) (*Replay, error) {
	r := &Replay{dir: dir, log: opts.Logger, maxBytes: opts.MaxBytes}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxBytes
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("feed: replay: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz")) {
			continue // hidden files include the recorder's temporary files
		}
		if strings.HasPrefix(name, "transceivers-data") { // a mirror's transceivers-data.json included
			if ts, ok := ParseTransceiversFileName(name); ok {
				r.transceivers = append(r.transceivers, stampedFile{path: filepath.Join(dir, name), ts: ts})
			} else {
				r.log.Warn("replay: transceivers file without a time in its name, ignored", "file", filepath.Join(dir, name))
			}
			continue
		}
		f := replayFile{path: filepath.Join(dir, name)}
		f.ts, f.err = readFileGeneral(f.path)
		if f.err != nil {
			f.ts, _ = ParseFileName(name)
			r.log.Warn("replay: cannot read snapshot header", "file", f.path, "err", f.err)
		}
		r.files = append(r.files, f)
	}
	slices.SortFunc(r.files, func(a, b replayFile) int {
		if a.ts.IsZero() != b.ts.IsZero() { // unknown times last
			if a.ts.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(a.ts.Compare(b.ts), strings.Compare(a.path, b.path))
	})
	if len(r.files) == 0 {
		r.log.Warn("replay: no snapshots", "dir", dir)
	}
	slices.SortFunc(r.transceivers, func(a, b stampedFile) int {
		return cmp.Or(a.ts.Compare(b.ts), strings.Compare(a.path, b.path))
	})
	return r, nil
}

// FetchTransceivers returns, decompressed, the transceivers file recorded for the snapshot of feed time at:
// the one named after at's second (TransceiversFileName(at)), else the newest named no later than that and
// at most TransceiversMaxAge before it (names are whole seconds, so the bound is counted from at's second too).
// Without one it returns an error wrapping ErrNoTransceivers; a file that cannot be read, an error naming it.
// When a plain and a .gz file carry the same time, the plain one is used.
func (r *Replay) FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref := at.UTC().Truncate(time.Second)
	// The first file named after ref, then back: the last one not after ref.
	i, _ := slices.BinarySearchFunc(r.transceivers, ref, func(f stampedFile, t time.Time) int {
		if f.ts.After(t) {
			return 1
		}
		return -1 // all the files not after t come first
	})
	if i == 0 || r.transceivers[i-1].ts.Before(ref.Add(-TransceiversMaxAge)) {
		return nil, fmt.Errorf("feed: replay %s: none named within %v before %s: %w", r.dir, TransceiversMaxAge, ref.Format(time.RFC3339), ErrNoTransceivers)
	}
	f := r.transceivers[i-1]
	for j := i - 2; j >= 0 && r.transceivers[j].ts.Equal(f.ts); j-- { // the same time: the plain file sorts first
		f = r.transceivers[j]
	}
	data, err := r.read(f.path)
	if err != nil {
		return nil, fmt.Errorf("feed: replay %s: %w", f.path, err)
	}
	return data, nil
}

// readFileGeneral reads update_timestamp from the header of one file.
func readFileGeneral(path string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	rd, _, err := maybeGunzip(f, strings.HasSuffix(path, ".gz"))
	if err != nil {
		return time.Time{}, err
	}
	g, err := ReadGeneral(rd)
	if err == nil {
		err = CheckGeneral(g)
	}
	return g.UpdateTimestamp, err
}

// Fetch returns the next file's content, decompressed. A file that cannot be read yields an error naming it and
// is passed over, so that the next Fetch goes on with the following file: one bad file does not end a replay.
// After the last file Fetch returns io.EOF.
func (r *Replay) Fetch(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next >= len(r.files) {
		return nil, io.EOF
	}
	f := r.files[r.next]
	r.next++
	if f.err != nil {
		return nil, fmt.Errorf("feed: replay %s: %w", f.path, f.err)
	}
	data, err := r.read(f.path)
	if err != nil {
		return nil, fmt.Errorf("feed: replay %s: %w", f.path, err)
	}
	return data, nil
}

func (r *Replay) read(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var hint int64
	if st, err := fh.Stat(); err == nil {
		hint = st.Size()
	}
	rd, zipped, err := maybeGunzip(fh, strings.HasSuffix(path, ".gz"))
	if err != nil {
		return nil, err
	}
	if zipped {
		hint *= 8 // feed JSON compresses about tenfold
	}
	return readAll(rd, r.maxBytes, hint)
}

// Files returns the files in replay order.
func (r *Replay) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.files))
	for i, f := range r.files {
		out[i] = f.path
	}
	return out
}

// Remaining returns how many files Fetch has not returned yet.
func (r *Replay) Remaining() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.files) - r.next
}

func (r *Replay) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("replay %s (%d/%d)", r.dir, r.next, len(r.files))
}

// Paced reports that a replay waits for its reader: a snapshot it has not handed out yet is never lost, so
// the ingest loop stops fetching while it cannot write, instead of dropping snapshots.
func (r *Replay) Paced() bool { return true }
