package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vatsector/vatsector/domain"
	vatsectorv1 "github.com/vatsector/vatsector/gen/vatsector/v1"
)

// watchResult is one mode's WatchFlights figures.
type watchResult struct {
	mode                 string
	subscribers          int
	subscribed           int // the hub's subscribers once the child was ready (the bench's reference stream included)
	leftAfter            int // the hub's subscribers 10 s (at most) after the child closed its streams
	cycles               int
	flights              int // per message (the first stream's, every cycle alike)
	flightsMismatch      int // measured cycles whose message lacked a flight
	payloadBytes         int // the first stream's message as received (mean over the measured cycles)
	protoBytes           int // the same decoded message's binary encoding
	hashMismatches       int // measured cycles whose decoded message differs from native gRPC's (the reference stream's)
	messagesShort        int // streams that missed a measured cycle's message
	wrongCounts          int // streams that did not receive exactly one message per cycle (the first, the warm-up and measured ones)
	messages             int // messages received by all streams
	lastP50, lastP99     time.Duration
	allP50, firstP50     time.Duration
	serverCPU            time.Duration // per measured cycle, the server's process
	clientCPU            time.Duration // per cycle of the child's whole life (opening included)
	allocPerCycle        uint64
	heapMax, heapIdle    uint64 // heap objects: max sampled after each measured cycle; live after a GC with no subscriber
	heapLiveSubscribed   uint64 // live heap after a GC with the subscribers connected, after the cycles
	errors               []string
	publishToGotOverhead time.Duration
}

// cycleDriver publishes cycles through the hub the server was given: the flights of the last ingested cycle,
// moved a little each time, as the next cycle id and feed time.
type cycleDriver struct {
	e    *env
	base *domain.Committed
	n    int64
}

func (d *cycleDriver) next() *domain.Committed {
	d.n++
	c := &domain.Committed{Cycle: d.base.Cycle, Flights: slices.Clone(d.base.Flights)}
	c.Cycle.ID += d.n
	c.Cycle.UpdateTimestamp = d.base.Cycle.UpdateTimestamp.Add(time.Duration(d.n) * 15 * time.Second)
	c.Cycle.FetchedAt = time.Now()
	c.Cycle.LastSequence = nil
	for i := range c.Flights {
		c.Flights[i].Latitude += 0.001 * float64(d.n%50)
		c.Flights[i].Longitude += 0.001 * float64(d.n%50)
	}
	return c
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// liveAfterGC is the heap after two collections: what sync.Pools held at the first survives it in their
// victim caches, and only the second frees it.
func liveAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	return heapObjects()
}

// child is the subscribers' process.
type child struct {
	cmd   *exec.Cmd
	stdin interface {
		Write([]byte) (int, error)
		Close() error
	}
	lines chan string
	json  chan []byte
}

func startChild(ctx context.Context, e *env, mode string, n int) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "--subscribers-of", e.base, "--grpc-addr", e.grpcAddr, "--mode", mode,
		"--subscribers", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1024), json: make(chan []byte, 1)}
	go func() {
		br := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 && line[0] == '{' {
				c.json <- line
				return
			}
			if len(line) > 0 {
				c.lines <- strings.TrimSpace(string(line))
			}
			if err != nil {
				close(c.lines)
				return
			}
		}
	}()
	return c, nil
}

// await waits for a line with the prefix; error lines and the end of output fail.
func (c *child) await(prefix string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return "", errors.New("the subscriber process ended")
			}
			if strings.HasPrefix(line, "error") {
				return "", fmt.Errorf("subscriber process: %s", line)
			}
			if strings.HasPrefix(line, prefix) {
				return line, nil
			}
		case <-deadline:
			return "", fmt.Errorf("no %q from the subscriber process within %v", prefix, timeout)
		}
	}
}

func (c *child) finish(timeout time.Duration) (*childResult, error) {
	if _, err := c.stdin.Write([]byte("done\n")); err != nil {
		return nil, err
	}
	select {
	case b := <-c.json:
		var r childResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		_ = c.stdin.Close()
		return &r, c.cmd.Wait()
	case <-time.After(timeout):
		return nil, errors.New("the subscriber process sent no results")
	}
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// reference is the bench's own native gRPC stream in the server's process, keeping messages in wire form
// (no decoding while measuring); what each protocol's subscribers decoded is compared with it.
type reference struct {
	msgs   map[int64][]byte
	done   chan struct{}
	cancel func()
}

func openReference(ctx context.Context, e *env) (*reference, error) {
	ctx, cancel := context.WithCancel(ctx)
	s, err := openGRPC(ctx, e.grpcAddr)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &reference{msgs: map[int64][]byte{}, done: make(chan struct{}), cancel: func() { cancel(); s.close() }}
	go func() {
		defer close(r.done)
		for {
			msg, err := s.recv()
			if err != nil {
				return
			}
			if key, err := asOfProto(msg); err == nil {
				r.msgs[key] = msg
			}
		}
	}()
	return r, nil
}

// hashes decodes the reference messages.
func (r *reference) hashes() (map[int64]string, error) {
	r.cancel()
	<-r.done
	out := map[int64]string{}
	for key, b := range r.msgs {
		m := &vatsectorv1.WatchFlightsResponse{}
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, err
		}
		h, _, err := messageHash(m)
		if err != nil {
			return nil, err
		}
		out[key] = h
	}
	return out, nil
}

