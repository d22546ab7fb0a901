package server

import (
	"context"
	"fmt"
	"math"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// Requests are checked before any handler runs, against the rules their proto comments state. The generated
// types have no Validate method (no protoc-gen-validate), so the rules are here, one function per message;
// what needs the service's state (a page token's filters, a sector being loaded) is checked by the service.

// Bounds on request fields, so that one request cannot make a query of unbounded size.
const (
	maxFilterIDs     = 1000 // sector ids in one filter
	maxFilterTextLen = 64   // a callsign, prefix, ICAO code, set or kind
)

// validateRequest returns an INVALID_ARGUMENT domain error saying what is wrong, or nil. Every string of the
// request, however deep, is checked for U+0000 first (PostgreSQL cannot hold it in text: a filter with it
// failed as INTERNAL); then the message's own rules. A request of this API without rules is refused as an
// internal error rather than let through unchecked (TestEveryMethodHasAValidator keeps that from shipping);
// other messages (health, reflection) pass.
func validateRequest(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if err := checkNoNUL(m.ProtoReflect()); err != nil {
		return err
	}
	check, known := requestRules(req)
	if !known {
		if m.ProtoReflect().Descriptor().ParentFile().Package() == apiPackage {
			return fmt.Errorf("server: no validation rules for %s", m.ProtoReflect().Descriptor().FullName())
		}
		return nil
	}
	return check()
}

// apiPackage is the proto package whose every request must have rules.
const apiPackage = "vatsector.v1"

// checkNoNUL walks every set field of m, nested messages, lists and maps included, and refuses a string
// holding U+0000, naming the field by its path (for example "sector_ids[2]" or "seen.start").
func checkNoNUL(m protoreflect.Message) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		err = checkValueNoNUL(string(fd.Name()), fd, v)
		return err == nil
	})
	return err
}

func checkValueNoNUL(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch {
	case fd.IsList():
		l := v.List()
		for i := range l.Len() {
			if err := checkScalarNoNUL(fmt.Sprintf("%s[%d]", path, i), fd, l.Get(i)); err != nil {
				return err
			}
		}
		return nil
	case fd.IsMap():
		var err error
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			key := k.String()
			if strings.ContainsRune(key, 0) {
				err = nulError(path + " key")
				return false
			}
			err = checkScalarNoNUL(fmt.Sprintf("%s[%q]", path, key), fd.MapValue(), mv)
			return err == nil
		})
		return err
	}
	return checkScalarNoNUL(path, fd, v)
}

func checkScalarNoNUL(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.ContainsRune(v.String(), 0) {
			return nulError(path)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		var err error
		v.Message().Range(func(inner protoreflect.FieldDescriptor, iv protoreflect.Value) bool {
			err = checkValueNoNUL(path+"."+string(inner.Name()), inner, iv)
			return err == nil
		})
		return err
	}
	return nil
}

func nulError(path string) error {
	return invalidf("%s contains U+0000 (a NUL character), which no filter, id or page token can hold", path)
}

