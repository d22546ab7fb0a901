package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/vatsector/vatsector/feed"
)

var _ feed.TransceiverSource = (*Simulator)(nil)

// FetchTransceivers returns the transceivers-data.json of the snapshot of feed time at: the latest snapshot,
// the one Fetch or Next returned last (see radio.go for what it holds). Any other time, or no snapshot yet,
// is an error wrapping feed.ErrNoTransceivers; ctx's error if ctx is done. It does not advance the simulation.
func (s *Simulator) FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil || !s.last.General.UpdateTimestamp.Equal(at) {
		return nil, fmt.Errorf("sim: transceivers at %s: %w", at.UTC().Format(time.RFC3339Nano), feed.ErrNoTransceivers)
	}
	return s.appendTransceiversJSON(nil), nil
}

// AppendTransceiversJSON appends the latest snapshot's transceivers-data.json (what FetchTransceivers returns
// for it) to dst. Before the first snapshot it appends nothing.
func (s *Simulator) AppendTransceiversJSON(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendTransceiversJSON(dst)
}

func (s *Simulator) appendTransceiversJSON(dst []byte) []byte {
	rc := s.radioCycle()
	if rc == nil {
		return dst
	}
	if dst == nil {
		dst = make([]byte, 0, s.txHint+s.txHint/8+1024)
	}
	start := len(dst)
	dst = appendTransceivers(dst, &rc.tx)
	s.txHint = len(dst) - start
	return dst
}

// Transceivers returns the latest snapshot's transceivers as feed.Transceivers (what decoding
// FetchTransceivers' bytes gives, Rejected 0), nil before the first snapshot. It is shared and never modified:
// callers must not modify it. The snapshot's own Transceivers field stays nil; a caller pairs the two.
func (s *Simulator) Transceivers() *feed.Transceivers {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc := s.radioCycle(); rc != nil {
		return &rc.tx
	}
	return nil
}

// Intended returns, for every pilot of the latest snapshot (ghosts and pilots without radios included), the
// callsign of the controller it works by the rule radio.go states, "" for none; nil before the first snapshot.
// The map is the caller's.
func (s *Simulator) Intended() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rc := s.radioCycle()
	if rc == nil {
		return nil
	}
	out := make(map[string]string, len(rc.intended))
	for i := range s.last.Pilots {
		out[s.last.Pilots[i].Callsign] = rc.intended[i]
	}
	return out
}

// radioCycle makes the latest snapshot's transceivers on first request. The world is still in the state of
// s.last: it only moves in next(), which drops the cache.
func (s *Simulator) radioCycle() *radioCycle {
	if s.last == nil || s.w == nil {
		return nil
	}
	if s.radio == nil {
		s.radio = s.w.radios(s.last, s.radioSalt)
	}
	return s.radio
}

// TransceiversFileName is the name WriteDir and WriteSnapshots give the transceivers file of the snapshot of
// updateTimestamp, beside the snapshot's FileName: feed.TransceiversFileName,
// transceivers-data-<update_timestamp as 2006-01-02T150405Z>.json.
func TransceiversFileName(updateTimestamp time.Time) string {
	return feed.TransceiversFileName(updateTimestamp)
}
