package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// editDoc returns a generated snapshot (3 pilots, 3 controllers of which the first is an observer, 2 ATIS) as
// JSON, after edit changed its generic form. Numbers stay json.Number so that they are written back verbatim.
func editDoc(t testing.TB, edit func(doc map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(mustMarshal(t, genSnapshot(baseTime, 3, 3, 2))))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(doc)
	}
	return mustMarshal(t, doc)
}

func entry(doc map[string]any, list string, i int) map[string]any {
	return doc[list].([]any)[i].(map[string]any)
}

func general(doc map[string]any) map[string]any { return doc["general"].(map[string]any) }

// decodeChecked decodes with Decode and with the reference decoder (encoding/json through the same validation)
// and fails unless they agree exactly, error text included.
func decodeChecked(t testing.TB, data []byte) (*Snapshot, error) {
	t.Helper()
	got, err := Decode(data)
	want, wantErr := decode(data, decodeStd)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("Decode error: %v\nreference decoder error: %v", err, wantErr)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("Decode error: %v\nreference decoder error: %v", err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("Decode and the reference decoder disagree:\n got %s\nwant %s", mustMarshal(t, got), mustMarshal(t, want))
	}
	return got, err
}

func TestDecodeQuirks(t *testing.T) {
	type check func(t *testing.T, s *Snapshot)
	setPilot := func(key string, v any) func(map[string]any) {
		return func(doc map[string]any) { entry(doc, "pilots", 0)[key] = v }
	}
	tests := []struct {
		name      string
		edit      func(doc map[string]any)
		bytes     func(t testing.TB, data []byte) []byte // optional transformation of the marshalled document
		fastBails bool                                   // the fast path is expected to hand over to encoding/json
		check     check
	}{
		{name: "qnh_i_hg is an integer", edit: setPilot("qnh_i_hg", json.Number("30")), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].QNHInHg != 30 {
				t.Errorf("QNHInHg = %v, want 30", s.Pilots[0].QNHInHg)
			}
		}},
		{name: "qnh_i_hg is fractional", edit: setPilot("qnh_i_hg", json.Number("29.92")), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].QNHInHg != 29.92 {
				t.Errorf("QNHInHg = %v, want 29.92", s.Pilots[0].QNHInHg)
			}
		}},
		{name: "negative altitude", edit: setPilot("altitude", json.Number("-115")), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].Altitude != -115 {
				t.Errorf("Altitude = %d, want -115", s.Pilots[0].Altitude)
			}
		}},
		{name: "heading 0", edit: setPilot("heading", json.Number("0")), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].Heading != 0 {
				t.Errorf("Heading = %d, want 0", s.Pilots[0].Heading)
			}
		}},
		{name: "heading 360", edit: setPilot("heading", json.Number("360")), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].Heading != 360 {
				t.Errorf("Heading = %d, want 360", s.Pilots[0].Heading)
			}
		}},
		{name: "latitude and longitude at their limits", edit: func(doc map[string]any) {
			entry(doc, "pilots", 0)["latitude"] = json.Number("-90")
			entry(doc, "pilots", 0)["longitude"] = json.Number("180")
			entry(doc, "pilots", 1)["latitude"] = json.Number("90.0")
			entry(doc, "pilots", 1)["longitude"] = json.Number("-180")
		}, check: func(t *testing.T, s *Snapshot) {
			if p := s.Pilots[0]; p.Latitude != -90 || p.Longitude != 180 {
				t.Errorf("pilot 0 at %v,%v, want -90,180", p.Latitude, p.Longitude)
			}
			if p := s.Pilots[1]; p.Latitude != 90 || p.Longitude != -180 {
				t.Errorf("pilot 1 at %v,%v, want 90,-180", p.Latitude, p.Longitude)
			}
		}},
		{name: "time with an offset is returned in UTC", edit: setPilot("logon_time", "2024-02-20T08:28:32.5+02:00"), check: func(t *testing.T, s *Snapshot) {
			want := time.Date(2024, 2, 20, 6, 28, 32, 500_000_000, time.UTC)
			if got := s.Pilots[0].LogonTime; !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("LogonTime = %v, want %v", got, want)
			}
		}},
		{name: "null flight_plan", edit: setPilot("flight_plan", nil), check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].FlightPlan != nil {
				t.Errorf("FlightPlan = %+v, want nil", s.Pilots[0].FlightPlan)
			}
		}},
		{name: "flight plan without revision_id and assigned_transponder", edit: func(doc map[string]any) {
			fp := entry(doc, "pilots", 1)["flight_plan"].(map[string]any)
			delete(fp, "revision_id")
			delete(fp, "assigned_transponder")
		}, check: func(t *testing.T, s *Snapshot) {
			fp := s.Pilots[1].FlightPlan
			if fp == nil || fp.RevisionID != nil || fp.AssignedTransponder != "" || fp.Route == "" {
				t.Errorf("FlightPlan = %+v, want a plan without revision_id and assigned_transponder", fp)
			}
		}},
		{name: "absent military_rating", edit: func(doc map[string]any) { delete(entry(doc, "pilots", 0), "military_rating") }, check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].MilitaryRating != nil {
				t.Errorf("MilitaryRating = %v, want nil", *s.Pilots[0].MilitaryRating)
			}
			if s.Pilots[1].MilitaryRating == nil || *s.Pilots[1].MilitaryRating != 0 {
				t.Errorf("pilot 1 MilitaryRating = %v, want a pointer to 0", s.Pilots[1].MilitaryRating)
			}
		}},
		{name: "null text_atis", edit: func(doc map[string]any) { entry(doc, "controllers", 1)["text_atis"] = nil }, check: func(t *testing.T, s *Snapshot) {
			if s.Controllers[1].TextATIS != nil {
				t.Errorf("TextATIS = %q, want nil", s.Controllers[1].TextATIS)
			}
		}},
		{name: "empty text_atis", edit: func(doc map[string]any) { entry(doc, "controllers", 1)["text_atis"] = []any{} }, check: func(t *testing.T, s *Snapshot) {
			if len(s.Controllers[1].TextATIS) != 0 {
				t.Errorf("TextATIS = %q, want empty", s.Controllers[1].TextATIS)
			}
		}},
		{name: "null atis_code on an ATIS", edit: func(doc map[string]any) { entry(doc, "atis", 0)["atis_code"] = nil }, check: func(t *testing.T, s *Snapshot) {
			if s.ATIS[0].ATISCode != nil {
				t.Errorf("ATISCode = %q, want nil", *s.ATIS[0].ATISCode)
			}
			if s.ATIS[1].ATISCode == nil || *s.ATIS[1].ATISCode != "N" {
				t.Errorf("atis 1 ATISCode = %v, want N", s.ATIS[1].ATISCode)
			}
		}},
		{name: "absent atis_code on a controller", edit: func(doc map[string]any) { delete(entry(doc, "controllers", 1), "atis_code") }, check: func(t *testing.T, s *Snapshot) {
			if s.Controllers[1].ATISCode != nil {
				t.Errorf("ATISCode = %q, want nil", *s.Controllers[1].ATISCode)
			}
		}},
		{name: "unknown fields at every level are ignored", edit: func(doc map[string]any) {
			doc["servers"] = []any{map[string]any{"ident": "GERMANY", "is_sweatbox": false, "clients_connection_allowed": json.Number("1")}}
			doc["prefiles"] = []any{map[string]any{"cid": json.Number("1"), "flight_plan": nil}}
			doc["facilities"] = []any{map[string]any{"id": json.Number("-1"), "short": "OBS", "long": "Observer"}}
			general(doc)["reload"] = json.Number("1")
			entry(doc, "pilots", 0)["new_field"] = map[string]any{"x": []any{json.Number("1.5e3"), true, nil, "\u00e9\"\\"}}
			entry(doc, "pilots", 1)["flight_plan"].(map[string]any)["extra"] = []any{}
			entry(doc, "controllers", 0)["x"] = "y"
		}, check: func(t *testing.T, s *Snapshot) {
			want, err := Decode(editDoc(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("unknown fields changed the result:\n got %s\nwant %s", mustMarshal(t, s), mustMarshal(t, want))
			}
		}},
		{name: "escaped and non-ASCII strings", edit: func(doc map[string]any) {
			entry(doc, "pilots", 0)["name"] = "Zoë \"Z\" \\ O'Hara"
			entry(doc, "pilots", 1)["name"] = "@ESCAPED@"
		}, bytes: func(t testing.TB, b []byte) []byte {
			return bytes.Replace(b, []byte("@ESCAPED@"), []byte(`\u00c5ngstr\u00f6m \ud83d\ude00 \/ \t`), 1)
		}, check: func(t *testing.T, s *Snapshot) {
			if got, want := s.Pilots[0].Name, "Zoë \"Z\" \\ O'Hara"; got != want {
				t.Errorf("name = %q, want %q", got, want)
			}
			if got, want := s.Pilots[1].Name, "Ångström 😀 / \t"; got != want {
				t.Errorf("name = %q, want %q", got, want)
			}
		}},
		{name: "empty lists", edit: func(doc map[string]any) {
			doc["pilots"], doc["controllers"], doc["atis"] = []any{}, []any{}, []any{}
		}, check: func(t *testing.T, s *Snapshot) {
			if len(s.Pilots)+len(s.Controllers)+len(s.ATIS) != 0 {
				t.Errorf("got %d/%d/%d entries, want none", len(s.Pilots), len(s.Controllers), len(s.ATIS))
			}
		}},
		{name: "null and absent lists", edit: func(doc map[string]any) {
			doc["pilots"], doc["controllers"] = nil, nil
			delete(doc, "atis")
		}, check: func(t *testing.T, s *Snapshot) {
			if s.Pilots != nil || s.Controllers != nil || s.ATIS != nil {
				t.Errorf("got %v/%v/%v, want nil lists", s.Pilots, s.Controllers, s.ATIS)
			}
		}},
		{name: "gzip-compressed", bytes: gzipBytes, check: func(t *testing.T, s *Snapshot) {
			want, err := Decode(editDoc(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("gzip changed the result")
			}
		}},
		{name: "whitespace everywhere", bytes: func(t testing.TB, b []byte) []byte {
			var buf bytes.Buffer
			if err := json.Indent(&buf, b, "\r\n", "\t "); err != nil {
				t.Fatal(err)
			}
			return append(append([]byte(" \n"), buf.Bytes()...), " \n\t"...)
		}, check: func(t *testing.T, s *Snapshot) {
			if len(s.Pilots) != 3 || s.Pilots[2].Callsign != "TST00002" {
				t.Errorf("pilots = %+v", s.Pilots)
			}
		}},
		{name: "more than 9 fractional digits are truncated", fastBails: true, edit: setPilot("last_updated", "2024-02-20T06:28:32.1234567891Z"), check: func(t *testing.T, s *Snapshot) {
			if got := s.Pilots[0].LastUpdated.Nanosecond(); got != 123456789 {
				t.Errorf("nanoseconds = %d, want 123456789", got)
			}
		}},
		{name: "key differing in case", fastBails: true, edit: func(doc map[string]any) {
			p := entry(doc, "pilots", 0)
			p["Altitude"] = p["altitude"]
			delete(p, "altitude")
			p["Altitude"] = json.Number("12345")
		}, check: func(t *testing.T, s *Snapshot) {
			if s.Pilots[0].Altitude != 12345 {
				t.Errorf("Altitude = %d, want 12345 (encoding/json folds case)", s.Pilots[0].Altitude)
			}
		}},
	}
	// Real files have 0 to 7 fractional digits; RFC 3339 allows up to 9 before time truncates.
	for digits := 0; digits <= 9; digits++ {
		frac := "123456789"[:digits]
		raw := "2024-02-20T06:28:32Z"
		if digits > 0 {
			raw = "2024-02-20T06:28:32." + frac + "Z"
		}
		nsec := 0
		fmt.Sscanf((frac + "000000000")[:9], "%d", &nsec)
		want := time.Date(2024, 2, 20, 6, 28, 32, nsec, time.UTC)
		tests = append(tests, struct {
			name      string
			edit      func(doc map[string]any)
			bytes     func(t testing.TB, data []byte) []byte
			fastBails bool
			check     check
		}{name: fmt.Sprintf("%d fractional digits", digits), edit: func(doc map[string]any) {
			general(doc)["update_timestamp"] = raw
			entry(doc, "controllers", 0)["logon_time"] = raw
		}, check: func(t *testing.T, s *Snapshot) {
			if got := s.General.UpdateTimestamp; !got.Equal(want) {
				t.Errorf("update_timestamp %q = %v, want %v", raw, got, want)
			}
			if got := s.Controllers[0].LogonTime; !got.Equal(want) {
				t.Errorf("logon_time %q = %v, want %v", raw, got, want)
			}
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := editDoc(t, tt.edit)
			if tt.bytes != nil {
				data = tt.bytes(t, data)
			}
			if !isGzip(data) {
				fastErr := decodeFast(data, new(Snapshot))
				if bailed := fastErr != nil; bailed != tt.fastBails {
					t.Errorf("fast path error = %v, want bail-out %v", fastErr, tt.fastBails)
				}
			}
			s, err := decodeChecked(t, data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.check(t, s)
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := editDoc(t, nil)
	set := func(list string, i int, key string, v any) func(map[string]any) {
		return func(doc map[string]any) {
			if list == "general" {
				general(doc)[key] = v
				return
			}
			entry(doc, list, i)[key] = v
		}
	}
	del := func(list string, i int, key string) func(map[string]any) {
		return func(doc map[string]any) {
			if list == "general" {
				delete(general(doc), key)
				return
			}
			delete(entry(doc, list, i), key)
		}
	}
	tests := []struct {
		name         string
		data         []byte               // used when edit is nil
		edit         func(map[string]any) // applied to the generated document
		wantList     string               // MalformedError.List
		wantIndex    int                  // MalformedError.Index
		wantCallsign string               // MalformedError.Callsign
		wantIn       string               // substring of the message
	}{
		{name: "empty input", data: []byte{}, wantIndex: -1, wantIn: "not valid JSON"},
		{name: "HTML error page", data: []byte("<html><body>502 Bad Gateway</body></html>"), wantIndex: -1, wantIn: "not valid JSON"},
		{name: "truncated", data: valid[:len(valid)/2], wantIndex: -1, wantIn: "not valid JSON"},
		{name: "trailing garbage", data: append(bytes.Clone(valid), " x"...), wantIndex: -1, wantIn: "not valid JSON"},
		{name: "two documents", data: append(bytes.Clone(valid), valid...), wantIndex: -1, wantIn: "not valid JSON"},
		{name: "top-level array", data: []byte(`[]`), wantIndex: -1, wantIn: "not a vatsim-data.json document"},
		{name: "top-level null", data: []byte(`null`), wantList: "general", wantIndex: -1, wantIn: "version is 0"},
		{name: "gzip cut short", data: gzipBytes(t, valid)[:40], wantIndex: -1, wantIn: "gzip"},
		{name: "gzip of garbage", data: gzipBytes(t, []byte("<html>")), wantIndex: -1, wantIn: "not valid JSON"},
		{name: "version 2", edit: set("general", 0, "version", json.Number("2")), wantList: "general", wantIndex: -1, wantIn: "version is 2, want 3"},
		{name: "version missing", edit: del("general", 0, "version"), wantList: "general", wantIndex: -1, wantIn: "version is 0"},
		{name: "version is a string", edit: set("general", 0, "version", "3"), wantList: "general", wantIndex: -1, wantIn: "cannot decode"},
		{name: "general missing", edit: func(doc map[string]any) { delete(doc, "general") }, wantList: "general", wantIndex: -1, wantIn: "version is 0"},
		{name: "general is a number", edit: func(doc map[string]any) { doc["general"] = json.Number("3") }, wantList: "general", wantIndex: -1, wantIn: "cannot decode"},
		{name: "update_timestamp missing", edit: del("general", 0, "update_timestamp"), wantList: "general", wantIndex: -1, wantIn: "update_timestamp is missing"},
		{name: "update_timestamp null", edit: set("general", 0, "update_timestamp", nil), wantList: "general", wantIndex: -1, wantIn: "update_timestamp is missing"},
		{name: "update_timestamp zero", edit: set("general", 0, "update_timestamp", "0001-01-01T00:00:00Z"), wantList: "general", wantIndex: -1, wantIn: "update_timestamp is missing"},
		{name: "update_timestamp not a time", edit: set("general", 0, "update_timestamp", "20240220231951"), wantList: "general", wantIndex: -1, wantIn: "cannot decode"},
		{name: "pilots is an object", edit: func(doc map[string]any) { doc["pilots"] = map[string]any{} }, wantList: "pilots", wantIndex: -1, wantIn: "is a JSON object"},
		{name: "pilot without callsign", edit: del("pilots", 1, "callsign"), wantList: "pilots", wantIndex: 1, wantIn: "pilots[1]: callsign is missing"},
		{name: "pilot with a blank callsign", edit: set("pilots", 2, "callsign", "  "), wantList: "pilots", wantIndex: 2, wantCallsign: "  ", wantIn: "callsign is missing"},
		{name: "pilot without cid", edit: del("pilots", 1, "cid"), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: `pilots[1] (callsign "TST00001"): cid is 0`},
		{name: "pilot with a negative cid", edit: set("pilots", 1, "cid", json.Number("-5")), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: "cid is -5"},
		{name: "pilot without logon_time", edit: del("pilots", 2, "logon_time"), wantList: "pilots", wantIndex: 2, wantCallsign: "TST00002", wantIn: "logon_time is missing"},
		{name: "pilot with a null logon_time", edit: set("pilots", 0, "logon_time", nil), wantList: "pilots", wantIndex: 0, wantCallsign: "TST00000", wantIn: "logon_time is missing"},
		{name: "pilot with a bad logon_time", edit: set("pilots", 0, "logon_time", "2024-02-30T00:00:00Z"), wantList: "pilots", wantIndex: 0, wantCallsign: "TST00000", wantIn: "cannot decode"},
		{name: "latitude above 90", edit: set("pilots", 1, "latitude", json.Number("90.0001")), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: "latitude 90.0001 out of range"},
		{name: "latitude below -90", edit: set("pilots", 1, "latitude", json.Number("-91")), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: "latitude -91 out of range"},
		{name: "longitude above 180", edit: set("pilots", 2, "longitude", json.Number("180.5")), wantList: "pilots", wantIndex: 2, wantCallsign: "TST00002", wantIn: "longitude 180.5 out of range"},
		{name: "longitude below -180", edit: set("pilots", 2, "longitude", json.Number("-200")), wantList: "pilots", wantIndex: 2, wantCallsign: "TST00002", wantIn: "longitude -200 out of range"},
		{name: "heading 361", edit: set("pilots", 0, "heading", json.Number("361")), wantList: "pilots", wantIndex: 0, wantCallsign: "TST00000", wantIn: "heading 361 out of range"},
		{name: "heading -1", edit: set("pilots", 0, "heading", json.Number("-1")), wantList: "pilots", wantIndex: 0, wantCallsign: "TST00000", wantIn: "heading -1 out of range"},
		{name: "cid is a string", edit: set("pilots", 1, "cid", "1000001"), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: "cannot decode"},
		{name: "altitude is fractional", edit: set("pilots", 1, "altitude", json.Number("1500.5")), wantList: "pilots", wantIndex: 1, wantCallsign: "TST00001", wantIn: "cannot decode"},
		{name: "flight_plan is a string", edit: set("pilots", 2, "flight_plan", "none"), wantList: "pilots", wantIndex: 2, wantCallsign: "TST00002", wantIn: "cannot decode"},
		{name: "pilot is null", edit: func(doc map[string]any) { doc["pilots"].([]any)[1] = nil }, wantList: "pilots", wantIndex: 1, wantIn: "callsign is missing"},
		{name: "controller without callsign", edit: del("controllers", 2, "callsign"), wantList: "controllers", wantIndex: 2, wantIn: "controllers[2]: callsign is missing"},
		{name: "controller without cid", edit: del("controllers", 0, "cid"), wantList: "controllers", wantIndex: 0, wantCallsign: "TST0_OBS", wantIn: "cid is 0"},
		{name: "controller with text_atis not a list", edit: set("controllers", 1, "text_atis", "x"), wantList: "controllers", wantIndex: 1, wantCallsign: "TST1_CTR", wantIn: "cannot decode"},
		{name: "ATIS without logon_time", edit: del("atis", 1, "logon_time"), wantList: "atis", wantIndex: 1, wantCallsign: "TS04_ATIS", wantIn: `atis[1] (callsign "TS04_ATIS"): logon_time is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.edit != nil {
				data = editDoc(t, tt.edit)
			}
			s, err := decodeChecked(t, data)
			if err == nil {
				t.Fatalf("Decode accepted it: %d pilots", len(s.Pilots))
			}
			if s != nil {
				t.Errorf("Decode returned a snapshot with its error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not match ErrMalformed", err)
			}
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MalformedError", err)
			}
			if me.List != tt.wantList || me.Index != tt.wantIndex || me.Callsign != tt.wantCallsign {
				t.Errorf("located at %q[%d] callsign %q, want %q[%d] callsign %q", me.List, me.Index, me.Callsign, tt.wantList, tt.wantIndex, tt.wantCallsign)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
		})
	}
}

func TestDecodeDuplicates(t *testing.T) {
	at := func(sec int) time.Time { return baseTime.Add(time.Duration(sec) * time.Second) }
	// variant is pilot i's connection seen again with another last_updated; Altitude tells the copies apart.
	variant := func(i, lastSec, altitude int) Pilot {
		p := genPilot(i, baseTime)
		p.LastUpdated = at(lastSec)
		p.Altitude = altitude
		return p
	}
	type kept struct {
		callsign string
		altitude int
	}
	tests := []struct {
		name      string
		pilots    []Pilot
		ctl, atis []Controller
		wantDup   int
		want      []kept // pilots, in order
		wantCtl   int
		wantATIS  int
	}{
		{
			name:   "no duplicates",
			pilots: []Pilot{variant(0, -1, 100), variant(1, -1, 200)},
			want:   []kept{{"TST00000", 100}, {"TST00001", 200}},
		},
		{
			name:    "later copy is newer: it replaces the first, in the first's place",
			pilots:  []Pilot{variant(0, -5, 100), variant(1, -1, 200), variant(0, -2, 300)},
			wantDup: 1,
			want:    []kept{{"TST00000", 300}, {"TST00001", 200}},
		},
		{
			name:    "later copy is older: the first stays",
			pilots:  []Pilot{variant(0, -2, 100), variant(0, -5, 300), variant(1, -1, 200)},
			wantDup: 1,
			want:    []kept{{"TST00000", 100}, {"TST00001", 200}},
		},
		{
			name:    "same last_updated: the earlier entry wins",
			pilots:  []Pilot{variant(0, -2, 100), variant(0, -2, 300)},
			wantDup: 1,
			want:    []kept{{"TST00000", 100}},
		},
		{
			name:    "three copies: the newest wins",
			pilots:  []Pilot{variant(0, -9, 100), variant(0, -1, 200), variant(0, -3, 300)},
			wantDup: 2,
			want:    []kept{{"TST00000", 200}},
		},
		{
			name: "same cid and callsign, another logon: another connection",
			pilots: func() []Pilot {
				a, b := variant(0, -1, 100), variant(0, -1, 200)
				b.LogonTime = b.LogonTime.Add(time.Minute)
				return []Pilot{a, b}
			}(),
			want: []kept{{"TST00000", 100}, {"TST00000", 200}},
		},
		{
			name: "same callsign and logon, another cid: another connection",
			pilots: func() []Pilot {
				a, b := variant(0, -1, 100), variant(0, -1, 200)
				b.CID++
				return []Pilot{a, b}
			}(),
			want: []kept{{"TST00000", 100}, {"TST00000", 200}},
		},
		{
			name: "same cid, another callsign (ghost connection): another connection",
			pilots: func() []Pilot {
				a, b := variant(0, -1, 100), variant(0, -1, 200)
				b.Callsign = "GHOST"
				return []Pilot{a, b}
			}(),
			want: []kept{{"TST00000", 100}, {"GHOST", 200}},
		},
		{
			name: "same logon instant written with another offset: the same connection",
			pilots: func() []Pilot {
				a, b := variant(0, -3, 100), variant(0, -1, 200)
				b.LogonTime = b.LogonTime.In(time.FixedZone("CEST", 2*3600))
				return []Pilot{a, b}
			}(),
			wantDup: 1,
			want:    []kept{{"TST00000", 200}},
		},
		{
			// The databases keep microseconds: two logon times 300 ns apart are one stored connection key.
			name: "logon times apart by less than a microsecond: the same connection",
			pilots: func() []Pilot {
				a, b := variant(0, -3, 100), variant(0, -1, 200)
				a.LogonTime = a.LogonTime.Truncate(time.Microsecond).Add(100 * time.Nanosecond)
				b.LogonTime = a.LogonTime.Add(300 * time.Nanosecond)
				return []Pilot{a, b}
			}(),
			wantDup: 1,
			want:    []kept{{"TST00000", 200}},
		},
		{
			name:     "controllers and ATIS are de-duplicated per list",
			ctl:      []Controller{genController(1, baseTime, false), genController(1, baseTime, false), genController(2, baseTime, false)},
			atis:     []Controller{genController(1, baseTime, true), genController(1, baseTime, true)},
			wantDup:  2,
			wantCtl:  2,
			wantATIS: 1,
		},
		{
			name: "the same key in controllers and ATIS is kept in both",
			ctl:  []Controller{genController(1, baseTime, false)},
			atis: func() []Controller {
				c := genController(1, baseTime, false)
				c.ATISCode = ptr("A")
				return []Controller{c}
			}(),
			wantCtl:  1,
			wantATIS: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Snapshot{General: genSnapshot(baseTime, 0, 0, 0).General, Pilots: tt.pilots, Controllers: tt.ctl, ATIS: tt.atis}
			s, err := decodeChecked(t, mustMarshal(t, in))
			if err != nil {
				t.Fatal(err)
			}
			if s.Duplicates != tt.wantDup {
				t.Errorf("Duplicates = %d, want %d", s.Duplicates, tt.wantDup)
			}
			var got []kept
			for _, p := range s.Pilots {
				got = append(got, kept{p.Callsign, p.Altitude})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pilots kept = %v, want %v", got, tt.want)
			}
			if len(s.Controllers) != tt.wantCtl || len(s.ATIS) != tt.wantATIS {
				t.Errorf("kept %d controllers and %d ATIS, want %d and %d", len(s.Controllers), len(s.ATIS), tt.wantCtl, tt.wantATIS)
			}
			for _, list := range [][]Controller{s.Controllers, s.ATIS} {
				keys := map[ConnKey]bool{}
				for _, c := range list {
					if keys[c.Key()] {
						t.Errorf("key %v kept twice", c.Key())
					}
					keys[c.Key()] = true
				}
			}
		})
	}
}

// TestDecodeFastMatchesStd runs documents chosen to trip the fast path through both decoders: each must either
// be decoded identically or rejected with the same error.
func TestDecodeFastMatchesStd(t *testing.T) {
	for name, data := range differentialInputs(t) {
		t.Run(name, func(t *testing.T) {
			checkFastMatchesStd(t, data)
			decodeChecked(t, data)
		})
	}
}

// FuzzDecode mutates snapshots to check that whatever the fast path accepts, encoding/json decodes to the same
// values, that Decode and the reference decoder return the same snapshot (rejections included) or the same
// error, that nothing a database cannot store is kept, and that Decode never panics.
func FuzzDecode(f *testing.F) {
	for _, data := range differentialInputs(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastMatchesStd(t, data)
		s, err := decodeChecked(t, data)
		if (s == nil) == (err == nil) {
			t.Fatalf("Decode returned snapshot %v and error %v", s != nil, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		for i := range s.Pilots {
			if reason := pilotUnstorable(&s.Pilots[i]); reason != "" {
				t.Fatalf("pilot %q kept: %s", s.Pilots[i].Callsign, reason)
			}
		}
		for _, list := range [][]Controller{s.Controllers, s.ATIS} {
			for i := range list {
				if reason := controllerUnstorable(&list[i]); reason != "" {
					t.Fatalf("controller %q kept: %s", list[i].Callsign, reason)
				}
			}
		}
	})
}

func checkFastMatchesStd(t *testing.T, data []byte) {
	t.Helper()
	if v, want := validJSON(data), json.Valid(data); v != want && !(want && nestingDepth(data) > maxSkipDepth) {
		t.Fatalf("validJSON = %v, json.Valid = %v on %q", v, want, data)
	}
	fast := new(Snapshot)
	if decodeFast(data, fast) != nil {
		return // handed over to encoding/json: nothing of the fast path reaches a caller
	}
	std, err := decodeStd(data)
	if err != nil {
		t.Fatalf("fast path accepted what encoding/json rejects: %v\n%q", err, data)
	}
	utcTimes(fast)
	utcTimes(std)
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("fast path and encoding/json disagree on %q:\nfast %s\n std %s", data, mustMarshal(t, fast), mustMarshal(t, std))
	}
}

// utcTimes converts every time to UTC, as Decode's validation does, so that decoders may differ in Location only.
func utcTimes(s *Snapshot) {
	s.General.UpdateTimestamp = s.General.UpdateTimestamp.UTC()
	for i := range s.Pilots {
		s.Pilots[i].LogonTime = s.Pilots[i].LogonTime.UTC()
		s.Pilots[i].LastUpdated = s.Pilots[i].LastUpdated.UTC()
	}
	for _, l := range [][]Controller{s.Controllers, s.ATIS} {
		for i := range l {
			l[i].LogonTime = l[i].LogonTime.UTC()
			l[i].LastUpdated = l[i].LastUpdated.UTC()
		}
	}
}

// differentialInputs are documents on the edge of what the fast path accepts.
func differentialInputs(t testing.TB) map[string][]byte {
	small := string(mustMarshal(t, genSnapshot(baseTime, 1, 1, 1)))
	p0 := string(mustMarshal(t, genPilot(0, baseTime)))
	doc := func(pilot string) []byte {
		return []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"pilots":[` + pilot + `]}`)
	}
	withPilot := func(old, new string) []byte {
		if !strings.Contains(p0, old) {
			t.Fatalf("generated pilot has no %s", old)
		}
		return doc(strings.Replace(p0, old, new, 1))
	}
	return map[string][]byte{
		"generated":                 []byte(small),
		"indented":                  []byte(strings.ReplaceAll(strings.ReplaceAll(small, ",", " ,\n\t"), ":", " : ")),
		"duplicate top-level key":   []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"pilots":[` + p0 + `],"pilots":[{"callsign":"X"}]}`),
		"duplicate field":           withPilot(`"altitude":`, `"altitude":1,"altitude":`),
		"duplicate flight plan":     withPilot(`"flight_plan":`, `"flight_plan":{"route":"A B","remarks":"x"},"flight_plan":`),
		"null then value":           withPilot(`"heading":`, `"heading":null,"heading":`),
		"key in upper case":         withPilot(`"cid":`, `"CID":`),
		"escaped key":               withPilot(`"callsign":`, `"call\u0073ign":`),
		"non-ASCII key folding":     withPilot(`"callsign":`, `"call`+"\u017f"+`ign":`),
		"unknown non-ASCII key":     withPilot(`"name":`, `"nämé":1,"name":`),
		"integer with exponent":     withPilot(`"altitude":`, `"altitude":1e3,"x":`),
		"integer with fraction":     withPilot(`"altitude":`, `"altitude":1.0,"x":`),
		"negative zero":             withPilot(`"altitude":`, `"altitude":-0,"x":`),
		"leading zero":              withPilot(`"altitude":`, `"altitude":01,"x":`),
		"huge integer":              withPilot(`"altitude":`, `"altitude":123456789012345678901234567890,"x":`),
		"beyond 32 bits":            withPilot(`"altitude":`, `"altitude":3000000000,"x":`),
		"beyond 32 bits, exponent":  withPilot(`"groundspeed":`, `"groundspeed":5e9,"x":`),
		"beyond 32 bits, negative":  withPilot(`"qnh_mb":`, `"qnh_mb":-2147483649,"x":`),
		"beyond 32 bits, ATIS":      []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"atis":[{"callsign":"A","cid":1,"logon_time":"2024-02-20T23:19:51Z","visual_range":9e9},{"callsign":"B","cid":2,"logon_time":"2024-02-20T23:19:51Z","visual_range":9000000000}]}`),
		"U+0000":                    withPilot(`"name":"`, `"name":"\u0000`),
		"U+0000 in text_atis":       []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"atis":[{"callsign":"A","cid":1,"logon_time":"2024-02-20T23:19:51Z","text_atis":["a","\u0000"]}]}`),
		"18-digit integer":          withPilot(`"cid":`, `"cid":999999999999999999,"x":`),
		"float overflow":            withPilot(`"latitude":`, `"latitude":1e999,"x":`),
		"float exponent":            withPilot(`"latitude":`, `"latitude":1.5E+1,"x":`),
		"bare minus":                withPilot(`"latitude":`, `"latitude":-,"x":`),
		"invalid UTF-8":             withPilot(`"name":"`, "\"name\":\"\xff\xfe"),
		"control character":         withPilot(`"name":"`, "\"name\":\"\x01"),
		"bad escape":                withPilot(`"name":"`, `"name":"\x`),
		"lone surrogate":            withPilot(`"name":"`, `"name":"\ud800`),
		"time lower-case":           withPilot(`"logon_time":"2024-02-20T`, `"logon_time":"2024-02-20t`),
		"time with comma":           []byte(strings.Replace(string(doc(p0)), `23:19:51Z`, `23:19:51,5Z`, 1)),
		"time one-digit hour":       []byte(strings.Replace(string(doc(p0)), `T23:19:51Z`, `T3:19:51Z`, 1)),
		"time 24:00":                []byte(strings.Replace(string(doc(p0)), `T23:19:51Z`, `T24:00:00Z`, 1)),
		"time leap day":             []byte(strings.Replace(string(doc(p0)), `2024-02-20T23:19:51Z`, `2024-02-29T23:19:51Z`, 1)),
		"time not leap":             []byte(strings.Replace(string(doc(p0)), `2024-02-20T23:19:51Z`, `2023-02-29T23:19:51Z`, 1)),
		"time offset 24h":           []byte(strings.Replace(string(doc(p0)), `23:19:51Z`, `23:19:51+24:00`, 1)),
		"time negative offset":      []byte(strings.Replace(string(doc(p0)), `23:19:51Z`, `23:19:51.25-03:30`, 1)),
		"time escaped":              []byte(strings.Replace(string(doc(p0)), `"2024-02-20T23:19:51Z"`, `"\u0032024-02-20T23:19:51Z"`, 1)),
		"time trailing dot":         []byte(strings.Replace(string(doc(p0)), `23:19:51Z`, `23:19:51.Z`, 1)),
		"null pilot":                doc(`null`),
		"null in text_atis":         []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"atis":[{"callsign":"A","cid":1,"logon_time":"2024-02-20T23:19:51Z","text_atis":["a",null]}]}`),
		"empty text_atis":           []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"atis":[{"callsign":"A","cid":1,"logon_time":"2024-02-20T23:19:51Z","text_atis":[]}]}`),
		"trailing comma in object":  withPilot(`"cid":`, `"x":1,}`),
		"trailing comma in array":   []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"pilots":[` + p0 + `,]}`),
		"missing comma":             []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"} "pilots":[]}`),
		"deep unknown value":        []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`),
		"string chunks":             withPilot(`"name":"`, `"name":"0123456789abcdef\"0123456\\01234567\u00e9x`),
		"eight-byte boundaries":     withPilot(`"name":"`, `"name":"1234567\t12345678`+"\x7f"+`1234567`+"é"+`12345678`),
		"unknown literals":          []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"x":[true,false,null,{"a":"\"\\\/\b\f\n\r\t\u00e9"},-0.5e-3]}`),
		"bad literal":               []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"x":nul}`),
		"byte order mark":           append([]byte("\xef\xbb\xbf"), small...),
		"pilots null":               []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"pilots":null}`),
		"general null":              []byte(`{"general":null}`),
		"atis_code null then value": []byte(`{"general":{"version":3,"update_timestamp":"2024-02-20T23:19:51Z"},"atis":[{"callsign":"A","cid":1,"logon_time":"2024-02-20T23:19:51Z","atis_code":null,"Atis_Code":"B"}]}`),
		"empty":                     {},
		"only whitespace":           []byte(" \n"),
	}
}

// nestingDepth is the deepest nesting of a valid JSON document.
func nestingDepth(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}
