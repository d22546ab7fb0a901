package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/shareddata"
)

// TestDecodeSharedFeeds decodes every real snapshot and compares every field the types model, for every pilot,
// controller and ATIS, with the same document decoded generically: nothing may be lost or altered.
func TestDecodeSharedFeeds(t *testing.T) {
	for _, path := range shareddata.Feeds(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := decodeFast(data, new(Snapshot)); err != nil {
				t.Errorf("the fast path gave up on a real snapshot (Decode is correct but slow): %v", err)
			}
			s, err := decodeChecked(t, data) // the fast path and encoding/json agree
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var raw map[string]any
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}

			if s.Duplicates != 0 {
				t.Errorf("Duplicates = %d, want 0 (real snapshots hold each connection once)", s.Duplicates)
			}
			c := comparer{t: t}
			c.value("general", reflect.ValueOf(s.General), raw["general"], true)
			c.list("pilots", reflect.ValueOf(s.Pilots), raw["pilots"])
			c.list("controllers", reflect.ValueOf(s.Controllers), raw["controllers"])
			c.list("atis", reflect.ValueOf(s.ATIS), raw["atis"])
			t.Logf("%d pilots, %d controllers, %d ATIS: %d values compared", len(s.Pilots), len(s.Controllers), len(s.ATIS), c.n)
			if c.n < 10*(len(s.Pilots)+len(s.Controllers)+len(s.ATIS)) {
				t.Errorf("only %d values compared", c.n)
			}

			if got, want := s.General.ConnectedClients, len(s.Pilots)+len(s.Controllers)+len(s.ATIS); got != want {
				t.Errorf("connected_clients = %d, want pilots+controllers+atis = %d", got, want)
			}
			if !strings.Contains(filepath.Base(path), FileName(s.General.UpdateTimestamp)[len("vatsim-data-"):]) {
				t.Errorf("file name %s does not carry update_timestamp %v", filepath.Base(path), s.General.UpdateTimestamp)
			}

			gz, err := Decode(gzipBytes(t, data))
			if err != nil || !reflect.DeepEqual(gz, s) {
				t.Errorf("the gzip-compressed snapshot decodes differently (error %v)", err)
			}
		})
	}
}

// comparer walks a decoded value and the generic decoding of the same JSON side by side, driven by the Go
// type's json tags, so that a field added to the types is compared without touching this test.
type comparer struct {
	t *testing.T
	n int // leaf values compared
}

var timeType = reflect.TypeFor[time.Time]()

func (c *comparer) list(path string, v reflect.Value, raw any) {
	arr, _ := raw.([]any)
	if v.Len() != len(arr) {
		c.t.Errorf("%s: decoded %d entries, the document has %d", path, v.Len(), len(arr))
		return
	}
	for i := range arr {
		c.value(fmt.Sprintf("%s[%d]", path, i), v.Index(i), arr[i], true)
	}
}

func (c *comparer) value(path string, v reflect.Value, raw any, present bool) {
	c.t.Helper()
	if !present || raw == nil {
		if !v.IsZero() {
			c.t.Errorf("%s: decoded %v, the document has %s", path, v, map[bool]string{false: "nothing", true: "null"}[present])
		}
		c.n++
		return
	}
	if v.Type() == timeType {
		s, ok := raw.(string)
		if !ok {
			c.t.Errorf("%s: a time in a JSON %T", path, raw)
			return
		}
		c.time(path, v.Interface().(time.Time), s)
		return
	}
	fail := func() { c.t.Errorf("%s: decoded %v (%s), the document has %#v", path, v, v.Type(), raw) }
	c.n++
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			fail()
			return
		}
		c.n--
		c.value(path, v.Elem(), raw, true)
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			fail()
			return
		}
		c.n--
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if name == "-" || name == "" {
				continue
			}
			fv, ok := obj[name]
			c.value(path+"."+name, v.Field(i), fv, ok)
		}
	case reflect.Slice:
		arr, ok := raw.([]any)
		if !ok || v.Len() != len(arr) {
			fail()
			return
		}
		for i := range arr {
			c.value(fmt.Sprintf("%s[%d]", path, i), v.Index(i), arr[i], true)
		}
	case reflect.String:
		if s, ok := raw.(string); !ok || s != v.String() {
			fail()
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := raw.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || i != v.Int() {
			fail()
		}
	case reflect.Float64:
		n, ok := raw.(json.Number)
		f, err := strconv.ParseFloat(string(n), 64)
		if !ok || err != nil || f != v.Float() {
			fail()
		}
	default:
		c.t.Errorf("%s: the comparer does not know %s; teach it", path, v.Type())
	}
}

// time checks a decoded time against its text without going through package time's parser: date and clock
// fields, every fractional digit, and the offset.
func (c *comparer) time(path string, got time.Time, raw string) {
	c.n++
	var y, mo, d, h, mi, s int
	if len(raw) < 20 {
		c.t.Errorf("%s: %q is not RFC 3339", path, raw)
		return
	}
	if _, err := fmt.Sscanf(raw[:19], "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s); err != nil {
		c.t.Errorf("%s: %q: %v", path, raw, err)
		return
	}
	rest, nsec := raw[19:], 0
	if rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		nsec, _ = strconv.Atoi((rest[1:j] + "000000000")[:9])
		rest = rest[j:]
	}
	offset := 0
	if rest != "Z" {
		var oh, om int
		if _, err := fmt.Sscanf(rest[1:], "%2d:%2d", &oh, &om); err != nil {
			c.t.Errorf("%s: %q: offset %v", path, raw, err)
			return
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	}
	want := time.Date(y, time.Month(mo), d, h, mi, s, nsec, time.FixedZone("", offset))
	if !got.Equal(want) || got.Location() != time.UTC {
		c.t.Errorf("%s: decoded %v, the document has %q", path, got, raw)
	}
}