// requestRules returns the rules of a request of this API, and false for a message it has none for.
func requestRules(req any) (check func() error, known bool) {
	switch r := req.(type) {
	case *vatsectorv1.GetIngestionStatusRequest, *vatsectorv1.WatchIngestionRequest:
		return func() error { return nil }, true // no fields to get wrong
	case *vatsectorv1.ListFlightsRequest:
		return func() error {
			return firstError(
				checkPageSize(r.GetPageSize()),
				checkText("sector_id", r.GetSectorId()), checkText("callsign_prefix", r.GetCallsignPrefix()),
				checkText("departure", r.GetDeparture()), checkText("arrival", r.GetArrival()),
				checkRange("seen", r.GetSeen()), checkBounds("bounds", r.GetBounds()),
				func() error {
					if r.GetSeen() != nil && !r.GetIncludeOffline() {
						return invalidf("seen is only allowed with include_offline: online flights are all seen now")
					}
					return nil
				}(),
			)
		}, true
	case *vatsectorv1.GetFlightRequest:
		return func() error {
			if err := firstError(checkNonNegative("max_track_points", r.GetMaxTrackPoints()),
				checkNonNegative("max_visits", r.GetMaxVisits())); err != nil {
				return err
			}
			switch sel := r.GetSelector().(type) {
			case nil:
				return invalidf("a flight selector is required: set callsign or id")
			case *vatsectorv1.GetFlightRequest_Id:
				if sel.Id <= 0 {
					return invalidf("id must be positive, got %d", sel.Id)
				}
			case *vatsectorv1.GetFlightRequest_Callsign:
				if strings.TrimSpace(sel.Callsign) == "" {
					return invalidf("callsign must not be empty")
				}
				return checkText("callsign", sel.Callsign)
			}
			return nil
		}, true
	case *vatsectorv1.GetFlightSummaryRequest:
		return func() error {
			if err := checkNonNegative("max_visits", r.GetMaxVisits()); err != nil {
				return err
			}
			switch sel := r.GetSelector().(type) {
			case nil:
				return invalidf("a flight selector is required: set id")
			case *vatsectorv1.GetFlightSummaryRequest_Id:
				if sel.Id <= 0 {
					return invalidf("id must be positive, got %d", sel.Id)
				}
			}
			return nil
		}, true
	case *vatsectorv1.ListSectorsRequest:
		return func() error {
			return firstError(checkPageSize(r.GetPageSize()), checkText("set", r.GetSet()), checkText("kind", r.GetKind()),
				checkIDs("sectors", r.GetSectors()))
		}, true
	case *vatsectorv1.GetSectorOccupancyRequest:
		return func() error {
			if r.GetSectorId() == "" && r.GetName() == "" {
				return invalidf("a sector is required: set name (sets/{set}/sectors/{id}) or sector_id")
			}
			return firstError(checkPageSize(r.GetPageSize()), checkText("sector_id", r.GetSectorId()), checkText("name", r.GetName()))
		}, true
	case *vatsectorv1.ListSectorEventsRequest:
		return func() error {
			return firstError(checkPageSize(r.GetPageSize()), checkIDs("sector_ids", r.GetSectorIds()),
				checkEventKinds(r.GetKinds()), checkRange("occurred", r.GetOccurred()),
				checkFlightFilter(r.GetSets(), r.GetFlightCid(), r.GetFlightCallsign()))
		}, true
	case *vatsectorv1.WatchSectorEventsRequest:
		return func() error {
			if r.AfterSequence != nil && r.GetAfterSequence() < 0 {
				return invalidf("after_sequence must not be negative, got %d", r.GetAfterSequence())
			}
			return firstError(checkIDs("sector_ids", r.GetSectorIds()), checkEventKinds(r.GetKinds()),
				checkFlightFilter(r.GetSets(), r.GetFlightCid(), r.GetFlightCallsign()))
		}, true
	case *vatsectorv1.WatchSectorOccupancyRequest:
		return func() error {
			return firstError(checkIDs("sectors", r.GetSectors()), checkIDs("sets", r.GetSets()),
				checkThresholds(r.GetThresholds()))
		}, true
	case *vatsectorv1.GetSectorTrafficRequest, *vatsectorv1.ListSectorTrafficRequest, *vatsectorv1.GetStaffingProfileRequest:
		return func() error { return statsRules(r) }, true
	case *vatsectorv1.WatchFlightsRequest:
		return func() error { return checkBounds("bounds", r.GetBounds()) }, true
	case *vatsectorv1.GetSectorGeometryRequest:
		return func() error {
			return firstError(checkText("set", r.GetSet()), checkBounds("bounds", r.GetBounds()),
				checkTolerance(r.GetToleranceDeg()))
		}, true
	case *vatsectorv1.ListControllersRequest:
		return func() error {
			return firstError(checkPageSize(r.GetPageSize()), checkText("callsign_prefix", r.GetCallsignPrefix()),
				checkText("sector_id", r.GetSectorId()), checkControllerKinds(r.GetKinds()))
		}, true
	case *vatsectorv1.ListControllerSessionsRequest:
		return func() error {
			return firstError(checkPageSize(r.GetPageSize()), checkText("callsign_prefix", r.GetCallsignPrefix()),
				checkText("sector_id", r.GetSectorId()), checkRange("seen", r.GetSeen()))
		}, true
	}
	return nil, false
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkPageSize(n int32) error {
	if n < 0 {
		return invalidf("page_size must not be negative, got %d (0 asks for the default)", n)
	}
	return nil
}

func checkNonNegative(field string, n int32) error {
	if n < 0 {
		return invalidf("%s must not be negative, got %d (0 asks for the default)", field, n)
	}
	return nil
}

func checkText(field, v string) error {
	if len(v) > maxFilterTextLen {
		return invalidf("%s is too long (%d bytes, at most %d)", field, len(v), maxFilterTextLen)
	}
	return nil
}

// checkFlightFilter checks the sets and flight filters of the event methods.
func checkFlightFilter(sets []string, cid int64, callsign string) error {
	if cid < 0 {
		return invalidf("flight_cid must not be negative, got %d", cid)
	}
	return firstError(checkIDs("sets", sets), checkText("flight_callsign", callsign))
}

func checkIDs(field string, ids []string) error {
	if len(ids) > maxFilterIDs {
		return invalidf("%s has %d ids, at most %d are allowed", field, len(ids), maxFilterIDs)
	}
	for i, id := range ids {
		if id == "" {
			return invalidf("%s[%d] is empty", field, i)
		}
		if err := checkText(field, id); err != nil {
			return err
		}
	}
	return nil
}

func checkRange(field string, r *vatsectorv1.TimeRange) error {
	if r == nil {
		return nil
	}
	for _, b := range []struct {
		name string
		ts   *timestamppb.Timestamp
	}{{"start", r.GetStart()}, {"end", r.GetEnd()}} {
		if b.ts != nil {
			if err := b.ts.CheckValid(); err != nil {
				return invalidf("%s.%s is not a valid timestamp: %v", field, b.name, err)
			}
		}
	}
	if r.GetStart() != nil && r.GetEnd() != nil && r.GetEnd().AsTime().Before(r.GetStart().AsTime()) {
		return invalidf("%s.end (%s) is before %s.start (%s)", field, r.GetEnd().AsTime().Format(timeFormat),
			field, r.GetStart().AsTime().Format(timeFormat))
	}
	return nil
}

// checkThresholds checks an occupancy stream's thresholds: positive, strictly increasing, at most
// maxThresholds.
func checkThresholds(ts []int32) error {
	if len(ts) > maxThresholds {
		return invalidf("thresholds has %d values, at most %d are allowed", len(ts), maxThresholds)
	}
	for i, t := range ts {
		if t <= 0 {
			return invalidf("thresholds[%d] is %d: thresholds must be positive", i, t)
		}
		if i > 0 && t <= ts[i-1] {
			return invalidf("thresholds[%d] is %d, not above thresholds[%d] (%d): thresholds must be strictly increasing",
				i, t, i-1, ts[i-1])
		}
	}
	return nil
}

func checkEventKinds(kinds []vatsectorv1.SectorEventKind) error {
	for i, k := range kinds {
		if _, ok := eventKindName(k); !ok {
			return invalidf("kinds[%d] is %v: not a sector event kind (UNSPECIFIED is not a filter)", i, k)
		}
	}
	return nil
}

func checkControllerKinds(kinds []vatsectorv1.ControllerKind) error {
	for i, k := range kinds {
		if _, ok := controllerKindName(k); !ok {
			return invalidf("kinds[%d] is %v: not a controller kind (UNSPECIFIED is not a filter)", i, k)
		}
	}
	return nil
}

// validationInterceptors check every request with validateRequest before the handler sees it. For a server
// stream the request is read by the generated handler through RecvMsg, so the stream is wrapped there. The
// error map above them in the chain turns a refusal into INVALID_ARGUMENT.
func validationInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := validateRequest(req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss})
	}
	return unary, stream
}

