package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every error Decode returns: the snapshot is rejected whole, so a caller can tell a
// bad snapshot (skip it, keep polling) from an I/O problem with errors.Is.
var ErrMalformed = errors.New("malformed snapshot")

// DefaultMaxBytes bounds a decompressed snapshot (Decode, the sources, the recorder). Real snapshots are a few
// MB; 64 MiB leaves room for 30,000 pilots while refusing a gzip bomb.
const DefaultMaxBytes = 64 << 20

// MalformedError says where a snapshot is malformed. It matches ErrMalformed (errors.Is) and unwraps to the
// underlying cause when there is one (a *json.SyntaxError, a *time.ParseError, ...).
type MalformedError struct {
	List     string // "general", "pilots", "controllers", "atis"; empty when the document as a whole is bad
	Index    int    // position in List (before de-duplication); -1 when not about one entry
	Callsign string // the entry's callsign when it could be read
	Reason   string
	Err      error
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	b.WriteString("feed: malformed snapshot")
	if e.List != "" {
		b.WriteString(": ")
		b.WriteString(e.List)
		if e.Index >= 0 {
			fmt.Fprintf(&b, "[%d]", e.Index)
			if e.Callsign != "" {
				fmt.Fprintf(&b, " (callsign %q)", e.Callsign)
			}
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *MalformedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformed}
	}
	return []error{ErrMalformed, e.Err}
}

func malformed(reason string, err error) *MalformedError {
	return &MalformedError{Index: -1, Reason: reason, Err: err}
}

// Decode parses one vatsim-data.json snapshot (format v3), plain or gzip-compressed (recognised by its magic
// bytes, so a recorded .json.gz can be handed over as is; at most DefaultMaxBytes once decompressed).
//
// It is lenient about what the real feed does (the quirks listed with the shared test data): integer or fractional
// qnh_i_hg, negative altitude, heading 360, RFC 3339 times with 0-9 fractional digits and any offset (all times
// are returned in UTC), null flight_plan/text_atis/atis_code, fields absent in older files, unknown fields.
//
// It rejects the whole snapshot (an error wrapping ErrMalformed, a *MalformedError naming the list, index and
// callsign) when it is not JSON, its version is not 3, update_timestamp is missing, or any pilot, controller or
// ATIS lacks a callsign, a positive cid or a logon_time, or a pilot's latitude, longitude or heading is out of
// range. Half a snapshot would make every absent connection look disconnected, so nothing is salvaged.
//
// An entry with a value no database column could hold (U+0000 or invalid UTF-8 in a string, an integer beyond
// 32 bits where the schema has INTEGER, whether written 3000000000 or 5e9) is dropped alone and listed in
// Snapshot.Rejected: the snapshot is still good, and a database refusing that one row would lose all of it.
// A number that is not an integer where one is expected (1500.5, 1e3) still rejects the snapshot, as
// encoding/json does. Invalid UTF-8 in a string becomes U+FFFD, as encoding/json makes it.
//
// Each list is then de-duplicated on the connection key (cid, callsign, logon_time), so that an upsert batch
// never holds the same key twice: the entry with the latest last_updated is kept, in the position of the
// key's first occurrence; on a tie the earlier entry wins. Snapshot.Duplicates counts the entries dropped.
func Decode(data []byte) (*Snapshot, error) { return decode(data, decodeJSON) }

// decode is Decode with the JSON layer as a parameter, so that tests can run the reference decoder through the
// same gzip, validation and de-duplication steps.
func decode(data []byte, parse func([]byte) (*Snapshot, error)) (*Snapshot, error) {
	if isGzip(data) {
		plain, err := gunzipBytes(data, DefaultMaxBytes)
		if err != nil {
			return nil, malformed("gzip", err)
		}
		data = plain
	}
	s, err := parse(data)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.dedupe()
	return s, nil
}

// decodeJSON decodes without validating: the fast path when it can, encoding/json when it cannot.
func decodeJSON(data []byte) (*Snapshot, error) {
	s := new(Snapshot)
	if decodeFast(data, s) == nil {
		return s, nil
	}
	return decodeStd(data)
}

// decodeStd is the reference decoder: encoding/json, with a located error. It decodes through wireSnapshot,
// whose integer fields keep what does not fit an int64 (see wireInt); such an entry comes back already in
// Snapshot.Rejected, for validate.
func decodeStd(data []byte) (*Snapshot, error) {
	var w wireSnapshot
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, locate(data, err)
	}
	s := &Snapshot{General: w.General}
	if w.Pilots != nil {
		s.Pilots = make([]Pilot, len(w.Pilots))
		for i := range w.Pilots {
			var reason string
			s.Pilots[i], reason = w.Pilots[i].pilot()
			s.preReject("pilots", i, s.Pilots[i].Callsign, reason)
		}
	}
	s.Controllers = s.wireControllers("controllers", w.Controllers)
	s.ATIS = s.wireControllers("atis", w.ATIS)
	return s, nil
}

