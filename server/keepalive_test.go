package server

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// TestKeepaliveDropsADeadSubscriber: a subscriber whose machine vanished sends no FIN or RST; its connection
// just goes silent. The server's keepalive must notice and end the stream, so the hub does not keep a
// subscription (and its buffer) for a peer that will never read again.
func TestKeepaliveDropsADeadSubscriber(t *testing.T) {
	// grpc-go raises a server keepalive time below 1 s to 1 s.
	eachEnv(t, envOptions{keepalive: time.Second}, func(t *testing.T, e *env) {
		var dead *silentConn
		conn := e.dial(t, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := e.dialRaw(ctx, addr)
			if err != nil {
				return nil, err
			}
			dead = &silentConn{Conn: c, closed: make(chan struct{})}
			return dead, nil
		}))
		ctx := streamCtx(t)
		stream, err := vatsectorv1.NewSectorServiceClient(conn).WatchSectorEvents(ctx, &vatsectorv1.WatchSectorEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil { // the first heartbeat: the stream is registered
			t.Fatal(err)
		}
		waitSubscribers(t, e.hub, 1)
		dead.fall()
		// Within keepalive time + timeout (2 s) the server pings, gets no answer and closes the connection.
		waitSubscribers(t, e.hub, 0)
	})
}

// silentConn is a client connection whose machine falls off the network: after fall, nothing it sends
// arrives and nothing sent to it is read, and the socket stays open.
type silentConn struct {
	net.Conn
	mu     sync.Mutex
	fallen bool
	closed chan struct{}
	once   sync.Once
}

func (c *silentConn) fall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fallen = true
}

func (c *silentConn) isFallen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fallen
}

func (c *silentConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.isFallen() {
		<-c.closed // what arrived is lost with the machine; wait for the client to give up
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *silentConn) Write(b []byte) (int, error) {
	if c.isFallen() {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *silentConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
