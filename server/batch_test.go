package server

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// mixedCycle is a published cycle of n events of every kind and shape (with and without flight, position,
// visit, duration, exit reason, controller), with sequences from firstSeq.
func mixedCycle(id, firstSeq int64, n int) *domain.Committed {
	at := t1.Add(time.Duration(id) * 15 * time.Second)
	c := &domain.Committed{Cycle: domain.Cycle{ID: id, UpdateTimestamp: at}}
	for i := range n {
		seq := firstSeq + int64(i)
		e := domain.Event{Sequence: seq, Sector: testRef([]string{"EGTT", "EGTT_S", "LFFF"}[i%3]), OccurredAt: at, CycleID: id}
		switch i % 4 {
		case 0:
			e.Kind, e.Flight = domain.EventEntry, &domain.FlightRef{ID: seq, VisitID: 100 + seq, CID: 1000 + seq, Callsign: fmt.Sprintf("BAW%d", i)}
			e.Position = &domain.Point{Latitude: 51.5, Longitude: -0.25, Altitude: 35000}
		case 1:
			e.Kind, e.Flight = domain.EventExit, &domain.FlightRef{ID: seq, VisitID: 100 + seq, CID: 1000 + seq, Callsign: fmt.Sprintf("DLH%d", i)}
			e.Position = &domain.Point{Latitude: 48.9, Longitude: 2.5, Altitude: 12000}
			e.Exit = &domain.VisitEnd{Reason: domain.ExitLeft, DurationSeconds: 1234.5}
		case 2:
			e.Kind, e.Controller = domain.EventStaffed, &domain.ControllerRef{ID: seq, CID: 2000 + seq, Callsign: "EGTT_CTR"}
		default:
			e.Kind, e.Controller = domain.EventUnstaffed, &domain.ControllerRef{ID: seq, CID: 2000 + seq, Callsign: "EGTT_S_CTR"}
		}
		c.Events = append(c.Events, e)
	}
	if n > 0 {
		c.Cycle.FirstSequence, c.Cycle.LastSequence = ptr(firstSeq), ptr(firstSeq+int64(n)-1)
	}
	return c
}

// captureStream is the server side of a WatchSectorEvents stream that keeps what a sink sends, put through
// the server's codec and decoded as a client decodes it.
type captureStream struct {
	grpc.ServerStream // nil: sinks only send
	codec             streamCodec
	got               []*vatsectorv1.WatchSectorEventsResponse
	// encoded is what was sent already encoded, as it was sent.
	encoded []encodedResponse
}

func newCaptureStream(t *testing.T) *captureStream {
	t.Helper()
	codec, err := newStreamCodec()
	if err != nil {
		t.Fatal(err)
	}
	return &captureStream{codec: codec}
}

func (s *captureStream) Send(m *vatsectorv1.WatchSectorEventsResponse) error { return s.SendMsg(m) }

func (s *captureStream) SendMsg(m any) error {
	if b, ok := m.(encodedResponse); ok {
		s.encoded = append(s.encoded, b)
	}
	data, err := s.codec.Marshal(m)
	if err != nil {
		return err
	}
	defer data.Free()
	resp := &vatsectorv1.WatchSectorEventsResponse{}
	if err := s.codec.Unmarshal(data, resp); err != nil {
		return err
	}
	s.got = append(s.got, resp)
	return nil
}

// builtResponses are the messages the generated code builds for these groups of events: one batch per group,
// or one message per event of each group.
func builtResponses(events map[int64]*domain.Event, groups [][]int64, batch bool) []*vatsectorv1.WatchSectorEventsResponse {
	var out []*vatsectorv1.WatchSectorEventsResponse
	for _, g := range groups {
		protos := make([]*vatsectorv1.SectorEvent, len(g))
		for i, seq := range g {
			protos[i] = eventProto(events[seq])
		}
		if batch {
			out = append(out, batchResponse(protos))
			continue
		}
		for _, p := range protos {
			out = append(out, eventResponse(p))
		}
	}
	return out
}

