package feed

import (
	"context"
	"errors"
	"time"
)

// VATSIM publishes transceivers-data.json beside vatsim-data.json (status.json lists its mirrors under
// data.transceivers), regenerated every 15 s as well: every connected station (pilot, controller, ATIS) with
// its radios. The file is a JSON array:
//
//	[{"callsign": "BAW123", "transceivers": [{"id": 0, "frequency": 122800000, "latDeg": 51.47,
//	  "lonDeg": -0.45, "heightMslM": 1200.5, "heightAglM": 1190.0}]}, ...]
//
// frequency is in Hz. The file carries no time of its own: it is paired with the snapshot it was fetched
// with (TransceiverSource), and a cycle whose transceivers are missing or too old has its radio coverage
// unknown, never none.

// Transceivers is a decoded transceivers-data.json file.
type Transceivers struct {
	// Stations are in file order; a callsign appears once (a repeated one is dropped, counted in Rejected).
	Stations []Station
	// Rejected counts the entries dropped: unreadable, without a callsign, or a radio out of range (a frequency
	// not positive, a latitude or longitude out of range or not a number). Not part of the feed.
	Rejected int
}

// Station is one callsign's radios.
type Station struct {
	Callsign string
	Radios   []Radio
}

// Radio is one transceiver: its frequency and where its antenna is.
type Radio struct {
	ID          int
	FrequencyHz int64
	Latitude    float64
	Longitude   float64
	HeightMSLm  float64
	HeightAGLm  float64
}

// ErrNoTransceivers is wrapped by TransceiverSource.FetchTransceivers when there is no transceivers file to pair
// with the snapshot: the source has none, or the one it has is too old for the snapshot.
var ErrNoTransceivers = errors.New("no transceivers file for the snapshot")

// TransceiverSource is a Source that also serves the transceivers file of each snapshot: the ingest loop calls
// FetchTransceivers right after it decoded a snapshot of feed time at. An error other than ErrNoTransceivers
// is a failed fetch; either way the cycle still ingests, with its radio coverage unknown.
type TransceiverSource interface {
	Source
	FetchTransceivers(ctx context.Context, at time.Time) ([]byte, error)
}
