package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// On PostgreSQL a committed cycle wakes an instance waiting for one (LISTEN/NOTIFY, migration 00014) at once,
// whatever it waits at most; a failed cycle's record does not. SQLite waits the whole time.
func TestWaitForCycleWakesOnACommit(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t)
	// Two stores on one database, as two instances have.
	writer, follower := dbtest.OpenPostgres(t, url), dbtest.OpenPostgres(t, url)
	// The first wait connects and LISTENs; from then on a commit is queued for the next one.
	if follower.WaitForCycle(ctx, time.Millisecond) {
		t.Fatal("woken with nothing committed")
	}
	ts := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	failed, boom := cycleOf(1, ts, 1).Cycle, "boom"
	failed.Error = &boom
	if err := writer.RecordFailedCycle(ctx, &failed); err != nil {
		t.Fatal(err)
	}
	if follower.WaitForCycle(ctx, 200*time.Millisecond) {
		t.Fatal("woken by a failed cycle's record")
	}
	woke := make(chan bool, 1)
	go func() { woke <- follower.WaitForCycle(ctx, time.Minute) }()
	if _, err := writer.WriteCycle(ctx, cycleOf(2, ts.Add(15*time.Second), 3)); err != nil {
		t.Fatal(err)
	}
	if !<-woke {
		t.Fatal("the commit did not wake the waiting instance")
	}
	// Nothing committed since: the next wait times out.
	if follower.WaitForCycle(ctx, 50*time.Millisecond) {
		t.Error("woken again with nothing committed since")
	}

	lite := dbtest.Open(t, migrations.SQLite, repository.Pool{})
	start := time.Now()
	if lite.WaitForCycle(ctx, 20*time.Millisecond) || time.Since(start) < 20*time.Millisecond {
		t.Error("SQLite's wait did not just wait")
	}
}