func wantResponses(t *testing.T, got, want []*vatsectorv1.WatchSectorEventsResponse) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("message %d decodes to\n%s\nwant\n%s", i, prototext.Format(got[i]), prototext.Format(want[i]))
		}
	}
}

// chunked splits sequences into groups of at most size.
func chunked(seqs []int64, size int) [][]int64 {
	var out [][]int64
	for c := range slices.Chunk(seqs, size) {
		out = append(out, c)
	}
	return out
}

func TestEventSinkMessagesAreTheBuiltOnes(t *testing.T) {
	const n = 2*maxBatchEvents + 345
	committed := mixedCycle(4, 1, n)
	bySeq := map[int64]*domain.Event{}
	for i := range committed.Events {
		bySeq[committed.Events[i].Sequence] = &committed.Events[i]
	}
	var everyOther []int // positions of the odd sequences
	for i := 0; i < n; i += 2 {
		everyOther = append(everyOther, i)
	}
	var oddSeqs []int64
	for _, i := range everyOther {
		oddSeqs = append(oddSeqs, committed.Events[i].Sequence)
	}
	all := seqRange(1, n)
	replay := func(s eventSink, _ *publishedCycle) error { return s.replayed(committed.Events) }
	liveAll := func(s eventSink, c *publishedCycle) error { return s.live(c, nil) }
	liveOdd := func(s eventSink, c *publishedCycle) error { return s.live(c, everyOther) }
	liveOne := func(s eventSink, c *publishedCycle) error { return s.live(c, []int{41}) }
	cases := []struct {
		name  string
		batch bool
		send  func(eventSink, *publishedCycle) error
		want  [][]int64 // sequences in each message (batches), or in each group of messages (one event each)
	}{
		{"batches: a replayed page longer than the bound is split", true, replay, chunked(all, maxBatchEvents)},
		{"batches: a whole live cycle is split", true, liveAll, chunked(all, maxBatchEvents)},
		{"batches: the picked events of a live cycle are split", true, liveOdd, chunked(oddSeqs, maxBatchEvents)},
		{"batches: one picked event", true, liveOne, [][]int64{{42}}},
		{"one event per message: replayed page", false, replay, [][]int64{all}},
		{"one event per message: whole live cycle", false, liveAll, [][]int64{all}},
		{"one event per message: picked events", false, liveOdd, [][]int64{oddSeqs}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := newCaptureStream(t)
			if err := tc.send(eventStreamSink{stream: stream, now: time.Now, batch: tc.batch}, newPublishedCycle(committed)); err != nil {
				t.Fatal(err)
			}
			if tc.batch {
				for i, m := range stream.got {
					if k := len(m.GetEvents().GetEvents()); k == 0 || k > maxBatchEvents {
						t.Fatalf("message %d holds %d events, want 1..%d", i, k, maxBatchEvents)
					}
				}
			}
			wantResponses(t, stream.got, builtResponses(bySeq, tc.want, tc.batch))
		})
	}
}

func TestStreamsThatFilterNothingShareTheCycleEncoding(t *testing.T) {
	c := newPublishedCycle(mixedCycle(4, 1, maxBatchEvents+10))
	for _, batch := range []bool{true, false} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			first, second := newCaptureStream(t), newCaptureStream(t)
			for _, s := range []*captureStream{first, second} {
				if err := (eventStreamSink{stream: s, now: time.Now, batch: batch}).live(c, nil); err != nil {
					t.Fatal(err)
				}
			}
			if len(first.encoded) == 0 || len(first.encoded) != len(second.encoded) {
				t.Fatalf("sent %d and %d encoded messages, want the same number, not none", len(first.encoded), len(second.encoded))
			}
			for i := range first.encoded {
				if &first.encoded[i][0] != &second.encoded[i][0] {
					t.Fatalf("message %d was encoded for each stream, want it encoded once and shared", i)
				}
			}
		})
	}
}

