// Package wirecodec is a gRPC codec for clients that read messages as their wire bytes: the benchmarks'
// subscribers, which measure delivery without decoding every message.
package wirecodec

import (
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Codec marshals requests as protobuf and hands responses over as their bytes (a *[]byte).
type Codec struct{}

func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("wirecodec: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("wirecodec: cannot unmarshal into %T", v)
	}
	*p = data.Materialize()
	return nil
}

// Name is proto's: the server sees an ordinary protobuf client.
func (Codec) Name() string { return "proto" }
