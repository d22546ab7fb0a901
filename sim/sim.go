// Package sim is a deterministic VATSIM traffic simulator: it produces a sequence of v3 data feed snapshots
// (vatsim-data.json) with pilots flying great-circle routes between real airports, controllers and ATIS
// stations logging on and off, prefiled flight plans, and the quirks of the real feed (ghost connections,
// integer qnh_i_hg, negative altitudes, heading 360, timestamps with fewer fractional digits, null
// flight_plan, text_atis and atis_code).
//
// A Simulator is a feed Source (Fetch returns raw JSON, io.EOF after Config.Cycles snapshots), so the ingest
// loop, tests and load benchmarks can run against any number of pilots without the network. The same Config
// always yields byte-identical snapshots on one platform: nothing reads the clock or a global random source.
// (Go may fuse floating-point multiply-adds on some architectures, so positions can differ in the last
// digit between, say, amd64 and arm64.)
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/atomicfile"
)

// Defaults of Config's zero values.
const (
	DefaultPilots = 750              // a quiet evening on the real network
	DefaultStep   = 15 * time.Second // the real feed's regeneration period
)

// defaultStart is a fixed instant, with the seven fractional digits the real feed writes, so that a zero
// Config is fully determined.
func defaultStart() time.Time { return time.Date(2024, 3, 1, 18, 0, 0, 123456700, time.UTC) }

// Config selects a simulation. Equal Configs without a Clock produce byte-identical snapshot sequences.
type Config struct {
	Seed   int64
	Pilots int           // pilots kept online (ghost connections come on top); <= 0 means DefaultPilots
	Start  time.Time     // update_timestamp of the first snapshot; zero means 2024-03-01T18:00:00.1234567Z
	Step   time.Duration // time between snapshots; <= 0 means DefaultStep
	Cycles int           // snapshots before Fetch returns io.EOF; 0 means endless

	// Clock, when set, keeps the feed time behind it, as the live feed's is behind the wall clock: Next and
	// Fetch return a new snapshot only once Clock has reached the next Step, and the current one again
	// (unchanged, same update_timestamp) before; after a pause of several steps the feed time moves on to the
	// last step boundary the clock passed (the traffic moves one step: there is no burst of snapshots to
	// catch up). A zero Start, or a Start after the clock, means the clock's time at New. So update_timestamp
	// never exceeds the clock, whatever the poll interval. The snapshots then depend on when they are asked
	// for; the traffic itself (who flies where, step by step) still only depends on the rest of Config.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Clock != nil {
		if now := c.Clock(); c.Start.IsZero() || c.Start.After(now) {
			c.Start = now
		}
	}
	if c.Pilots <= 0 {
		c.Pilots = DefaultPilots
	}
	if c.Start.IsZero() {
		c.Start = defaultStart()
	}
	c.Start = c.Start.UTC()
	if c.Step <= 0 {
		c.Step = DefaultStep
	}
	if c.Cycles < 0 {
		c.Cycles = 0
	}
	return c
}

// Simulator produces the snapshots of one simulation. It is safe for concurrent use, though snapshots are
// produced one after the other.
type Simulator struct {
	mu  sync.Mutex
	cfg Config
	w   *world

	produced int            // snapshots produced so far
	last     *feed.Snapshot // the latest snapshot, nil before the first
	extra    snapshotExtra  // what the JSON of last needs beyond feed.Snapshot
	sizeHint int            // length of the previous JSON encoding, to allocate the next one once

	radioSalt uint64      // the transceivers' random source (radio.go), from the seed alone
	radio     *radioCycle // the latest snapshot's transceivers, made on first request
	txHint    int         // length of the previous transceivers encoding
}

// New returns a simulator positioned before its first snapshot. Building the initial traffic takes about
// ten milliseconds per thousand pilots.
func New(cfg Config) *Simulator {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_0f_5ec7_0a11))
	return &Simulator{cfg: cfg, w: newWorld(cfg, rng), radioSalt: radioSaltFor(cfg.Seed)}
}

// Config returns the effective configuration, defaults applied.
func (s *Simulator) Config() Config { return s.cfg }

// String describes the simulator for logs.
func (s *Simulator) String() string {
	return fmt.Sprintf("sim(seed=%d, pilots=%d, step=%s, start=%s)", s.cfg.Seed, s.cfg.Pilots, s.cfg.Step,
		s.cfg.Start.Format(time.RFC3339))
}

// Next advances the simulation by one step and returns the new snapshot, or io.EOF once Config.Cycles
// snapshots have been produced. With a Config.Clock, it returns the latest snapshot again until the clock
// reaches the next step. The snapshot and everything it points to are never modified afterwards
// (consecutive snapshots share unchanged flight plans and ATIS texts), so callers may keep it; they must not
// modify it themselves.
func (s *Simulator) Next() (*feed.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next()
}