// recvBatches reads a batching stream until it has n batches, skipping heartbeats; a message of a single
// event fails the test.
func recvBatches(t *testing.T, s vatsectorv1.SectorService_WatchSectorEventsClient, n int) [][]*vatsectorv1.SectorEvent {
	t.Helper()
	var out [][]*vatsectorv1.SectorEvent
	for len(out) < n {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("after %d batches: %v", len(out), err)
		}
		if m.GetEvent() != nil {
			t.Fatalf("a batching stream sent a single event: %v", m)
		}
		if b := m.GetEvents(); b != nil {
			out = append(out, b.GetEvents())
		}
	}
	return out
}

func batchSequences(batches [][]*vatsectorv1.SectorEvent) [][]int64 {
	out := make([][]int64, len(batches))
	for i, b := range batches {
		out[i] = sequences(b)
	}
	return out
}

// wantStored fails unless every event is as stored.
func wantStored(t *testing.T, e *env, batches [][]*vatsectorv1.SectorEvent) {
	t.Helper()
	stored := map[int64]*vatsectorv1.SectorEvent{}
	for _, ev := range storedEvents(t, e) {
		stored[ev.GetSequence()] = ev
	}
	for _, b := range batches {
		for _, ev := range b {
			if !proto.Equal(ev, stored[ev.GetSequence()]) {
				t.Fatalf("event %d received as\n%s\nstored as\n%s", ev.GetSequence(), prototext.Format(ev),
					prototext.Format(stored[ev.GetSequence()]))
			}
		}
	}
}

func TestWatchSectorEventsInBatches(t *testing.T) {
	staffed, unstaffed := vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_STAFFED, vatsectorv1.SectorEventKind_SECTOR_EVENT_KIND_UNSTAFFED
	// The live cycles after the fixture: 10..15 then 16..18, every third event a STAFFED of EGTT_S.
	cases := []struct {
		name     string
		req      *vatsectorv1.WatchSectorEventsRequest
		replayed [][]int64 // one replay page
		live     [][]int64 // one message per live cycle
	}{
		{name: "whole history, then live", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0)},
			replayed: [][]int64{seqRange(1, 9)}, live: [][]int64{seqRange(10, 15), seqRange(16, 18)}},
		{name: "resume after a checkpoint, filtered by kind",
			req:      &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](5), Kinds: []vatsectorv1.SectorEventKind{staffed, unstaffed}},
			replayed: [][]int64{{6, 7, 9}}, live: [][]int64{{12, 15}, {18}}},
		{name: "resume filtered by sector", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](0), SectorIds: []string{"EGTT_S"}},
			replayed: [][]int64{{3, 6}}, live: [][]int64{{12, 15}, {18}}},
		{name: "resume at the latest sequence", req: &vatsectorv1.WatchSectorEventsRequest{AfterSequence: ptr[int64](fixtureLastSeq)},
			live: [][]int64{seqRange(10, 15), seqRange(16, 18)}},
		{name: "live only", req: &vatsectorv1.WatchSectorEventsRequest{}, live: [][]int64{seqRange(10, 15), seqRange(16, 18)}},
		{name: "live only, filtered by sector", req: &vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"LFFF"}},
			live: [][]int64{{10, 11, 13, 14}, {16, 17}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
				req := proto.CloneOf(tc.req)
				req.BatchEvents = true
				s, err := e.sectorClient.WatchSectorEvents(streamCtx(t), req)
				if err != nil {
					t.Fatal(err)
				}
				replayed := recvBatches(t, s, len(tc.replayed))
				if got := batchSequences(replayed); !slices.EqualFunc(got, tc.replayed, slices.Equal) {
					t.Errorf("replayed %v, want %v", got, tc.replayed)
				}
				// Registered before the cycles commit, or they would be replayed instead of sent live.
				waitSubscribers(t, e.hub, 1)
				commit(t, e.store, e.hub, eventsCycle(4, fixtureLastSeq+1, 6))
				commit(t, e.store, e.hub, eventsCycle(5, fixtureLastSeq+7, 3))
				live := recvBatches(t, s, len(tc.live))
				if got := batchSequences(live); !slices.EqualFunc(got, tc.live, slices.Equal) {
					t.Errorf("live %v, want %v", got, tc.live)
				}
				wantStored(t, e, append(replayed, live...))
			})
		})
	}
}

