package tcpproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: Close must end every one of them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer answers every line with the same line, until closed.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func roundTrip(c net.Conn, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return got, err
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestCutClosesLiveConnectionsAndRefusesNewOnesUntilRestore(t *testing.T) {
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	live := dial(t, p.Addr())
	if got, err := roundTrip(live, "before"); err != nil || got != "before\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Cut()
	// A cut session must fail, not hang: the client has to notice the link is gone.
	if got, err := roundTrip(live, "during"); err == nil {
		t.Errorf("live connection still answers after Cut: %q", got)
	} else if isTimeout(err) {
		t.Errorf("live connection hangs after Cut instead of failing: %v", err)
	}
	fresh := dial(t, p.Addr())
	if got, err := roundTrip(fresh, "during"); err == nil {
		t.Errorf("new connection answers while cut: %q", got)
	} else if isTimeout(err) {
		t.Errorf("new connection hangs while cut instead of being refused: %v", err)
	}

	p.Restore()
	again := dial(t, p.Addr())
	if got, err := roundTrip(again, "after"); err != nil || got != "after\n" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}
	if n := p.Accepted(); n != 3 {
		t.Errorf("accepted %d connections, want 3", n)
	}
}

func TestCloseEndsEveryConnection(t *testing.T) {
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i] = dial(t, p.Addr())
		if _, err := roundTrip(conns[i], "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		if _, err := roundTrip(c, "y"); err == nil {
			t.Errorf("connection %d still answers after Close", i)
		}
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Error("proxy still accepts after Close")
	}
}

func TestUnreachableTargetClosesTheClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := roundTrip(dial(t, p.Addr()), "x"); err == nil || isTimeout(err) {
		t.Errorf("client of an unreachable target: %q, %v; want the connection closed", got, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
