package feed

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
)

// The reference decoder's shapes: the snapshot types, each integer field shadowed by a wireInt (a field of
// the outer struct wins over the embedded one of the same JSON name, case folding included). They exist so
// that an integer no database column can hold, written 5e9 or beyond int64, drops its entry instead of failing
// encoding/json on the whole snapshot. The fast decoder bails out on every such number, so only this path
// meets them. They cost the reference decoder no allocation (BenchmarkDecodeStd/shared: 2.39 MB and 20,950
// allocations per decode before and after) and no time measurable above this machine's noise (8-11 ms).

type wireSnapshot struct {
	General     General          `json:"general"`
	Pilots      []wirePilot      `json:"pilots"`
	Controllers []wireController `json:"controllers"`
	ATIS        []wireController `json:"atis"`
}

type wirePilot struct {
	Pilot
	PilotRating    wireInt         `json:"pilot_rating"`
	MilitaryRating *wireInt        `json:"military_rating"`
	Altitude       wireInt         `json:"altitude"`
	Groundspeed    wireInt         `json:"groundspeed"`
	Heading        wireInt         `json:"heading"`
	QNHMb          wireInt         `json:"qnh_mb"`
	FlightPlan     *wireFlightPlan `json:"flight_plan"`
}

type wireFlightPlan struct {
	FlightPlan
	RevisionID *wireInt `json:"revision_id"`
}

type wireController struct {
	Controller
	Facility    wireInt `json:"facility"`
	Rating      wireInt `json:"rating"`
	VisualRange wireInt `json:"visual_range"`
}

// pilot returns the decoded pilot and, when an integer field held a number beyond int64 (or not written as an
// integer, and beyond 32 bits), the rejection reason naming the first such field.
func (w *wirePilot) pilot() (Pilot, string) {
	p := w.Pilot
	var over overflow
	p.PilotRating = over.int("pilot_rating", w.PilotRating)
	p.MilitaryRating = over.intPtr("military_rating", w.MilitaryRating)
	p.Altitude = over.int("altitude", w.Altitude)
	p.Groundspeed = over.int("groundspeed", w.Groundspeed)
	p.Heading = over.int("heading", w.Heading)
	p.QNHMb = over.int("qnh_mb", w.QNHMb)
	p.FlightPlan = nil
	if w.FlightPlan != nil {
		fp := w.FlightPlan.FlightPlan
		fp.RevisionID = over.intPtr("flight_plan.revision_id", w.FlightPlan.RevisionID)
		p.FlightPlan = &fp
	}
	return p, over.reason
}

func (w *wireController) controller() (Controller, string) {
	c := w.Controller
	var over overflow
	c.Facility = over.int("facility", w.Facility)
	c.Rating = over.int("rating", w.Rating)
	c.VisualRange = over.int("visual_range", w.VisualRange)
	return c, over.reason
}

type overflow struct{ reason string }

func (o *overflow) int(field string, n wireInt) int {
	if n.over != "" && o.reason == "" {
		o.reason = exceedsInt32(field, n.over)
	}
	return int(n.v)
}

func (o *overflow) intPtr(field string, n *wireInt) *int {
	if n == nil {
		return nil
	}
	v := o.int(field, *n)
	return &v
}

// wireInt decodes an int field as encoding/json does (null leaves it unchanged; a string, a fraction or an
// exponent is a type error), except that a number beyond the 32-bit range in any notation is kept as its
// literal when it has no int64 form, for the rejection to quote.
type wireInt struct {
	v    int64
	over string
}

var intType = reflect.TypeFor[int]()

func (n *wireInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	*n = wireInt{}
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: intType}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err == nil {
		n.v = v
		return nil
	}
	f, ferr := strconv.ParseFloat(string(b), 64)
	if (ferr == nil || errors.Is(ferr, strconv.ErrRange)) && !(f >= math.MinInt32 && f <= math.MaxInt32) {
		n.over = string(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: "number " + string(b), Type: intType}
}

// jsonKind names a JSON value's kind as encoding/json's type errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}