func (s *Snapshot) wireControllers(list string, w []wireController) []Controller {
	if w == nil {
		return nil
	}
	out := make([]Controller, len(w))
	for i := range w {
		var reason string
		out[i], reason = w[i].controller()
		s.preReject(list, i, out[i].Callsign, reason)
	}
	return out
}

func (s *Snapshot) preReject(list string, i int, callsign, reason string) {
	if reason != "" {
		s.Rejected = append(s.Rejected, Rejection{List: list, Index: i, Callsign: callsign, Reason: reason})
	}
}

// validate checks what the rest of vatsector relies on and normalises times to UTC, so that equal instants
// compare equal (connection keys, database rows) whatever offset the feed wrote. Per entry, in this order: a
// missing connection key rejects the snapshot (the entry could not even be named); a value no database can
// store rejects the entry alone (Snapshot.Rejected, the entry is removed from its list); a position or
// heading out of its range rejects the snapshot. Rejections the decoder found already (s.Rejected on entry,
// values beyond int64) count as the second kind.
func (s *Snapshot) validate() error {
	g := &s.General
	if g.Version != 3 {
		return &MalformedError{List: "general", Index: -1, Reason: fmt.Sprintf("version is %d, want 3", g.Version)}
	}
	if g.UpdateTimestamp.IsZero() {
		return &MalformedError{List: "general", Index: -1, Reason: "update_timestamp is missing"}
	}
	g.UpdateTimestamp = g.UpdateTimestamp.UTC()
	found, rejected := s.Rejected, []Rejection(nil)
	reject := func(list string, i int, callsign, reason string) bool {
		for _, r := range found { // only entries with numbers beyond int64: almost always none
			if r.List == list && r.Index == i {
				reason = r.Reason
			}
		}
		if reason == "" {
			return false
		}
		rejected = append(rejected, Rejection{List: list, Index: i, Callsign: callsign, Reason: reason})
		return true
	}
	for i := range s.Pilots {
		p := &s.Pilots[i]
		if err := checkConnection("pilots", i, p.Callsign, p.CID, p.LogonTime); err != nil {
			return err
		}
		if reject("pilots", i, p.Callsign, pilotUnstorable(p)) {
			continue
		}
		bad := func(reason string) error {
			return &MalformedError{List: "pilots", Index: i, Callsign: p.Callsign, Reason: reason}
		}
		switch {
		case !(p.Latitude >= -90 && p.Latitude <= 90):
			return bad(fmt.Sprintf("latitude %v out of range [-90, 90]", p.Latitude))
		case !(p.Longitude >= -180 && p.Longitude <= 180):
			return bad(fmt.Sprintf("longitude %v out of range [-180, 180]", p.Longitude))
		case p.Heading < 0 || p.Heading > 360:
			return bad(fmt.Sprintf("heading %d out of range [0, 360]", p.Heading))
		}
		p.LogonTime = p.LogonTime.UTC()
		p.LastUpdated = p.LastUpdated.UTC()
	}
	for _, l := range []struct {
		name string
		list []Controller
	}{{"controllers", s.Controllers}, {"atis", s.ATIS}} {
		for i := range l.list {
			c := &l.list[i]
			if err := checkConnection(l.name, i, c.Callsign, c.CID, c.LogonTime); err != nil {
				return err
			}
			if reject(l.name, i, c.Callsign, controllerUnstorable(c)) {
				continue
			}
			c.LogonTime = c.LogonTime.UTC()
			c.LastUpdated = c.LastUpdated.UTC()
		}
	}
	s.Rejected = rejected
	if len(rejected) > 0 {
		s.Pilots = dropRejected(s.Pilots, "pilots", rejected)
		s.Controllers = dropRejected(s.Controllers, "controllers", rejected)
		s.ATIS = dropRejected(s.ATIS, "atis", rejected)
	}
	return nil
}

// checkConnection rejects an entry without the parts of its connection key: such an entry could neither be
// stored nor told apart from another one.
func checkConnection(list string, i int, callsign string, cid int64, logon time.Time) error {
	reason := ""
	switch {
	case strings.TrimSpace(callsign) == "":
		reason = "callsign is missing"
	case cid <= 0:
		reason = fmt.Sprintf("cid is %d, want a positive member id", cid)
	case logon.IsZero():
		reason = "logon_time is missing"
	default:
		return nil
	}
	return &MalformedError{List: list, Index: i, Callsign: callsign, Reason: reason}
}

