package main

import (
	"testing"

	"google.golang.org/protobuf/proto"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

func TestSummarizeReadsWhatDecodingWould(t *testing.T) {
	ev := func(seq, cycle int64) *vatsectorv1.SectorEvent {
		return &vatsectorv1.SectorEvent{Sequence: seq, CycleId: cycle, SectorId: "EGTT", Kind: vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_ENTRY}
	}
	tests := []struct {
		name string
		msg  *vatsectorv1.WatchSectorEventsResponse
		want received
	}{
		{"heartbeat", &vatsectorv1.WatchSectorEventsResponse{Payload: &vatsectorv1.WatchSectorEventsResponse_Heartbeat{
			Heartbeat: &vatsectorv1.Heartbeat{LatestSequence: 9}}}, received{}},
		{"one event", &vatsectorv1.WatchSectorEventsResponse{Payload: &vatsectorv1.WatchSectorEventsResponse_Event{
			Event: ev(300, 7)}}, received{events: 1, lastSequence: 300, lastCycleID: 7}},
		{"batch", &vatsectorv1.WatchSectorEventsResponse{Payload: &vatsectorv1.WatchSectorEventsResponse_Events{
			Events: &vatsectorv1.SectorEventBatch{Events: []*vatsectorv1.SectorEvent{ev(1, 2), ev(2, 2), ev(1<<40, 3)}}}},
			received{events: 3, lastSequence: 1 << 40, lastCycleID: 3}},
	}
	f := newWireFields()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.summarize(b)
			if err != nil || got != tt.want {
				t.Errorf("summarize = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := f.summarize([]byte{0x1a, 0x05, 0x0a}); err == nil {
		t.Error("a truncated message was read without error")
	}
}
