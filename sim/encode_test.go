package sim

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/feed"
	"github.com/vatsector/vatsector/internal/shareddata"
)

// TestEncodingMatchesTypes decodes Fetch's JSON with encoding/json into the feed types and expects exactly
// the structured snapshot: the hand-written encoder and the types' JSON tags must not drift apart.
func TestEncodingMatchesTypes(t *testing.T) {
	s := New(Config{Seed: 4, Pilots: 1500})
	for i := range 30 {
		data, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 {
			continue
		}
		if !json.Valid(data) {
			t.Fatalf("cycle %d: invalid JSON", i)
		}
		var got feed.Snapshot
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		want := s.Snapshot()
		if !reflect.DeepEqual(&got, want) {
			diffSnapshots(t, &got, want)
			t.Fatalf("cycle %d: decoded snapshot differs from Snapshot()", i)
		}
	}
}

func diffSnapshots(t *testing.T, got, want *feed.Snapshot) {
	t.Helper()
	if !reflect.DeepEqual(got.General, want.General) {
		t.Errorf("general: got %+v, want %+v", got.General, want.General)
	}
	for i := range min(len(got.Pilots), len(want.Pilots)) {
		if !reflect.DeepEqual(got.Pilots[i], want.Pilots[i]) {
			t.Errorf("pilot %d: got %+v, want %+v", i, got.Pilots[i], want.Pilots[i])
			return
		}
	}
}

// TestShapeLikeRealFeed compares the document's keys, list by list, with a recorded snapshot of the real
// feed, so that consumers written against the real feed read simulated ones the same way.
func TestShapeLikeRealFeed(t *testing.T) {
	files := shareddata.Feeds(t)
	real := files[len(files)-1] // the newest, with military_rating and assigned_transponder
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	want := shape(t, data)
	sim, err := New(Config{Seed: 1, Pilots: 300}).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := shape(t, sim)
	for k, w := range want {
		if g := got[k]; !slices.Equal(g, w) {
			t.Errorf("%s: keys %v, want %v (as in %s)", k, g, w, real)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not in the real feed", k)
		}
	}
}

// shape returns the ordered keys of the document, of general, and of the entries of each list (and of a
// pilot's flight plan), from the first entry that has them.
func shape(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	top := orderedKeys(t, data)
	out["document"] = top
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out["general"] = orderedKeys(t, doc["general"])
	for _, list := range top {
		var entries []json.RawMessage
		if json.Unmarshal(doc[list], &entries) != nil || len(entries) == 0 {
			continue
		}
		out[list] = orderedKeys(t, entries[0])
		if list == "pilots" || list == "prefiles" {
			for _, e := range entries {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(e, &m); err != nil {
					t.Fatal(err)
				}
				if fp := m["flight_plan"]; string(fp) != "null" {
					out[list+".flight_plan"] = orderedKeys(t, fp)
					break
				}
			}
		}
	}
	return out
}

func orderedKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(obj)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.40s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"BAW123", `"BAW123"`},
		{`CALLSIGN IS "SPEEDBIRD"`, `"CALLSIGN IS \"SPEEDBIRD\""`},
		{`C:\path`, `"C:\\path"`},
		{"a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"\x00\x1f\x7f", `"\u0000\u001f\u007f"`},
		{"VERSTÄNDNIS", `"VERST\u00c4NDNIS"`}, // the real feed escapes non-ASCII, lowercase hex
		{"DEDKI5·OLABA", `"DEDKI5\u00b7OLABA"`},
		{"✈", `"\u2708"`},
		{"😀", `"\ud83d\ude00"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
		{"<&>'+", `"<&>'+"`}, // ASCII punctuation is not HTML-escaped
	}
	for _, tt := range tests {
		if got := string(appendString(nil, tt.in)); got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal(appendString(nil, tt.in), &back); err != nil {
			t.Errorf("appendString(%q): %v", tt.in, err)
		} else if want := strings.ToValidUTF8(tt.in, "\ufffd"); back != want {
			t.Errorf("appendString(%q) decodes to %q", tt.in, back)
		}
	}
}

func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2024, 3, 1, 18, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 1, 18, 0, 0, 123456700, time.UTC),
		time.Date(2023, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2021, 6, 13, 13, 45, 23, 100000000, time.FixedZone("CEST", 7200)),
	}
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC().Truncate(time.Duration(1+rng.IntN(1000))))
	}
	for _, tm := range times {
		want := `"` + tm.UTC().Format(time.RFC3339Nano) + `"`
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, 30, 29.92, -0.5, 51.4775, -122.37492, 1e-7, 1e21} {
		want, _ := json.Marshal(f)
		if got := string(appendFloat(nil, f)); got != string(want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