func (s *Simulator) next() (*feed.Snapshot, error) {
	if s.cfg.Cycles > 0 && s.produced >= s.cfg.Cycles {
		return nil, io.EOF
	}
	if s.produced > 0 {
		if s.cfg.Clock != nil {
			now := s.cfg.Clock()
			due := s.w.now.Add(s.cfg.Step)
			if now.Before(due) {
				return s.last, nil // the feed has not regenerated yet
			}
			if behind := now.Sub(due); behind >= s.cfg.Step {
				s.w.skip(behind - behind%s.cfg.Step)
			}
		}
		s.w.advance()
	}
	s.last, s.extra = s.w.snapshot()
	s.radio = nil
	s.produced++
	return s.last, nil
}

// Snapshot returns the latest snapshot (nil before the first Next or Fetch) without advancing.
func (s *Simulator) Snapshot() *feed.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Fetch advances by one step (see Next) and returns the snapshot as vatsim-data.json bytes, laid out like the real feed
// (compact, same field order, non-ASCII escaped), including the servers, prefiles and reference lists that
// feed.Snapshot does not keep. It returns io.EOF after Config.Cycles snapshots, and ctx's error if ctx is done.
func (s *Simulator) Fetch(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.next(); err != nil {
		return nil, err
	}
	return s.appendJSON(nil), nil
}

// AppendJSON appends the latest snapshot's JSON encoding (what Fetch returned for it) to dst. Before the
// first snapshot it appends nothing.
func (s *Simulator) AppendJSON(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendJSON(dst)
}

func (s *Simulator) appendJSON(dst []byte) []byte {
	if s.last == nil {
		return dst
	}
	if dst == nil {
		dst = make([]byte, 0, s.sizeHint+s.sizeHint/8+4096)
	}
	start := len(dst)
	dst = appendSnapshot(dst, s.last, &s.extra)
	s.sizeHint = len(dst) - start
	return dst
}

// FileName is the name WriteDir and WriteSnapshots give a snapshot, feed.FileName: the recorder's naming,
// vatsim-data-<update_timestamp as 2006-01-02T150405Z>.json, which the shared test data uses too.
func FileName(updateTimestamp time.Time) string { return feed.FileName(updateTimestamp) }

// WriteSnapshots writes count consecutive snapshots of a new simulation (cfg.Cycles is ignored) into dir,
// created if needed, as fast as they are made, one file each named as the HTTP recorder names them
// (feed.Recorder, whose atomic writes it uses), so that feed.ReplaySource reads them back in order. It is how
// replay fixtures are made. cfg.Step must be whole seconds (names carry seconds only, finer steps would
// collide) and cfg.Clock unset (it would hold the snapshots back to real time). Beside each snapshot it writes
// the snapshot's transceivers file (FetchTransceivers), named TransceiversFileName. A file of the same name
// already in dir is an error: mixing two simulations in one folder would replay neither.
func WriteSnapshots(dir string, cfg Config, count int) error {
	_, err := writeSnapshots(dir, cfg, count)
	return err
}

// WriteDir is WriteSnapshots of cfg.Cycles snapshots, returning the snapshot files' paths in order (the
// transceivers files beside them are not listed).
func WriteDir(dir string, cfg Config) ([]string, error) {
	if cfg.Cycles <= 0 {
		return nil, errors.New("sim.WriteDir: Config.Cycles must be positive")
	}
	return writeSnapshots(dir, cfg, cfg.Cycles)
}

func writeSnapshots(dir string, cfg Config, count int) ([]string, error) {
	switch {
	case count <= 0:
		return nil, fmt.Errorf("sim: writing snapshots: count is %d, want at least 1", count)
	case cfg.Step%time.Second != 0:
		return nil, fmt.Errorf("sim: writing snapshots: step %v is not whole seconds, so files would share names", cfg.Step)
	case cfg.Clock != nil:
		return nil, errors.New("sim: writing snapshots: Config.Clock is set; fixtures are written as fast as possible")
	}
	rec, err := feed.NewRecorder(dir, nil)
	if err != nil {
		return nil, err
	}
	cfg.Cycles = count
	s := New(cfg)
	paths := make([]string, 0, count)
	for range count {
		data, err := s.Fetch(context.Background())
		if err != nil {
			return paths, err
		}
		path, saved, err := rec.Save(data)
		if err != nil {
			return paths, fmt.Errorf("sim: writing snapshots: %w", err)
		}
		if !saved {
			return paths, fmt.Errorf("sim: writing snapshots: %s is already there (another simulation?)", path)
		}
		tpath := filepath.Join(dir, TransceiversFileName(s.last.General.UpdateTimestamp))
		if _, err := os.Lstat(tpath); err == nil {
			return paths, fmt.Errorf("sim: writing snapshots: %s is already there (another simulation?)", tpath)
		}
		if err := atomicfile.WriteBytes(tpath, s.appendTransceiversJSON(nil)); err != nil {
			return paths, fmt.Errorf("sim: writing snapshots: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// Paced reports whether the simulator waits for its reader: without a clock it hands out its next snapshot
// whenever asked, so the ingest loop may stop asking while it cannot write and lose nothing; with one it moves
// on with the clock, like the live feed.
func (s *Simulator) Paced() bool { return s.cfg.Clock == nil }
