package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// columnFields lists, by reflection over an entry type, the JSON keys of every value that goes into a TEXT or
// INTEGER column (strings, string pointers and lists; int and *int; int64 is BIGINT, floats and times are not
// at risk), so that a field added to the types without a check fails TestDecodeRejectsUnstorable.
func columnFields(typ reflect.Type, prefix string) (texts, ints []string) {
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.String, ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			texts = append(texts, prefix+name)
		case ft.Kind() == reflect.Int:
			ints = append(ints, prefix+name)
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]():
			t, i := columnFields(ft, prefix+name+".")
			texts, ints = append(texts, t...), append(ints, i...)
		}
	}
	return texts, ints
}

// setField sets a (possibly nested, "flight_plan.route") key of a generic entry; a list field gets v as its
// second element, so the reason must name that element.
func setField(e map[string]any, key string, v any) (reasonField string) {
	if outer, inner, ok := strings.Cut(key, "."); ok {
		setField(e[outer].(map[string]any), inner, v)
		return key
	}
	if list, ok := e[key].([]any); ok {
		list[1] = v
		return key + "[1]"
	}
	e[key] = v
	return key
}

// TestDecodeRejectsUnstorable runs every TEXT and INTEGER field of every entry type, with every value a
// database cannot store, through both decoders: the entry alone is dropped with a reason naming the field,
// every other entry is kept as it was, and the fast path and encoding/json agree exactly (decodeChecked).
func TestDecodeRejectsUnstorable(t *testing.T) {
	pilotTexts, pilotInts := columnFields(reflect.TypeFor[Pilot](), "")
	ctlTexts, ctlInts := columnFields(reflect.TypeFor[Controller](), "")
	// The INTEGER columns of migrations/postgres/00001_schema.sql, so that the reflection above is checked too.
	if want := []string{"pilot_rating", "military_rating", "altitude", "groundspeed", "heading", "qnh_mb", "flight_plan.revision_id"}; !slices.Equal(pilotInts, want) {
		t.Fatalf("pilot integer fields %v, want %v", pilotInts, want)
	}
	if want := []string{"facility", "rating", "visual_range"}; !slices.Equal(ctlInts, want) {
		t.Fatalf("controller integer fields %v, want %v", ctlInts, want)
	}
	if len(pilotTexts) != 4+15 || len(ctlTexts) != 6 {
		t.Fatalf("text fields: pilot %v, controller %v", pilotTexts, ctlTexts)
	}

	type badValue struct {
		v        any
		literal  string // how the reason quotes an integer
		fastBail bool   // the fast path hands it to encoding/json
	}
	badInts := []badValue{
		{json.Number("3000000000"), "3000000000", false},
		{json.Number("2147483648"), "2147483648", false},
		{json.Number("-2147483649"), "-2147483649", false},
		{json.Number("999999999999999999"), "999999999999999999", false},
		{json.Number("9223372036854775807"), "9223372036854775807", true}, // 19 digits: the fast path's limit
		{json.Number("123456789012345678901234567890"), "123456789012345678901234567890", true},
		{json.Number("5e9"), "5e9", true},
		{json.Number("-5E+9"), "-5E+9", true},
		{json.Number("9e9"), "9e9", true},
		{json.Number("1e999"), "1e999", true},
		{json.Number("2147483648.5"), "2147483648.5", true},
	}
	badTexts := []any{"\x00", "A\x00B", "line\x00", "0123456\x00", strings.Repeat("x", 13) + "\x00y"}

	clean, err := Decode(editDoc(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	lists := []struct {
		name         string
		texts, ints  []string
		entries      func(*Snapshot) any
		wantCallsign string
	}{
		{"pilots", pilotTexts, pilotInts, func(s *Snapshot) any { return s.Pilots }, "TST00001"},
		{"controllers", ctlTexts, ctlInts, func(s *Snapshot) any { return s.Controllers }, "TST1_CTR"},
		{"atis", ctlTexts, ctlInts, func(s *Snapshot) any { return s.ATIS }, "TS04_ATIS"},
	}
	type testCase struct {
		name, field string
		v           any
		fastBail    bool
		wantReason  func(field string) string
	}
	for _, l := range lists {
		var cases []testCase
		for _, f := range l.texts {
			for _, v := range badTexts {
				cases = append(cases, testCase{name: f + "=" + strconv.Quote(v.(string)), field: f, v: v,
					wantReason: func(field string) string { return field + " contains U+0000" }})
			}
		}
		for _, f := range l.ints {
			for _, b := range badInts {
				cases = append(cases, testCase{name: f + "=" + b.literal, field: f, v: b.v, fastBail: b.fastBail,
					wantReason: func(field string) string { return field + " " + b.literal + " exceeds the 32-bit integer range" }})
			}
		}
		for _, tc := range cases {
			t.Run(l.name+"/"+tc.name, func(t *testing.T) {
				var reasonField string
				data := editDoc(t, func(doc map[string]any) { reasonField = setField(entry(doc, l.name, 1), tc.field, tc.v) })
				if bailed := decodeFast(data, new(Snapshot)) != nil; bailed != tc.fastBail {
					t.Errorf("fast path bailed out %v, want %v", bailed, tc.fastBail)
				}
				s, err := decodeChecked(t, data)
				if err != nil {
					t.Fatalf("Decode rejected the snapshot: %v", err)
				}
				callsign := l.wantCallsign
				if tc.field == "callsign" {
					callsign = tc.v.(string)
				}
				want := []Rejection{{List: l.name, Index: 1, Callsign: callsign, Reason: tc.wantReason(reasonField)}}
				if !reflect.DeepEqual(s.Rejected, want) {
					t.Fatalf("Rejected = %+v, want %+v", s.Rejected, want)
				}
				for _, other := range lists {
					wantList := reflect.ValueOf(other.entries(clean))
					if other.name == l.name { // a new slice: appending to clean's would overwrite it
						all := wantList
						wantList = reflect.MakeSlice(all.Type(), 0, all.Len()-1)
						wantList = reflect.AppendSlice(reflect.AppendSlice(wantList, all.Slice(0, 1)), all.Slice(2, all.Len()))
					}
					if got := other.entries(s); !reflect.DeepEqual(got, wantList.Interface()) {
						t.Errorf("%s: the other entries changed:\n got %s\nwant %s", other.name, mustMarshal(t, got), mustMarshal(t, wantList.Interface()))
					}
				}
			})
		}
	}
}

// TestDecodeKeepsStorable: the limits of the 32-bit range are stored, and invalid UTF-8 is not a rejection
// because both decoders replace it with U+FFFD, as encoding/json always has.
func TestDecodeKeepsStorable(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(doc map[string]any)
		bytes func(data []byte) []byte
		check func(t *testing.T, s *Snapshot)
	}{
		{name: "32-bit limits", edit: func(doc map[string]any) {
			entry(doc, "pilots", 1)["altitude"] = json.Number(strconv.Itoa(math.MaxInt32))
			entry(doc, "pilots", 1)["groundspeed"] = json.Number(strconv.Itoa(math.MinInt32))
			entry(doc, "controllers", 1)["visual_range"] = json.Number(strconv.Itoa(math.MaxInt32))
		}, check: func(t *testing.T, s *Snapshot) {
			if p := s.Pilots[1]; p.Altitude != math.MaxInt32 || p.Groundspeed != math.MinInt32 {
				t.Errorf("altitude %d, groundspeed %d", p.Altitude, p.Groundspeed)
			}
			if s.Controllers[1].VisualRange != math.MaxInt32 {
				t.Errorf("visual_range %d", s.Controllers[1].VisualRange)
			}
		}},
		{name: "invalid UTF-8", edit: func(doc map[string]any) {
			entry(doc, "pilots", 1)["name"] = "@BAD@"
			entry(doc, "atis", 1)["text_atis"].([]any)[0] = "@BAD@"
		}, bytes: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("@BAD@"), []byte("a\xff\xfeb")) },
			check: func(t *testing.T, s *Snapshot) {
				if got := s.Pilots[1].Name; got != "a\ufffd\ufffdb" {
					t.Errorf("name = %q, want the bytes replaced with U+FFFD", got)
				}
				if got := s.ATIS[1].TextATIS[0]; got != "a\ufffd\ufffdb" {
					t.Errorf("text_atis[0] = %q, want the bytes replaced with U+FFFD", got)
				}
			}},
		{name: "escaped lone surrogate", edit: func(doc map[string]any) { entry(doc, "pilots", 1)["name"] = "@BAD@" },
			bytes: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("@BAD@"), []byte(`a\ud800b`)) },
			check: func(t *testing.T, s *Snapshot) {
				if got := s.Pilots[1].Name; got != "a\ufffdb" {
					t.Errorf("name = %q, want U+FFFD", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := editDoc(t, tt.edit)
			if tt.bytes != nil {
				data = tt.bytes(data)
			}
			if err := decodeFast(data, new(Snapshot)); err != nil {
				t.Errorf("the fast path bailed out: %v", err)
			}
			s, err := decodeChecked(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Rejected) != 0 || len(s.Pilots) != 3 || len(s.Controllers) != 3 || len(s.ATIS) != 2 {
				t.Fatalf("rejected %v; kept %d/%d/%d entries, want all", s.Rejected, len(s.Pilots), len(s.Controllers), len(s.ATIS))
			}
			tt.check(t, s)
		})
	}
}

// TestDecodeRejectedAmongOthers: several rejections are listed in list then index order with their feed
// positions, a rejected copy of a connection does not count as a duplicate, and a malformed entry after a
// rejected one is still located at its feed position.
func TestDecodeRejectedAmongOthers(t *testing.T) {
	t.Run("order, positions and duplicates", func(t *testing.T) {
		in := genSnapshot(baseTime, 4, 3, 2)
		in.Pilots[3].Altitude = 3_000_000_000
		in.Pilots[0].Name = "\x00"
		in.ATIS[0].TextATIS = []string{"ok", "ok", "\x00"}
		in.Controllers[2].Facility = -3_000_000_000
		dup := genPilot(1, baseTime)
		dup.LastUpdated = dup.LastUpdated.Add(time.Second) // newer: it would replace pilot 1, were it storable
		dup.Server = "\x00"
		in.Pilots = append(in.Pilots, dup)
		s, err := decodeChecked(t, mustMarshal(t, in))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`pilots[0] (callsign "TST00000"): name contains U+0000`,
			`pilots[3] (callsign "TST00003"): altitude 3000000000 exceeds the 32-bit integer range`,
			`pilots[4] (callsign "TST00001"): server contains U+0000`,
			`controllers[2] (callsign "TST2_CTR"): facility -3000000000 exceeds the 32-bit integer range`,
			`atis[0] (callsign "TS03_ATIS"): text_atis[2] contains U+0000`,
		}
		var got []string
		for _, r := range s.Rejected {
			got = append(got, r.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("Rejected:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if s.Duplicates != 0 {
			t.Errorf("Duplicates = %d, want 0: the rejected copy is not a duplicate", s.Duplicates)
		}
		var callsigns []string
		for _, p := range s.Pilots {
			callsigns = append(callsigns, p.Callsign)
		}
		if !slices.Equal(callsigns, []string{"TST00001", "TST00002"}) || !s.Pilots[0].LastUpdated.Equal(in.Pilots[1].LastUpdated) {
			t.Errorf("pilots kept %v (first last_updated %v), want TST00001 as it was, TST00002", callsigns, s.Pilots[0].LastUpdated)
		}
		if len(s.Controllers) != 2 || len(s.ATIS) != 1 || s.ATIS[0].Callsign != "TS04_ATIS" {
			t.Errorf("kept %d controllers and ATIS %+v", len(s.Controllers), s.ATIS)
		}
	})
	t.Run("malformed after rejected", func(t *testing.T) {
		data := editDoc(t, func(doc map[string]any) {
			entry(doc, "pilots", 0)["altitude"] = json.Number("5e9")
			delete(entry(doc, "pilots", 2), "callsign")
		})
		_, err := decodeChecked(t, data)
		var me *MalformedError
		if !errors.As(err, &me) || me.List != "pilots" || me.Index != 2 || !strings.Contains(err.Error(), "callsign is missing") {
			t.Fatalf("error %v, want pilots[2] callsign is missing", err)
		}
	})
	t.Run("snapshot-level checks still win over a rejection", func(t *testing.T) {
		for name, edit := range map[string]func(map[string]any){
			"fraction in range": func(doc map[string]any) {
				entry(doc, "pilots", 0)["name"] = "\x00"
				entry(doc, "pilots", 1)["groundspeed"] = json.Number("250.5")
			},
			"exponent in range": func(doc map[string]any) { entry(doc, "controllers", 1)["rating"] = json.Number("1e1") },
			"string for an int": func(doc map[string]any) { entry(doc, "atis", 1)["visual_range"] = "9e9" },
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := decodeChecked(t, editDoc(t, edit)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "cannot decode") {
					t.Fatalf("error %v, want the snapshot malformed (cannot decode), as before", err)
				}
			})
		}
	})
}