// ConnKey identifies one connection: CID alone is not unique (ghost connections) and callsigns are reused.
type ConnKey struct {
	CID      int64
	Callsign string
	// Logon is logon_time in Unix microseconds: the precision both databases store (the feed has 100 ns
	// ticks). Two entries whose logon times differ below it are one connection to the databases, so they must
	// be one here too, or ingest would write the same stored key twice in one cycle.
	Logon int64
}

// KeyOf is the connection key of (cid, callsign, logon).
func KeyOf(cid int64, callsign string, logon time.Time) ConnKey {
	return ConnKey{CID: cid, Callsign: callsign, Logon: logon.UnixMicro()}
}

// Key returns the pilot's connection key.
func (p *Pilot) Key() ConnKey { return KeyOf(p.CID, p.Callsign, p.LogonTime) }

// Key returns the controller's connection key.
func (c *Controller) Key() ConnKey { return KeyOf(c.CID, c.Callsign, c.LogonTime) }

func (s *Snapshot) dedupe() {
	var n int
	s.Pilots, n = dedupe(s.Pilots, (*Pilot).Key, func(p *Pilot) time.Time { return p.LastUpdated })
	s.Duplicates = n
	s.Controllers, n = dedupe(s.Controllers, (*Controller).Key, func(c *Controller) time.Time { return c.LastUpdated })
	s.Duplicates += n
	s.ATIS, n = dedupe(s.ATIS, (*Controller).Key, func(c *Controller) time.Time { return c.LastUpdated })
	s.Duplicates += n
}

// dedupe compacts list in place, keeping per key the entry with the latest last_updated (the earlier one on a
// tie) at the key's first position, and returns how many entries it dropped.
func dedupe[T any](list []T, key func(*T) ConnKey, updated func(*T) time.Time) ([]T, int) {
	if len(list) < 2 {
		return list, 0
	}
	seen := make(map[ConnKey]int, len(list))
	out := list[:0]
	for i := range list {
		k := key(&list[i])
		if j, dup := seen[k]; dup {
			if updated(&list[i]).After(updated(&out[j])) {
				out[j] = list[i]
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, list[i]) // len(out) <= i: never overwrites an entry not yet visited
	}
	dropped := len(list) - len(out)
	clear(list[len(out):]) // release the dropped entries' strings
	return out, dropped
}

// locate turns a json.Unmarshal failure into a MalformedError naming the entry at fault. It runs only on the
// error path, so the common path pays nothing for the detail: the document is split into raw entries and each
// one is decoded alone until one fails.
func locate(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return malformed(fmt.Sprintf("not valid JSON (byte %d)", syn.Offset), err)
	}
	var doc struct {
		General     json.RawMessage   `json:"general"`
		Pilots      []json.RawMessage `json:"pilots"`
		Controllers []json.RawMessage `json:"controllers"`
		ATIS        []json.RawMessage `json:"atis"`
	}
	if derr := json.Unmarshal(data, &doc); derr != nil { // a list that is not a list, or not an object at all
		var te *json.UnmarshalTypeError
		if errors.As(derr, &te) && te.Field != "" {
			return &MalformedError{List: te.Field, Index: -1, Reason: "is a JSON " + te.Value, Err: err}
		}
		return malformed("not a vatsim-data.json document", err)
	}
	if len(doc.General) > 0 {
		var g General
		if gerr := json.Unmarshal(doc.General, &g); gerr != nil {
			return &MalformedError{List: "general", Index: -1, Reason: "cannot decode", Err: gerr}
		}
	}
	find := func(name string, list []json.RawMessage, into func() any) error {
		for i, raw := range list {
			if eerr := json.Unmarshal(raw, into()); eerr != nil {
				return &MalformedError{List: name, Index: i, Callsign: rawCallsign(raw), Reason: "cannot decode", Err: eerr}
			}
		}
		return nil
	}
	if e := find("pilots", doc.Pilots, func() any { return new(wirePilot) }); e != nil {
		return e
	}
	if e := find("controllers", doc.Controllers, func() any { return new(wireController) }); e != nil {
		return e
	}
	if e := find("atis", doc.ATIS, func() any { return new(wireController) }); e != nil {
		return e
	}
	return malformed("cannot decode", err)
}

// rawCallsign digs the callsign out of an entry that failed to decode, for the error message only.
func rawCallsign(raw json.RawMessage) string {
	var v struct {
		Callsign any `json:"callsign"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	if s, ok := v.Callsign.(string); ok {
		return s
	}
	return ""
}

// isGzip reports whether b starts with the gzip magic bytes (RFC 1952): a JSON document never does.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }
