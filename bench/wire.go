package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// wireCounter is a TCP relay between the store's pool and PostgreSQL that counts, on the wire, what the
// database/sql pool cannot tell: round trips, and which physical connections carried traffic.
//
// A round trip is a request the client sends after the server last answered on that connection: the client
// side of PostgreSQL's protocol (extended query, one Sync per statement, COPY) writes, then waits for the
// answer before writing again, so "client bytes after server bytes" is exactly one exchange that paid the
// network latency. A multi-megabyte INSERT split over many TCP reads is still one round trip; an
// asynchronous server message (NOTICE, ParameterStatus) cannot create one. It costs two loopback hops per
// exchange (tens of microseconds), which the report states; the timings it carries are upper bounds.
type wireCounter struct {
	ln     net.Listener
	target string

	roundTrips atomic.Int64
	accepted   atomic.Int64
	wg         sync.WaitGroup

	mu     sync.Mutex
	conns  map[int64]net.Conn // open client sides, closed by close
	used   map[int64]bool     // connections that sent a request since the last mark
	labels map[string]*string // interned request labels, so steady-state accounting does not allocate
	lat    map[string]*wireLatency
}

// wireLatency is the time from a request's first byte to its answer's first byte, per kind of request: the
// server's time for the statement plus the transfer of the request, as the client waits for it.
type wireLatency struct {
	Label   string `json:"label"`
	Count   int64  `json:"count"`
	TotalUS int64  `json:"total_us"`
	MaxUS   int64  `json:"max_us"`
}

// startWireCounter listens on a free loopback port and relays every connection to target.
func startWireCounter(target string) (*wireCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &wireCounter{
		ln: ln, target: target, conns: map[int64]net.Conn{}, used: map[int64]bool{},
		labels: map[string]*string{}, lat: map[string]*wireLatency{},
	}
	w.wg.Add(1)
	go w.accept()
	return w, nil
}

// addr is where clients connect instead of the database.
func (w *wireCounter) addr() string { return w.ln.Addr().String() }

// RoundTrips counted so far, over all connections.
func (w *wireCounter) RoundTrips() int64 { return w.roundTrips.Load() }

// Accepted is the number of physical connections opened through the relay.
func (w *wireCounter) Accepted() int64 { return w.accepted.Load() }

// mark forgets which connections carried traffic, so usedSinceMark covers a window (one ingest run).
func (w *wireCounter) mark() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.used)
}

// resetLatencies starts the per-request latency figures afresh (at the end of the warm-up).
func (w *wireCounter) resetLatencies() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.lat)
}

// latencies returns the per-request latency figures since resetLatencies, in no particular order.
func (w *wireCounter) latencies() []wireLatency {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]wireLatency, 0, len(w.lat))
	for _, l := range w.lat {
		out = append(out, *l)
	}
	return out
}

// started notes a new request on connection id and returns its interned label.
func (w *wireCounter) started(id int64, req []byte) *string {
	key := requestLabel(req)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.used[id] = true
	label, ok := w.labels[string(key)] // no allocation for a known label
	if !ok {
		l := string(key)
		label = &l
		w.labels[l] = label
	}
	return label
}

// answered records a request's latency.
func (w *wireCounter) answered(label string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.lat[label]
	if l == nil {
		l = &wireLatency{Label: label}
		w.lat[label] = l
	}
	us := d.Microseconds()
	l.Count++
	l.TotalUS += us
	l.MaxUS = max(l.MaxUS, us)
}

// requestLabel names a request from its first bytes: the SQL text of a simple query ('Q') or of the Parse
// message ('P') of an extended one, up to the column list — "INSERT INTO \"flights\" ", "begin" — or the
// message type otherwise (CopyData of a COPY).
func requestLabel(b []byte) []byte {
	if len(b) < 6 {
		return []byte("?")
	}
	body := b[5:]
	switch b[0] {
	case 'Q':
	case 'P':
		i := bytes.IndexByte(body, 0) // the statement name
		if i < 0 {
			return []byte("Parse")
		}
		body = body[i+1:]
	case 'd':
		return []byte("CopyData")
	default:
		return b[:1]
	}
	if i := bytes.IndexByte(body, 0); i >= 0 {
		body = body[:i]
	}
	if i := bytes.IndexByte(body, '('); i >= 0 {
		body = body[:i]
	}
	return bytes.TrimSpace(body[:min(len(body), 60)])
}

// usedSinceMark is the number of distinct physical connections that sent at least one request since mark.
func (w *wireCounter) usedSinceMark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.used)
}

// close stops accepting, cuts every relayed connection and waits for the relay goroutines.
func (w *wireCounter) close() {
	_ = w.ln.Close()
	w.mu.Lock()
	for _, c := range w.conns {
		_ = c.Close()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *wireCounter) accept() {
	defer w.wg.Done()
	for {
		client, err := w.ln.Accept()
		if err != nil {
			return // listener closed
		}
		id := w.accepted.Add(1)
		w.mu.Lock()
		w.conns[id] = client
		w.mu.Unlock()
		w.wg.Add(1)
		go w.relay(id, client)
	}
}

func (w *wireCounter) relay(id int64, client net.Conn) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		delete(w.conns, id)
		w.mu.Unlock()
		_ = client.Close()
	}()
	var d net.Dialer
	server, err := d.DialContext(context.Background(), "tcp", w.target)
	if err != nil {
		return // the client sees its connection closed, as if the server refused it
	}
	defer server.Close()

	// awaiting is set when the client starts a request and cleared when the server answers; the client cannot
	// send its next request before it has read the answer, which the relay forwards only after clearing it.
	// The request's label and start time are written before awaiting is set and read after it is seen set.
	var (
		awaiting atomic.Bool
		label    atomic.Pointer[string]
		start    atomic.Int64
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pump(client, server, func([]byte) {
			if awaiting.Load() {
				w.answered(*label.Load(), time.Duration(time.Now().UnixNano()-start.Load()))
				awaiting.Store(false)
			}
		})
		// The server closed: unblock the client side.
		_ = client.Close()
	}()
	pump(server, client, func(req []byte) {
		if awaiting.Load() {
			return // more of the same request
		}
		w.roundTrips.Add(1)
		label.Store(w.started(id, req))
		start.Store(time.Now().UnixNano())
		awaiting.Store(true)
	})
	_ = server.Close()
	<-done
}

// pump copies src to dst, calling seen with each read's bytes before forwarding them, so the accounting
// happens before the other side can react to them.
func pump(dst io.Writer, src io.Reader, seen func([]byte)) {
	buf := make([]byte, 256<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: the caller closes the other side
		}
	}
}
