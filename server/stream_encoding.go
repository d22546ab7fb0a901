package server

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
)

// Every sector event stream receives the same cycles, and what an event looks like on the wire does not depend
// on who receives it. Converting and marshalling each event once per stream made a thousand streams cost a
// thousand times one: so the messages of a published cycle are encoded once, by the first stream that needs
// them, and every stream hands the same bytes to its transport (streamCodec). Only the framing a stream needs
// that others do not (a filtered batch) is laid out per stream, by copying encoded events, not by marshalling.
//
// The hub knows nothing of the wire: the server installs newPublishedCycle as the hub's Prepare hook
// (prepareWith), which the hub calls once per published cycle and whose result it hands to every subscriber.

// maxBatchEvents bounds a SectorEventBatch, as the API promises: at a couple of hundred bytes an event, a
// message stays far below the 4 MB that gRPC clients accept by default.
const maxBatchEvents = 1000

// Field numbers of sector_service.proto that stream messages are laid out with. The tests decode the bytes
// laid out here and compare them with the messages built by the generated code.
const (
	responseEventField  protowire.Number = 1 // WatchSectorEventsResponse.event
	responseEventsField protowire.Number = 3 // WatchSectorEventsResponse.events
	batchEventsField    protowire.Number = 1 // SectorEventBatch.events
)

// publishedCycle is a committed cycle as every stream receives it from the hub: the cycle, shared read-only,
// and its encodings, each computed once, on first use, and shared by every stream (Publish stays cheap).
type publishedCycle struct {
	*domain.Committed
	// eventBodies is each event's SectorEvent wire form, in Events order.
	eventBodies func() ([][]byte, error)
	// eventMessages is each event's WatchSectorEventsResponse wire form, for streams without batches.
	eventMessages func() ([][]byte, error)
	// wholeBatches is the WatchSectorEventsResponse batches of all the events, for batching streams that
	// filter nothing.
	wholeBatches func() ([][]byte, error)
	// flights are the WatchFlights messages of the cycle.
	flights *flightEncodings
}

func newPublishedCycle(c *domain.Committed) *publishedCycle {
	p := &publishedCycle{Committed: c, flights: newFlightEncodings(c)}
	p.eventBodies = sync.OnceValues(func() ([][]byte, error) { return encodeEventBodies(c) })
	p.eventMessages = sync.OnceValues(func() ([][]byte, error) {
		bodies, err := p.eventBodies()
		if err != nil {
			return nil, err
		}
		return eventMessages(bodies), nil
	})
	p.wholeBatches = sync.OnceValues(func() ([][]byte, error) {
		bodies, err := p.eventBodies()
		if err != nil {
			return nil, err
		}
		return batchMessages(bodies, nil, maxBatchEvents), nil
	})
	return p
}

// prepareWith makes h hand every stream its cycles with their shared encodings.
func prepareWith(h *hub.Hub) {
	h.SetPrepare(func(c *domain.Committed) any { return newPublishedCycle(c) })
}

// encodingsOf is the cycle with the encodings the server prepared for it when the hub published it.
func encodingsOf(p *hub.Published) (*publishedCycle, error) {
	c, ok := p.Prepared.(*publishedCycle)
	if !ok {
		// A hub that was not given to server.New would have every stream fail here rather than marshal
		// each event once per stream unnoticed.
		return nil, fmt.Errorf("cycle %d was published without the server's encodings: the hub was not given to server.New", p.Cycle.ID)
	}
	return c, nil
}

func encodeEventBodies(c *domain.Committed) ([][]byte, error) {
	out := make([][]byte, len(c.Events))
	for i := range c.Events {
		b, err := proto.Marshal(eventProto(&c.Events[i]))
		if err != nil {
			return nil, fmt.Errorf("encode event %d: %w", c.Events[i].Sequence, err)
		}
		out[i] = b
	}
	return out, nil
}

// eventMessages lays out each body as the message of a stream without batches.
func eventMessages(bodies [][]byte) [][]byte {
	out := make([][]byte, len(bodies))
	for i, body := range bodies {
		msg := make([]byte, 0, protowire.SizeTag(responseEventField)+protowire.SizeBytes(len(body)))
		out[i] = appendEmbedded(msg, responseEventField, body)
	}
	return out
}

// batchMessages lays out the bodies at the picked positions (every body when picked is nil) as batch
// messages of at most limit events each, in order.
func batchMessages(bodies [][]byte, picked []int, limit int) [][]byte {
	n := len(bodies)
	body := func(k int) []byte { return bodies[k] }
	if picked != nil {
		n = len(picked)
		body = func(k int) []byte { return bodies[picked[k]] }
	}
	out := make([][]byte, 0, (n+limit-1)/limit)
	for start := 0; start < n; start += limit {
		end := min(start+limit, n)
		batchSize := 0
		for k := start; k < end; k++ {
			batchSize += protowire.SizeTag(batchEventsField) + protowire.SizeBytes(len(body(k)))
		}
		msg := make([]byte, 0, protowire.SizeTag(responseEventsField)+protowire.SizeBytes(batchSize))
		msg = protowire.AppendTag(msg, responseEventsField, protowire.BytesType)
		msg = protowire.AppendVarint(msg, uint64(batchSize))
		for k := start; k < end; k++ {
			msg = appendEmbedded(msg, batchEventsField, body(k))
		}
		out = append(out, msg)
	}
	return out
}

// appendEmbedded appends an embedded message field, its body already encoded.
func appendEmbedded(b []byte, field protowire.Number, body []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

// encodedResponse is a WatchSectorEventsResponse in wire form, sent with ServerStream.SendMsg. Its bytes are
// shared by many streams: nothing may modify them.
type encodedResponse []byte

// streamCodec is the server's codec: the registered proto codec, except that an encodedResponse is sent as
// it is. Its bytes go out as a mem.SliceBuffer, which gRPC never returns to a pool, so the transports of many
// streams can read the same bytes at once. (A grpc.PreparedMsg could not be shared so: its buffers belong to
// one stream and go back to a pool.)
type streamCodec struct {
	proto encoding.CodecV2
}

func newStreamCodec() (streamCodec, error) {
	c := encoding.GetCodecV2(grpcproto.Name)
	if c == nil {
		return streamCodec{}, errors.New("the gRPC proto codec is not registered")
	}
	return streamCodec{proto: c}, nil
}

func (c streamCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(encodedResponse); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c streamCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c streamCodec) Name() string { return c.proto.Name() }

// eventResponse is the message of one event, for streams without batches.
func eventResponse(e *vatsectorv1.SectorEvent) *vatsectorv1.WatchSectorEventsResponse {
	return &vatsectorv1.WatchSectorEventsResponse{Payload: &vatsectorv1.WatchSectorEventsResponse_Event{Event: e}}
}

// batchResponse is the message of a batch of events.
func batchResponse(events []*vatsectorv1.SectorEvent) *vatsectorv1.WatchSectorEventsResponse {
	return &vatsectorv1.WatchSectorEventsResponse{Payload: &vatsectorv1.WatchSectorEventsResponse_Events{
		Events: &vatsectorv1.SectorEventBatch{Events: events},
	}}
}
