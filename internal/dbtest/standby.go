package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// StandbyAddr is where tests expect a hot standby of PostgresAddr, streaming from it (scripts/pg-standby.sh
// creates one on this machine); PGTEST_STANDBY_ADDR overrides it.
func StandbyAddr() string {
	if a := os.Getenv("PGTEST_STANDBY_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:5433"
}

// UseStandby skips the test when no standby answers at StandbyAddr (it fails under CI=true, where .ci/run starts
// one) and otherwise holds the standby for the test: shared, or exclusive for a test that pauses its replay,
// which every other standby test's reads would wait on. The hold is an advisory lock on the primary, so it
// orders the tests of every package, which go test runs in parallel processes.
func UseStandby(t testing.TB, exclusive bool) {
	t.Helper()
	RequirePostgres(t)
	addr := StandbyAddr()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a PostgreSQL hot standby is required in CI but not reachable at %s: %v (bash scripts/pg-standby.sh)", addr, err)
		}
		t.Skipf("no PostgreSQL hot standby at %s (%v): skipping; bash scripts/pg-standby.sh creates one, or set PGTEST_STANDBY_ADDR", addr, err)
	}
	_ = conn.Close()
	db := admin(t, PostgresAddr())
	ctx := context.Background()
	hold, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lock := "pg_advisory_lock_shared"
	if exclusive {
		lock = "pg_advisory_lock"
	}
	// The key is any constant no other lock of the project uses.
	if _, err := hold.ExecContext(ctx, "SELECT "+lock+"(7414870221)"); err != nil {
		t.Fatalf("hold the standby: %v", err)
	}
	t.Cleanup(func() { _ = hold.Close() }) // the session's end releases the lock
	var recovery bool
	if err := admin(t, addr).QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&recovery); err != nil {
		t.Fatalf("the standby at %s: %v", addr, err)
	}
	if !recovery {
		t.Fatalf("the server at %s is not a hot standby (pg_is_in_recovery() is false)", addr)
	}
}

// StandbyURL is the URL of databaseURL's database on the standby, once the standby has replayed everything the
// primary has written so far: the test's fresh database exists there.
func StandbyURL(t testing.TB, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = StandbyAddr()
	CatchUp(t)
	return u.String()
}

// CatchUp waits until the standby has replayed everything the primary has written so far.
func CatchUp(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lsn string
	if err := admin(t, PostgresAddr()).QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	standby := admin(t, StandbyAddr())
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var done bool
		if err := standby.QueryRowContext(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done); err != nil {
			t.Fatalf("the standby's replay position: %v", err)
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the standby did not replay the primary's WAL up to %s within a minute", lsn)
		case <-time.After(wait):
		}
	}
}

// PauseReplay pauses the standby's replay of the primary's WAL (the test must hold it exclusively: UseStandby)
// until resume is called or the test ends: what the standby has then is all it has, however much the primary
// commits meanwhile.
func PauseReplay(t testing.TB) (resume func()) {
	t.Helper()
	standby := admin(t, StandbyAddr())
	ctx := context.Background()
	if _, err := standby.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatalf("pause the standby's replay: %v", err)
	}
	// pg_wal_replay_pause only requests the pause; replay stops at its next record.
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var state string
		if err := standby.QueryRowContext(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "paused" {
			break
		}
		time.Sleep(wait)
	}
	resumed := false
	resume = func() {
		if resumed {
			return
		}
		resumed = true
		if _, err := standby.ExecContext(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Errorf("resume the standby's replay: %v", err)
		}
	}
	t.Cleanup(resume)
	return resume
}

// admin is a pool on the postgres database of the server at addr, closed at the end of the test.
func admin(t testing.TB, addr string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
