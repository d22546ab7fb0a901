package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrMalformedTransceivers is wrapped by every error DecodeTransceivers returns: the file is not a
// transceivers file at all (not JSON, not an array), so the cycle has no radios, rather than some.
var ErrMalformedTransceivers = errors.New("malformed transceivers file")

// DecodeTransceivers parses one transceivers-data.json file, plain or gzip-compressed (recognised by its magic
// bytes; at most DefaultMaxBytes, once decompressed, like a snapshot).
//
// It is an error (wrapping ErrMalformedTransceivers, saying what was wrong) only when the body is not one
// JSON array: invalid JSON, an object, null, a cut-off file. Otherwise it is lenient, one item at a time, and
// Transceivers.Rejected counts every item it drops:
//   - a station is dropped whole when its entry cannot be read (not an object, a callsign that is not a
//     string, transceivers that is not an array), when its callsign is missing or blank, when the callsign
//     holds a value no database can store (U+0000, invalid UTF-8), or when the callsign was already seen in
//     the file (the first one is kept);
//   - a radio is dropped alone, its station kept (with its other radios, or none): one bad antenna must not
//     hide a station from coverage. A radio is dropped when it cannot be read (not an object; an id or a
//     frequency that is not an integer, a coordinate or height that is not a number), when its frequency is
//     not positive, when its id is beyond the 32-bit integer range, or when its latitude is not in [-90, 90]
//     or its longitude not in [-180, 180] (NaN included).
//
// Frequencies are kept to the hertz as the file writes them: UNICOM's 122.800 MHz is often 122800007 or some
// such, and telling it from 122800000 is the caller's business. A null transceivers list is a station without
// radios. Unknown fields are ignored.
func DecodeTransceivers(data []byte) (*Transceivers, error) {
	if isGzip(data) {
		plain, err := gunzipBytes(data, DefaultMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("feed: transceivers file: gzip: %w: %w", ErrMalformedTransceivers, err)
		}
		data = plain
	}
	if len(data) > DefaultMaxBytes {
		return nil, fmt.Errorf("feed: transceivers file: %w: %w (%d bytes)", ErrMalformedTransceivers, ErrTooLarge, DefaultMaxBytes)
	}
	if list, err := decodeTransceiversFast(data); err == nil {
		return checkStations(list), nil
	}
	var list []wireStation
	if err := json.Unmarshal(data, &list); err == nil && list != nil {
		return checkStations(list), nil
	}
	return decodeTransceiversSlow(data)
}

// The file's shapes. encoding/json decodes a 3,000-station file (870 KB) into them in about 30 ms on the
// development machine, mostly parsing floats through reflection; the snapshot decoder's scanner does it several
// times faster (BenchmarkDecodeTransceivers), so it goes first, and encoding/json only gets what the scanner
// gives up on (errBail: anything out of the ordinary), as for snapshots.
type wireStation struct {
	Callsign     string      `json:"callsign"`
	Transceivers []wireRadio `json:"transceivers"`
}

type wireRadio struct {
	ID         int64   `json:"id"`
	Frequency  int64   `json:"frequency"`
	LatDeg     float64 `json:"latDeg"`
	LonDeg     float64 `json:"lonDeg"`
	HeightMslM float64 `json:"heightMslM"`
	HeightAglM float64 `json:"heightAglM"`
}

// decodeTransceiversFast decodes with the snapshot decoder's scanner, which bails out (errBail) on anything
// that encoding/json might decode differently or reject; its result is then checked by the same rules.
func decodeTransceiversFast(b []byte) ([]wireStation, error) {
	d := scanner{b: b, intern: new([internSlots]string)}
	null, err := d.openArray()
	if err != nil || null {
		return nil, errBail
	}
	list := make([]wireStation, 0, len(b)/256+1) // a station takes some 300 bytes
	for n := 0; ; {
		more, err := d.nextElem(&n)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		list = append(list, wireStation{})
		if err := d.station(&list[len(list)-1]); err != nil {
			return nil, err
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, errBail
	}
	return list, nil
}

const (
	stationKeys = "callsign,transceivers"
	radioKeys   = "id,frequency,latDeg,lonDeg,heightMslM,heightAglM"
)

func (d *scanner) station(s *wireStation) error {
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "callsign":
			return 1 << 0, d.strField(&s.Callsign)
		case "transceivers":
			return 1 << 1, decodeList(d, &s.Transceivers, 2, d.radio)
		default:
			return 0, d.unknown(key, stationKeys)
		}
	})
}

func (d *scanner) radio(r *wireRadio) error {
	return d.object(func(key []byte) (uint32, error) {
		switch string(key) {
		case "id":
			return 1 << 0, d.int64Field(&r.ID)
		case "frequency":
			return 1 << 1, d.int64Field(&r.Frequency)
		case "latDeg":
			return 1 << 2, d.floatField(&r.LatDeg)
		case "lonDeg":
			return 1 << 3, d.floatField(&r.LonDeg)
		case "heightMslM":
			return 1 << 4, d.floatField(&r.HeightMslM)
		case "heightAglM":
			return 1 << 5, d.floatField(&r.HeightAglM)
		default:
			return 0, d.unknown(key, radioKeys)
		}
	})
}

