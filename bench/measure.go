package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"time"
)

// percentile is the nearest-rank percentile (p in 0..100) of xs: an observed value, never an interpolation.
// With 40 samples p99 is the largest, which the report says.
func percentile(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// procStatus reads memory figures of this process from /proc/self/status, in kB.
type procStatus struct {
	RSSKB  int64 // VmRSS: resident now
	PeakKB int64 // VmHWM: the peak resident set since start (or since the last resetPeakRSS)
}

func readProcStatus() (procStatus, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return procStatus{}, err
	}
	var st procStatus
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case len(line) > 6 && line[:6] == "VmRSS:":
			dst = &st.RSSKB
		case len(line) > 6 && line[:6] == "VmHWM:":
			dst = &st.PeakKB
		default:
			continue
		}
		f := bytes.Fields([]byte(line[6:]))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return st, fmt.Errorf("parse %q: %w", line, err)
		}
		*dst = v
	}
	return st, sc.Err()
}

// allocCounter reads the cumulative heap allocation counters through runtime/metrics, which unlike
// runtime.ReadMemStats does not stop the world, so it can be read twice per cycle without disturbing it.
// Objects is MemStats.Mallocs (tiny allocations included) and Bytes MemStats.TotalAlloc.
type allocCounter struct {
	samples []metrics.Sample
}

func newAllocCounter() *allocCounter {
	return &allocCounter{samples: []metrics.Sample{
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/heap/tiny/allocs:objects"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}}
}

// allocTotals is a reading of the counters.
type allocTotals struct {
	Objects, Bytes uint64
	// HeapLive is the heap occupied by objects at the moment of reading, live or not yet swept.
	HeapLive uint64
}

func (a allocTotals) sub(b allocTotals) allocTotals {
	return allocTotals{Objects: a.Objects - b.Objects, Bytes: a.Bytes - b.Bytes}
}

func (a allocTotals) add(b allocTotals) allocTotals {
	return allocTotals{Objects: a.Objects + b.Objects, Bytes: a.Bytes + b.Bytes}
}

func (c *allocCounter) read() allocTotals {
	metrics.Read(c.samples)
	return allocTotals{
		Objects:  c.samples[0].Value.Uint64() + c.samples[1].Value.Uint64(),
		Bytes:    c.samples[2].Value.Uint64(),
		HeapLive: c.samples[3].Value.Uint64(),
	}
}

// poolSampler polls a pool's statistics in a goroutine and keeps the highest number of connections in use.
// database/sql exposes no hook on checkout, so sampling is what it allows; the interval is far below a
// statement's duration, and on PostgreSQL the wire counter proves the same thing exactly (connections that
// carried traffic).
type poolSampler struct {
	maxInUse int
	samples  int
	stop     context.CancelFunc
	done     sync.WaitGroup
}

func startPoolSampler(ctx context.Context, db *sql.DB, every time.Duration) *poolSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &poolSampler{stop: cancel}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			st := db.Stats()
			s.samples++
			s.maxInUse = max(s.maxInUse, st.InUse)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the highest in-use count seen and the number of samples taken.
func (s *poolSampler) finish() (maxInUse, samples int) {
	s.stop()
	s.done.Wait()
	return s.maxInUse, s.samples
}

// resetPeakRSS makes VmHWM start again from the current resident set (Linux ≥ 4.0: writing 5 to clear_refs),
// so a scenario's peak is not the one reached while loading the airspace before it.
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
