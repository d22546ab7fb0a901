package main

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/wirecodec"
)

// received is what a subscriber needs from one stream message: how many events it carried (0 for a
// heartbeat) and the last one's sequence and cycle.
type received struct {
	events       int
	lastSequence int64
	lastCycleID  int64
}

// openDecoding opens a stream whose messages are decoded whole, as a client application would.
func openDecoding(ctx context.Context, conn *grpc.ClientConn, req *vatsectorv1.WatchSectorEventsRequest) (func() (received, error), error) {
	stream, err := vatsectorv1.NewSectorServiceClient(conn).WatchSectorEvents(ctx, req)
	if err != nil {
		return nil, err
	}
	return func() (received, error) {
		resp, err := stream.Recv()
		if err != nil {
			return received{}, err
		}
		events := resp.GetEvents().GetEvents()
		if ev := resp.GetEvent(); ev != nil {
			events = []*vatsectorv1.SectorEvent{ev}
		}
		if len(events) == 0 {
			return received{}, nil
		}
		last := events[len(events)-1]
		return received{events: len(events), lastSequence: last.GetSequence(), lastCycleID: last.GetCycleId()}, nil
	}, nil
}

// openSummarizing opens the same stream but keeps each message in wire form and reads only the fields the
// measurement needs, so that the 1,000 in-process clients spend the shared CPUs on receiving, not on
// building Go values nobody looks at.
func openSummarizing(ctx context.Context, conn *grpc.ClientConn, req *vatsectorv1.WatchSectorEventsRequest) (func() (received, error), error) {
	desc := &grpc.StreamDesc{StreamName: "WatchSectorEvents", ServerStreams: true}
	cs, err := conn.NewStream(ctx, desc, vatsectorv1.SectorService_WatchSectorEvents_FullMethodName, grpc.ForceCodecV2(wirecodec.Codec{}))
	if err != nil {
		return nil, err
	}
	if err := cs.SendMsg(req); err != nil {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	f := newWireFields()
	return func() (received, error) {
		var msg []byte
		if err := cs.RecvMsg(&msg); err != nil {
			return received{}, err
		}
		return f.summarize(msg)
	}, nil
}

// wireFields are the field numbers summarize reads, taken from the generated descriptors.
type wireFields struct {
	event, batch, batchEvents, sequence, cycleID protowire.Number
}

func newWireFields() wireFields {
	num := func(m proto.Message, name protoreflect.Name) protowire.Number {
		return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
	}
	return wireFields{
		event:       num(&vatsectorv1.WatchSectorEventsResponse{}, "event"),
		batch:       num(&vatsectorv1.WatchSectorEventsResponse{}, "events"),
		batchEvents: num(&vatsectorv1.SectorEventBatch{}, "events"),
		sequence:    num(&vatsectorv1.SectorEvent{}, "sequence"),
		cycleID:     num(&vatsectorv1.SectorEvent{}, "cycle_id"),
	}
}

var errMalformed = errors.New("malformed stream message")

// summarize reads a WatchSectorEventsResponse in wire form.
func (f wireFields) summarize(msg []byte) (received, error) {
	var r received
	var lastEvent []byte
	err := eachField(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case f.event:
			r.events, lastEvent = 1, v
		case f.batch:
			return eachField(v, func(num protowire.Number, ev []byte) error {
				if num == f.batchEvents {
					r.events++
					lastEvent = ev
				}
				return nil
			})
		}
		return nil
	})
	if err != nil || lastEvent == nil {
		return r, err
	}
	err = eachVarint(lastEvent, func(num protowire.Number, v uint64) {
		switch num {
		case f.sequence:
			r.lastSequence = int64(v)
		case f.cycleID:
			r.lastCycleID = int64(v)
		}
	})
	return r, err
}

// eachField calls fn with each length-delimited field of b, skipping the others.
func eachField(b []byte, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return errMalformed
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}

// eachVarint calls fn with each varint field of b, skipping the others.
func eachVarint(b []byte, fn func(protowire.Number, uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errMalformed
			}
			b = b[n:]
			fn(num, v)
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return errMalformed
		}
		b = b[n:]
	}
	return nil
}

// eachSequence calls fn with the sequence of every event of a WatchSectorEventsResponse in wire form, in
// order; a heartbeat calls it for nothing.
func (f wireFields) eachSequence(msg []byte, fn func(int64)) error {
	seq := func(ev []byte) error {
		var s int64
		err := eachVarint(ev, func(num protowire.Number, v uint64) {
			if num == f.sequence {
				s = int64(v)
			}
		})
		if err == nil {
			fn(s)
		}
		return err
	}
	return eachField(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case f.event:
			return seq(v)
		case f.batch:
			return eachField(v, func(num protowire.Number, ev []byte) error {
				if num == f.batchEvents {
					return seq(ev)
				}
				return nil
			})
		}
		return nil
	})
}
