package repository_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vatsector/vatsector/domain"
	"github.com/vatsector/vatsector/internal/dbtest"
	"github.com/vatsector/vatsector/migrations"
	"github.com/vatsector/vatsector/repository"
)

// TestTableWritesRenderPerDialect: every table write of a cycle is a CreateInBatches; on PostgreSQL each renders
// as one INSERT … SELECT FROM unnest with one array parameter per column, whatever the rows, and an ON CONFLICT
// exactly as GORM renders it after a VALUES list; on SQLite it stays VALUES batches within the parameter limit.
// Creates outside the table writes (the cycle record) keep VALUES on both.
func TestTableWritesRenderPerDialect(t *testing.T) {
	const flights, closed, controllers = 3000, 40, 25
	dbtest.Run(t, repository.Pool{}, func(t *testing.T, s *repository.Store) {
		ctx := context.Background()
		ts := time.Date(2024, 2, 20, 23, 19, 51, 0, time.UTC)
		w := cycleOf(1, ts, flights)
		for _, v := range w.OpenedVisits[:closed] {
			v.Exit = &domain.VisitExit{At: ts.Add(time.Minute), Position: v.Entry, Reason: domain.ExitLeft, DurationSeconds: 60}
			w.ClosedVisits = append(w.ClosedVisits, v)
		}
		for i := range controllers {
			w.Controllers = append(w.Controllers, domain.Controller{
				ID: int64(i + 1), CID: int64(900 + i), Callsign: fmt.Sprintf("C%d_CTR", i), LogonTime: ts,
				Kind: domain.KindController, LastUpdated: ts, FirstSeen: ts,
			})
		}
		cols, err := s.Columns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := repository.RenderTableWrites(s, w, false)
		if err != nil {
			t.Fatal(err)
		}
		// The same writes on the read pool's handle, which has no column-array builder: GORM's VALUES.
		plain, err := repository.RenderTableWrites(s, w, true)
		if err != nil {
			t.Fatal(err)
		}

		writes := []struct {
			table  string
			rows   int
			upsert bool
		}{
			{"flights", flights, true},
			{"flight_plans", flights, true},
			{"positions", flights, false},
			{"sector_visits", flights, false},
			{"sector_visits", closed, true},
			{"sector_events", flights, false},
			{"controllers", controllers, true},
			{"ingest_cycles", 1, false}, // the cycle record: a plain Create
		}
		unnest := regexp.MustCompile(`^INSERT INTO "(\w+)" \(("\w+",?)+\) SELECT \* FROM unnest\(((\$\d+)::[a-z ]+\[\],?)+\)`)
		values := regexp.MustCompile(`^(.*?\)) VALUES (?:\([$\d,]+\),?)+(.*)$`)
		placeholder := regexp.MustCompile(`\$(\d+)::`)
		next, nextPlain := 0, 0
		for _, wr := range writes {
			n := len(cols[wr.table])
			batch := wr.rows // PostgreSQL: every row in one statement
			if s.Dialect() == migrations.SQLite {
				batch = 32766 / n
			}
			for done := 0; done < wr.rows; done += batch {
				rows := min(batch, wr.rows-done)
				if next >= len(got) || nextPlain >= len(plain) {
					t.Fatalf("%s: %d and %d statements rendered, ran out", wr.table, len(got), len(plain))
				}
				r, p := got[next], plain[nextPlain]
				next++
				nextPlain++
				prefix := fmt.Sprintf(`INSERT INTO "%s" (`, wr.table)
				if s.Dialect() == migrations.SQLite {
					prefix = fmt.Sprintf("INSERT INTO `%s` (", wr.table)
				}
				if !strings.HasPrefix(r.SQL, prefix) {
					t.Fatalf("statement %d = %.80q…, want %s…", next-1, r.SQL, prefix)
				}
				arrays := s.Dialect() == migrations.Postgres && wr.table != "ingest_cycles"
				if !arrays {
					if r.SQL != p.SQL || !strings.Contains(r.SQL, ") VALUES (") || r.Params != rows*n {
						t.Errorf("%s (%d rows): %d parameters in %.120q…; want GORM's VALUES list, %d×%d parameters",
							wr.table, rows, r.Params, r.SQL, rows, n)
					}
					continue
				}
				m := unnest.FindString(r.SQL)
				if m == "" || r.Params != n {
					t.Errorf("%s: %d parameters in %.200q…; want INSERT … SELECT * FROM unnest of %d arrays", wr.table, r.Params, r.SQL, n)
					continue
				}
				for i, ph := range placeholder.FindAllStringSubmatch(m, -1) {
					if ph[1] != fmt.Sprint(i+1) {
						t.Errorf("%s: array %d is bound to $%s", wr.table, i+1, ph[1])
					}
				}
				// What follows the rows is GORM's own: the ON CONFLICT after the SELECT reads exactly as after
				// the VALUES list.
				pm := values.FindStringSubmatch(p.SQL)
				if pm == nil {
					t.Errorf("%s: GORM's rendering %.120q… is not a VALUES list", wr.table, p.SQL)
					continue
				}
				if tail := r.SQL[len(m):]; wr.upsert != strings.HasPrefix(tail, " ON CONFLICT (") || tail != pm[2] {
					t.Errorf("%s: after the rows %q, after GORM's VALUES %q (upsert %v)", wr.table, tail, pm[2], wr.upsert)
				}
				if !strings.HasPrefix(r.SQL, pm[1]+" SELECT") {
					t.Errorf("%s: column list differs from GORM's %q", wr.table, pm[1])
				}
			}
		}
		if next != len(got) {
			t.Errorf("%d statements rendered, want %d", len(got), next)
		}
	})
}
