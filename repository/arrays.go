package repository

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// On PostgreSQL a cycle's rows travel as one array per column, and one statement writes each table:
//
//	INSERT INTO flights (id, cid, …) SELECT * FROM unnest(?::bigint[], ?::bigint[], …) ON CONFLICT (id) DO UPDATE …
//
// CreateInBatches sends a VALUES list instead: one bind parameter per cell (60,000 for 3,000 flights), which
// PostgreSQL parses and plans as 3,000 row expressions, and which takes GORM a reflection walk per cell to build.
// For the same 3,000 flights the VALUES upsert took 67–117 ms and the unnest form 26–33 ms (BENCHMARKS.md has
// the figures of whole cycles). The statement count no longer grows with the rows either: arrays are not bound
// by the protocol's 65,535 parameters. SQLite keeps CreateInBatches: it has no arrays, and binding parameters
// in process costs little.

// arrayWrite is the statement that writes one model's rows from column arrays, built once per model and
// conflict rule.
type arrayWrite struct {
	sql    string
	fields []*schema.Field
}

// conflict says what an array write does with a row whose key exists: nothing when key is empty (a plain
// insert), otherwise overwrite the update columns.
type conflict struct {
	key    string
	update []string
}

func newArrayWrite(db *gorm.DB, model any, on conflict) (*arrayWrite, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, fmt.Errorf("repository: parse model %T: %w", model, err)
	}
	w := &arrayWrite{}
	cols := make([]string, 0, len(stmt.Schema.Fields))
	casts := make([]string, 0, len(stmt.Schema.Fields))
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" {
			continue
		}
		pgType, err := arrayElementType(f.FieldType)
		if err != nil {
			return nil, fmt.Errorf("repository: %T.%s: %w", model, f.Name, err)
		}
		w.fields = append(w.fields, f)
		cols = append(cols, f.DBName)
		casts = append(casts, "?::"+pgType+"[]")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) SELECT * FROM unnest(%s)",
		stmt.Schema.Table, strings.Join(cols, ", "), strings.Join(casts, ", "))
	if on.key != "" {
		set := make([]string, len(on.update))
		for i, c := range on.update {
			set[i] = c + " = EXCLUDED." + c
		}
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET %s", on.key, strings.Join(set, ", "))
	}
	w.sql = b.String()
	return w, nil
}

// arrayElementType maps a model field's Go type to the PostgreSQL type of its array. Integer columns take
// bigint arrays whatever their width: the insert's assignment cast narrows them, and the Go values come from
// columns of that width.
func arrayElementType(t reflect.Type) (string, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "timestamptz", nil
	case t.Kind() == reflect.String:
		return "text", nil
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64, t.Kind() == reflect.Int32:
		return "bigint", nil
	case t.Kind() == reflect.Float64:
		return "double precision", nil
	case t.Kind() == reflect.Bool:
		return "boolean", nil
	}
	return "", fmt.Errorf("no PostgreSQL array type for %s", t)
}

// exec writes rows in one statement. rows must be a slice of the model the write was built for.
func (w *arrayWrite) exec(tx *gorm.DB, rows any) error {
	rv := reflect.ValueOf(rows)
	if rv.Len() == 0 {
		return nil
	}
	args := make([]any, len(w.fields))
	for j, f := range w.fields {
		col := reflect.MakeSlice(reflect.SliceOf(f.FieldType), rv.Len(), rv.Len())
		for i := range rv.Len() {
			col.Index(i).Set(rv.Index(i).FieldByIndex(f.StructField.Index))
		}
		args[j] = pgArray{col.Interface()}
	}
	return tx.Exec(w.sql, args...).Error
}

// pgArray hands a Go slice to pgx as one array parameter. GORM expands a bare slice argument into a list of
// parameters (for IN); a driver.Valuer it binds as one. pgx's database/sql driver accepts every argument as
// is and calls Value itself, so the slice reaches pgx's array encoder, which quotes and escapes each element
// and turns nil pointers into NULL.
type pgArray struct{ slice any }

func (a pgArray) Value() (driver.Value, error) { return a.slice, nil }