type validatingStream struct {
	grpc.ServerStream
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := validateRequest(m); err != nil {
		return err
	}
	return nil
}

// checkBounds refuses a box that is not one: a latitude or longitude out of range, not a number, or a southern
// edge north of the northern one. A western edge east of the eastern one is a box across the antimeridian.
func checkBounds(field string, b *vatsectorv1.BoundingBox) error {
	if b == nil {
		return nil
	}
	for _, c := range []struct {
		name  string
		v     float64
		limit float64
	}{
		{"min_latitude", b.GetMinLatitude(), 90}, {"max_latitude", b.GetMaxLatitude(), 90},
		{"min_longitude", b.GetMinLongitude(), 180}, {"max_longitude", b.GetMaxLongitude(), 180},
	} {
		if math.IsNaN(c.v) || c.v < -c.limit || c.v > c.limit {
			return invalidf("%s.%s is %v: want a number within [-%v, %v] degrees", field, c.name, c.v, c.limit, c.limit)
		}
	}
	if b.GetMinLatitude() > b.GetMaxLatitude() {
		return invalidf("%s.min_latitude %v is north of max_latitude %v", field, b.GetMinLatitude(), b.GetMaxLatitude())
	}
	return nil
}

// maxToleranceDeg bounds GetSectorGeometry's simplification: a degree already turns most FIRs into triangles.
const maxToleranceDeg = 1

func checkTolerance(t float64) error {
	if math.IsNaN(t) || t < 0 || t > maxToleranceDeg {
		return invalidf("tolerance_deg is %v: want 0 (exact) to %v degrees", t, maxToleranceDeg)
	}
	return nil
}
