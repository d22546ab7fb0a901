package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
	"github.com/vatsector/vatsector/internal/wirecodec"
)

// The subscribers' protocols.
const (
	modeConnectJSON  = "connect-json"
	modeConnectProto = "connect-proto"
	modeGRPC         = "grpc"
)

func modeTitle(m string) string {
	switch m {
	case modeConnectJSON:
		return "Connect JSON, HTTP/1.1"
	case modeConnectProto:
		return "Connect binary, HTTP/1.1"
	case modeGRPC:
		return "native gRPC, HTTP/2"
	}
	return m
}

// The subscribers run in a child process, this program started with --subscribers-of BASE. The two talk over
// the child's standard input and output, one line at a time:
//
//	child:  "ready"          every stream has received its first message (the cycle published last)
//	child:  "got <as_of>"    every stream has received the message of the cycle with this feed time (unix ns)
//	child:  "error <text>"   a stream failed
//	parent: "done"           close the streams and report
//	child:  a JSON childResult, then it exits
//
// Both processes read the same wall clock, so arrival times in the child and publish times in the parent are
// comparable. Streams read each message whole off the connection and look only at its as_of (the first field,
// in JSON and binary alike); the first stream's messages are kept and decoded after "done", to check them.

// childResult is what the subscribers received.
type childResult struct {
	// Arrivals are, per stream, when each cycle's message (by as_of, unix ns) was read whole (unix ns).
	Arrivals []map[int64]int64 `json:"arrivals"`
	// Messages are, per stream, the messages received.
	Messages []int `json:"messages"`
	// The first stream's messages, by as_of: their size as received, their flights, the size of their binary
	// encoding and a hash of it (deterministic marshalling of the decoded message).
	PayloadBytes map[int64]int    `json:"payload_bytes"`
	Flights      map[int64]int    `json:"flights"`
	ProtoBytes   map[int64]int    `json:"proto_bytes"`
	Hashes       map[int64]string `json:"hashes"`
	// CPU is the child process's user and system time, from before the first stream opened to the end.
	CPU    time.Duration `json:"cpu"`
	Errors []string      `json:"errors"`
}

// stream reads one subscription's messages: the next payload, as received.
type stream struct {
	recv  func() ([]byte, error)
	close func()
}

const watchFlightsPath = "/vatsector.v1.FlightService/WatchFlights"

// openConnect opens WatchFlights over the Connect protocol on a connection of its own, HTTP/1.1, reading the
// enveloped messages off the response body itself.
func openConnect(ctx context.Context, base string, asJSON bool) (*stream, error) {
	tr := &http.Transport{Protocols: new(http.Protocols), DisableCompression: true}
	tr.Protocols.SetHTTP1(true)
	ctx, cancel := context.WithCancel(ctx)
	payload, ct := []byte{}, "application/connect+proto"
	if asJSON {
		payload, ct = []byte("{}"), "application/connect+json"
	}
	env := make([]byte, 5+len(payload))
	binary.BigEndian.PutUint32(env[1:5], uint32(len(payload)))
	copy(env[5:], payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+watchFlightsPath, bytes.NewReader(env))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("WatchFlights: %s: %.300s", resp.Status, b)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var head [5]byte
	return &stream{
		recv: func() ([]byte, error) {
			if _, err := io.ReadFull(br, head[:]); err != nil {
				return nil, err
			}
			msg := make([]byte, binary.BigEndian.Uint32(head[1:]))
			if _, err := io.ReadFull(br, msg); err != nil {
				return nil, err
			}
			if head[0]&0x02 != 0 {
				return nil, fmt.Errorf("end of stream: %s", msg)
			}
			return msg, nil
		},
		close: func() { cancel(); _ = resp.Body.Close(); tr.CloseIdleConnections() },
	}, nil
}

// openGRPC opens WatchFlights over native gRPC on a connection of its own, keeping each message in wire form.
func openGRPC(ctx context.Context, addr string) (*stream, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "WatchFlights", ServerStreams: true},
		vatsectorv1.FlightService_WatchFlights_FullMethodName, grpc.ForceCodecV2(wirecodec.Codec{}))
	if err == nil {
		err = cs.SendMsg(&vatsectorv1.WatchFlightsRequest{})
	}
	if err == nil {
		err = cs.CloseSend()
	}
	if err != nil {
		cancel()
		_ = conn.Close()
		return nil, err
	}
	return &stream{
		recv: func() ([]byte, error) {
			var msg []byte
			err := cs.RecvMsg(&msg)
			return msg, err
		},
		close: func() { cancel(); _ = conn.Close() },
	}, nil
}

var errNoAsOf = errors.New("message without as_of")

