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
	cmd := exec.CommandContext(ctx, self, "--subscribers-of", addr, "--subscribers", strconv.Itoa(o.subscribers),
		"--streams-per-conn", strconv.Itoa(o.perConn), "--modes", string(m), "--unary", strconv.Itoa(o.unary))
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
		results[i] = subscriberResult{Received: s.received.Load(), Messages: s.messages.Load(), Arrivals: s.arrivals}
	}
	return json.NewEncoder(out).Encode(results)
}