// TestPlainText checks the word-at-a-time scan against the obvious loop at every length and position.
func TestPlainText(t *testing.T) {
	for n := range 20 {
		for pos := range n {
			for _, c := range []byte{0, 0x80, 0xc3, 0xff, 1, 0x7f, ' '} {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = c
				want := c != 0 && c < 0x80
				if got := plainText(string(b)); got != want {
					t.Errorf("plainText(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}

// TestUnstorableChecks covers what JSON cannot produce: a string with invalid UTF-8 built in Go.
func TestUnstorableChecks(t *testing.T) {
	p := genPilot(1, baseTime)
	p.FlightPlan.Route = "DCT \xff"
	if got, want := pilotUnstorable(&p), "flight_plan.route is not valid UTF-8"; got != want {
		t.Errorf("pilotUnstorable = %q, want %q", got, want)
	}
	c := genController(1, baseTime, true)
	c.ATISCode = ptr("\xc3")
	if got, want := controllerUnstorable(&c), "atis_code is not valid UTF-8"; got != want {
		t.Errorf("controllerUnstorable = %q, want %q", got, want)
	}
	c = genController(1, baseTime, false)
	if got := controllerUnstorable(&c); got != "" {
		t.Errorf("controllerUnstorable of a generated controller = %q", got)
	}
}

// BenchmarkUnstorable is what the storability checks cost on a 30,000-pilot snapshot, against the ~90 ms of
// BenchmarkDecode/generated/pilots=30000 on the same machine.
func BenchmarkUnstorable(b *testing.B) {
	s := genSnapshot(baseTime, 30_000, 3_000, 1_500)
	b.ReportAllocs()
	for b.Loop() {
		for i := range s.Pilots {
			if pilotUnstorable(&s.Pilots[i]) != "" {
				b.Fatal("rejected")
			}
		}
		for _, list := range [][]Controller{s.Controllers, s.ATIS} {
			for i := range list {
				if controllerUnstorable(&list[i]) != "" {
					b.Fatal("rejected")
				}
			}
		}
	}
}
