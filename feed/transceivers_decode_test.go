package feed

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const goodRadio = `{"id":0,"frequency":122800000,"latDeg":51.47,"lonDeg":-0.45,"heightMslM":1200.5,"heightAglM":1190.0}`

func TestDecodeTransceivers(t *testing.T) {
	egll := Radio{ID: 0, FrequencyHz: 122800000, Latitude: 51.47, Longitude: -0.45, HeightMSLm: 1200.5, HeightAGLm: 1190}
	station := func(cs string, radios ...Radio) Station { return Station{Callsign: cs, Radios: radios} }
	tests := []struct {
		name     string
		body     string
		want     []Station
		rejected int
	}{
		{name: "good file", body: `[{"callsign":"BAW123","transceivers":[` + goodRadio + `,{"id":1,"frequency":121500000,"latDeg":-33.9,"lonDeg":151.2,"heightMslM":0,"heightAglM":0,"extra":"ignored"}]},{"callsign":"EGLL_TWR","transceivers":[]}]`,
			want: []Station{station("BAW123", egll, Radio{ID: 1, FrequencyHz: 121500000, Latitude: -33.9, Longitude: 151.2}), station("EGLL_TWR")}},
		{name: "UNICOM Hz offsets kept as is", body: `[{"callsign":"N1","transceivers":[{"id":0,"frequency":122800007,"latDeg":1,"lonDeg":2},{"id":1,"frequency":122799993,"latDeg":1,"lonDeg":2}]}]`,
			want: []Station{station("N1", Radio{ID: 0, FrequencyHz: 122800007, Latitude: 1, Longitude: 2}, Radio{ID: 1, FrequencyHz: 122799993, Latitude: 1, Longitude: 2})}},
		{name: "empty array", body: ` [ ] `, want: []Station{}},
		{name: "ranges inclusive", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":1,"latDeg":-90,"lonDeg":180},{"id":1,"frequency":1,"latDeg":90,"lonDeg":-180}]}]`,
			want: []Station{station("A", Radio{ID: 0, FrequencyHz: 1, Latitude: -90, Longitude: 180}, Radio{ID: 1, FrequencyHz: 1, Latitude: 90, Longitude: -180})}},
		{name: "null transceivers is no radio", body: `[{"callsign":"A","transceivers":null},{"callsign":"B"}]`, want: []Station{station("A"), station("B")}},

		// Stations dropped whole.
		{name: "no callsign", body: `[{"transceivers":[` + goodRadio + `]},{"callsign":"A"}]`, want: []Station{station("A")}, rejected: 1},
		{name: "blank callsign", body: `[{"callsign":"  ","transceivers":[]},{"callsign":"A"}]`, want: []Station{station("A")}, rejected: 1},
		{name: "repeated callsign, the first kept", body: `[{"callsign":"A","transceivers":[` + goodRadio + `]},{"callsign":"B"},{"callsign":"A"}]`,
			want: []Station{station("A", egll), station("B")}, rejected: 1},
		{name: "callsign with U+0000", body: `[{"callsign":"A\u0000B"},{"callsign":"C"}]`, want: []Station{station("C")}, rejected: 1},
		{name: "callsign not a string", body: `[{"callsign":42},{"callsign":"C"}]`, want: []Station{station("C")}, rejected: 1},
		{name: "entry not an object", body: `[1,"x",null,[],{"callsign":"C"}]`, want: []Station{station("C")}, rejected: 4},
		{name: "transceivers not an array", body: `[{"callsign":"A","transceivers":{}},{"callsign":"C"}]`, want: []Station{station("C")}, rejected: 1},

		// Radios dropped alone, the station kept.
		{name: "frequency zero", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":0,"latDeg":1,"lonDeg":1},` + goodRadio + `]}]`, want: []Station{station("A", egll)}, rejected: 1},
		{name: "frequency negative", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":-5,"latDeg":1,"lonDeg":1}]}]`, want: []Station{station("A")}, rejected: 1},
		{name: "frequency missing", body: `[{"callsign":"A","transceivers":[{"id":0,"latDeg":1,"lonDeg":1}]}]`, want: []Station{station("A")}, rejected: 1},
		{name: "frequency fractional", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":122.8,"latDeg":1,"lonDeg":1},` + goodRadio + `]}]`, want: []Station{station("A", egll)}, rejected: 1},
		{name: "frequency a string", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":"122800000","latDeg":1,"lonDeg":1}]},{"callsign":"B"}]`, want: []Station{station("A"), station("B")}, rejected: 1},
		{name: "latitude out of range", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":1,"latDeg":90.0001,"lonDeg":1},` + goodRadio + `]}]`, want: []Station{station("A", egll)}, rejected: 1},
		{name: "longitude out of range", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":1,"latDeg":1,"lonDeg":-180.5}]}]`, want: []Station{station("A")}, rejected: 1},
		{name: "latitude beyond float64", body: `[{"callsign":"A","transceivers":[{"id":0,"frequency":1,"latDeg":1e400,"lonDeg":1},` + goodRadio + `]}]`, want: []Station{station("A", egll)}, rejected: 1},
		{name: "id beyond 32 bits", body: `[{"callsign":"A","transceivers":[{"id":3000000000,"frequency":1,"latDeg":1,"lonDeg":1}]}]`, want: []Station{station("A")}, rejected: 1},
		{name: "radio null or not an object", body: `[{"callsign":"A","transceivers":[null,7,` + goodRadio + `]}]`, want: []Station{station("A", egll)}, rejected: 2},
		{name: "a bad station and a bad radio", body: `[{"callsign":""},{"callsign":"A","transceivers":[{"id":0,"frequency":0}]}]`, want: []Station{station("A")}, rejected: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, enc := range []string{"plain", "gzip"} {
				data := []byte(tt.body)
				if enc == "gzip" {
					data = gzipBytes(t, data)
				}
				got, err := DecodeTransceivers(data)
				if err != nil {
					t.Fatalf("%s: %v", enc, err)
				}
				if !reflect.DeepEqual(got.Stations, tt.want) || got.Rejected != tt.rejected {
					t.Errorf("%s: got %+v, rejected %d; want %+v, rejected %d", enc, got.Stations, got.Rejected, tt.want, tt.rejected)
				}
			}
		})
	}
}

// The fast path and encoding/json give the same result on every input the table above and the generator make.
func TestDecodeTransceiversFastMatchesStd(t *testing.T) {
	inputs := [][]byte{transceiversJSON(t, genTransceivers(500))}
	for _, b := range []string{`[{"callsign":"A","transceivers":[` + goodRadio + `]},{"callsign":"A"},{"callsign":""}]`,
		`[{"CALLSIGN":"A"}]`, `[{"callsign":"A","callsign":"B"}]`, `[{"callsign":"A\"B","transceivers":[{"ID":3,"frequency":5,"latDeg":1e1,"lonDeg":-0.0}]}]`} {
		inputs = append(inputs, []byte(b))
	}
	for _, in := range inputs {
		got, err := DecodeTransceivers(in)
		if err != nil {
			t.Fatal(err)
		}
		var list []wireStation
		if err := json.Unmarshal(in, &list); err != nil {
			t.Fatal(err)
		}
		if want := checkStations(list); !reflect.DeepEqual(got, want) {
			t.Errorf("%.60s: fast path %+v, encoding/json %+v", in, got, want)
		}
	}
}

func TestDecodeTransceiversNotAnArray(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"object", `{"callsign":"A"}`, "a JSON object, not an array"},
		{"string", `"x"`, "a JSON string, not an array"},
		{"null", `null`, "null, not an array"},
		{"empty", ``, "not valid JSON"},
		{"whitespace", "  \n", "not valid JSON"},
		{"HTML", `<html>maintenance</html>`, "not valid JSON (byte 1)"},
		{"truncated", `[{"callsign":"A","transceivers":[` + goodRadio, "not valid JSON"},
		{"trailing garbage", `[] x`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTransceivers([]byte(tt.body))
			if got != nil || !errors.Is(err, ErrMalformedTransceivers) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %+v, %v; want an error wrapping ErrMalformedTransceivers saying %q", got, err, tt.want)
			}
		})
	}
	t.Run("corrupt gzip", func(t *testing.T) {
		z := gzipBytes(t, []byte(`[]`))
		if _, err := DecodeTransceivers(z[:len(z)-3]); !errors.Is(err, ErrMalformedTransceivers) {
			t.Fatalf("got %v, want ErrMalformedTransceivers", err)
		}
	})
}