// asOfJSON reads as_of from a WatchFlightsResponse in JSON: protojson writes fields in number order, as_of first.
func asOfJSON(msg []byte) (int64, error) {
	const key = `"asOf":"`
	head := msg[:min(len(msg), 128)]
	i := bytes.Index(head, []byte(key))
	if i < 0 {
		return 0, errNoAsOf
	}
	rest := head[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, errNoAsOf
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	if err != nil {
		return 0, err
	}
	return t.UnixNano(), nil
}

// asOfProto reads as_of (field 1, a Timestamp) from a WatchFlightsResponse in wire form.
func asOfProto(msg []byte) (int64, error) {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		msg = msg[n:]
		if num == 1 && typ == protowire.BytesType {
			ts, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			var secs, nanos uint64
			for len(ts) > 0 {
				f, t, n := protowire.ConsumeTag(ts)
				if n < 0 || t != protowire.VarintType {
					return 0, errNoAsOf
				}
				ts = ts[n:]
				v, n := protowire.ConsumeVarint(ts)
				if n < 0 {
					return 0, protowire.ParseError(n)
				}
				ts = ts[n:]
				switch f {
				case 1:
					secs = v
				case 2:
					nanos = v
				}
			}
			return int64(secs)*1e9 + int64(nanos), nil
		}
		n = protowire.ConsumeFieldValue(num, typ, msg)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		msg = msg[n:]
	}
	return 0, errNoAsOf
}

// messageHash is a hash of the message's deterministic binary encoding, with its size.
func messageHash(m proto.Message) (string, int, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), len(b), nil
}

// runChild is the subscribers' process.
func runChild(ctx context.Context, c childOptions, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0 := cpuTime()
	var (
		outMu sync.Mutex
		say   = func(format string, args ...any) {
			outMu.Lock()
			fmt.Fprintf(out, format+"\n", args...)
			outMu.Unlock()
		}
		mu       sync.Mutex
		res      = childResult{Arrivals: make([]map[int64]int64, c.subscribers), Messages: make([]int, c.subscribers)}
		counts   = map[int64]int{}
		started  int
		kept     = map[int64][]byte{}
		wg       sync.WaitGroup
		streams  = make([]*stream, c.subscribers)
		asOf     = asOfProto
		closing  = make(chan struct{})
		closeAll sync.Once
	)
	if c.mode == modeConnectJSON {
		asOf = asOfJSON
	}
	for i := range streams {
		var s *stream
		var err error
		switch c.mode {
		case modeConnectJSON, modeConnectProto:
			s, err = openConnect(ctx, c.base, c.mode == modeConnectJSON)
		case modeGRPC:
			s, err = openGRPC(ctx, c.grpcAddr)
		default:
			err = fmt.Errorf("unknown mode %q", c.mode)
		}
		if err != nil {
			say("error open stream %d: %v", i, err)
			return err
		}
		streams[i] = s
		res.Arrivals[i] = map[int64]int64{}
	}
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msg, err := s.recv()
				at := time.Now().UnixNano()
				if err != nil {
					select {
					case <-closing:
					default:
						mu.Lock()
						res.Errors = append(res.Errors, fmt.Sprintf("stream %d: %v", i, err))
						mu.Unlock()
						say("error stream %d: %s", i, strings.ReplaceAll(err.Error(), "\n", " "))
					}
					return
				}
				key, err := asOf(msg)
				mu.Lock()
				if err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("stream %d: %v", i, err))
					mu.Unlock()
					continue
				}
				res.Arrivals[i][key] = at
				res.Messages[i]++
				if i == 0 {
					kept[key] = msg
				}
				if res.Messages[i] == 1 {
					if started++; started == len(streams) {
						say("ready")
					}
				}
				if counts[key]++; counts[key] == len(streams) && started == len(streams) && res.Messages[i] > 1 {
					say("got %d", key)
				}
				mu.Unlock()
			}
		}()
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() && strings.TrimSpace(sc.Text()) != "done" {
	}
	closeAll.Do(func() { close(closing) })
	for _, s := range streams {
		s.close()
	}
	wg.Wait()
	res.PayloadBytes, res.Flights, res.ProtoBytes, res.Hashes = map[int64]int{}, map[int64]int{}, map[int64]int{}, map[int64]string{}
	for key, msg := range kept {
		m := &vatsectorv1.WatchFlightsResponse{}
		var err error
		if c.mode == modeConnectJSON {
			err = protojson.Unmarshal(msg, m)
		} else {
			err = proto.Unmarshal(msg, m)
		}
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("decode the message of %d: %v", key, err))
			continue
		}
		h, size, err := messageHash(m)
		if err != nil {
			return err
		}
		res.PayloadBytes[key], res.Flights[key], res.ProtoBytes[key], res.Hashes[key] = len(msg), len(m.GetFlights()), size, h
	}
	res.CPU = cpuTime() - cpu0
	outMu.Lock()
	defer outMu.Unlock()
	return json.NewEncoder(out).Encode(res)
}