func TestBatchesAreSplitAtTheBound(t *testing.T) {
	const n = 2*maxBatchEvents + 1 // in eventsCycle, 667 STAFFED of EGTT_S and 1334 entries into LFFF
	first, last := int64(fixtureLastSeq+1), int64(fixtureLastSeq+n)
	var lfff []int64
	for s := first; s <= last; s++ {
		if (s-first)%3 != 2 {
			lfff = append(lfff, s)
		}
	}
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := streamCtx(t)
		all, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{BatchEvents: true})
		if err != nil {
			t.Fatal(err)
		}
		filtered, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{BatchEvents: true, SectorIds: []string{"LFFF"}})
		if err != nil {
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 2)
		commit(t, e.store, e.hub, eventsCycle(4, first, n))
		// Opened after the commit, it replays everything in pages of the replay page size.
		replay, err := e.sectorClient.WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{BatchEvents: true, AfterSequence: ptr[int64](0)})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			stream vatsectorv1.SectorService_WatchSectorEventsClient
			want   [][]int64
		}{
			{"live, all events", all, chunked(seqRange(first, last), maxBatchEvents)},
			{"live, filtered", filtered, chunked(lfff, maxBatchEvents)},
			{"replayed", replay, chunked(seqRange(1, last), DefaultReplayPageSize)},
		}
		for _, tc := range cases {
			got := batchSequences(recvBatches(t, tc.stream, len(tc.want)))
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				wantSeqs := slices.Concat(tc.want...)
				t.Errorf("%s: batches of %v events, want %v, of sequences %d..%d in order", tc.name, lens(got), lens(tc.want),
					wantSeqs[0], wantSeqs[len(wantSeqs)-1])
			}
		}
	})
}

func lens(groups [][]int64) []int {
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = len(g)
	}
	return out
}

func TestStreamsOfEveryKindShareAHub(t *testing.T) {
	eachEnv(t, envOptions{}, func(t *testing.T, e *env) {
		ctx := streamCtx(t)
		open := func(req *vatsectorv1.WatchSectorEventsRequest) vatsectorv1.SectorService_WatchSectorEventsClient {
			s, err := e.sectorClient.WatchSectorEvents(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		batchAll := open(&vatsectorv1.WatchSectorEventsRequest{BatchEvents: true})
		batchFiltered := open(&vatsectorv1.WatchSectorEventsRequest{BatchEvents: true, SectorIds: []string{"EGTT_S"}})
		singleAll := open(&vatsectorv1.WatchSectorEventsRequest{})
		singleFiltered := open(&vatsectorv1.WatchSectorEventsRequest{SectorIds: []string{"EGTT_S"}})
		waitSubscribers(t, e.hub, 4)
		commit(t, e.store, e.hub, eventsCycle(4, fixtureLastSeq+1, 6))
		commit(t, e.store, e.hub, eventsCycle(5, fixtureLastSeq+7, 3))
		if got, want := batchSequences(recvBatches(t, batchAll, 2)), [][]int64{seqRange(10, 15), seqRange(16, 18)}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches without filter %v, want %v", got, want)
		}
		if got, want := batchSequences(recvBatches(t, batchFiltered, 2)), [][]int64{{12, 15}, {18}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("filtered batches %v, want %v", got, want)
		}
		if got, want := sequences(recvEvents(t, singleAll, 9)), seqRange(10, 18); !slices.Equal(got, want) {
			t.Errorf("single events without filter %v, want %v", got, want)
		}
		if got, want := sequences(recvEvents(t, singleFiltered, 3)), []int64{12, 15, 18}; !slices.Equal(got, want) {
			t.Errorf("filtered single events %v, want %v", got, want)
		}
	})
}
