package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/hub"
)

// WatchFlights sends every online flight each cycle: a whole map's worth of positions, 3,000 flights a
// message. Built per stream, 200 browser maps would have the server marshal 600,000 flights a cycle; so a
// cycle's message is encoded once per distinct bounding box, by the first stream that needs it, and every
// stream with that box sends the same bytes (encodedResponse, as the sector event batches do). Each message is
// complete, so a stream that falls behind loses nothing by skipping to the newest cycle: it subscribes again
// and sends the cycle the hub published last.

// flightEncodings are one published cycle's WatchFlightsResponse encodings, by bounding box (the zero box:
// every flight).
type flightEncodings struct {
	c  *domain.Committed
	mu sync.Mutex
	by map[domain.BoundingBox]func() (encodedResponse, error)
}

func newFlightEncodings(c *domain.Committed) *flightEncodings {
	return &flightEncodings{c: c, by: map[domain.BoundingBox]func() (encodedResponse, error){}}
}

// encoded is the cycle's message for the box, encoded on first use.
func (e *flightEncodings) encoded(box domain.BoundingBox) (encodedResponse, error) {
	e.mu.Lock()
	enc, ok := e.by[box]
	if !ok {
		enc = sync.OnceValues(func() (encodedResponse, error) {
			return encodeLiveFlights(e.c.Cycle.UpdateTimestamp, e.c.Flights, box)
		})
		e.by[box] = enc
	}
	e.mu.Unlock()
	return enc()
}

// encodeLiveFlights is the WatchFlightsResponse of the flights inside box (every one for the zero box).
func encodeLiveFlights(asOf time.Time, flights []domain.LiveFlight, box domain.BoundingBox) (encodedResponse, error) {
	all := box == domain.BoundingBox{}
	msg := &vatsectorv1.WatchFlightsResponse{AsOf: ts(asOf), Flights: make([]*vatsectorv1.LiveFlight, 0, len(flights))}
	for i := range flights {
		f := &flights[i]
		if all || box.Contains(f.Latitude, f.Longitude) {
			msg.Flights = append(msg.Flights, liveFlightProto(f))
		}
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode the flights of %v: %w", asOf, err)
	}
	return b, nil
}

func liveFlightProto(f *domain.LiveFlight) *vatsectorv1.LiveFlight {
	out := &vatsectorv1.LiveFlight{
		Id: f.ID, Callsign: f.Callsign, Latitude: f.Latitude, Longitude: f.Longitude, AltitudeFt: int32(f.Altitude),
		GroundspeedKt: int32(f.Groundspeed), HeadingDeg: int32(f.Heading), Aircraft: f.Aircraft,
		Departure: f.Departure, Arrival: f.Arrival,
	}
	if c := f.Working; c != nil {
		out.Working = &vatsectorv1.ControllerRef{Id: c.ID, Cid: c.CID, Callsign: c.Callsign}
	}
	return out
}

// watchFlights sends the flights inside box (the zero box: all) as of the newest committed cycle, then as of
// each cycle committed after it.
func (q *queryService) watchFlights(ctx context.Context, box domain.BoundingBox, send func(encodedResponse) error) error {
	var lastID int64
	for {
		sub, err := q.hub.Subscribe()
		if err != nil {
			return err
		}
		err = q.followFlights(ctx, sub, box, &lastID, send)
		q.hub.Unsubscribe(sub)
		if !errors.Is(err, hub.ErrLagged) {
			return err
		}
		// Fell behind: skip to the newest cycle. Nothing is lost, each message being complete.
	}
}

// followFlights sends the subscription's cycles newer than *lastID, starting with the newest one published
// before it, until the subscription ends (hub.ErrLagged: the caller subscribes again).
func (q *queryService) followFlights(ctx context.Context, sub *hub.Subscription, box domain.BoundingBox, lastID *int64,
	send func(encodedResponse) error,
) error {
	sendCycle := func(p *hub.Published) error {
		if p.Cycle.ID <= *lastID || p.Flights == nil {
			// A cycle committed before the hub was seeded may be published after it; a standby publishes the
			// flights with the newest of the cycles it follows at once only (ingest.Runner.follow).
			return nil
		}
		c, err := encodingsOf(p)
		if err != nil {
			return err
		}
		msg, err := c.flights.encoded(box)
		if err != nil {
			return err
		}
		*lastID = p.Cycle.ID
		return send(msg)
	}
	if last := sub.Last(); last != nil {
		if err := sendCycle(last); err != nil {
			return err
		}
	} else if *lastID == 0 && sub.Start() != nil {
		// Nothing was published since this process started (it restarted; ingest has not committed yet, or
		// is another instance's): the stored flights as of the last committed cycle.
		msg, err := q.storedLiveFlights(ctx, sub, box)
		if err != nil {
			return err
		}
		*lastID = sub.Start().ID
		if err := send(msg); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Done():
			return sub.Err()
		case p := <-sub.Cycles():
			if err := sendCycle(p); err != nil {
				return err
			}
		}
	}
}

// storedLiveFlights reads the online flights from storage through the catch-up gate (every map reconnecting
// after a restart reads them at once), as the message of the subscription's start.
func (q *queryService) storedLiveFlights(ctx context.Context, sub *hub.Subscription, box domain.BoundingBox) (encodedResponse, error) {
	release, err := q.catchUp.acquire(ctx, sub.Done())
	if err != nil {
		return nil, err
	}
	flights, err := q.store.LiveFlights(ctx)
	release()
	if err != nil {
		return nil, err
	}
	return encodeLiveFlights(sub.Start().UpdateTimestamp, flights, box)
}
