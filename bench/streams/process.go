package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The subscribers run in a child process, this same program started with --subscribers-of ADDR. The two talk
// over the child's standard input and output, one line each way:
//
//	child:  "ready"               every stream has received its first message (it is registered)
//	parent: "<last sequence>"     ingest is done; wait until every stream has seen this sequence (or 60 s)
//	child:  a JSON []subscriberResult, then it exits
//
// Both processes read the same wall clock, so arrival times in the child and publish times in the parent are
// comparable.

// arrival is when the message that completed a cycle reached a subscriber.
type arrival struct {
	LastSequence int64 `json:"last_sequence"`
	AtUnixNano   int64 `json:"at_unix_nano"`
}

// subscriberResult is what one stream received.
type subscriberResult struct {
	Received int64             `json:"received"` // events
	Messages int64             `json:"messages"` // messages carrying events
	Arrivals map[int64]arrival `json:"arrivals"` // by cycle id
	// The sequences received (seqTracker): the first and the last, and the events missing or received
	// again between them.
	FirstSequence int64 `json:"first_sequence"`
	LastSequence  int64 `json:"last_sequence"`
	Missing       int64 `json:"missing"`
	Repeated      int64 `json:"repeated"`
}

// seqTracker follows the sequences of one stream's events, message by message: each message carries events
// in sequence order with no gap between them (a batch is one cycle's, or part of it; otherwise one event),
// so its first sequence is its last minus its count plus one.
type seqTracker struct {
	first, next       int64 // first sequence received; the one expected next (0 before any)
	missing, repeated int64
}

// add takes a message of events ending at sequence last.
func (t *seqTracker) add(events int, last int64) {
	if events <= 0 {
		return
	}
	first := last - int64(events) + 1
	switch {
	case t.next == 0:
		t.first = first
	case first > t.next:
		t.missing += first - t.next
	case first < t.next:
		t.repeated += min(last, t.next-1) - first + 1
	}
	t.next = max(t.next, last+1)
}

// lost counts the events of the sequences from..to (inclusive) that the stream did not receive exactly once,
// and any it received outside them.
func (r subscriberResult) lost(from, to int64) int64 {
	if r.Received == 0 || r.LastSequence <= 0 {
		return max(0, to-from+1)
	}
	n := r.Missing + r.Repeated
	n += abs(r.FirstSequence - from) // missed at the start, or received from before
	n += abs(to - r.LastSequence)    // missed at the end, or received from after
	return n
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

type subscriberProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// startSubscribers starts the child; first, when not empty, is written to its standard input before it is
// expected to say ready.
func startSubscribers(ctx context.Context, addr string, o options, m mode, first string) (*subscriberProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"--subscribers-of", addr, "--subscribers", strconv.Itoa(o.subscribers),
		"--streams-per-conn", strconv.Itoa(o.perConn), "--modes", string(m), "--unary", strconv.Itoa(o.unary)}
	if !o.feedTime.IsZero() {
		args = append(args, "--feed-time", o.feedTime.Format(time.RFC3339Nano))
	}
	cmd := exec.CommandContext(ctx, self, args...)
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
	p := &subscriberProcess{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	if first != "" {
		if _, err := fmt.Fprintln(stdin, first); err != nil {
			p.kill()
			return nil, err
		}
	}
	line, err := p.stdout.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		p.kill()
		return nil, fmt.Errorf("subscriber process: want ready, got %q (%v)", line, err)
	}
	return p, nil
}

// finish tells the subscribers the last sequence and collects what they received.
func (p *subscriberProcess) finish(lastSeq int64) ([]subscriberResult, error) {
	if _, err := fmt.Fprintf(p.stdin, "%d\n", lastSeq); err != nil {
		return nil, err
	}
	var results []subscriberResult
	if err := json.NewDecoder(p.stdout).Decode(&results); err != nil {
		return nil, fmt.Errorf("subscriber process results: %w", err)
	}
	_ = p.stdin.Close()
	return results, p.cmd.Wait()
}

func (p *subscriberProcess) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// runSubscriberProcess is the child's side.
func runSubscriberProcess(ctx context.Context, addr string, o options, m mode, in io.Reader, out io.Writer) error {
	subs, err := subscribe(ctx, addr, o, m)
	if err != nil {
		return err
	}
	defer subs.close()
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the last sequence: %w", err)
	}
	lastSeq, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return fmt.Errorf("last sequence %q: %w", line, err)
	}
	// Every subscriber has everything once it saw the last sequence; give stragglers 60 s.
	deadline := time.After(60 * time.Second)
	for _, s := range subs {
		select {
		case <-s.caughtUp(lastSeq):
		case <-deadline:
		}
	}
	subs.close()
	results := make([]subscriberResult, len(subs))
	for i, s := range subs {
		results[i] = subscriberResult{Received: s.received.Load(), Messages: s.messages.Load(), Arrivals: s.arrivals,
			FirstSequence: s.seqs.first, LastSequence: max(0, s.seqs.next-1), Missing: s.seqs.missing, Repeated: s.seqs.repeated}
	}
	return json.NewEncoder(out).Encode(results)
}