func measureWatch(ctx context.Context, e *env, o options) ([]watchResult, error) {
	sub, err := e.hub.Subscribe()
	if err != nil {
		return nil, err
	}
	last := sub.Last()
	e.hub.Unsubscribe(sub)
	if last == nil || len(last.Flights) == 0 {
		return nil, errors.New("the hub has no published cycle with flights")
	}
	d := &cycleDriver{e: e, base: last.Committed}
	var out []watchResult
	for _, m := range o.modes {
		r, err := measureMode(ctx, e, o, d, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

func measureMode(ctx context.Context, e *env, o options, d *cycleDriver, mode string) (*watchResult, error) {
	r := &watchResult{mode: mode, subscribers: o.subscribers, cycles: o.cycles}
	r.heapIdle = liveAfterGC()
	ref, err := openReference(ctx, e)
	if err != nil {
		return nil, err
	}
	refClosed := false
	defer func() {
		if !refClosed {
			ref.cancel()
		}
	}()
	c, err := startChild(ctx, e, mode, o.subscribers)
	if err != nil {
		return nil, err
	}
	defer c.kill()
	if _, err := c.await("ready", 2*time.Minute); err != nil {
		return nil, err
	}
	r.subscribed = e.hub.Subscribers()
	publishedAt := map[int64]time.Time{}
	var measured []int64
	var cpu0 time.Duration
	var alloc0 uint64
	var overhead []time.Duration
	for k := range o.warmupCycles + o.cycles {
		if k == o.warmupCycles {
			if o.cpuProfile != "" {
				ext := filepath.Ext(o.cpuProfile)
				f, err := os.Create(strings.TrimSuffix(o.cpuProfile, ext) + "-" + mode + ext)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return nil, err
				}
				defer pprof.StopCPUProfile()
			}
			cpu0, alloc0 = cpuTime(), heapAllocs()
		}
		cy := d.next()
		key := cy.Cycle.UpdateTimestamp.UnixNano()
		at := time.Now()
		e.hub.Publish(cy)
		publishedAt[key] = at
		line, err := c.await("got ", o.cycleTimeout)
		if err != nil {
			return nil, fmt.Errorf("cycle %d: %w", k, err)
		}
		got := time.Now()
		if line != "got "+strconv.FormatInt(key, 10) {
			return nil, fmt.Errorf("cycle %d: the subscribers said %q, want the cycle of %d", k, line, key)
		}
		if k >= o.warmupCycles {
			measured = append(measured, key)
			r.heapMax = max(r.heapMax, heapObjects())
			overhead = append(overhead, got.Sub(at))
		}
		time.Sleep(o.pause)
	}
	r.serverCPU = (cpuTime() - cpu0) / time.Duration(o.cycles)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	r.allocPerCycle = (heapAllocs() - alloc0) / uint64(o.cycles)
	r.heapLiveSubscribed = liveAfterGC()
	res, err := c.finish(time.Minute)
	if err != nil {
		return nil, err
	}
	refHashes, err := ref.hashes()
	refClosed = true
	if err != nil {
		return nil, err
	}
	r.errors = res.Errors
	for _, n := range res.Messages {
		r.messages += n
		if n != 1+o.warmupCycles+o.cycles {
			r.wrongCounts++
		}
	}
	if len(res.Messages) != o.subscribers {
		r.wrongCounts += o.subscribers - len(res.Messages)
	}
	r.clientCPU = res.CPU / time.Duration(o.warmupCycles+o.cycles)
	var lasts, all, firsts []time.Duration
	var payload, protoSize int
	for _, key := range measured {
		pub := publishedAt[key]
		var latest, earliest time.Duration = -1, -1
		for _, arr := range res.Arrivals {
			at, ok := arr[key]
			if !ok {
				r.messagesShort++
				continue
			}
			lat := time.Unix(0, at).Sub(pub)
			all = append(all, lat)
			latest = max(latest, lat)
			if earliest < 0 || lat < earliest {
				earliest = lat
			}
		}
		lasts = append(lasts, latest)
		firsts = append(firsts, earliest)
		r.flights = res.Flights[key]
		if res.Flights[key] != len(d.base.Flights) {
			r.flightsMismatch++
		}
		if h, ok := refHashes[key]; !ok || h != res.Hashes[key] {
			r.hashMismatches++
		}
		payload += res.PayloadBytes[key]
		protoSize += res.ProtoBytes[key]
	}
	r.payloadBytes, r.protoBytes = payload/len(measured), protoSize/len(measured)
	r.lastP50, r.lastP99 = percentile(lasts, 50), percentile(lasts, 99)
	r.allP50, r.firstP50 = percentile(all, 50), percentile(firsts, 50)
	r.publishToGotOverhead = percentile(overhead, 50)
	// The server notices closed connections by itself; wait until every stream has ended.
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Subscribers() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.leftAfter = e.hub.Subscribers()
	return r, nil
}