// decodeTransceiversSlow is the path for a file encoding/json could not decode whole: it tells a body that is
// not an array (an error) from entries that cannot be read (dropped one at a time).
func decodeTransceiversSlow(data []byte) (*Transceivers, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil || raws == nil {
		return nil, notAnArray(data, err)
	}
	t := &Transceivers{Stations: make([]Station, 0, len(raws))}
	seen := make(map[string]bool, len(raws))
	for _, raw := range raws {
		var e struct {
			Callsign     string            `json:"callsign"`
			Transceivers []json.RawMessage `json:"transceivers"`
		}
		if json.Unmarshal(raw, &e) != nil || !startsWith(raw, '{') {
			t.Rejected++
			continue
		}
		ws := wireStation{Callsign: e.Callsign, Transceivers: make([]wireRadio, 0, len(e.Transceivers))}
		var unreadable []bool
		for i, rr := range e.Transceivers {
			var r wireRadio
			if json.Unmarshal(rr, &r) != nil || !startsWith(rr, '{') {
				if unreadable == nil {
					unreadable = make([]bool, len(e.Transceivers))
				}
				unreadable[i] = true
			}
			ws.Transceivers = append(ws.Transceivers, r)
		}
		t.addStation(&ws, unreadable, seen)
	}
	return t, nil
}

// startsWith reports whether the first byte of raw after JSON whitespace is c. It tells an object from null,
// which encoding/json decodes into a struct without complaint, though a null entry or radio cannot be read.
func startsWith(raw []byte, c byte) bool {
	for _, b := range raw {
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b == c
	}
	return false
}

// notAnArray says what the body is instead of an array.
func notAnArray(data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("feed: transceivers file: not valid JSON (byte %d): %w: %w", syn.Offset, ErrMalformedTransceivers, err)
	case err != nil:
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("feed: transceivers file: a JSON %s, not an array: %w", te.Value, ErrMalformedTransceivers)
		}
		return fmt.Errorf("feed: transceivers file: not an array: %w: %w", ErrMalformedTransceivers, err)
	case strings.TrimSpace(string(data)) == "":
		return fmt.Errorf("feed: transceivers file: empty: %w", ErrMalformedTransceivers)
	}
	return fmt.Errorf("feed: transceivers file: null, not an array: %w", ErrMalformedTransceivers)
}

// checkStations applies the rules to a file encoding/json decoded whole.
func checkStations(list []wireStation) *Transceivers {
	t := &Transceivers{Stations: make([]Station, 0, len(list))}
	seen := make(map[string]bool, len(list))
	for i := range list {
		t.addStation(&list[i], nil, seen)
	}
	return t
}

// addStation keeps ws unless it is to be dropped, without the radios that are (unreadable[i], when not nil,
// marks the ones that could not be read).
func (t *Transceivers) addStation(ws *wireStation, unreadable []bool, seen map[string]bool) {
	var c storable
	c.text("callsign", ws.Callsign)
	if strings.TrimSpace(ws.Callsign) == "" || c.reason != "" || seen[ws.Callsign] {
		t.Rejected++
		return
	}
	seen[ws.Callsign] = true
	st := Station{Callsign: ws.Callsign}
	if len(ws.Transceivers) > 0 {
		st.Radios = make([]Radio, 0, len(ws.Transceivers))
	}
	for i := range ws.Transceivers {
		r := &ws.Transceivers[i]
		if unreadable != nil && unreadable[i] || radioInvalid(r) != "" {
			t.Rejected++
			continue
		}
		st.Radios = append(st.Radios, Radio{
			ID:          int(r.ID),
			FrequencyHz: r.Frequency,
			Latitude:    r.LatDeg,
			Longitude:   r.LonDeg,
			HeightMSLm:  r.HeightMslM,
			HeightAGLm:  r.HeightAglM,
		})
	}
	if len(st.Radios) == 0 {
		st.Radios = nil // no radio is nil, whether the file listed none or only bad ones
	}
	t.Stations = append(t.Stations, st)
}

// radioInvalid returns why a radio is dropped, or "".
func radioInvalid(r *wireRadio) string {
	switch {
	case r.Frequency <= 0:
		return "frequency " + strconv.FormatInt(r.Frequency, 10) + " is not positive"
	case r.ID < math.MinInt32 || r.ID > math.MaxInt32:
		return exceedsInt32("id", strconv.FormatInt(r.ID, 10))
	case !(r.LatDeg >= -90 && r.LatDeg <= 90):
		return fmt.Sprintf("latDeg %v out of range [-90, 90]", r.LatDeg)
	case !(r.LonDeg >= -180 && r.LonDeg <= 180):
		return fmt.Sprintf("lonDeg %v out of range [-180, 180]", r.LonDeg)
	}
	return ""
}

// TransceiversMaxAge is how much older than its snapshot a transceivers file may be and still be paired with
// it: two feed cadences (the files regenerate every 15 s, not in step).
const TransceiversMaxAge = 30 * time.Second
